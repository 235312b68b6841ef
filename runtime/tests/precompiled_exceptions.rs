//! A precompiled module keeps its exception tables: after serialize and
//! deserialize, throws are still caught by their handlers.

use remap::{Engine, Instance, Module, Store};

#[test]
fn a_deserialized_module_still_catches_its_exceptions() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (tag $e (param i32))
             (func $thrower (param i32) (throw $e (local.get 0)))
             (func (export "run") (param i32) (result i32)
               (block $caught (result i32)
                 (try_table (catch $e $caught)
                   (call $thrower (local.get 0)))
                 (i32.const -1))))"#,
    )
    .unwrap();
    let bytes = module.serialize().unwrap();
    drop(module);
    // SAFETY: the bytes were just produced by `serialize` on this engine.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 9).unwrap(), 9);
}
