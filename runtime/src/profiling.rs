//! Profiler support: telling a sampling profiler which Wasm function each
//! address of compiled code belongs to, so that `perf report` names guest
//! functions instead of showing anonymous addresses. A function is named
//! `wasm[MODULE]::function[INDEX]` plus `::NAME` when the name section
//! names it, as Wasmtime names them.
//!
//! - [`ProfilingStrategy::PerfMap`]: every module whose code is published
//!   appends one line per compiled function to `/tmp/perf-<pid>.map`, the
//!   file Linux `perf` reads for code that no ELF file describes:
//!   `START SIZE NAME`, addresses in hex.
//! - [`ProfilingStrategy::JitDump`]: every function becomes a
//!   `JIT_CODE_LOAD` record, with a copy of its machine code, in
//!   `./jit-<pid>.dump` (perf's jitdump format, version 1). The file's
//!   first page stays mapped executable for the life of the process: that
//!   mapping is what tells `perf record` the file exists, and
//!   `perf inject --jit` then turns the records into ELF images, so that
//!   `perf annotate` shows each sample's instruction. Samples must be
//!   stamped with the same clock as the records (`perf record -k mono`).
//!
//! Entries are only ever appended: code freed with its module keeps its
//! entries, and a later module published at the same addresses adds its
//! own. A perf map cannot retire an entry, so a process that loads and
//! drops many modules can see an old sample named after a newer function
//! (Wasmtime's perfmap has the same limit); jitdump records carry a
//! timestamp, so perf orders them correctly.
//!
//! Each file is opened once per process, by the first module published
//! with its strategy, and shared by every engine; a mutex serialises
//! writers so that entries of concurrently loaded modules never
//! interleave. Failure to create or write a file is not a failure of the
//! module: profiling is a diagnostic, so the error is reported on stderr
//! and that strategy writes nothing more in the process.

use crate::vm::registry::{CodeInfo, FunctionRange};
use remap_memory::{host_page_size, map_jitdump_marker, monotonic_nanos};
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Which profiler an engine describes its compiled code to
/// ([`Config::profiler`](crate::Config::profiler)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProfilingStrategy {
    /// None (the default).
    #[default]
    None,
    /// Linux `perf`'s map file, `/tmp/perf-<pid>.map` (module docs).
    PerfMap,
    /// Linux `perf`'s jitdump file, `./jit-<pid>.dump` (module docs).
    JitDump,
}

/// A profiler's file, opened once per process, or `None` once that failed.
type ProfilerFile = OnceLock<Option<Mutex<File>>>;

static PERF_MAP: ProfilerFile = OnceLock::new();
static JIT_DUMP: ProfilerFile = OnceLock::new();

/// Describes `code`'s functions to the profiler `strategy` names.
pub(crate) fn register_code(strategy: ProfilingStrategy, code: &CodeInfo) {
    match strategy {
        ProfilingStrategy::None => {}
        ProfilingStrategy::PerfMap => {
            let path = format!("/tmp/perf-{}.map", std::process::id());
            append(
                &PERF_MAP,
                &path,
                |_| Ok(()),
                perf_map_lines(code).as_bytes(),
            );
        }
        ProfilingStrategy::JitDump => {
            let path = format!("./jit-{}.dump", std::process::id());
            append(&JIT_DUMP, &path, start_jit_dump, &jit_dump_records(code));
        }
    }
}

/// Appends `bytes` to the profiler file at `path`, opening it (and running
/// `start` on it) on first use.
fn append(
    once: &ProfilerFile,
    path: &str,
    start: fn(&mut File) -> std::io::Result<()>,
    bytes: &[u8],
) {
    let file = once.get_or_init(|| {
        let opened = File::options()
            .create(true)
            .truncate(true)
            // Readable as well: the jitdump marker maps the file.
            .read(true)
            .write(true)
            .open(path)
            .and_then(|mut file| start(&mut file).map(|()| file));
        match opened {
            Ok(file) => Some(Mutex::new(file)),
            Err(error) => {
                eprintln!("remap: cannot write the profiler file {path}: {error}");
                None
            }
        }
    });
    let Some(file) = file else {
        return;
    };
    // A writer that panicked left at most a partial entry: keep going.
    let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(error) = file.write_all(bytes) {
        eprintln!("remap: cannot write the profiler file {path}: {error}");
    }
}

/// One `START SIZE NAME` line per function of `code`.
fn perf_map_lines(code: &CodeInfo) -> String {
    let mut lines = String::new();
    for function in &code.functions {
        let start = code.range.start + function.start as usize;
        let size = function.end - function.start;
        // Writing to a String cannot fail.
        let _ = writeln!(
            lines,
            "{start:x} {size:x} {}",
            function_name(code, function)
        );
    }
    lines
}

