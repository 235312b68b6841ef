//! The driver on small scripts: every directive, passing and failing.

use remap::{Config, MemoryStyle};
use remap_spec_tests::{FileReport, run_file, run_script};

fn run(text: &str) -> FileReport {
    let mut config = Config::new();
    config.memory_style(MemoryStyle::Dynamic);
    run_script("test.wast", text, &config).expect("the script runs")
}

/// Asserts every directive passed and returns how many ran.
fn assert_passes(text: &str) -> usize {
    let report = run(text);
    let failures: Vec<String> = report.failures().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    report.results.len()
}

/// The failures as `line directive` strings.
fn failed_lines(text: &str) -> Vec<String> {
    run(text)
        .failures()
        .map(|failure| format!("{} {}", failure.line, failure.directive))
        .collect()
}

const ADD: &str = r#"(module $adder
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "payload") (result f64) (f64.const nan:0x8000000000001))
  (func (export "pair") (result i64 f64) (i64.const -1) (f64.const 2.5))
  (global (export "g") i32 (i32.const 42))
  (func (export "boom") unreachable)
  (func $r (export "recurse") (call $r)))
"#;

#[test]
fn assert_return_with_values_and_nan_patterns() {
    let script = format!(
        r#"{ADD}
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "nan") (f32.const nan:arithmetic))
(assert_return (invoke "payload") (f64.const nan:arithmetic))
(assert_return (invoke "payload") (f64.const nan:0x8000000000001))
(assert_return (invoke "pair") (i64.const -1) (f64.const 2.5))
(assert_return (invoke "add" (i32.const 1) (i32.const 1)) (either (i32.const 3) (i32.const 2)))
(assert_return (get "g") (i32.const 42))
(assert_return (get $adder "g") (i32.const 42))
(invoke "add" (i32.const 0) (i32.const 0))
"#
    );
    assert_eq!(assert_passes(&script), 11);
}

#[test]
fn wrong_results_fail_with_expected_and_got() {
    let script = format!(
        r#"{ADD}
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
(assert_return (invoke "payload") (f64.const nan:canonical))
(assert_return (invoke "pair") (i64.const -1))
(assert_return (invoke "add" (i32.const 1) (i32.const 1)) (either (i32.const 3) (i32.const 4)))
(assert_return (invoke "missing"))
"#
    );
    let report = run(&script);
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 5, "{failures:#?}");
    let first = failures[0].mismatch.as_ref().unwrap();
    assert_eq!(
        (first.expected.as_str(), first.got.as_str()),
        ("[i32:4]", "[i32:3]")
    );
    assert_eq!(failures[0].line, 10);
    let missing = failures[4].mismatch.as_ref().unwrap();
    assert!(
        missing.got.contains("no function export named `missing`"),
        "{missing:?}"
    );
}

#[test]
fn traps_and_exhaustion_match_by_message() {
    let script = format!(
        r#"{ADD}
(assert_trap (invoke "boom") "unreachable")
(assert_exhaustion (invoke "recurse") "call stack exhausted")
(assert_trap (invoke "boom") "integer overflow")
(assert_trap (invoke "add" (i32.const 1) (i32.const 1)) "unreachable")
"#
    );
    assert_eq!(failed_lines(&script), ["12 assert_trap", "13 assert_trap"]);
}

#[test]
fn uninstantiable_modules_trap_in_their_start_function_or_segments() {
    let script = r#"
(assert_trap (module (func $f unreachable) (start $f)) "unreachable")
(assert_trap (module (memory 1) (data (i32.const 65536) "x")) "out of bounds memory access")
(assert_trap (module (memory 1)) "out of bounds memory access")
"#;
    assert_eq!(failed_lines(script), ["4 assert_uninstantiable"]);
}

#[test]
fn invalid_and_malformed_modules_must_be_rejected() {
    let script = r#"
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(func (i32.konst 0))") "unknown operator")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
(assert_invalid (module (func)) "this module is valid")
(assert_malformed (module quote "(module)") "this text is fine")
"#;
    assert_eq!(
        failed_lines(script),
        ["5 assert_invalid", "6 assert_malformed"]
    );
}

#[test]
fn custom_section_faults_never_reject_a_module() {
    let script = r#"
(assert_malformed_custom (module quote "(@custom)") "@custom annotation: missing section name")
(assert_invalid_custom (module (func (export "f"))) "the runtime ignores custom sections")
(assert_invalid_custom (module (func (result i32))) "a real validation error")
"#;
    assert_eq!(failed_lines(script), ["4 assert_invalid_custom"]);
}

#[test]
fn register_links_named_instances() {
    let script = r#"
(module $a (func (export "seven") (result i32) (i32.const 7)) (memory (export "mem") 1))
(register "lib" $a)
(module $b
  (import "lib" "seven" (func $seven (result i32)))
  (func (export "fourteen") (result i32) (i32.add (call $seven) (call $seven))))
(assert_return (invoke $b "fourteen") (i32.const 14))
(assert_return (invoke $a "seven") (i32.const 7))
(assert_unlinkable (module (import "lib" "eight" (func))) "unknown import")
(assert_unlinkable (module (import "lib" "seven" (func (param i32)))) "incompatible import type")
(assert_unlinkable (module (import "lib" "seven" (func (result i32)))) "unknown import")
"#;
    assert_eq!(failed_lines(script), ["11 assert_unlinkable"]);
}

