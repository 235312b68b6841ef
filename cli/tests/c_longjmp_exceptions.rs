//! `remap run` on a real program that uses Wasm exceptions: a C program
//! whose setjmp/longjmp clang 22 lowers to Wasm exception handling
//! (`-fwasm-exceptions -mllvm -wasm-enable-sjlj`: every longjmp throws a
//! tag through a hundred frames to a handler), built for wasm32-wasi and
//! natively from the same source; both must print the same, in both
//! memory styles, and the module must need exceptions.
//!
//! Debian has no wasm32 libc++/libc++abi for clang 22 (the packages
//! libc++-22-dev-wasm32 and libc++abi-22-dev-wasm32 are not installed), so
//! C++ `throw` cannot be linked; setjmp/longjmp is the C route to the same
//! instructions. Needs clang-22, lld-22, libclang-rt-22-dev-wasm32 and
//! wasi-libc; the test fails saying so when missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MISSING_TOOLCHAIN: &str = "this test needs clang 22 with the wasm32-wasi target: \
    install the Debian packages clang-22 lld-22 libclang-rt-22-dev-wasm32 wasi-libc";

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/exceptions")
        .join(name)
}

fn clang(args: &[&Path], flags: &[&str], output: &Path) {
    let result = Command::new("clang-22")
        .args(flags)
        .args(args)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap_or_else(|err| panic!("cannot run clang-22 ({err}); {MISSING_TOOLCHAIN}"));
    assert!(
        result.status.success(),
        "clang-22 failed:\n{}\n{MISSING_TOOLCHAIN}",
        String::from_utf8_lossy(&result.stderr)
    );
}

fn stdout_of(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The program built for wasm32-wasi with Wasm exceptions.
fn build_wasm(dir: &Path) -> PathBuf {
    const WASM: [&str; 4] = [
        "--target=wasm32-wasi",
        "-Wno-deprecated",
        "-fwasm-exceptions",
        "-O2",
    ];
    let main = dir.join("remap-cli-longjmp.o");
    let runtime = dir.join("remap-cli-wasm_sjlj_runtime.o");
    let wasm = dir.join("remap-cli-longjmp.wasm");
    let main_flags = [&WASM[..], &["-mllvm", "-wasm-enable-sjlj", "-c"]].concat();
    clang(&[&source("longjmp.c")], &main_flags, &main);
    let runtime_flags = [&WASM[..], &["-c"]].concat();
    clang(&[&source("wasm_sjlj_runtime.c")], &runtime_flags, &runtime);
    clang(&[&main, &runtime], &WASM, &wasm);
    wasm
}

#[test]
fn a_longjmp_program_prints_what_its_native_build_prints() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let wasm = build_wasm(dir);
    let native = dir.join("remap-cli-longjmp.native");
    clang(&[&source("longjmp.c")], &["-O2"], &native);
    let expected = stdout_of(Command::new(&native).output().unwrap());
    assert!(expected.ends_with("total 754\n"), "{expected}");
    for style in ["static", "dynamic"] {
        let output = Command::new(env!("CARGO_BIN_EXE_remap"))
            .args(["run", "--memory-style", style])
            .arg(&wasm)
            .output()
            .unwrap();
        assert_eq!(stdout_of(output), expected, "{style} memories");
    }
    let without = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(["run", "-W", "exceptions=n"])
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(!without.status.success(), "the program must use exceptions");
}
