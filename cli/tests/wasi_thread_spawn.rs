//! `remap run -S threads` gives a program `wasi::thread-spawn`: a .wat
//! program (no wasm32-wasi-threads C library is installed here, only the
//! single-threaded wasm32-wasi one) sums 1..=400000 on four threads sharing
//! one memory and prints the same total as the same sum computed natively.
//! `proc_exit` in a spawned thread ends the program with its status; a trap
//! in one ends it as a trap in the main thread would.

mod common;

use common::{run_fixture, stderr, stdout};

const PROGRAM: &str = "tests/wat/thread_sum.wat";

#[test]
fn four_threads_compute_the_native_sum() {
    let native: u64 = (1..=4 * 100_000_u64).sum();
    let output = run_fixture(&["-S", "threads"], PROGRAM, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("{native}\n"));
}

#[test]
fn proc_exit_in_a_thread_ends_the_program() {
    let output = run_fixture(
        &["-S", "threads", "--invoke", "exit_from_thread"],
        PROGRAM,
        &[],
    );
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
}

#[test]
fn a_trap_in_a_thread_ends_the_program_with_the_trap() {
    let output = run_fixture(
        &["-S", "threads", "--invoke", "trap_in_thread"],
        PROGRAM,
        &[],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn without_the_flag_the_import_is_missing() {
    let output = run_fixture(&[], PROGRAM, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("thread-spawn"),
        "{}",
        stderr(&output)
    );
}
