//! `remap run --argv0 NAME`: the program sees NAME as its argv[0] instead of
//! the file name.

mod common;

use common::{fixture, run_fixture, stderr, stdout};

#[test]
fn argv0_replaces_the_program_name() {
    let output = run_fixture(
        &["--argv0", "tool"],
        "tests/wat/print_args.wat",
        &["a", "b"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "tool\na\nb\n");
    let output = run_fixture(&[], "tests/wat/print_args.wat", &["a"]);
    let file = fixture("tests/wat/print_args.wat");
    assert_eq!(stdout(&output), format!("{}\na\n", file.display()));
}
