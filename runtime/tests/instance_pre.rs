//! `InstancePre`: imports resolved and host functions type-checked once,
//! then instantiated many times in one store and in others; a host function
//! of the wrong type is refused by `instantiate_pre` itself, and a missing
//! import names itself.

use remap::{Engine, Linker, Memory, MemoryType, Module, Store};

const WAT: &str = r#"
(module
  (import "host" "double" (func $double (param i32) (result i32)))
  (import "env" "memory" (memory 1))
  (global $calls (mut i32) (i32.const 0))
  (func (export "run") (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 0) (call $double (local.get 0)))
    (i32.add (i32.load (i32.const 0)) (global.get $calls))))
"#;

fn linker(engine: &Engine) -> Linker<()> {
    let mut linker = Linker::new(engine);
    linker.func_wrap("host", "double", |x: i32| x * 2).unwrap();
    linker
}

#[test]
fn one_pre_instantiates_many_times_in_many_stores() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker = linker(&engine);
    // A store item: each store needs its own, so define it per store below.
    let mut first = Store::new(&engine, ());
    let memory = Memory::new(&mut first, MemoryType::new(1, None)).unwrap();
    linker.define(&first, "env", "memory", memory).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    for _ in 0..3 {
        let instance = pre.instantiate(&mut first).unwrap();
        let run = instance
            .get_typed_func::<i32, i32>(&mut first, "run")
            .unwrap();
        // Every instance has its own global: one call each.
        assert_eq!(run.call(&mut first, 20).unwrap(), 41);
    }
    // The memory belongs to the first store: another store is refused.
    let mut second = Store::new(&engine, ());
    let error = pre.instantiate(&mut second).unwrap_err();
    assert!(
        format!("{error:#}").contains("an item of another store"),
        "{error:#}"
    );
}

#[test]
fn a_wrong_host_function_type_is_refused_before_any_store() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("host", "double", |x: i64| x * 2).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    linker.define(&store, "env", "memory", memory).unwrap();
    let error = linker.instantiate_pre(&module).err().expect("refused");
    assert!(
        error
            .to_string()
            .contains("incompatible import type for `host::double`"),
        "{error}"
    );
}

#[test]
fn a_missing_import_names_itself() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let error = linker(&engine)
        .instantiate_pre(&module)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("`env::memory`"), "{error}");
}
