//! `remap run` on a real tail-call program: the benchmarks' bytecode
//! interpreter whose dispatch is a guaranteed tail call (`musttail`), built
//! with Debian's clang 22 for wasm32-wasi with `-mtail-call` and natively
//! from the same source; both must print the same checksum, in both memory
//! styles. Every dispatch is a `return_call_indirect`: millions of them run
//! in one frame, so a missing tail call would exhaust the stack.
//!
//! Needs the Debian packages clang-22, lld-22, libclang-rt-22-dev-wasm32 and
//! wasi-libc (CI installs them); the test fails saying so when missing.

mod common;

use common::{clang_22, successful_stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Collatz limit and Fibonacci argument: about five million dispatches.
const ARGS: [&str; 2] = ["30000", "22"];

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/workloads/interp_tail.c")
}

#[test]
fn a_musttail_interpreter_prints_what_its_native_build_prints() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let wasm = dir.join("remap-cli-interp_tail.wasm");
    let native = dir.join("remap-cli-interp_tail.native");
    clang_22(
        &[&source()],
        &[
            "--target=wasm32-wasi",
            "-Wno-deprecated",
            "-O2",
            "-mtail-call",
        ],
        &wasm,
    );
    clang_22(&[&source()], &["-O2"], &native);
    let expected = successful_stdout(Command::new(&native).args(ARGS).output().unwrap());
    assert!(expected.starts_with("interp checksum "), "{expected}");
    for style in ["static", "dynamic"] {
        let output = Command::new(env!("CARGO_BIN_EXE_remap"))
            .args(["run", "--memory-style", style])
            .arg(&wasm)
            .args(ARGS)
            .output()
            .unwrap();
        assert_eq!(successful_stdout(output), expected, "{style} memories");
    }
}
