//! Host functions that call back into Wasm of their own store (and of another
//! store) while Wasm is running: every level reads and writes the store's data,
//! Wasm grows memory through a builtin at every level, and the store stays
//! consistent after a trap deep inside.

use anyhow::{Result, bail};
use remap::{Caller, Engine, Linker, Module, Store, TypedFunc};

/// `run(depth)` grows memory by a page, then returns `memory.size` at depth 0
/// or calls the host's `descend(depth - 1)`, which calls `run` again.
const REENTER: &str = r#"
(module
  (import "host" "descend" (func $descend (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func (export "run") (param $depth i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (drop (memory.grow (i32.const 1)))
    (if (result i32) (i32.eqz (local.get $depth))
      (then (memory.size))
      (else (call $descend (i32.sub (local.get $depth) (i32.const 1)))))))
"#;

/// What the store's data records: which levels were entered and left.
#[derive(Default)]
struct Log {
    events: Vec<String>,
    /// Depth at which `descend` fails instead of calling back into Wasm.
    fail_at: Option<i32>,
}

fn descend(mut caller: Caller<'_, Log>, depth: i32) -> Result<i32> {
    caller.data_mut().events.push(format!("enter {depth}"));
    if caller.data().fail_at == Some(depth) {
        bail!("refusing depth {depth}");
    }
    let run = caller
        .get_export("run")
        .and_then(|e| e.into_func())
        .expect("the caller exports run");
    let run = run.typed::<i32, i32>(&caller)?;
    let pages = run.call(&mut caller, depth)?;
    // The inner call grew the memory; this level sees the same store.
    let memory = caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .expect("the caller exports memory");
    assert_eq!(memory.size(&caller), pages as u64);
    caller.data_mut().events.push(format!("leave {depth}"));
    Ok(pages)
}

fn instantiate_reenter(store: &mut Store<Log>) -> TypedFunc<i32, i32> {
    let engine = store.engine().clone();
    let module = Module::new(&engine, REENTER).unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "descend", descend).unwrap();
    let instance = linker.instantiate(&mut *store, &module).unwrap();
    instance
        .get_typed_func::<i32, i32>(&mut *store, "run")
        .unwrap()
}

#[test]
fn host_functions_reenter_wasm_of_their_store_at_every_level() {
    let mut store = Store::new(&Engine::default(), Log::default());
    let run = instantiate_reenter(&mut store);
    // One page to start with, one more per level (depths 3, 2, 1, 0).
    assert_eq!(run.call(&mut store, 3).unwrap(), 5);
    assert_eq!(
        store.data().events,
        [
            "enter 2", "enter 1", "enter 0", "leave 0", "leave 1", "leave 2"
        ]
    );
}

#[test]
fn a_failure_deep_inside_unwinds_every_level_and_leaves_the_store_usable() {
    let mut store = Store::new(
        &Engine::default(),
        Log {
            fail_at: Some(0),
            ..Log::default()
        },
    );
    let run = instantiate_reenter(&mut store);
    let error = run.call(&mut store, 2).unwrap_err();
    assert!(
        format!("{error:#}").contains("refusing depth 0"),
        "{error:#}"
    );
    assert_eq!(store.data().events, ["enter 1", "enter 0"]);

    store.data_mut().events.clear();
    store.data_mut().fail_at = None;
    // Two levels grew memory before the failure; this call adds three more.
    assert_eq!(run.call(&mut store, 2).unwrap(), 6);
    assert_eq!(
        store.data().events,
        ["enter 1", "enter 0", "leave 0", "leave 1"]
    );
}

/// Wasm of store `Outer` calls a host function that runs Wasm of another
/// store (kept in `Outer`'s data) whose host function touches that store's
/// data; then the outer Wasm grows its own memory through a builtin.
#[test]
fn a_host_function_runs_wasm_of_another_store_in_between() {
    struct Outer {
        inner: Store<u32>,
        inner_run: TypedFunc<i32, i32>,
    }
    let engine = Engine::default();
    let inner_module = Module::new(
        &engine,
        r#"(module
             (import "host" "bump" (func $bump (param i32) (result i32)))
             (memory 1)
             (func (export "run") (param i32) (result i32)
               (drop (memory.grow (i32.const 2)))
               (i32.add (call $bump (local.get 0)) (memory.size))))"#,
    )
    .unwrap();
    let mut inner = Store::new(&engine, 0u32);
    let mut inner_linker = Linker::new(&engine);
    inner_linker
        .func_wrap("host", "bump", |mut caller: Caller<'_, u32>, x: i32| {
            *caller.data_mut() += 1;
            x * 10
        })
        .unwrap();
    let inner_run = inner_linker
        .instantiate(&mut inner, &inner_module)
        .unwrap()
        .get_typed_func::<i32, i32>(&mut inner, "run")
        .unwrap();

    let outer_module = Module::new(
        &engine,
        r#"(module
             (import "host" "other" (func $other (param i32) (result i32)))
             (memory 1)
             (func (export "run") (param i32) (result i32)
               (local $from_other i32)
               (local.set $from_other (call $other (local.get 0)))
               (drop (memory.grow (i32.const 1)))
               (i32.add (local.get $from_other) (i32.mul (memory.size) (i32.const 1000)))))"#,
    )
    .unwrap();
    let mut outer = Store::new(&engine, Outer { inner, inner_run });
    let mut outer_linker = Linker::new(&engine);
    outer_linker
        .func_wrap("host", "other", |mut caller: Caller<'_, Outer>, x: i32| {
            let Outer { inner, inner_run } = caller.data_mut();
            inner_run.call(inner, x)
        })
        .unwrap();
    let outer_run = outer_linker
        .instantiate(&mut outer, &outer_module)
        .unwrap()
        .get_typed_func::<i32, i32>(&mut outer, "run")
        .unwrap();

    // Inner: 4 * 10 + 3 pages; outer: 2 pages after its own grow.
    assert_eq!(outer_run.call(&mut outer, 4).unwrap(), 2043);
    assert_eq!(*outer.data().inner.data(), 1);
    // Inner: 5 pages now.
    assert_eq!(outer_run.call(&mut outer, 1).unwrap(), 3015);
    assert_eq!(*outer.data().inner.data(), 2);
}

/// A start function that calls a host function which touches the store's data.
#[test]
fn a_start_function_reaches_the_store_data_through_a_host_function() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "note" (func $note (param i32)))
             (func $start (call $note (i32.const 7)))
             (start $start))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, Vec::<i32>::new());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "note",
            |mut caller: Caller<'_, Vec<i32>>, x: i32| caller.data_mut().push(x),
        )
        .unwrap();
    linker.instantiate(&mut store, &module).unwrap();
    linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(store.data(), &[7, 7]);
}
