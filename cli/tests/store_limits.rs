//! `remap run -W max-*`: the store's limits. A memory or table growth past
//! its limit returns -1 to the guest, or traps with
//! `-W trap-on-grow-failure`; instantiating past the counts of instances,
//! tables or memories is refused with a clear message.

mod common;

use common::{assert_error, fixture, run_fixture, stderr, stdout};

fn grow(options: &[&str], function: &str, by: &str) -> std::process::Output {
    let mut all = options.to_vec();
    all.extend(["--invoke", function]);
    run_fixture(&all, "tests/wat/limits.wat", &[by])
}

#[test]
fn growth_past_a_limit_returns_minus_one() {
    // The memory has one page (64 KiB): growing to two fits 128 KiB, three does not.
    for style in ["static", "dynamic"] {
        let limit = ["-W", "max-memory-size=128KiB", "--memory-style", style];
        let output = grow(&limit, "grow_memory", "1");
        assert_eq!(stdout(&output), "1\n", "{style}: {}", stderr(&output));
        let output = grow(&limit, "grow_memory", "2");
        assert_eq!(stdout(&output), "-1\n", "{style}: {}", stderr(&output));
        assert!(output.status.success());
    }
    let limit = ["-W", "max-table-elements=3"];
    assert_eq!(stdout(&grow(&limit, "grow_table", "2")), "1\n");
    assert_eq!(stdout(&grow(&limit, "grow_table", "3")), "-1\n");
}

#[test]
fn trap_on_grow_failure_stops_the_guest_instead() {
    let output = grow(
        &["-W", "max-memory-size=0x20000,trap-on-grow-failure"],
        "grow_memory",
        "2",
    );
    // Exit code 1, as Wasmtime: the limiter's error, not a Wasm trap.
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let err = stderr(&output);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("exceeds the store's limit of 131072"), "{err}");
    let output = grow(
        &["-W", "max-memory-size=0x20000,trap-on-grow-failure=n"],
        "grow_memory",
        "2",
    );
    assert_eq!(stdout(&output), "-1\n", "{}", stderr(&output));
}

#[test]
fn instantiation_past_a_count_is_refused() {
    assert_error(
        &grow(&["-W", "max-memories=0"], "grow_memory", "1"),
        "instantiation would make 1 memories in the store, over its limit of 0",
    );
    assert_error(
        &grow(&["-W", "max-tables=0"], "grow_memory", "1"),
        "instantiation would make 1 tables in the store, over its limit of 0",
    );
    assert_error(
        &grow(&["-W", "max-memory-size=32KiB"], "grow_memory", "1"),
        "the store's limiter refused a memory of 65536 bytes",
    );
    let library = format!("lib={}", fixture("tests/wat/preload_lib.wat").display());
    let with_instances = |limit: &str| {
        let limit = format!("max-instances={limit}");
        let options = ["-W", &limit, "--preload", &library, "--invoke", "quadruple"];
        run_fixture(&options, "tests/wat/preload_main.wat", &["3"])
    };
    assert_error(
        &with_instances("1"),
        "instantiation would make 2 instances in the store, over its limit of 1",
    );
    let output = with_instances("2");
    assert_eq!(stdout(&output), "12\n", "{}", stderr(&output));
}
