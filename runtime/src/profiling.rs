//! Profiler support: telling a sampling profiler which Wasm function each
//! address of compiled code belongs to, so that `perf report` names guest
//! functions instead of showing anonymous addresses.
//!
//! With [`ProfilingStrategy::PerfMap`], every module whose code is published
//! appends one line per compiled function to `/tmp/perf-<pid>.map`, the
//! file Linux `perf` reads for code that no ELF file describes:
//! `START SIZE NAME`, addresses in hex. A function is named
//! `wasm[MODULE]::function[INDEX]` plus `::NAME` when the name section names
//! it, as Wasmtime names them. Entries are only ever appended: code freed
//! with its module keeps its lines, and a later module published at the
//! same addresses adds its own, so a profile of a process that loads and
//! drops many modules can attribute an old sample to a newer name (the
//! format has no way to retire an entry; Wasmtime's perfmap has the same
//! limit).
//!
//! The file is opened once per process, by the first module published with
//! the strategy on, and shared by every engine; a mutex serialises writers
//! so that lines of concurrently loaded modules never interleave. Failure
//! to create or write the file is not a failure of the module: profiling
//! is a diagnostic, so the error is reported once on stderr and the
//! strategy does nothing more in that process.

use crate::vm::registry::CodeInfo;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
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
}

/// The process's perf map file, or `None` once opening it failed.
static PERF_MAP: OnceLock<Option<Mutex<File>>> = OnceLock::new();

/// Describes `code`'s functions to the profiler `strategy` names.
pub(crate) fn register_code(strategy: ProfilingStrategy, code: &CodeInfo) {
    match strategy {
        ProfilingStrategy::None => {}
        ProfilingStrategy::PerfMap => write_perf_map(code),
    }
}

fn write_perf_map(code: &CodeInfo) {
    let file = PERF_MAP.get_or_init(|| {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        match File::options().create(true).append(true).open(&path) {
            Ok(file) => Some(Mutex::new(file)),
            Err(error) => {
                eprintln!("remap: cannot write the perf map {path}: {error}");
                None
            }
        }
    });
    let Some(file) = file else {
        return;
    };
    let lines = perf_map_lines(code);
    // A writer that panicked left at most a partial line: keep going.
    let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(error) = file.write_all(lines.as_bytes()) {
        eprintln!("remap: cannot write the perf map: {error}");
    }
}

/// One `START SIZE NAME` line per function of `code`.
fn perf_map_lines(code: &CodeInfo) -> String {
    let module = code.module_name.as_deref().unwrap_or("");
    let mut lines = String::new();
    for function in &code.functions {
        let start = code.range.start + function.start as usize;
        let size = function.end - function.start;
        // Writing to a String cannot fail.
        let _ = write!(
            lines,
            "{start:x} {size:x} wasm[{module}]::function[{}]",
            function.func_index
        );
        if let Some(name) = code.names.get(function.func_index) {
            lines.push_str("::");
            // A line break in a name would start a bogus entry.
            lines.extend(name.chars().map(|c| if c.is_control() { '?' } else { c }));
        }
        lines.push('\n');
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::code_tables::{AddressMap, FunctionNames, TrapTable};
    use crate::vm::registry::FunctionRange;
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
        };
        assert_eq!(
            perf_map_lines(&code),
            "1000 40 wasm[calc]::function[2]\n\
             1040 50 wasm[calc]::function[3]::fib\n\
             1090 70 wasm[calc]::function[4]::two?lines\n"
        );
    }
}
