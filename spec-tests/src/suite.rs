//! Finding the official spec test suite on disk and listing its scripts.

use anyhow::{Result, bail};
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The environment variable that points at a checkout of WebAssembly/testsuite.
pub const SUITE_ENV: &str = "WASM_TESTSUITE";

/// Finds the suite: `$WASM_TESTSUITE`, else `spec-tests/testsuite` (the git
/// submodule), else `../shared/wasm-testsuite` beside the workspace. A missing
/// or empty directory (an uninitialised submodule) does not count.
pub fn locate_suite(workspace_root: &Path) -> Result<PathBuf> {
    spec_suite(workspace_root).locate()
}

fn spec_suite(workspace_root: &Path) -> SuiteLocation<'static> {
    SuiteLocation {
        name: "the WebAssembly spec test suite",
        variable: SUITE_ENV,
        checkout: "a checkout of https://github.com/WebAssembly/testsuite",
        candidates: vec![
            workspace_root.join("spec-tests").join("testsuite"),
            workspace_root
                .join("..")
                .join("shared")
                .join("wasm-testsuite"),
        ],
        how_to_get: "fetch it with `git submodule update --init spec-tests/testsuite`",
    }
}

/// Where a test suite may be on disk, and what to tell a user who has none.
#[derive(Clone, Debug)]
pub struct SuiteLocation<'a> {
    /// The suite's name in messages, e.g. "the WebAssembly spec test suite".
    pub name: &'a str,
    /// The environment variable that names the suite's directory; when set,
    /// nothing else is looked at.
    pub variable: &'a str,
    /// What the variable must name, e.g. "a checkout of https://...".
    pub checkout: &'a str,
    /// The directories to try in order when the variable is unset.
    pub candidates: Vec<PathBuf>,
    /// How to get the suite when no candidate has it.
    pub how_to_get: &'a str,
}

impl SuiteLocation<'_> {
    /// The directory the variable names, else the first candidate; a missing
    /// or empty directory does not count, and an error says where to put or
    /// point to the suite.
    pub fn locate(&self) -> Result<PathBuf> {
        self.locate_from(env::var_os(self.variable).map(PathBuf::from))
    }

    fn locate_from(&self, from_env: Option<PathBuf>) -> Result<PathBuf> {
        let variable = self.variable;
        if let Some(dir) = &from_env {
            if has_entries(dir) {
                return Ok(dir.clone());
            }
            bail!(
                "{variable} is set to {}, which is not a non-empty directory; \
                 point it at {}",
                dir.display(),
                self.checkout
            );
        }
        if let Some(found) = self.candidates.iter().find(|dir| has_entries(dir)) {
            return Ok(found.clone());
        }
        let looked: Vec<String> = self
            .candidates
            .iter()
            .map(|dir| dir.display().to_string())
            .collect();
        bail!(
            "{} was not found (looked in {}); {}, or set {variable} to {}",
            self.name,
            looked.join(" and "),
            self.how_to_get,
            self.checkout
        )
    }
}

fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// Every `.wast` script under `suite`, as paths relative to it with `/`
/// separators, sorted.
pub fn list_scripts(suite: &Path) -> Result<Vec<String>> {
    let mut scripts = Vec::new();
    collect_scripts(suite, suite, &mut scripts)?;
    scripts.sort();
    Ok(scripts)
}

fn collect_scripts(suite: &Path, dir: &Path, scripts: &mut Vec<String>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_scripts(suite, &path, scripts)?;
        } else if path.extension().is_some_and(|ext| ext == "wast") {
            let relative = path.strip_prefix(suite)?;
            let parts: Vec<_> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            scripts.push(parts.join("/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_scripts_sorted_and_relative() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proposals/threads")).unwrap();
        fs::write(dir.path().join("b.wast"), "").unwrap();
        fs::write(dir.path().join("a.wast"), "").unwrap();
        fs::write(dir.path().join("README.md"), "").unwrap();
        fs::write(dir.path().join("proposals/threads/atomic.wast"), "").unwrap();
        assert_eq!(
            list_scripts(dir.path()).unwrap(),
            ["a.wast", "b.wast", "proposals/threads/atomic.wast"]
        );
    }

    #[test]
    fn the_environment_wins_then_the_submodule_then_shared() {
        let root = tempfile::tempdir().unwrap();
        let workspace = root.path().join("main");
        let submodule = workspace.join("spec-tests/testsuite");
        let shared = root.path().join("shared/wasm-testsuite");
        fs::create_dir_all(&submodule).unwrap();
        fs::create_dir_all(&shared).unwrap();

        let suite = spec_suite(&workspace);
        let missing = suite.locate_from(None).unwrap_err().to_string();
        assert!(missing.contains("git submodule update --init"), "{missing}");
        assert!(missing.contains(SUITE_ENV), "{missing}");

        fs::write(shared.join("a.wast"), "").unwrap();
        let found = suite.locate_from(None).unwrap();
        assert_eq!(found, workspace.join("../shared/wasm-testsuite"));

        fs::write(submodule.join("a.wast"), "").unwrap();
        assert_eq!(suite.locate_from(None).unwrap(), submodule);

        let custom = root.path().join("custom");
        let empty = suite.locate_from(Some(custom.clone())).unwrap_err();
        assert!(empty.to_string().contains(SUITE_ENV), "{empty}");
        fs::create_dir_all(&custom).unwrap();
        fs::write(custom.join("a.wast"), "").unwrap();
        assert_eq!(suite.locate_from(Some(custom.clone())).unwrap(), custom);
    }

    #[test]
    fn an_empty_directory_is_not_a_suite() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_entries(dir.path()));
        assert!(!has_entries(&dir.path().join("missing")));
        fs::write(dir.path().join("a.wast"), "").unwrap();
        assert!(has_entries(dir.path()));
    }
}
