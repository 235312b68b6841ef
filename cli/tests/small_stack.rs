//! `remap run` works with a small main-thread stack (`ulimit -s 136` KiB):
//! the module runs on a thread with a stack of its own, so a hello world no
//! longer traps "call stack exhausted" at `_start`, and runaway recursion
//! still traps cleanly instead of crashing.

mod common;

use common::{fixture, stderr, stdout};
use std::process::{Command, Output};

/// Runs `remap run ARGS` under `ulimit -s KIB`.
fn run_with_stack_limit(kib: u32, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -s {kib} && exec \"$0\" run \"$@\""))
        .arg(env!("CARGO_BIN_EXE_remap"))
        .args(args)
        .output()
        .expect("sh runs")
}

#[test]
fn hello_world_runs_with_a_136_kib_stack() {
    let hello = fixture("examples/hello.wat");
    for kib in [136, 64] {
        let output = run_with_stack_limit(kib, &[hello.to_str().unwrap(), "a"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{kib} KiB: {}",
            stderr(&output)
        );
        assert_eq!(
            stdout(&output),
            "Hello from Remap! Arguments after the program name: 1\n"
        );
    }
}

#[test]
fn deep_recursion_still_traps_with_a_small_stack() {
    let trap = fixture("tests/wat/trap.wat");
    let output = run_with_stack_limit(136, &["--invoke", "recurse", trap.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{err}");
    assert!(
        err.starts_with("error: wasm trap: call stack exhausted"),
        "{err}"
    );
}
