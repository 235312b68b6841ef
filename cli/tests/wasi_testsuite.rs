//! The official WASI test suite (its prebuilt `wasm32-wasip1` tests), run
//! through the real `remap` binary as a user runs it, once per memory style:
//! `static::rust/fd_advise`, `dynamic::c/lseek`, ...
//!
//! A test `NAME.wasm` may have a specification `NAME.json`, read as the
//! suite's own runner reads it: `args` and `env` for the program, `root` a
//! fixture directory preopened as `/` (`--dir ROOT::/`, like the suite's
//! Wasmtime adapter), the expected `exit_code` (default 0) and, when given,
//! the exact `stdout` and `stderr`. Fixture directories are copied to a
//! temporary directory first, because tests write into them. A specification
//! with any other field fails its test: a newer suite must be taught to this
//! harness, never passed unread.
//!
//! The suite is found in `$WASI_TESTSUITE`, else in `../shared/wasi-testsuite`
//! beside the workspace; without it the run fails. Nothing is skipped and no
//! failure is expected.

use libtest_mimic::{Arguments, Failed, Trial};
use remap_spec_tests::SuiteLocation;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The WASI version whose tests run: Remap implements preview 1.
const WASI_VERSION: &str = "wasm32-wasip1";

/// Longest one test may run before it is killed and failed: a debug build
/// compiles the larger tests in seconds, more on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The memory styles every test runs in.
const STYLES: [&str; 2] = ["static", "dynamic"];

/// A test's specification, in the suite's legacy format (the one its
/// prebuilt tests use).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// A fixture directory beside the test, preopened as `/`.
    root: Option<String>,
    #[serde(default)]
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

/// One `.wasm` test of the suite.
#[derive(Clone, Debug)]
struct SuiteTest {
    /// `LANGUAGE/NAME`, e.g. `rust/fd_advise`.
    name: String,
    wasm: PathBuf,
}

/// Per memory style: how many tests ran and how many of them passed.
type Tallies = Arc<Mutex<BTreeMap<&'static str, (usize, usize)>>>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let tallies = Tallies::default();
    let trials = match suite_trials(&tallies) {
        Ok(trials) => trials,
        Err(message) => vec![Trial::test("wasi_testsuite", move || Err(message.into()))],
    };
    let conclusion = libtest_mimic::run(&args, trials);
    let tallies = tallies
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for style in STYLES {
        if let Some((ran, passed)) = tallies.get(style) {
            println!("WASI test suite, {style} memories: {passed} of {ran} tests pass");
        }
    }
    conclusion.exit_code()
}

fn suite_trials(tallies: &Tallies) -> Result<Vec<Trial>, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the cli crate has no parent directory")?;
    let suite = SuiteLocation {
        name: "the WASI test suite",
        variable: "WASI_TESTSUITE",
        checkout: "a checkout of branch prod/testsuite-base of \
                   https://github.com/WebAssembly/wasi-testsuite",
        candidates: vec![workspace.join("..").join("shared").join("wasi-testsuite")],
        how_to_get: "put a checkout of branch prod/testsuite-base of \
                     https://github.com/WebAssembly/wasi-testsuite there",
    }
    .locate()
    .map_err(|err| format!("{err:#}"))?;
    let tests =
        list_tests(&suite).map_err(|err| format!("cannot list {}: {err}", suite.display()))?;
    if tests.is_empty() {
        return Err(format!(
            "{} holds no tests/*/testsuite/{WASI_VERSION}/*.wasm",
            suite.display()
        ));
    }
    let mut trials = Vec::new();
    for style in STYLES {
        for test in &tests {
            let (test, tallies) = (test.clone(), tallies.clone());
            trials.push(Trial::test(format!("{style}::{}", test.name), move || {
                let outcome = run_test(&test, style);
                let mut tallies = tallies
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let (ran, passed) = tallies.entry(style).or_default();
                *ran += 1;
                *passed += usize::from(outcome.is_ok());
                outcome
            }));
        }
    }
    Ok(trials)
}

