//! The linker helpers Wasmtime users rely on: `Linker::module` for command
//! and reactor modules, `get_default`, `define_unknown_imports_as_traps`,
//! and the `Instance::exports` iterator.

use remap::{Engine, Extern, Instance, Linker, Module, Store};

/// A command: it exports `_start`, so every call of an export gets a fresh
/// instance (its global starts at 0 each time).
const COMMAND: &str = r#"
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "_start"))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count)))
"#;

/// A reactor: instantiated once, `_initialize` run first.
const REACTOR: &str = r#"
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $count (i32.const 100)))
  (func (export "bump") (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count)))
"#;

const USER: &str = r#"
(module
  (import "lib" "bump" (func $bump (result i32)))
  (func (export "twice") (result i32) (drop (call $bump)) (call $bump)))
"#;

fn twice(linker: &Linker<()>, store: &mut Store<()>) -> i32 {
    let engine = store.engine().clone();
    let user = Module::new(&engine, USER).unwrap();
    let instance = linker.instantiate(&mut *store, &user).unwrap();
    let twice = instance
        .get_typed_func::<(), i32>(&mut *store, "twice")
        .unwrap();
    twice.call(&mut *store, ()).unwrap()
}

#[test]
fn a_command_gets_a_fresh_instance_per_call() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .module(&mut store, "lib", &Module::new(&engine, COMMAND).unwrap())
        .unwrap();
    assert_eq!(twice(&linker, &mut store), 1);
    assert_eq!(twice(&linker, &mut store), 1);
}

#[test]
fn a_reactor_is_initialized_once_and_keeps_its_state() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .module(&mut store, "lib", &Module::new(&engine, REACTOR).unwrap())
        .unwrap();
    assert_eq!(twice(&linker, &mut store), 102);
    assert_eq!(twice(&linker, &mut store), 104);
}

#[test]
fn get_default_finds_the_empty_name_then_start_then_nothing() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let module = Module::new(
        &engine,
        r#"(module (func (export "") (result i32) (i32.const 7)) (func (export "_start") (unreachable)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    linker.instance(&mut store, "m", instance).unwrap();
    let default = linker.get_default(&mut store, "m").unwrap();
    assert_eq!(
        default
            .typed::<(), i32>(&store)
            .unwrap()
            .call(&mut store, ())
            .unwrap(),
        7
    );
    // A module with neither: a function that does nothing.
    let nothing = linker.get_default(&mut store, "absent").unwrap();
    nothing.call(&mut store, &[], &mut []).unwrap();
}

#[test]
fn unknown_imports_can_be_defined_as_traps() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (import "missing" "f" (func $f (param i32)))
            (func (export "calls_it") (call $f (i32.const 1)))
            (func (export "fine") (result i32) (i32.const 3)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    assert!(linker.instantiate(&mut store, &module).is_err());
    linker.define_unknown_imports_as_traps(&module).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let fine = instance
        .get_typed_func::<(), i32>(&mut store, "fine")
        .unwrap();
    assert_eq!(fine.call(&mut store, ()).unwrap(), 3);
    let calls_it = instance
        .get_typed_func::<(), ()>(&mut store, "calls_it")
        .unwrap();
    let error = calls_it.call(&mut store, ()).unwrap_err();
    assert!(
        format!("{error:#}").contains("unknown import `missing::f`"),
        "{error:#}"
    );
}

#[test]
fn exports_iterate_in_declaration_order() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (memory (export "mem") 1) (func (export "f")) (global (export "g") i32 (i32.const 1)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let exports = instance.exports(&mut store);
    assert_eq!(exports.len(), 3);
    let kinds: Vec<(String, bool)> = exports
        .map(|export| {
            let name = export.name().to_owned();
            (name, matches!(export.into_extern(), Extern::Func(_)))
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("mem".into(), false),
            ("f".into(), true),
            ("g".into(), false)
        ]
    );
}
