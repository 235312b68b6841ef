//! Runs the `remap` binary the way a user does and checks its output and exit codes.

mod common;

use common::{assert_error, fixture, remap, run_fixture, stderr, stdout};
use std::fs;
use std::process::Command;

#[test]
fn the_readme_example_adds() {
    let output = run_fixture(&["--invoke", "add"], "examples/add.wat", &["1", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "3\n");
}

#[test]
fn the_readme_wasi_program_greets_and_counts_its_arguments() {
    let output = run_fixture(&[], "examples/hello.wat", &["a", "b", "c"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Hello from Remap! Arguments after the program name: 3\n"
    );
}

#[test]
fn invoke_parses_each_parameter_type() {
    let cases: [(&str, [&str; 2], &str); 4] = [
        ("add_i32", ["-5", "-1"], "-6\n"),
        ("add_i64", ["9000000000", "-1"], "8999999999\n"),
        ("mul_f32", ["1.5", "-2"], "-3\n"),
        ("div_f64", ["1", "8"], "0.125\n"),
    ];
    for (name, args, expected) in cases {
        let output = run_fixture(&["--invoke", name], "tests/wat/numbers.wat", &args);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert_eq!(stdout(&output), expected, "{name}");
    }
}

#[test]
fn invoke_prints_one_result_per_line() {
    let output = run_fixture(&["--invoke", "swap"], "tests/wat/numbers.wat", &["7", "-8"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "-8\n7\n");
    let output = run_fixture(&["--invoke", "nothing"], "tests/wat/numbers.wat", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn runs_binary_modules_too() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("add.wasm");
    fs::write(&wasm, wat::parse_file(fixture("examples/add.wat")).unwrap()).unwrap();
    let output = remap(&["run", "--invoke", "add", wasm.to_str().unwrap(), "40", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "42\n");
}

#[test]
fn a_missing_file_is_one_clear_error() {
    let output = remap(&["run", "no/such/module.wasm"]);
    assert_error(&output, "cannot read `no/such/module.wasm`");
}

#[test]
fn a_file_that_is_not_wasm_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    fs::write(&text, "just some notes\n").unwrap();
    assert_error(
        &remap(&["run", text.to_str().unwrap()]),
        "is not a WebAssembly file",
    );
    let binary = dir.path().join("image.png");
    fs::write(&binary, [0x89, b'P', b'N', b'G', 0, 0xff, 0xfe]).unwrap();
    assert_error(
        &remap(&["run", binary.to_str().unwrap()]),
        "is not a WebAssembly file",
    );
}

#[test]
fn a_wat_syntax_error_names_the_line() {
    let output = run_fixture(&[], "tests/wat/syntax_error.wat", &[]);
    assert_error(&output, "is not valid WAT");
    assert!(
        stderr(&output).contains("syntax_error.wat:3"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_validation_error_gives_the_byte_offset() {
    let output = run_fixture(&[], "tests/wat/invalid.wat", &[]);
    assert_error(&output, "is not a valid WebAssembly module");
    assert!(stderr(&output).contains("offset"), "{}", stderr(&output));
}

#[test]
fn a_truncated_binary_is_a_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("truncated.wasm");
    let mut bytes = wat::parse_file(fixture("examples/add.wat")).unwrap();
    bytes.truncate(bytes.len() - 3);
    fs::write(&wasm, bytes).unwrap();
    assert_error(
        &remap(&["run", wasm.to_str().unwrap()]),
        "is not a valid WebAssembly module",
    );
}

#[test]
fn a_missing_import_names_module_and_field() {
    let output = run_fixture(&[], "tests/wat/needs_import.wat", &[]);
    assert_error(&output, "env::host_log");
    assert!(
        stderr(&output).contains("unknown import"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_invoke_name_lists_the_exports() {
    let output = run_fixture(&["--invoke", "sub"], "examples/add.wat", &["1", "2"]);
    assert_error(&output, "exports no function named `sub`");
    assert!(stderr(&output).contains("add"), "{}", stderr(&output));
}

#[test]
fn bad_invoke_arguments_are_one_clear_error() {
    let output = run_fixture(
        &["--invoke", "add_i32"],
        "tests/wat/numbers.wat",
        &["1", "x"],
    );
    assert_error(
        &output,
        "bad argument 2 to `add_i32`: `x` is not a valid i32",
    );
    let output = run_fixture(
        &["--invoke", "add_i64"],
        "tests/wat/numbers.wat",
        &["1.5", "2"],
    );
    assert_error(&output, "`1.5` is not a valid i64");
    let output = run_fixture(&["--invoke", "add_i32"], "tests/wat/numbers.wat", &["1"]);
    assert_error(
        &output,
        "`add_i32` takes 2 argument(s) (i32, i32) but 1 were given",
    );
}

#[test]
fn a_trap_prints_its_kind_and_backtrace_and_exits_134() {
    let output = run_fixture(&["--invoke", "boom"], "tests/wat/trap.wat", &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{err}");
    assert!(err.contains("wasm trap: unreachable"), "{err}");
    assert!(err.contains("wasm backtrace:"), "{err}");
    assert!(err.contains("inner"), "{err}");
    assert!(err.contains("outer"), "{err}");

    let output = run_fixture(&["--invoke", "divide"], "tests/wat/trap.wat", &["1", "0"]);
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("integer divide by zero"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_reactor_is_initialised_before_invoke() {
    let output = run_fixture(&["--invoke", "value"], "tests/wat/reactor.wat", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "42\n");
}

#[test]
fn a_stack_overflow_backtrace_is_folded_and_bounded() {
    let output = run_fixture(&["--invoke", "recurse"], "tests/wat/trap.wat", &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{err}");
    assert!(
        err.starts_with("error: wasm trap: call stack exhausted\nwasm backtrace:\n"),
        "{err}"
    );
    assert!(
        err.contains("recurse\n      ... the frame above repeats"),
        "{err}"
    );
    // The innermost frame is at the function's entry check, the others at
    // the recursive call: two lines, then the fold.
    assert_eq!(err.lines().count(), 5, "{err}");

    let output = run_fixture(&["--invoke", "ping"], "tests/wat/trap.wat", &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(134), "{err}");
    assert!(err.contains("pong"), "{err}");
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .contains("more frames"),
        "{err}"
    );
    assert!(err.lines().count() < 80, "{err}");
}

#[test]
fn without_start_or_invoke_nothing_is_called() {
    let output = run_fixture(&[], "examples/add.wat", &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("--invoke"), "{}", stderr(&output));
}

#[test]
fn wasi_args_env_and_exit_code_reach_the_program() {
    let output = run_fixture(&[], "tests/wat/wasi_exit.wat", &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "argv[0] only: {}",
        stderr(&output)
    );
    let output = run_fixture(
        &["--env", "A=1", "--env", "B=two"],
        "tests/wat/wasi_exit.wat",
        &["x", "--flag"],
    );
    assert_eq!(output.status.code(), Some(23), "{}", stderr(&output));
}

#[test]
fn env_without_a_value_passes_the_hosts() {
    let program = fixture("tests/wat/wasi_exit.wat");
    let run = |host_value: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_remap"));
        command.args(["run", "--env", "REMAP_TEST_VAR", "--env", "B=2"]);
        command.arg(&program);
        match host_value {
            Some(value) => command.env("REMAP_TEST_VAR", value),
            None => command.env_remove("REMAP_TEST_VAR"),
        };
        command.output().unwrap()
    };
    let with_host_value = run(Some("set"));
    assert_eq!(
        with_host_value.status.code(),
        Some(21),
        "{}",
        stderr(&with_host_value)
    );
    let without = run(None);
    assert_eq!(without.status.code(), Some(11), "{}", stderr(&without));
}

#[test]
fn wasi_stdout_and_preopened_dirs() {
    const EBADF: i32 = 8;
    let output = run_fixture(&[], "tests/wat/wasi_hello.wat", &[]);
    assert_eq!(stdout(&output), "hello from wasi\n");
    assert_eq!(output.status.code(), Some(EBADF), "{}", stderr(&output));
    let dir = tempfile::tempdir().unwrap();
    let mapping = format!("{}::/data", dir.path().display());
    let output = run_fixture(&["--dir", &mapping], "tests/wat/wasi_hello.wat", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn stdin_left_after_a_short_read_polls_ready() {
    use std::io::Write;
    use std::process::Stdio;
    let program = fixture("tests/wat/wasi_poll_stdin.wat");
    let mut child = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(["run", program.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Written at once and kept open: after the guest's one-byte read, the
    // other bytes must still be visible to poll_oneoff (no host-side buffer
    // may swallow them).
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"abc").unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ready\n");
    assert!(output.status.success());
}

#[test]
fn a_program_serves_a_connection_on_a_tcplisten_socket() {
    use std::io::Read;
    // Find a free port; the tiny window in which another process could take it is acceptable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let program = fixture("tests/wat/wasi_greeter.wat");
    let mut child = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(["run", "--tcplisten", &address, program.to_str().unwrap()])
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut stream = loop {
        match std::net::TcpStream::connect(&address) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed().as_secs() < 60 => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(err) => panic!("remap never listened on {address}: {err}"),
        }
    };
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "hi\n");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_tcplisten_address_that_cannot_be_bound_is_one_clear_error() {
    let output = run_fixture(
        &["--tcplisten", "not an address"],
        "tests/wat/wasi_greeter.wat",
        &[],
    );
    assert_error(&output, "cannot listen on --tcplisten not an address");
}

#[test]
fn a_missing_preopen_dir_is_one_clear_error() {
    let output = run_fixture(&["--dir", "/no/such/dir"], "tests/wat/wasi_hello.wat", &[]);
    assert_error(&output, "cannot open --dir /no/such/dir");
}

#[test]
fn bad_option_values_are_rejected_by_the_parser() {
    let output = run_fixture(&["--max-memory", "12apples"], "examples/add.wat", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown unit"),
        "{}",
        stderr(&output)
    );
    let output = run_fixture(&["--memory-style", "wobbly"], "examples/add.wat", &[]);
    assert_eq!(output.status.code(), Some(2));
    let output = run_fixture(&["--env", "=value"], "examples/add.wat", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("NAME=VALUE"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn memory_options_apply() {
    for style in ["static", "dynamic"] {
        let options = ["--memory-style", style, "--invoke", "grow"];
        let output = run_fixture(&options, "tests/wat/numbers.wat", &["3"]);
        assert!(output.status.success(), "{style}: {}", stderr(&output));
        assert_eq!(stdout(&output), "1\n", "{style}: old size in pages");
    }
    let options = ["--max-memory", "128KiB", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "-1\n", "growing past --max-memory fails");
    let options = ["--pin", "--pin-budget", "1MiB", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "1\n");
}

#[test]
fn memory_limits_that_cannot_be_met_are_clear_errors() {
    let options = ["--pin", "--pin-budget", "32KiB", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["1"]);
    assert_error(&output, "exceeds the pin budget");
    let options = ["--max-memory", "32KiB", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["1"]);
    assert_error(&output, "exceeds the configured limit");
    let options = ["--pin", "--pin-budget", "64KiB", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "-1\n", "growing past the pin budget fails");
}

#[test]
fn stats_go_to_stderr_on_exit() {
    let options = ["--stats", "--pin", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "1\n");
    let err = stderr(&output);
    for line in [
        "peak committed: 128.0 KiB",
        "committed at exit: 128.0 KiB",
        "pinned at exit: 128.0 KiB",
        "relocations: ",
        "protection calls: ",
    ] {
        assert!(err.contains(line), "expected `{line}` in: {err}");
    }
}

#[test]
fn stats_show_dynamic_memories_relocating_and_static_ones_staying() {
    for (style, relocations) in [
        ("static", "relocations: 0\n"),
        ("dynamic", "relocations: 1\n"),
    ] {
        let options = ["--memory-style", style, "--stats", "--invoke", "grow"];
        let output = run_fixture(&options, "tests/wat/numbers.wat", &["400"]);
        assert!(output.status.success(), "{style}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.contains(relocations), "{style}: {err}");
        assert!(err.contains("peak committed: 25.1 MiB"), "{style}: {err}");
    }
}

#[test]
fn wast_scripts_may_print_to_stdout() {
    use std::time::{Duration, Instant};
    let script = fixture("tests/wast/prints.wast");
    let mut child = Command::new(env!("CARGO_BIN_EXE_remap"))
        .args(["wast", script.to_str().unwrap(), script.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the remap binary runs");
    // A print from the script's thread once deadlocked on the report's stdout lock.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("`remap wast` hung on a script that prints");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("spectest: 42 : i32\n"), "{text}");
    assert_eq!(text.lines().last(), Some("4 passed, 0 failed"));
}

#[test]
fn wast_reports_per_file_and_in_total() {
    let passing = fixture("tests/wast/passing.wast");
    let output = remap(&["wast", passing.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("passing.wast: 3 passed, 0 failed\n"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("3 passed, 0 failed"));
}

#[test]
fn wast_lists_failures_and_exits_non_zero() {
    let passing = fixture("tests/wast/passing.wast");
    let failing = fixture("tests/wast/failing.wast");
    let output = remap(&[
        "wast",
        "--memory-style",
        "dynamic",
        passing.to_str().unwrap(),
        failing.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("failing.wast: 2 passed, 1 failed\n"),
        "{text}"
    );
    assert!(
        text.contains("  line 5: assert_return: expected [i32:5], got [i32:4]\n"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("5 passed, 1 failed"));
}

#[test]
fn wast_counts_an_unreadable_script_as_a_failure() {
    let output = remap(&["wast", "missing.wast"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("cannot read spec script missing.wast"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"));
}
