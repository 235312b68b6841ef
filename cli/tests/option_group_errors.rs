//! Mistakes in `-W`, `-S`, `-O` and `-C` arguments are one clear error each:
//! an unknown key lists its group's keys, a Wasmtime key Remap lacks says
//! why, a bad value names the key and the expected form, and a key a
//! command does not take names the commands that do. `-G help` lists a
//! group's keys and runs nothing.

mod common;

use common::{assert_error, fixture, remap, run_fixture, stderr, stdout};

#[test]
fn an_unknown_key_lists_the_keys_of_its_group() {
    for (flag, long, known) in [
        ("-W", "wasm", "max-memory-size, max-table-elements"),
        ("-S", "wasi", "inherit-env"),
        (
            "-O",
            "optimize",
            "memory-reservation, memory-reservation-for-growth",
        ),
        ("-C", "codegen", "parallel-compilation"),
    ] {
        let output = run_fixture(&[flag, "fuel=1,no-such-key=2"], "examples/add.wat", &[]);
        let err = stderr(&output);
        // `fuel` is a -W key: in the other groups the first item is unknown.
        let unknown = if flag == "-W" { "no-such-key" } else { "fuel" };
        assert_error(
            &output,
            &format!("unknown {flag} key `{unknown}`; the {flag} (--{long}) keys are: "),
        );
        assert!(err.contains(known), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_wasmtime_key_remap_lacks_says_why() {
    let output = run_fixture(&["-O", "pooling-allocator=y"], "examples/add.wat", &[]);
    assert_error(
        &output,
        "-O pooling-allocator=y is not supported: Remap has no pooling allocator",
    );
    let output = run_fixture(&["-S", "http"], "examples/add.wat", &[]);
    assert_error(
        &output,
        "-S http is a Wasmtime option that Remap does not support",
    );
    let output = run_fixture(&["-W", "stack-switching=y"], "examples/add.wat", &[]);
    assert_error(
        &output,
        "-W stack-switching=y is not supported: Remap does not implement the stack-switching proposal",
    );
    let output = run_fixture(&["-C", "cranelift-opt_level=none"], "examples/add.wat", &[]);
    assert_error(&output, "Remap sets Cranelift's flags itself");
}

#[test]
fn a_bad_value_names_the_key_and_the_expected_form() {
    let output = run_fixture(&["--wasm", "timeout=soon"], "examples/add.wat", &[]);
    assert_error(
        &output,
        "bad value for -W timeout: `soon` is not a duration",
    );
    assert!(stderr(&output).contains("expected -W timeout=N|Ns|Nms|.."));
    let output = run_fixture(&["-O", "memory-guard-size=big"], "examples/add.wat", &[]);
    assert_error(&output, "expected -O memory-guard-size=SIZE");
    let output = run_fixture(
        &["-C", "parallel-compilation=sometimes"],
        "examples/add.wat",
        &[],
    );
    assert_error(&output, "`sometimes` is not a boolean");
}

#[test]
fn a_key_goes_only_to_the_commands_that_use_it() {
    let file = fixture("examples/add.wat");
    let file = file.to_str().unwrap();
    let output = remap(&[
        "compile",
        "-W",
        "max-memory-size=65536",
        file,
        "-o",
        "/dev/null",
    ]);
    assert_error(
        &output,
        "-W max-memory-size does not apply to `remap compile`: it is taken by `remap run`",
    );
    let script = fixture("tests/wast/passing.wast");
    let output = remap(&["wast", "-W", "fuel=10", script.to_str().unwrap()]);
    assert_error(&output, "-W fuel does not apply to `remap wast`");
    let output = remap(&[
        "wast",
        "-W",
        "simd,max-wasm-stack=1MiB",
        "-O",
        "memory-may-move=n",
        script.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_long_option_and_a_key_that_disagree_are_refused() {
    let output = run_fixture(
        &["--memory-style", "dynamic", "-O", "memory-may-move=n"],
        "examples/add.wat",
        &[],
    );
    assert_error(
        &output,
        "--memory-style dynamic contradicts the -O memory keys, which asks for static",
    );
    let output = run_fixture(
        &[
            "--memory-style",
            "static",
            "-O",
            "memory-may-move=n",
            "--invoke",
            "add",
        ],
        "examples/add.wat",
        &["1", "2"],
    );
    assert_eq!(stdout(&output), "3\n", "{}", stderr(&output));
}

#[test]
fn help_lists_the_keys_and_runs_nothing() {
    for (command, flag, key) in [
        ("run", "-W", "  -W                           fuel=N -- "),
        ("run", "-S", "tcplisten=ADDRESS:PORT -- "),
        ("compile", "-O", "memory-may-move[=y|n] -- "),
        ("wast", "-C", "parallel-compilation[=y|n] -- "),
    ] {
        let output = remap(&[command, flag, "help"]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stdout(&output).contains(key),
            "{command} {flag}: {}",
            stdout(&output)
        );
    }
    let output = remap(&["run", "-W", "fuel=1"]);
    assert_error(&output, "no FILE to run");
}
