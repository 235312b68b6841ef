//! Under an address-space limit (`ulimit -v`) too small for a static memory's
//! 8 GiB reservation, `remap run` fails with one message that names the
//! limit and what to change; a dynamic memory fits under the same limit.

mod common;

use common::{assert_error, fixture, stderr, stdout};
use std::process::{Command, Output};

/// Runs `remap run --memory-style STYLE hello.wat` under `ulimit -v` 2 GB.
fn run_with_address_space_limit(style: &str) -> Output {
    let hello = fixture("examples/hello.wat");
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" run --memory-style \"$1\" \"$2\"")
        .args([env!("CARGO_BIN_EXE_remap"), style, hello.to_str().unwrap()])
        .output()
        .expect("sh runs")
}

#[test]
fn a_static_memory_past_ulimit_v_names_the_limit() {
    let output = run_with_address_space_limit("static");
    assert_error(
        &output,
        "could not reserve 8592093184 bytes of address space",
    );
    let err = stderr(&output);
    assert!(
        err.contains("address-space limit (RLIMIT_AS, `ulimit -v`) of 2048000000 bytes"),
        "{err}"
    );
    assert!(err.contains("use dynamic memories"), "{err}");
}

#[test]
fn a_dynamic_memory_fits_under_the_same_limit() {
    let output = run_with_address_space_limit("dynamic");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Hello from Remap! Arguments after the program name: 0\n"
    );
}