/// Every `tests/LANGUAGE/testsuite/wasm32-wasip1/NAME.wasm`, sorted by name.
fn list_tests(suite: &Path) -> io::Result<Vec<SuiteTest>> {
    let mut tests = Vec::new();
    for language in fs::read_dir(suite.join("tests"))? {
        let language = language?;
        let dir = language.path().join("testsuite").join(WASI_VERSION);
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let wasm = entry?.path();
            if wasm.extension().is_some_and(|ext| ext == "wasm") {
                let stem = wasm.file_stem().unwrap_or_default().to_string_lossy();
                let name = format!("{}/{stem}", language.file_name().to_string_lossy());
                tests.push(SuiteTest { name, wasm });
            }
        }
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tests)
}

/// Runs one test with `remap run --memory-style STYLE` and compares its exit
/// code and output with its specification.
fn run_test(test: &SuiteTest, style: &str) -> Result<(), Failed> {
    let spec = read_spec(&test.wasm)?;
    let scratch =
        tempfile::tempdir().map_err(|err| format!("cannot make a scratch directory: {err}"))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_remap"));
    command.args(["run", "--memory-style", style]);
    for (name, value) in &spec.env {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    if let Some(root) = &spec.root {
        let fixture = test.wasm.with_file_name(root);
        let copy = scratch.path().join("root");
        copy_tree(&fixture, &copy).map_err(|err| {
            format!(
                "cannot copy {} to {}: {err}",
                fixture.display(),
                copy.display()
            )
        })?;
        command.arg("--dir").arg(format!("{}::/", copy.display()));
    }
    command.arg(&test.wasm).args(&spec.args);
    let shown = format!("{command:?}");

    // Output goes to files, so a test that prints a lot cannot block on a
    // full pipe while this harness waits for it to exit.
    let (stdout_path, stderr_path) = (scratch.path().join("stdout"), scratch.path().join("stderr"));
    let create = |path: &Path| {
        File::create(path).map_err(|err| format!("cannot create {}: {err}", path.display()))
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(create(&stdout_path)?)
        .stderr(create(&stderr_path)?)
        .spawn()
        .map_err(|err| format!("cannot start {shown}: {err}"))?;
    // Like the suite's runner: stdin is a pipe that is closed at once.
    drop(child.stdin.take());
    let status = wait_with_timeout(&mut child)?;
    let read =
        |path: &Path| fs::read(path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let stdout =
        read(&stdout_path).map_err(|err| format!("cannot read the test's stdout: {err}"))?;
    let stderr =
        read(&stderr_path).map_err(|err| format!("cannot read the test's stderr: {err}"))?;

    let mut problems = Vec::new();
    if status.code() != Some(spec.exit_code) {
        problems.push(format!(
            "expected exit code {}, got {}",
            spec.exit_code,
            describe(status)
        ));
    }
    for (stream, expected, got) in [
        ("stdout", &spec.stdout, &stdout),
        ("stderr", &spec.stderr, &stderr),
    ] {
        if let Some(expected) = expected.as_ref().filter(|expected| *expected != got) {
            problems.push(format!("expected {stream} {expected:?}, got {got:?}"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{shown}\n{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        problems.join("\n")
    )
    .into())
}

/// The test's `.json` specification, or the default one (no arguments,
/// exit code 0) when it has none.
fn read_spec(wasm: &Path) -> Result<Spec, String> {
    let path = wasm.with_extension("json");
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Spec::default()),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// Copies the directory `from` to `to`: files, directories, and symbolic
/// links as links.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)?;
        } else {
            fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Waits for `child`, killing it after [`TIMEOUT`].
fn wait_with_timeout(child: &mut Child) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|err| format!("cannot wait for remap: {err}"))?
        {
            return Ok(status);
        }
        if Instant::now() > deadline {
            // Already exiting or not, the test has failed; reap it either way.
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "still running after {} s, killed",
                TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// An exit status as a test report gives it: the code, or the signal.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("death by signal {signal}"),
        (None, None) => status.to_string(),
    }
}
