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

mod common;

use common::{clang_22, successful_stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/exceptions")
        .join(name)
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
    clang_22(&[&source("longjmp.c")], &main_flags, &main);
    let runtime_flags = [&WASM[..], &["-c"]].concat();
    clang_22(&[&source("wasm_sjlj_runtime.c")], &runtime_flags, &runtime);
    clang_22(&[&main, &runtime], &WASM, &wasm);
    wasm
}

#[test]
fn a_longjmp_program_prints_what_its_native_build_prints() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let wasm = build_wasm(dir);
    let native = dir.join("remap-cli-longjmp.native");
    clang_22(&[&source("longjmp.c")], &["-O2"], &native);
    let expected = successful_stdout(Command::new(&native).output().unwrap());
    assert!(expected.ends_with("total 754\n"), "{expected}");
    for style in ["static", "dynamic"] {
        let output = Command::new(env!("CARGO_BIN_EXE_remap"))
            .args(["run", "--memory-style", style])
            .arg(&wasm)
            .output()
            .unwrap();
        assert_eq!(successful_stdout(output), expected, "{style} memories");
    }
    let without = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(["run", "-W", "exceptions=n"])
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(!without.status.success(), "the program must use exceptions");
}
