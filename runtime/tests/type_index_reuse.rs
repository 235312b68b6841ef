//! Engine type indices are reused once nothing holds their types: what the
//! engine caches per function type (host trampolines) and what instantiation
//! matches (function imports) must follow the type, not a stale index.

use remap::{Engine, Func, FuncType, Linker, Module, Store, ValType};

#[test]
fn a_host_function_after_its_type_index_was_reused_gets_its_own_trampoline() {
    let engine = Engine::default();
    // The first type registered takes the first engine index; dropping the
    // store releases it.
    {
        let mut store = Store::new(&engine, ());
        Func::wrap(&mut store, |_: i32| {});
    }
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "halve" (func $halve (param f64) (result f64)))
             (func (export "run") (param f64) (result f64) (call $halve (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let halve = Func::new(
        &mut store,
        FuncType::new([ValType::F64], [ValType::F64]),
        |_, params, results| {
            results[0] = (params[0].f64().unwrap_or_default() / 2.0).into();
            Ok(())
        },
    );
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "halve", halve).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<f64, f64>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 5.0).unwrap(), 2.5);
}

#[test]
fn an_import_of_another_type_is_refused_though_indices_were_reused() {
    let engine = Engine::default();
    {
        let _module = Module::new(&engine, r#"(module (type (func (param i64))))"#).unwrap();
    }
    let module = Module::new(
        &engine,
        r#"(module (import "host" "f" (func (param i32))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let wrong = Func::wrap(&mut store, |_: i64| {});
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "f", wrong).unwrap();
    let error = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        format!("{error:#}").contains("incompatible import type"),
        "{error:#}"
    );
    let right = Func::wrap(&mut store, |_: i32| {});
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "f", right).unwrap();
    assert!(linker.instantiate(&mut store, &module).is_ok());
}
