//! `remap run` on a C program built for wasm32-wasi with the system clang:
//! arguments, environment, preopened directories, stdout and exit status
//! through a real libc.
//!
//! Needs the Debian packages clang, lld, wasi-libc and
//! libclang-rt-14-dev-wasm32 (CI installs them); the test fails saying so
//! when they are missing.

mod common;

use common::compile_cat;
use std::fs;
use std::process::Command;

#[test]
fn a_c_program_sees_args_env_dirs_and_sets_the_exit_code() {
    let program = compile_cat();
    let data = tempfile::tempdir().unwrap();
    fs::write(data.path().join("note.txt"), "a note from the host\n").unwrap();
    let mapping = format!("{}::/data", data.path().display());

    let output = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(["run", "--dir", &mapping, "--env", "GREETING=hello"])
        .arg(&program)
        .args(["/data/note.txt", "5"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(5),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let argv0 = program.display();
    assert_eq!(
        stdout,
        format!("argc=3 argv0={argv0}\ngreeting=hello\na note from the host\n")
    );
}

#[test]
fn a_c_program_cannot_open_files_outside_its_dirs() {
    let program = compile_cat();
    let output = Command::new(env!("CARGO_BIN_EXE_remap"))
        .arg("run")
        .arg(&program)
        .arg("/etc/hostname")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("greeting=(unset)"), "{stdout}");
}
