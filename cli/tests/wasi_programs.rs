//! `remap run` on a C program built for wasm32-wasi with the system clang:
//! arguments, environment, preopened directories, stdout and exit status
//! through a real libc.
//!
//! Needs the Debian packages clang, lld, wasi-libc and
//! libclang-rt-14-dev-wasm32 (CI installs them); the test fails saying so
//! when they are missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const MISSING_TOOLCHAIN: &str = "this test needs clang with the wasm32-wasi target: \
    install the Debian packages clang lld wasi-libc libclang-rt-14-dev-wasm32";

/// Builds the program once for all tests.
fn compile_cat() -> PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(build_cat).clone()
}

fn build_cat() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasi/cat.c");
    let output = Path::new(env!("CARGO_TARGET_TMPDIR")).join("remap-cli-cat.wasm");
    let result = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-Wall"])
        .arg(&source)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap_or_else(|err| panic!("cannot run clang ({err}); {MISSING_TOOLCHAIN}"));
    assert!(
        result.status.success(),
        "clang failed:\n{}\n{MISSING_TOOLCHAIN}",
        String::from_utf8_lossy(&result.stderr)
    );
    output
}

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
