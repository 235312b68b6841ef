//! The on-disk code cache: compiled modules saved in the precompiled format
//! under a directory, so compiling the same module again with the same
//! settings loads it instead (`Config::code_cache`; `remap run` turns it on
//! by default).
//!
//! An entry is named by the SHA-256 of everything the code depends on: the
//! compiler's compatibility record (Remap version, ABI, target, Cranelift
//! and CPU settings, tunables, Wasm features) followed by the module's bytes.
//! So a change of any setting that changes code is a different entry, never
//! a wrong hit; and the precompiled format's own checks still run on load.
//!
//! Invariants and failure behaviour:
//! - Entries are written to a unique temporary file in the same directory and
//!   renamed into place, so a concurrent reader sees either no entry or a
//!   whole one, and two processes filling the same entry both succeed.
//! - Loading never fails a compilation: an entry that is truncated, damaged
//!   (checksum), stale (another format or Remap version) or unreadable is
//!   removed and the module compiled and stored again. A failure to store is
//!   reported to nobody but leaves no partial file.
//! - The directory is bounded: after a store, the least recently used
//!   entries (by modification time, which a hit refreshes) are removed until
//!   the total is within the limit.
//! - The directory is trusted like any precompiled file: whoever can write
//!   it can make this process run their machine code. It should be private
//!   to the user (the default is under the user's cache directory).

use crate::engine::Engine;
use crate::module::Module;
use crate::serialize;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Default bound on a cache directory's total size.
pub(crate) const DEFAULT_CODE_CACHE_MAX_BYTES: u64 = 1 << 30;

/// File name extension of cache entries (the precompiled format).
const ENTRY_EXTENSION: &str = "cwasm";

/// Where `remap run` keeps its cache: `$XDG_CACHE_HOME/remap`, else
/// `$HOME/.cache/remap`; `None` when neither variable is set.
pub fn default_code_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("remap"))
}

/// A cache directory and its size bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CodeCache {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
}

impl CodeCache {
    /// The entry for `wasm` compiled by `engine`.
    fn entry_path(&self, engine: &Engine, wasm: &[u8]) -> Result<PathBuf> {
        let compatibility = postcard::to_allocvec(&engine.compiler().compatibility())
            .context("encoding the compiler's settings")?;
        let mut hasher = Sha256::new();
        hasher.update((compatibility.len() as u64).to_le_bytes());
        hasher.update(&compatibility);
        hasher.update(wasm);
        let name: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(self.dir.join(format!("{name}.{ENTRY_EXTENSION}")))
    }

    /// Compiles `wasm` with `engine`, or loads it from the cache.
    pub(crate) fn compile(&self, engine: &Engine, wasm: &[u8]) -> Result<Module> {
        let path = self.entry_path(engine, wasm)?;
        if let Some(module) = load(engine, &path) {
            return Ok(module);
        }
        let artifact = crate::module::compile(engine, wasm)?;
        let bytes = serialize::encode(&engine.compiler().compatibility(), &artifact)?;
        // A cache that cannot be written only costs the next run a compile.
        if self.store(&path, &bytes).is_ok() {
            self.evict();
        }
        Module::from_compiled(engine, artifact)
    }

    /// Writes an entry: a unique temporary file, then a rename into place.
    fn store(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);
        // Private to the user: whoever can write entries can run code here.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let temporary = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            path.file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("entry"),
            std::process::id(),
            NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
        ));
        let written = fs::write(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        Ok(written?)
    }

    /// Removes the least recently used entries until the directory holds at
    /// most `max_bytes`.
    fn evict(&self) {
        let Ok(listing) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = listing
            .flatten()
            .filter(|entry| {
                entry.path().extension().and_then(|ext| ext.to_str()) == Some(ENTRY_EXTENSION)
            })
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), entry.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// The module in the entry at `path`, refreshing its use time; `None` (and
/// the entry removed) when it is missing or cannot be loaded.
fn load(engine: &Engine, path: &Path) -> Option<Module> {
    // SAFETY: the entry was written by `CodeCache::store` from code this
    // process's compiler produced, in a directory the embedder trusts (module
    // docs); the precompiled format's checks reject damaged or stale entries.
    // Entries are only ever replaced by a rename, never modified in place,
    // so the mapping stays what was checked.
    match unsafe { Module::deserialize_file(engine, path) } {
        Ok(module) => {
            if let Ok(file) = fs::File::options().write(true).open(path) {
                let _ = file.set_modified(SystemTime::now());
            }
            Some(module)
        }
        Err(_) => {
            let _ = fs::remove_file(path);
            None
        }
    }
}
