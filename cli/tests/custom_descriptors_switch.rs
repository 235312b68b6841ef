//! `-W custom-descriptors=y` turns the custom descriptors proposal on for
//! `remap run`; without it the module is refused with an error naming the
//! proposal.

mod common;

use common::{run_fixture, stderr, stdout};

#[test]
fn the_switch_turns_custom_descriptors_on() {
    let output = run_fixture(
        &["-W", "custom-descriptors=y", "--invoke", "run"],
        "tests/wat/descriptor.wat",
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "42");

    let refused = run_fixture(&["--invoke", "run"], "tests/wat/descriptor.wat", &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("descriptor"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
