//! `remap run --profile STRATEGY`: the run describes its compiled code to
//! Linux perf. `perfmap` leaves /tmp/perf-PID.map naming each compiled
//! function; `jitdump` leaves ./jit-PID.dump in its working directory, a
//! jitdump file with one code-load record, machine code included, per
//! compiled function.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `twice(21)` of tests/wat/named_functions.wat with `--profile
/// strategy` in `dir`; checks it printed 42 and returns its pid.
fn run_profiled(strategy: &str, dir: &Path) -> u32 {
    let child = Command::new(env!("CARGO_BIN_EXE_remap"))
        .current_dir(dir)
        .args([
            "run",
            "--profile",
            strategy,
            "-C",
            "cache=n",
            "--invoke",
            "twice",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/wat/named_functions.wat"
        ))
        .arg("21")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "42");
    pid
}

#[test]
fn profile_perfmap_names_every_compiled_function() {
    let dir = tempfile::tempdir().unwrap();
    let path = format!("/tmp/perf-{}.map", run_profiled("perfmap", dir.path()));
    let map = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    let map = map.unwrap();
    let mut ranges = Vec::new();
    for name in ["function[0]::double", "function[1]::twice"] {
        let line = map
            .lines()
            .find(|line| line.ends_with(&format!("::{name}")))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{map}"));
        let mut fields = line.split(' ');
        let start = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        let size = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
        assert!(start > 0 && size > 0, "{line}");
        ranges.push(start..start + size);
    }
    assert!(ranges[0].end <= ranges[1].start || ranges[1].end <= ranges[0].start);
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn profile_jitdump_records_every_function_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let pid = run_profiled("jitdump", dir.path());
    let dump = std::fs::read(dir.path().join(format!("jit-{pid}.dump"))).unwrap();

    // Header: magic "JiTD", version 1, header size, ELF machine, pad, pid.
    assert_eq!(u32_at(&dump, 0), 0x4a69_5444);
    assert_eq!(u32_at(&dump, 4), 1);
    let header_size = u32_at(&dump, 8) as usize;
    assert_eq!(u32_at(&dump, 20), pid);

    let mut names = Vec::new();
    let mut at = header_size;
    while at < dump.len() {
        let (kind, size) = (u32_at(&dump, at), u32_at(&dump, at + 4) as usize);
        assert_eq!(kind, 0, "only code-load records");
        let record = &dump[at..at + size];
        let (vma, code_address, code_size) =
            (u64_at(record, 24), u64_at(record, 32), u64_at(record, 40));
        assert_eq!(vma, code_address);
        let name_end = 56 + record[56..].iter().position(|&b| b == 0).unwrap();
        let name = String::from_utf8(record[56..name_end].to_vec()).unwrap();
        // The code follows the name's NUL and fills the rest of the record.
        assert!(code_size > 0);
        assert_eq!(size, name_end + 1 + code_size as usize, "{name}");
        names.push(name);
        at += size;
    }
    assert_eq!(at, dump.len());
    assert!(
        names.contains(&"wasm[]::function[0]::double".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"wasm[]::function[1]::twice".to_string()),
        "{names:?}"
    );
}
