//! Without `--invoke`, `remap run` calls `_initialize` if exported, then the
//! default export named `""` if there is one, else `_start`, as Wasmtime
//! does: a packaged WASI tool that exports `_initialize` and `""` but no
//! `_start` runs instead of being skipped with a note.

mod common;

use common::{run_fixture, stderr, stdout};

#[test]
fn a_tool_with_initialize_and_a_default_export_runs_both_in_order() {
    let output = run_fixture(&[], "tests/wat/packaged_tool.wat", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "initialize\ndefault\n");
    assert_eq!(stderr(&output), "", "no note that nothing was called");
}

#[test]
fn the_default_export_is_preferred_to_start() {
    let output = run_fixture(&[], "tests/wat/default_and_start.wat", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "default\n");
}
