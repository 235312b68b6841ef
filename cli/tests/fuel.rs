//! `remap run -W fuel=N`: the guest gets N units of fuel and traps once they
//! are used up; a program that needs less finishes normally. Code compiled
//! by `remap compile -W fuel=..` consumes fuel, and runs only where fuel is on.

mod common;

use common::{assert_error, fixture, remap, run_fixture, stderr, stdout};

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let output = run_fixture(&["-W", "fuel=1000"], "tests/wat/spin.wat", &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{err}");
    assert!(
        err.starts_with(
            "error: the guest used up the fuel of -W fuel=1000: \
             wasm trap: all fuel consumed by WebAssembly"
        ),
        "{err}"
    );
}

#[test]
fn enough_fuel_lets_a_program_finish_and_too_little_stops_it() {
    let count = |fuel: &str| {
        run_fixture(
            &["-W", fuel, "--invoke", "count"],
            "tests/wat/countdown.wat",
            &["1000"],
        )
    };
    let output = count("fuel=1_000_000");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "1000\n");
    let output = count("fuel=1000");
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(stderr(&output).contains("all fuel consumed"));
}

#[test]
fn precompiled_fuel_code_runs_only_with_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let compiled = dir.path().join("countdown.cwasm");
    let compiled = compiled.to_str().unwrap();
    let source = fixture("tests/wat/countdown.wat");
    let output = remap(&[
        "compile",
        "-W",
        "fuel=1",
        source.to_str().unwrap(),
        "-o",
        compiled,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let run = |options: &[&str]| {
        let mut args = vec!["run", "--allow-precompiled"];
        args.extend_from_slice(options);
        args.extend(["--invoke", "count", compiled, "1000"]);
        remap(&args)
    };
    let output = run(&["-W", "fuel=1000000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "1000\n");
    assert_error(
        &run(&[]),
        "it was compiled with fuel consumption, this engine runs code without it",
    );
}
