//! The engine is shared between threads: modules compile concurrently and
//! stores on different threads run (and trap) independently.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};
use std::sync::Arc;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn engine_module_and_handles_are_send_and_sync() {
    assert_send_sync::<Engine>();
    assert_send_sync::<Module>();
    assert_send_sync::<remap::Func>();
    assert_send_sync::<remap::Memory>();
    fn assert_send<T: Send>() {}
    assert_send::<Store<u32>>();
}

fn module_text(seed: i32) -> String {
    format!(
        r#"(module
             (memory 1)
             (func $fib (param i32) (result i32)
               (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                 (then (local.get 0))
                 (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                                (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
             (func (export "run") (param i32) (result i32)
               (i32.store (i32.const 0) (i32.const {seed}))
               (i32.add (call $fib (local.get 0)) (i32.load (i32.const 0))))
             (func (export "oob") (result i32) (i32.load (i32.const 70000))))"#
    )
}

#[test]
fn concurrent_compilation_and_independent_stores() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Arc::new(Engine::new(&config).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|seed| {
                let engine = engine.clone();
                std::thread::spawn(move || {
                    let module = Module::new(&engine, module_text(seed)).unwrap();
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[]).unwrap();
                    let run = instance
                        .get_typed_func::<i32, i32>(&mut store, "run")
                        .unwrap();
                    let oob = instance
                        .get_typed_func::<(), i32>(&mut store, "oob")
                        .unwrap();
                    for _ in 0..20 {
                        assert_eq!(run.call(&mut store, 15).unwrap(), 610 + seed);
                        let error = oob.call(&mut store, ()).unwrap_err();
                        assert_eq!(
                            error.downcast_ref::<Trap>().unwrap().kind(),
                            TrapKind::MemoryOutOfBounds
                        );
                    }
                    module
                })
            })
            .collect();
        let modules: Vec<Module> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        // Modules compiled on other threads instantiate here too.
        let mut store = Store::new(&engine, ());
        for (seed, module) in modules.iter().enumerate() {
            let instance = Instance::new(&mut store, module, &[]).unwrap();
            let run = instance
                .get_typed_func::<i32, i32>(&mut store, "run")
                .unwrap();
            assert_eq!(run.call(&mut store, 10).unwrap(), 55 + seed as i32);
        }
    }
}

#[test]
fn a_store_can_move_between_threads() {
    let engine = Engine::default();
    let module = Module::new(&engine, module_text(1)).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 5).unwrap(), 6);
    let store = std::thread::spawn(move || {
        assert_eq!(run.call(&mut store, 6).unwrap(), 9);
        store
    })
    .join()
    .unwrap();
    drop(store);
}

#[test]
fn single_threaded_compilation_gives_the_same_module() {
    let mut config = Config::new();
    config.parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, module_text(3)).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 10).unwrap(), 58);
}
