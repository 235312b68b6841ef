//! Helpers shared by the command-line tests: run the `remap` binary the way a
//! user does and read what it printed.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The path of `relative` inside the cli crate (`examples/add.wat`, `tests/wat/...`).
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs `remap` with `args` and waits for it.
pub fn remap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(args)
        .output()
        .expect("the remap binary runs")
}

/// Runs `remap run OPTIONS FILE ARGS` with FILE a fixture.
pub fn run_fixture(options: &[&str], file: &str, args: &[&str]) -> Output {
    let file = fixture(file);
    let mut all: Vec<&str> = vec!["run"];
    all.extend_from_slice(options);
    all.push(file.to_str().unwrap());
    all.extend_from_slice(args);
    remap(&all)
}

/// What the run printed to stdout.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What the run printed to stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a clean failure: exit code 1 and one `error:` message containing `needle`.
pub fn assert_error(output: &Output, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}
