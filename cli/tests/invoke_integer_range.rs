//! `--invoke` integer arguments are signed decimal and must fit the
//! parameter's type: `4294967295` for an i32 is refused (it used to wrap to
//! -1), as Wasmtime refuses it.

mod common;

use common::{assert_error, run_fixture, stderr, stdout};

#[test]
fn an_i32_argument_outside_the_signed_range_is_refused() {
    for word in ["4294967295", "2147483648", "-2147483649"] {
        let output = run_fixture(
            &["--invoke", "add_i32"],
            "tests/wat/numbers.wat",
            &[word, "0"],
        );
        assert_error(
            &output,
            &format!(
                "bad argument 1 to `add_i32`: `{word}` is out of range for i32 (-2147483648 to 2147483647)"
            ),
        );
    }
}

#[test]
fn an_i64_argument_outside_the_signed_range_is_refused() {
    let output = run_fixture(
        &["--invoke", "add_i64"],
        "tests/wat/numbers.wat",
        &["0", "18446744073709551615"],
    );
    assert_error(
        &output,
        "bad argument 2 to `add_i64`: `18446744073709551615` is out of range for i64",
    );
}

#[test]
fn the_ends_of_the_signed_ranges_are_accepted() {
    let output = run_fixture(
        &["--invoke", "add_i32"],
        "tests/wat/numbers.wat",
        &["2147483647", "-2147483648"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "-1\n");
}
