//! Sync entry points fail on an engine with async support and async ones
//! fail without it, with errors that name what to use, as in Wasmtime;
//! async host functions need async support too.

use remap::{Caller, Config, Engine, Instance, Linker, Module, Store};

const WAT: &str = r#"(module (func (export "f") (result i32) (i32.const 7)))"#;

#[test]
fn sync_calls_on_an_async_engine_are_errors() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(error.to_string().contains("instantiate_async"), "{error}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let instance = runtime
        .block_on(Instance::new_async(&mut store, &module, &[]))
        .unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    let error = f.call(&mut store, ()).unwrap_err();
    assert!(error.to_string().contains("call_async"), "{error}");
    let error = f
        .func()
        .call(&mut store, &[], &mut [remap::Val::I32(0)])
        .unwrap_err();
    assert!(error.to_string().contains("call_async"), "{error}");
    assert_eq!(runtime.block_on(f.call_async(&mut store, ())).unwrap(), 7);
}

#[test]
fn async_calls_on_a_sync_engine_are_errors() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let error = runtime
        .block_on(Instance::new_async(&mut store, &module, &[]))
        .unwrap_err();
    assert!(error.to_string().contains("async_support"), "{error}");
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    let error = runtime.block_on(f.call_async(&mut store, ())).unwrap_err();
    assert!(error.to_string().contains("async_support"), "{error}");
    let mut linker: Linker<()> = Linker::new(&engine);
    let error = linker
        .func_wrap_async("host", "f", |_: Caller<'_, ()>, ()| Box::new(async {}))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("async_support"), "{error}");
    assert_eq!(engine.fiber_stats().stacks_created, 0);
}