/// `wasm[MODULE]::function[INDEX]`, with `::NAME` when the function has a
/// name; control characters (a line break would end a perf map entry)
/// become `?`.
fn function_name(code: &CodeInfo, function: &FunctionRange) -> String {
    let module = code.module_name.as_deref().unwrap_or("");
    let mut name = format!("wasm[{module}]::function[{}]", function.func_index);
    if let Some(given) = code.names.get(function.func_index) {
        name.push_str("::");
        name.extend(given.chars().map(|c| if c.is_control() { '?' } else { c }));
    }
    name.retain(|c| c != '\0');
    name
}

/// The jitdump header's magic number, `JiTD` read as a little-endian u32.
const JIT_DUMP_MAGIC: u32 = 0x4a69_5444;
/// The jitdump format version this writes.
const JIT_DUMP_VERSION: u32 = 1;
/// The size of the jitdump file header.
const JIT_DUMP_HEADER_SIZE: u32 = 40;
/// The record type of a function's code.
const JIT_CODE_LOAD: u32 = 0;

/// The ELF machine of this host, which `perf inject` gives the code.
const ELF_MACHINE: u32 = if cfg!(target_arch = "x86_64") {
    62
} else if cfg!(target_arch = "aarch64") {
    183
} else if cfg!(target_arch = "riscv64") {
    243
} else {
    // EM_NONE: perf then cannot disassemble, but still names the code.
    0
};

/// Writes the jitdump header and maps the file's first page executable,
/// the marker `perf record` looks for (module docs).
fn start_jit_dump(file: &mut File) -> std::io::Result<()> {
    let mut header = Vec::with_capacity(JIT_DUMP_HEADER_SIZE as usize);
    for word in [
        JIT_DUMP_MAGIC,
        JIT_DUMP_VERSION,
        JIT_DUMP_HEADER_SIZE,
        ELF_MACHINE,
        0,
        std::process::id(),
    ] {
        header.extend_from_slice(&word.to_le_bytes());
    }
    header.extend_from_slice(&monotonic_nanos().to_le_bytes());
    // Flags: none.
    header.extend_from_slice(&0u64.to_le_bytes());
    file.write_all(&header)?;
    map_jitdump_marker(file.as_fd(), host_page_size())?;
    Ok(())
}

/// One `JIT_CODE_LOAD` record per function of `code`.
fn jit_dump_records(code: &CodeInfo) -> Vec<u8> {
    static CODE_INDEX: AtomicU64 = AtomicU64::new(0);
    // SAFETY: `code.range` is the published code image, mapped readable
    // (read+execute) for as long as its module's code lives, and this runs
    // while the module that publishes it is being created.
    let image =
        unsafe { std::slice::from_raw_parts(code.range.start as *const u8, code.range.len()) };
    let thread = remap_memory::current_thread_id();
    let mut records = Vec::new();
    for function in &code.functions {
        let name = function_name(code, function);
        let machine_code = &image[function.start as usize..function.end as usize];
        let address = (code.range.start + function.start as usize) as u64;
        // Header (16), pid, tid (8), vma, code address, size, index (32),
        // the name and its terminating NUL, then the code.
        let size = 16 + 8 + 32 + name.len() + 1 + machine_code.len();
        records.extend_from_slice(&JIT_CODE_LOAD.to_le_bytes());
        records.extend_from_slice(&(size as u32).to_le_bytes());
        records.extend_from_slice(&monotonic_nanos().to_le_bytes());
        records.extend_from_slice(&std::process::id().to_le_bytes());
        records.extend_from_slice(&thread.to_le_bytes());
        records.extend_from_slice(&address.to_le_bytes());
        records.extend_from_slice(&address.to_le_bytes());
        records.extend_from_slice(&(machine_code.len() as u64).to_le_bytes());
        let index = CODE_INDEX.fetch_add(1, Ordering::Relaxed);
        records.extend_from_slice(&index.to_le_bytes());
        records.extend_from_slice(name.as_bytes());
        records.push(0);
        records.extend_from_slice(machine_code);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::code_tables::{AddressMap, FunctionNames, TrapTable};
    use std::collections::BTreeMap;

    #[test]
    fn perf_map_lines_give_each_function_its_address_size_and_name() {
        let names = BTreeMap::from([(3, "fib".to_string()), (4, "two\nlines".to_string())]);
        let function = |start, end, func_index| FunctionRange {
            start,
            end,
            func_index,
            body_offset: 0,
        };
        let code = CodeInfo {
            range: 0x1000..0x1100,
            functions: vec![
                function(0, 0x40, 2),
                function(0x40, 0x90, 3),
                function(0x90, 0x100, 4),
            ],
            traps: TrapTable::from_records(&[]),
            address_map: AddressMap::from_entries(&[]),
            names: FunctionNames::from_names(&names),
            module_name: Some("calc".to_string()),
            exception_table: Vec::new(),
            stack_maps: Vec::new(),
        };
        assert_eq!(
            perf_map_lines(&code),
            "1000 40 wasm[calc]::function[2]\n\
             1040 50 wasm[calc]::function[3]::fib\n\
             1090 70 wasm[calc]::function[4]::two?lines\n"
        );
    }
}
