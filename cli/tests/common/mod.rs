//! Helpers shared by the command-line tests: run the `remap` binary the way a
//! user does and read what it printed.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

const MISSING_TOOLCHAIN: &str = "this test needs clang with the wasm32-wasi target: \
    install the Debian packages clang lld wasi-libc libclang-rt-14-dev-wasm32";

/// `tests/wasi/cat.c` built for wasm32-wasi with the system clang, once per
/// test binary. Needs the Debian packages clang, lld, wasi-libc and
/// libclang-rt-14-dev-wasm32 (CI installs them); fails saying so when they
/// are missing.
pub fn compile_cat() -> PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(build_cat).clone()
}

fn build_cat() -> PathBuf {
    let source = fixture("tests/wasi/cat.c");
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

const MISSING_CLANG_22: &str = "this test needs clang 22 with the wasm32-wasi target: \
    install the Debian packages clang-22 lld-22 libclang-rt-22-dev-wasm32 wasi-libc";

/// Runs `clang-22 FLAGS INPUTS -o OUTPUT` (for the programs that need
/// clang 22's newer Wasm features); fails naming the Debian packages when
/// clang 22 or its wasm32 runtime is missing.
pub fn clang_22(inputs: &[&Path], flags: &[&str], output: &Path) {
    let result = Command::new("clang-22")
        .args(flags)
        .args(inputs)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap_or_else(|err| panic!("cannot run clang-22 ({err}); {MISSING_CLANG_22}"));
    assert!(
        result.status.success(),
        "clang-22 failed:\n{}\n{MISSING_CLANG_22}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// What a run that must succeed printed to stdout (fails with its status,
/// stdout and stderr otherwise).
pub fn successful_stdout(output: Output) -> String {
    let stdout = stdout(&output);
    assert!(
        output.status.success(),
        "{}\nstdout: {stdout}\nstderr: {}",
        output.status,
        stderr(&output)
    );
    stdout
}
