//! Reading a module file, telling binary from text from precompiled code, and
//! compiling or loading it, with one clear error for each way that can fail.

use anyhow::{Context, Result, bail};
use remap::{Engine, Module};
use std::fs;
use std::path::Path;

const WASM_MAGIC: &[u8] = b"\0asm";

/// Reads and compiles the `.wasm` or `.wat` file at `path`; with
/// `allow_precompiled`, a file written by `remap compile` is loaded instead.
pub fn load_module(engine: &Engine, path: &Path, allow_precompiled: bool) -> Result<Module> {
    if is_precompiled(path)? {
        if !allow_precompiled {
            bail!(
                "`{}` is a precompiled module (from `remap compile`); running one runs its \
                 machine code unchecked, so it needs `--allow-precompiled`",
                path.display()
            );
        }
        // SAFETY: the user vouched for the file with --allow-precompiled: it
        // was written by `remap compile` and is not modified while it runs.
        // The loader still checks its header, checksum and that it was
        // compiled for this engine.
        return unsafe { Module::deserialize_file(engine, path) }
            .with_context(|| format!("cannot load `{}`", path.display()));
    }
    let wasm = to_wasm(path, read(path)?)?;
    Module::new(engine, &wasm)
        .with_context(|| format!("`{}` is not a valid WebAssembly module", path.display()))
}

/// Reads the `.wasm` or `.wat` file at `path` as binary Wasm (a precompiled
/// file is refused).
pub fn read_wasm(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    if Engine::detect_precompiled(&bytes).is_some() {
        bail!(
            "`{}` is already a precompiled module (from `remap compile`)",
            path.display()
        );
    }
    to_wasm(path, bytes)
}

/// Whether the file at `path` starts like a precompiled module (reads only
/// its first bytes: a precompiled module is mapped, not read).
fn is_precompiled(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut start = Vec::with_capacity(8);
    fs::File::open(path)
        .and_then(|file| file.take(8).read_to_end(&mut start))
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(Engine::detect_precompiled(&start).is_some())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn to_wasm(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.starts_with(WASM_MAGIC) {
        Ok(bytes)
    } else {
        text_to_wasm(path, &bytes)
    }
}

fn text_to_wasm(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        bail!(
            "`{}` is not a WebAssembly file: it is neither a binary module (which starts with \
             \\0asm) nor WAT text",
            path.display()
        );
    };
    if text.contains('\0') || !looks_like_wat(text) {
        bail!(
            "`{}` is not a WebAssembly file: it is neither a binary module (which starts with \
             \\0asm) nor WAT text (which starts with `(`)",
            path.display()
        );
    }
    wat::parse_str(text).map_err(|mut err| {
        err.set_path(path);
        anyhow::anyhow!("`{}` is not valid WAT: {err}", path.display())
    })
}

/// Whether the first thing in `text` that is not blank or a comment is `(`.
fn looks_like_wat(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix(";;") {
            rest = after
                .split_once('\n')
                .map_or("", |(_, next)| next)
                .trim_start();
        } else if let Some(after) = rest.strip_prefix("(;") {
            rest = after
                .split_once(";)")
                .map_or("", |(_, next)| next)
                .trim_start();
        } else {
            return rest.starts_with('(');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_wat_after_comments() {
        assert!(looks_like_wat("(module)"));
        assert!(looks_like_wat("  ;; a comment\n (; block ;) (module)"));
        assert!(!looks_like_wat("hello world"));
        assert!(!looks_like_wat(""));
        assert!(!looks_like_wat(";; only a comment"));
    }
}
