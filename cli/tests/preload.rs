//! `remap run --preload NAME=PATH`: the module at PATH is instantiated first
//! and its exports are importable as NAME.

mod common;

use common::{assert_error, fixture, run_fixture, stderr, stdout};

fn preload(library: &str) -> std::process::Output {
    let option = format!("lib={}", fixture(library).display());
    run_fixture(
        &["--preload", &option, "--invoke", "quadruple"],
        "tests/wat/preload_main.wat",
        &["5"],
    )
}

#[test]
fn the_main_module_imports_a_preloaded_modules_exports() {
    let output = preload("tests/wat/preload_lib.wat");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "20\n");
}

#[test]
fn a_preload_that_fails_is_named() {
    assert_error(&preload("tests/wat/no_such_library.wat"), "cannot read");
    assert_error(
        &preload("tests/wat/needs_import.wat"),
        "cannot instantiate --preload lib=",
    );
    let output = run_fixture(&["--preload", "lib"], "tests/wat/preload_main.wat", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("NAME=PATH"), "{}", stderr(&output));
}
