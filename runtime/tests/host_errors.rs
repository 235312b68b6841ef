//! A host function's error leaves Wasm with the Wasm frames that were active
//! attached as context (`WasmBacktrace`), as in Wasmtime, and still downcasts
//! to the host's own error type.

use anyhow::{Result, anyhow};
use remap::{Caller, Engine, Func, Linker, Module, Store, Trap, TrapKind, WasmBacktrace};

/// `run` calls `$middle`, which calls `$inner`, which calls the host's `fail`.
/// `nested` traps (unreachable); `reenter` calls the host's `call_nested`.
const MODULE: &str = r#"
(module
  (import "host" "fail" (func $fail (param i32) (result i32)))
  (import "host" "call_nested" (func $call_nested))
  (func $inner (param i32) (result i32) (call $fail (local.get 0)))
  (func $middle (param i32) (result i32) (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func $run (export "run") (param i32) (result i32) (call $middle (local.get 0)))
  (func $nested (export "nested") unreachable)
  (func $reenter (export "reenter") (call $call_nested)))
"#;

#[derive(Debug, PartialEq)]
struct HostFailure(i32);

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host failure {}", self.0)
    }
}

impl std::error::Error for HostFailure {}

/// What `call_nested` does after running `nested` (which traps).
#[derive(Clone, Copy)]
enum Nested {
    /// Returns the trap as its own error.
    PropagateTrap,
    /// Returns a fresh error instead.
    ReplaceWithOwnError,
    /// Calls `run`, whose host function fails, and returns that error.
    PropagateHostError,
}

fn setup(nested: Nested) -> (Store<()>, remap::Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "fail", |x: i32| -> Result<i32> {
            Err(HostFailure(x).into())
        })
        .unwrap();
    linker
        .func_wrap("host", "call_nested", move |mut caller: Caller<'_, ()>| {
            let export = |caller: &mut Caller<'_, ()>, name| {
                caller
                    .get_export(name)
                    .and_then(|e| e.into_func())
                    .expect("exported")
            };
            match nested {
                Nested::PropagateTrap => {
                    let nested = export(&mut caller, "nested");
                    nested.call(&mut caller, &[], &mut [])
                }
                Nested::ReplaceWithOwnError => {
                    let nested = export(&mut caller, "nested");
                    let trap = nested.call(&mut caller, &[], &mut []).unwrap_err();
                    Err(anyhow!("replaced: {trap}"))
                }
                Nested::PropagateHostError => {
                    let run = export(&mut caller, "run").typed::<i32, i32>(&caller)?;
                    run.call(&mut caller, 9).map(drop)
                }
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn names(backtrace: &WasmBacktrace) -> Vec<&str> {
    backtrace
        .frames()
        .iter()
        .map(|frame| frame.func_name().unwrap_or("?"))
        .collect()
}

#[test]
fn a_host_error_carries_the_wasm_frames_that_called_it() {
    let (mut store, instance) = setup(Nested::PropagateTrap);
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let error = run.call(&mut store, 5).unwrap_err();
    assert_eq!(error.downcast_ref::<HostFailure>(), Some(&HostFailure(5)));
    assert!(error.downcast_ref::<Trap>().is_none());
    let backtrace = error
        .downcast_ref::<WasmBacktrace>()
        .unwrap_or_else(|| panic!("no backtrace: {error:?}"));
    assert_eq!(names(backtrace), ["inner", "middle", "run"]);
    // Every frame knows the offset of its instruction.
    let offsets: Vec<_> = backtrace
        .frames()
        .iter()
        .map(|frame| frame.module_offset())
        .collect();
    assert!(offsets.iter().all(Option::is_some), "{offsets:?}");
    let message = format!("{error:#}");
    assert!(message.contains("host failure 5"), "{message}");
    assert!(message.contains("inner"), "{message}");
}

#[test]
fn a_trap_propagated_by_a_host_function_keeps_its_own_backtrace() {
    let (mut store, instance) = setup(Nested::PropagateTrap);
    let reenter = instance
        .get_typed_func::<(), ()>(&mut store, "reenter")
        .unwrap();
    let error = reenter.call(&mut store, ()).unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("the nested trap");
    assert_eq!(trap.kind(), TrapKind::UnreachableCodeReached);
    // The trap's backtrace spans both activations; no second one is added.
    assert_eq!(names(trap.backtrace()), ["nested", "reenter"]);
    assert!(error.downcast_ref::<WasmBacktrace>().is_none());
}

#[test]
fn a_host_error_after_a_nested_trap_gets_the_outer_frames() {
    let (mut store, instance) = setup(Nested::ReplaceWithOwnError);
    let reenter = instance
        .get_typed_func::<(), ()>(&mut store, "reenter")
        .unwrap();
    let error = reenter.call(&mut store, ()).unwrap_err();
    assert!(error.downcast_ref::<Trap>().is_none());
    let backtrace = error.downcast_ref::<WasmBacktrace>().expect("a backtrace");
    assert_eq!(names(backtrace), ["reenter"]);
    assert!(format!("{error:#}").contains("replaced: wasm trap: unreachable"));
}

#[test]
fn a_host_error_from_a_nested_call_keeps_the_innermost_backtrace() {
    let (mut store, instance) = setup(Nested::PropagateHostError);
    let reenter = instance
        .get_typed_func::<(), ()>(&mut store, "reenter")
        .unwrap();
    let error = reenter.call(&mut store, ()).unwrap_err();
    assert_eq!(error.downcast_ref::<HostFailure>(), Some(&HostFailure(9)));
    let backtrace = error.downcast_ref::<WasmBacktrace>().expect("a backtrace");
    assert_eq!(names(backtrace), ["inner", "middle", "run", "reenter"]);
    // One backtrace, attached once.
    let message = format!("{error:#}");
    assert_eq!(message.matches("wasm backtrace:").count(), 1, "{message}");
}

#[test]
fn a_host_function_called_from_the_host_gets_no_backtrace() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let fail = Func::wrap(&mut store, |x: i32| -> Result<i32> {
        Err(HostFailure(x).into())
    });
    let error = fail
        .call(&mut store, &[3.into()], &mut [0.into()])
        .unwrap_err();
    assert_eq!(error.downcast_ref::<HostFailure>(), Some(&HostFailure(3)));
    assert!(error.downcast_ref::<WasmBacktrace>().is_none());
    assert_eq!(error.to_string(), "host failure 3");
}
