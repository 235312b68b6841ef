//! `remap compile` and `remap run --allow-precompiled`, run as a user runs them.

mod common;

use common::{assert_error, fixture, remap, stderr, stdout};
use std::path::{Path, PathBuf};

/// Copies fixture `relative` into `dir` and returns the copy's path.
fn copy_fixture(dir: &Path, relative: &str) -> PathBuf {
    let source = fixture(relative);
    let copy = dir.join(source.file_name().unwrap());
    std::fs::copy(&source, &copy).unwrap();
    copy
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn compile_writes_a_cwasm_beside_the_input_that_runs_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let source = copy_fixture(dir.path(), "examples/add.wat");
    let output = remap(&["compile", path(&source)]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let compiled = dir.path().join("add.cwasm");
    assert!(compiled.is_file());

    let output = remap(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add",
        path(&compiled),
        "1",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "3\n");
}

#[test]
fn a_precompiled_module_is_refused_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let compiled = dir.path().join("add.cwasm");
    let output = remap(&[
        "compile",
        "-o",
        path(&compiled),
        path(&fixture("examples/add.wat")),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = remap(&["run", "--invoke", "add", path(&compiled), "1", "2"]);
    assert_error(&output, "--allow-precompiled");
}

#[test]
fn the_flag_still_runs_ordinary_wasm() {
    let output = remap(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add",
        path(&fixture("examples/add.wat")),
        "4",
        "5",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "9\n");
}

#[test]
fn a_precompiled_wasi_program_runs() {
    let dir = tempfile::tempdir().unwrap();
    let compiled = dir.path().join("hello.cwasm");
    let output = remap(&[
        "compile",
        "--output",
        path(&compiled),
        path(&fixture("examples/hello.wat")),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = remap(&["run", "--allow-precompiled", path(&compiled), "a", "b"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Hello from Remap! Arguments after the program name: 2\n"
    );
}

#[test]
fn the_memory_style_must_match_between_compile_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let compiled = dir.path().join("add.cwasm");
    let add = fixture("examples/add.wat");
    let output = remap(&[
        "compile",
        "--memory-style",
        "dynamic",
        "-o",
        path(&compiled),
        path(&add),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let output = remap(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add",
        path(&compiled),
        "1",
        "2",
    ]);
    assert_error(&output, "does not fit this engine");

    let output = remap(&[
        "run",
        "--allow-precompiled",
        "--memory-style",
        "dynamic",
        "--invoke",
        "add",
        path(&compiled),
        "1",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "3\n");
}

#[test]
fn a_trap_in_precompiled_code_prints_its_backtrace_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let compiled = dir.path().join("trap.cwasm");
    let trap = fixture("tests/wat/trap.wat");
    let output = remap(&["compile", "-o", path(&compiled), path(&trap)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let precompiled = remap(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "boom",
        path(&compiled),
    ]);
    let from_source = remap(&["run", "--invoke", "boom", path(&trap)]);
    let err = stderr(&precompiled);
    assert_eq!(precompiled.status.code(), Some(134), "{err}");
    assert!(err.contains("wasm trap: unreachable"), "{err}");
    assert!(err.contains("0x") && err.contains(" - inner"), "{err}");
    assert!(err.contains(" - outer"), "{err}");
    assert_eq!(err, stderr(&from_source));
}

#[test]
fn compile_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    assert_error(
        &remap(&["compile", path(&dir.path().join("missing.wasm"))]),
        "cannot read",
    );
    let invalid = copy_fixture(dir.path(), "tests/wat/invalid.wat");
    assert_error(
        &remap(&["compile", path(&invalid)]),
        "is not a valid WebAssembly module",
    );
    assert!(!dir.path().join("invalid.cwasm").exists());

    let source = copy_fixture(dir.path(), "examples/add.wat");
    assert!(remap(&["compile", path(&source)]).status.success());
    let compiled = dir.path().join("add.cwasm");
    assert_error(
        &remap(&["compile", path(&compiled)]),
        "already a precompiled module",
    );
    assert_error(
        &remap(&[
            "compile",
            "-o",
            path(&dir.path().join("no-such-dir").join("add.cwasm")),
            path(&source),
        ]),
        "cannot write",
    );
}

#[test]
fn a_damaged_precompiled_file_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let source = copy_fixture(dir.path(), "examples/add.wat");
    assert!(remap(&["compile", path(&source)]).status.success());
    let compiled = dir.path().join("add.cwasm");
    let bytes = std::fs::read(&compiled).unwrap();

    std::fs::write(&compiled, &bytes[..bytes.len() / 2]).unwrap();
    let run = |file: &Path| {
        remap(&[
            "run",
            "--allow-precompiled",
            "--invoke",
            "add",
            path(file),
            "1",
            "2",
        ])
    };
    assert_error(&run(&compiled), "truncated");

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    std::fs::write(&compiled, &flipped).unwrap();
    assert_error(&run(&compiled), "corrupt");
}

#[test]
fn deterministic_relaxed_simd_must_match_between_compile_and_run() {
    let relaxed = fixture("tests/wat/relaxed.wat");
    let output = remap(&["run", "--invoke", "swizzled", path(&relaxed)]);
    assert!(
        ["0\n", "7\n"].contains(&stdout(&output).as_str()),
        "{}",
        stderr(&output)
    );
    let deterministic = "--relaxed-simd-deterministic=true";
    let output = remap(&["run", deterministic, "--invoke", "swizzled", path(&relaxed)]);
    assert_eq!(stdout(&output), "0\n", "{}", stderr(&output));

    let dir = tempfile::tempdir().unwrap();
    let compiled = dir.path().join("relaxed.cwasm");
    let output = remap(&[
        "compile",
        deterministic,
        "-o",
        path(&compiled),
        path(&relaxed),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let run = |flags: &[&str]| {
        let args = [
            &["run", "--allow-precompiled"],
            flags,
            &["--invoke", "swizzled", path(&compiled)],
        ];
        remap(&args.concat())
    };
    assert_error(&run(&[]), "relaxed_simd_deterministic on");
    let output = run(&[deterministic]);
    assert_eq!(stdout(&output), "0\n", "{}", stderr(&output));
}