#[test]
fn module_definitions_and_instances() {
    let script = r#"
(module definition $counter (global $g (export "g") (mut i32) (i32.const 0))
  (func (export "bump") (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))
(module instance $one $counter)
(module instance $two $counter)
(assert_return (invoke $one "bump") (i32.const 1))
(assert_return (invoke $one "bump") (i32.const 2))
(assert_return (invoke $two "bump") (i32.const 1))
(module instance $three $undefined)
"#;
    assert_eq!(failed_lines(script), ["9 module instance"]);
}

#[test]
fn spectest_host_module() {
    let script = r#"
(module
  (import "spectest" "print_i32" (func $print_i32 (param i32)))
  (import "spectest" "print_f64_f64" (func $print_f64_f64 (param f64 f64)))
  (import "spectest" "global_i32" (global $gi32 i32))
  (import "spectest" "global_i64" (global $gi64 i64))
  (import "spectest" "global_f32" (global $gf32 f32))
  (import "spectest" "global_f64" (global $gf64 f64))
  (import "spectest" "table" (table 10 20 funcref))
  (import "spectest" "memory" (memory 1 2))
  (func (export "print") (call $print_i32 (i32.const 1)) (call $print_f64_f64 (f64.const 1) (f64.const 2)))
  (func (export "globals") (result i32 i64 f32 f64)
    (global.get $gi32) (global.get $gi64) (global.get $gf32) (global.get $gf64))
  (func (export "table_size") (result i32) (table.size 0))
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))
(invoke "print")
(assert_return (invoke "globals") (i32.const 666) (i64.const 666) (f32.const 666.6) (f64.const 666.6))
(assert_return (invoke "table_size") (i32.const 10))
(assert_return (invoke "grow") (i32.const 1))
(assert_return (invoke "grow") (i32.const -1))
"#;
    assert_eq!(assert_passes(script), 6);
}

#[test]
fn references_round_trip() {
    let script = r#"
(module
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func (export "null_func") (result funcref) (ref.null func))
  (func $f (export "some_func") (result funcref) (ref.func $f)))
(assert_return (invoke "id" (ref.extern 7)) (ref.extern 7))
(assert_return (invoke "id" (ref.extern 7)) (ref.extern))
(assert_return (invoke "id" (ref.null extern)) (ref.null extern))
(assert_return (invoke "null_func") (ref.null func))
(assert_return (invoke "some_func") (ref.func))
(assert_return (invoke "id" (ref.extern 7)) (ref.extern 8))
(assert_return (invoke "null_func") (ref.null extern))
"#;
    assert_eq!(
        failed_lines(script),
        ["11 assert_return", "12 assert_return"]
    );
}

#[test]
fn an_unparsable_script_is_one_failure_at_its_line() {
    let report = run("(module)\n(assert_return (invoke \"f\") (i32.const))\n");
    assert_eq!(report.results.len(), 1);
    let failure = &report.results[0];
    assert_eq!((failure.line, failure.directive), (2, "script"));
}

#[test]
fn unsupported_directives_fail_and_say_why() {
    let report =
        run("(module (func (export \"f\")))\n(assert_suspension (invoke \"f\") \"suspend\")\n");
    let failure = report.failures().next().expect("a failure");
    assert_eq!(failure.directive, "assert_suspension");
    assert!(failure.to_string().contains("stack switching"), "{failure}");
}

#[test]
fn assert_exception_needs_an_uncaught_exception() {
    let report = run(concat!(
        "(module (tag $e (param i32))\n",
        "  (func (export \"throws\") (throw $e (i32.const 1)))\n",
        "  (func (export \"returns\")))\n",
        "(assert_exception (invoke \"throws\"))\n",
        "(assert_exception (invoke \"returns\"))\n",
    ));
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].line, 5);
}

#[test]
fn folded_legacy_try_is_read() {
    let report = run(concat!(
        "(module (tag $e (param i32))\n",
        "  (func (export \"f\") (result i32)\n",
        "    (try (result i32) (do (throw $e (i32.const 7))) (catch $e))))\n",
        "(assert_return (invoke \"f\") (i32.const 7))\n",
    ));
    assert_eq!(report.failures().count(), 0);
}

#[test]
fn run_file_reports_a_missing_file() {
    let err = run_file("no/such.wast".as_ref(), &Config::new()).unwrap_err();
    assert!(err.to_string().contains("no/such.wast"), "{err}");
}

#[test]
fn remap_scripts_pass_in_both_memory_styles() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wast"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in {}", dir.display());
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        for script in &scripts {
            let report = run_file(script, &config).unwrap();
            let failures: Vec<String> = report.failures().map(ToString::to_string).collect();
            assert!(
                failures.is_empty(),
                "{} ({style:?}): {failures:#?}",
                script.display()
            );
        }
    }
}
