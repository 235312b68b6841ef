//! `remap run` reports an uncaught Wasm exception as clearly as a trap: its
//! payload and the Wasm backtrace of the throw, with a trap's exit code.

mod common;

use common::{run_fixture, stderr};

#[test]
fn an_uncaught_exception_is_reported_with_its_payload_and_backtrace() {
    let output = run_fixture(
        &["--invoke", "run"],
        "tests/wat/uncaught_exception.wat",
        &[],
    );
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    let stderr = stderr(&output);
    assert!(
        stderr.contains("wasm exception: uncaught Wasm exception with payload (i32 7, f64 2.5)"),
        "{stderr}"
    );
    assert!(stderr.contains("wasm backtrace:"), "{stderr}");
    assert!(stderr.contains("inner"), "{stderr}");
}

#[test]
fn exceptions_can_be_switched_off() {
    let output = run_fixture(
        &["-W", "exceptions=n", "--invoke", "run"],
        "tests/wat/uncaught_exception.wat",
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("exceptions"),
        "{}",
        stderr(&output)
    );
}
