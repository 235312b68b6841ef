//! `remap run -W timeout=`: an endless loop, or a wait nobody ends, is
//! interrupted once the time is up, and the command exits like a trap with a
//! message naming the timeout and the interrupt.

mod common;

use common::{run_fixture, stderr, stdout};
use std::time::{Duration, Instant};

/// Runs `fixture` with `-W timeout=1s` and checks that it is interrupted
/// within the second plus start-up, exiting like a trap that names both.
fn assert_interrupted_after_one_second(fixture: &str) {
    let started = Instant::now();
    let output = run_fixture(&["-W", "timeout=1s"], fixture, &[]);
    let elapsed = started.elapsed();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{fixture}: {err}");
    assert!(
        err.starts_with(
            "error: the guest ran longer than -W timeout=1s allows: wasm trap: interrupt"
        ),
        "{fixture}: {err}"
    );
    // A bound for the test, not a benchmark: start-up plus one second.
    assert!(
        elapsed < Duration::from_secs(2),
        "{fixture} took {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(1),
        "{fixture} took {elapsed:?}"
    );
}

#[test]
fn an_endless_loop_is_interrupted_after_the_timeout() {
    assert_interrupted_after_one_second("tests/wat/spin.wat");
}

#[test]
fn a_wait_without_end_is_interrupted_after_the_timeout() {
    assert_interrupted_after_one_second("tests/wat/wait_forever.wat");
}

#[test]
fn a_program_that_finishes_in_time_is_not_interrupted() {
    for timeout in ["timeout=30s", "timeout=30", "timeout=30000ms"] {
        let output = run_fixture(
            &["-W", timeout, "--invoke", "count"],
            "tests/wat/countdown.wat",
            &["1000"],
        );
        assert!(output.status.success(), "{timeout}: {}", stderr(&output));
        assert_eq!(stdout(&output), "1000\n");
    }
}

#[test]
fn epoch_interruption_alone_never_interrupts() {
    let output = run_fixture(
        &["-W", "epoch-interruption=y", "--invoke", "count"],
        "tests/wat/countdown.wat",
        &["100000"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "100000\n");
}
