//! The official WebAssembly spec suite: every `.wast` script is a test, once
//! per memory style (`static::address.wast`, `dynamic::address.wast`).
//! `expected-failures.txt` lists the scripts known to fail and how many of
//! their directives fail; a listed script that fails more or fewer
//! directives, or passes, fails its test too, so the list stays true.

use libtest_mimic::{Arguments, Failed, Trial};
use remap::{Config, MemoryStyle};
use remap_spec_tests::{ExpectedFailures, FileReport, list_scripts, locate_suite, run_file};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// How many failed directives a failing test prints.
const FAILURES_SHOWN: usize = 20;

/// What one script did under one style, for the closing summary.
struct ScriptTally {
    style: &'static str,
    passed_directives: usize,
    total_directives: usize,
}

type Tallies = Arc<Mutex<Vec<ScriptTally>>>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let tallies = Tallies::default();
    let trials = match suite_trials(&tallies) {
        Ok(trials) => trials,
        Err(message) => vec![Trial::test("testsuite", move || Err(message.into()))],
    };
    let conclusion = libtest_mimic::run(&args, trials);
    print_summary(
        &tallies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    conclusion.exit_code()
}

/// Prints, per style that ran, how many scripts and directives passed.
fn print_summary(tallies: &[ScriptTally]) {
    for style in ["static", "dynamic"] {
        let ran: Vec<_> = tallies
            .iter()
            .filter(|tally| tally.style == style)
            .collect();
        if ran.is_empty() {
            continue;
        }
        let passing = ran
            .iter()
            .filter(|tally| tally.passed_directives == tally.total_directives)
            .count();
        let passed: usize = ran.iter().map(|tally| tally.passed_directives).sum();
        let total: usize = ran.iter().map(|tally| tally.total_directives).sum();
        println!(
            "spec suite, {style} memories: {passing} of {} scripts pass fully; {passed} of {total} directives pass",
            ran.len()
        );
    }
}

fn suite_trials(tallies: &Tallies) -> Result<Vec<Trial>, String> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = crate_dir
        .parent()
        .ok_or("spec-tests has no parent directory")?;
    let suite = locate_suite(workspace).map_err(|err| format!("{err:#}"))?;
    let scripts = list_scripts(&suite).map_err(|err| format!("{err:#}"))?;
    let list_path = crate_dir.join("expected-failures.txt");
    let list_text = fs::read_to_string(&list_path)
        .map_err(|err| format!("cannot read {}: {err}", list_path.display()))?;
    let expected = Arc::new(ExpectedFailures::parse(&list_text).map_err(|err| format!("{err:#}"))?);

    let mut trials = vec![list_names_only_suite_scripts(
        expected.clone(),
        scripts.clone(),
    )];
    for (style_name, style) in [
        ("static", MemoryStyle::Static),
        ("dynamic", MemoryStyle::Dynamic),
    ] {
        for script in &scripts {
            let path = suite.join(script);
            let script = script.clone();
            let expected = expected.clone();
            let tallies = tallies.clone();
            trials.push(Trial::test(format!("{style_name}::{script}"), move || {
                let report = run_script_with_style(&path, style)?;
                tallies
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(ScriptTally {
                        style: style_name,
                        passed_directives: report.passed(),
                        total_directives: report.results.len(),
                    });
                compare(&report, style_name, &script, &expected)
            }));
        }
    }
    Ok(trials)
}

fn list_names_only_suite_scripts(expected: Arc<ExpectedFailures>, scripts: Vec<String>) -> Trial {
    Trial::test("expected_failures_list_names_suite_scripts", move || {
        let stale: Vec<_> = expected
            .entries()
            .filter(|entry| !scripts.contains(&entry.script))
            .map(|entry| entry.script.clone())
            .collect();
        if stale.is_empty() {
            Ok(())
        } else {
            Err(format!("expected-failures.txt names scripts not in the suite: {stale:?}").into())
        }
    })
}

fn run_script_with_style(path: &Path, style: MemoryStyle) -> Result<FileReport, Failed> {
    let mut config = Config::new();
    config.memory_style(style);
    run_file(path, &config).map_err(|err| format!("{err:#}").into())
}

fn compare(
    report: &FileReport,
    style_name: &str,
    script: &str,
    expected: &ExpectedFailures,
) -> Result<(), Failed> {
    match (report.is_success(), expected.lookup(style_name, script)) {
        (true, None) => Ok(()),
        (true, Some(entry)) => Err(format!(
            "{script} passes now but expected-failures.txt lists it ({}): remove the entry",
            entry.reason
        )
        .into()),
        (false, None) => Err(describe_failures(report).into()),
        (false, Some(entry)) if report.failed() == entry.failed_directives => Ok(()),
        (false, Some(entry)) if report.failed() < entry.failed_directives => Err(format!(
            "{script}: {} directives fail, fewer than the {} expected-failures.txt lists: \
             lower its count",
            report.failed(),
            entry.failed_directives
        )
        .into()),
        (false, Some(entry)) => Err(format!(
            "{script}: more directives fail than the {} expected-failures.txt lists ({}); {}",
            entry.failed_directives,
            entry.reason,
            describe_failures(report)
        )
        .into()),
    }
}

fn describe_failures(report: &FileReport) -> String {
    let mut text = format!(
        "{} of {} directives failed:",
        report.failed(),
        report.results.len()
    );
    for failure in report.failures().take(FAILURES_SHOWN) {
        let _ = write!(text, "\n  {failure}");
    }
    if report.failed() > FAILURES_SHOWN {
        let _ = write!(
            text,
            "\n  ... and {} more",
            report.failed() - FAILURES_SHOWN
        );
    }
    text
}
