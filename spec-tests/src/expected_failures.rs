//! The list of scripts known to fail (`spec-tests/expected-failures.txt`).
//!
//! One entry a line: a script path relative to the suite, optionally prefixed
//! by a memory style (`static::` or `dynamic::`) when it fails in only that
//! style, then how many of its directives fail, then the reason (the missing
//! feature), separated by whitespace. `#` starts a comment; blank lines are
//! ignored. The count is exact, so that a regression in the parts of a listed
//! script that Remap does support is caught, and a fix is recorded.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;

/// The memory styles the suite runs under, by the name used in test names.
pub const STYLE_NAMES: [&str; 2] = ["static", "dynamic"];

/// One entry of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedFailure {
    /// The style it applies to, or `None` for both.
    pub style: Option<String>,
    /// The script path relative to the suite.
    pub script: String,
    /// How many of its directives fail.
    pub failed_directives: usize,
    /// Why it fails.
    pub reason: String,
}

/// The parsed list, looked up by style and script.
#[derive(Clone, Debug, Default)]
pub struct ExpectedFailures {
    entries: BTreeMap<(Option<String>, String), ExpectedFailure>,
}

impl ExpectedFailures {
    /// Parses the list's text; every malformed line is an error naming its line.
    pub fn parse(text: &str) -> Result<ExpectedFailures> {
        let mut entries = BTreeMap::new();
        for (index, raw_line) in text.lines().enumerate() {
            let line = raw_line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let entry = parse_entry(line).with_context(|| {
                format!("expected-failures.txt line {}: `{raw_line}`", index + 1)
            })?;
            let key = (entry.style.clone(), entry.script.clone());
            if entries.insert(key, entry).is_some() {
                bail!("expected-failures.txt line {}: duplicate entry", index + 1);
            }
        }
        Ok(ExpectedFailures { entries })
    }

    /// The entry covering `script` under `style`, if any.
    pub fn lookup(&self, style: &str, script: &str) -> Option<&ExpectedFailure> {
        self.entries
            .get(&(Some(style.to_owned()), script.to_owned()))
            .or_else(|| self.entries.get(&(None, script.to_owned())))
    }

    /// Every entry, sorted by style then script.
    pub fn entries(&self) -> impl Iterator<Item = &ExpectedFailure> {
        self.entries.values()
    }
}

fn parse_entry(line: &str) -> Result<ExpectedFailure> {
    let (name, rest) = line
        .split_once(char::is_whitespace)
        .context("an entry needs a failed-directive count and a reason after the script path")?;
    let (count, reason) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .context("an entry needs a reason after the failed-directive count")?;
    let failed_directives = count
        .parse()
        .with_context(|| format!("`{count}` is not a count of failed directives"))?;
    let reason = reason.trim();
    let (style, script) = match name.split_once("::") {
        Some((style, script)) => {
            if !STYLE_NAMES.contains(&style) {
                bail!("unknown memory style `{style}` (expected static or dynamic)");
            }
            (Some(style.to_owned()), script)
        }
        None => (None, name),
    };
    if !script.ends_with(".wast") {
        bail!("`{script}` is not a .wast script");
    }
    Ok(ExpectedFailure {
        style,
        script: script.to_owned(),
        failed_directives,
        reason: reason.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_styles_and_comments() {
        let list = ExpectedFailures::parse(
            "# header\n\nsimd_lane.wast  7  SIMD\ndynamic::memory.wast 1 relocation bug # note\n",
        )
        .unwrap();
        assert_eq!(
            list.lookup("static", "simd_lane.wast").unwrap().reason,
            "SIMD"
        );
        assert_eq!(
            list.lookup("dynamic", "simd_lane.wast").unwrap().reason,
            "SIMD"
        );
        let memory = list.lookup("dynamic", "memory.wast").unwrap();
        assert_eq!(
            (memory.failed_directives, memory.reason.as_str()),
            (1, "relocation bug")
        );
        assert_eq!(
            list.lookup("static", "simd_lane.wast")
                .unwrap()
                .failed_directives,
            7
        );
        assert!(list.lookup("static", "memory.wast").is_none());
        assert_eq!(list.entries().count(), 2);
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "simd_lane.wast",
            "simd_lane.wast 3",
            "simd_lane.wast SIMD",
            "simd_lane.wast -1 SIMD",
            "fast::simd_lane.wast 3 SIMD",
            "notes.txt 3 reason",
            "a.wast 1 x\na.wast 1 y",
        ] {
            assert!(ExpectedFailures::parse(bad).is_err(), "{bad}");
        }
        let err = ExpectedFailures::parse("ok.wast 2 fine\nbroken.wast").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }
}
