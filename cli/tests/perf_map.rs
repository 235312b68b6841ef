//! `remap run --profile perfmap`: the run leaves /tmp/perf-PID.map naming
//! each compiled function, for `perf report`.

use std::process::Command;

#[test]
fn profile_perfmap_names_every_compiled_function() {
    let child = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args([
            "run",
            "--profile",
            "perfmap",
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
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let path = format!("/tmp/perf-{}.map", child.id());
    let output = child.wait_with_output().unwrap();
    let map = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "42");
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
