//! A program's `proc_exit` status becomes `remap run`'s exit code only when
//! a process can return it faithfully (0 to 125); any other status is
//! refused with a message and exit code 1, as Wasmtime does, never
//! truncated to a byte (256 used to exit 0, 300 with 44).

mod common;

use common::{assert_error, run_fixture, stderr};

fn exit_with(status: &str) -> std::process::Output {
    run_fixture(&["--invoke", "exit"], "tests/wat/exit_with.wat", &[status])
}

#[test]
fn statuses_0_to_125_become_the_exit_code() {
    for status in [0, 1, 42, 125] {
        let output = exit_with(&status.to_string());
        assert_eq!(output.status.code(), Some(status), "{}", stderr(&output));
    }
}

#[test]
fn other_statuses_are_refused_with_exit_code_1() {
    for status in ["126", "134", "255", "256", "300", "-1", "-2147483648"] {
        let output = exit_with(status);
        assert_error(
            &output,
            &format!("the program exited with status {status}, which `remap run` cannot pass on"),
        );
        assert!(stderr(&output).contains("0 to 125"), "{}", stderr(&output));
    }
}
