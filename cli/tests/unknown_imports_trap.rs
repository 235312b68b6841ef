//! `remap run -W unknown-imports-trap`: a module whose imports nothing
//! defines still instantiates, and calling such an import fails naming it.

mod common;

use common::{assert_error, run_fixture, stderr};

#[test]
fn an_undefined_import_fails_only_when_called() {
    let output = run_fixture(&[], "tests/wat/calls_unknown_import.wat", &[]);
    assert_error(
        &output,
        "unknown import: `env::host_log` has not been defined",
    );
    let output = run_fixture(
        &["-W", "unknown-imports-trap"],
        "tests/wat/needs_import.wat",
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run_fixture(
        &["-W", "unknown-imports-trap=y"],
        "tests/wat/calls_unknown_import.wat",
        &[],
    );
    assert_error(&output, "unknown import `env::host_log` was called");
}
