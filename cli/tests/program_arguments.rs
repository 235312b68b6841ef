//! Everything after FILE on the `remap run` command line belongs to the
//! program, options included (as in Wasmtime); Remap's own options go before
//! FILE.

mod common;

use common::{fixture, remap, stderr, stdout};

/// Runs `remap run BEFORE print_args.wat AFTER` and returns the program's
/// arguments after its name.
fn program_arguments(before: &[&str], after: &[&str]) -> Vec<String> {
    let program = fixture("tests/wat/print_args.wat");
    let mut args = vec!["run"];
    args.extend_from_slice(before);
    args.push(program.to_str().unwrap());
    args.extend_from_slice(after);
    let output = remap(&args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output).lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn help_and_version_after_file_go_to_the_program() {
    assert_eq!(program_arguments(&[], &["--help"]), ["--help"]);
    assert_eq!(
        program_arguments(&[], &["-V", "--version"]),
        ["-V", "--version"]
    );
}

#[test]
fn remap_options_after_file_go_to_the_program_too() {
    assert_eq!(
        program_arguments(&[], &["--pin", "--version"]),
        ["--pin", "--version"]
    );
    assert_eq!(
        program_arguments(&[], &["--env", "A=1", "--", "x"]),
        ["--env", "A=1", "--", "x"]
    );
}

#[test]
fn options_before_file_are_remaps() {
    assert_eq!(program_arguments(&["--pin"], &["--version"]), ["--version"]);
    assert_eq!(program_arguments(&["--"], &["--help"]), ["--help"]);
}

#[test]
fn an_unknown_option_before_file_is_refused() {
    let program = fixture("tests/wat/print_args.wat");
    let output = remap(&["run", "--bogus", program.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("unexpected argument '--bogus'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_argument_that_is_not_utf8_is_one_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let program = fixture("tests/wat/print_args.wat");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_remap"))
        .arg("run")
        .arg(&program)
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    common::assert_error(
        &output,
        "the program argument \"caf\\xE9\" is not valid UTF-8",
    );
}
