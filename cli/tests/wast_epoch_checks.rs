//! `remap wast -W epoch-interruption=y` compiles the epoch checks into
//! every module of the scripts, whose stores get a deadline that never
//! comes: loops, recursion and traps give the results they give without
//! the checks, in both memory styles.

mod common;

use common::{fixture, remap, stdout};

#[test]
fn scripts_pass_with_epoch_checks_compiled_in() {
    let script = fixture("tests/wast/loops.wast");
    for style in ["static", "dynamic"] {
        let output = remap(&[
            "wast",
            "--memory-style",
            style,
            "-W",
            "epoch-interruption=y",
            script.to_str().unwrap(),
        ]);
        let text = stdout(&output);
        assert!(output.status.success(), "{style}: {text}");
        assert_eq!(text.lines().last(), Some("4 passed, 0 failed"), "{style}");
    }
}
