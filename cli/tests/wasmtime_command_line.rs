//! A Wasmtime command line with `-W`, `-S`, `-O` and `--dir` runs a WASI C
//! program under `remap run` unchanged but for the program name. When the
//! `wasmtime` CLI is on PATH, the same arguments are run with it too and
//! must give the same output and exit code (CI has no Wasmtime, so the test
//! does not need it).

mod common;

use common::compile_cat;
use std::fs;
use std::process::{Command, Output};

fn run(program: &str, args: &[String]) -> Option<Output> {
    Command::new(program).arg("run").args(args).output().ok()
}

#[test]
fn a_wasmtime_command_line_runs_unchanged() {
    let program = compile_cat();
    let data = tempfile::tempdir().unwrap();
    fs::write(data.path().join("note.txt"), "a note from the host\n").unwrap();
    let args: Vec<String> = [
        "-W",
        "max-memory-size=67108864,fuel=100000000",
        "-W",
        "timeout=30s",
        "-W",
        "simd=y,tail-call=y",
        "-S",
        "inherit-env",
        "-S",
        "inherit-stdin=n",
        "-O",
        "memory-may-move=n",
        "-O",
        "memory-reservation=4294967296,memory-guard-size=4294967296",
        "-C",
        "parallel-compilation=n,cache=n",
        "--dir",
        &format!("{}::/data", data.path().display()),
        "--env",
        "GREETING=hello",
        // Wasmtime's argv[0] is the file's name, Remap's the path as given.
        "--argv0",
        "cat",
        program.to_str().unwrap(),
        "/data/note.txt",
        "5",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();

    let remap = run(env!("CARGO_BIN_EXE_remap"), &args).expect("remap runs");
    assert_ran_cat("remap", &remap);
    if let Some(wasmtime) = run("wasmtime", &args) {
        assert_ran_cat("wasmtime", &wasmtime);
    }
}

/// What cat.c prints and its exit code for the command line above.
fn assert_ran_cat(runtime: &str, output: &Output) {
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "argc=3 argv0=cat\ngreeting=hello\na note from the host\n",
        "{runtime}'s stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(5), "{runtime}");
}
