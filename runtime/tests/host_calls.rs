//! Host functions called from Wasm: typed and `Val` closures, errors that
//! trap out through Wasm frames, and panics carried back to the host.

use anyhow::{Result, anyhow};
use remap::{
    Caller, Engine, Extern, ExternRef, Func, FuncType, Linker, Module, Ref, Store, Trap, Val,
    ValType,
};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Wasm that calls the imported `host::f` from three frames deep.
const THROUGH_FRAMES: &str = r#"
(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (func $a (param i32) (result i32) (call $f (local.get 0)))
  (func $b (param i32) (result i32) (i32.add (call $a (local.get 0)) (i32.const 1)))
  (func (export "run") (param i32) (result i32) (call $b (local.get 0))))
"#;

#[derive(Debug, PartialEq)]
struct MyError(u32);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "my error {}", self.0)
    }
}

impl std::error::Error for MyError {}

fn run_through_frames(
    host: impl Fn(i32) -> Result<i32> + Send + Sync + 'static,
) -> (Store<()>, Result<i32>) {
    let engine = Engine::default();
    let module = Module::new(&engine, THROUGH_FRAMES).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "f", move |x: i32| host(x))
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let result = run.call(&mut store, 5);
    (store, result)
}

#[test]
fn host_results_flow_back_into_wasm() {
    let (_, result) = run_through_frames(|x| Ok(x * 10));
    assert_eq!(result.unwrap(), 51);
}

#[test]
fn host_error_comes_back_unchanged_through_wasm_frames() {
    let (_, result) = run_through_frames(|x| Err(anyhow::Error::new(MyError(x as u32))));
    let error = result.unwrap_err();
    assert_eq!(error.downcast_ref::<MyError>(), Some(&MyError(5)));
    assert!(error.downcast_ref::<Trap>().is_none());
}

#[test]
fn host_panic_is_resumed_on_the_host_side() {
    let engine = Engine::default();
    let module = Module::new(&engine, THROUGH_FRAMES).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "f", |x: i32| -> i32 {
            if x == 5 {
                std::panic::panic_any(String::from("host function panicked"));
            }
            x
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| run.call(&mut store, 5))).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("host function panicked")
    );
    // Wasm frames were skipped, not unwound: the store still works.
    assert_eq!(run.call(&mut store, 6).unwrap(), 7);
}

#[test]
fn nested_host_and_wasm_calls_unwind_to_the_innermost_entry() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "reenter" (func $reenter (param i32) (result i32)))
             (func (export "outer") (param i32) (result i32) (call $reenter (local.get 0)))
             (func (export "inner") (param i32) (result i32)
               (if (result i32) (local.get 0) (then (unreachable)) (else (i32.const 3)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, None::<Func>);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, Option<Func>>, x: i32| -> Result<i32> {
                let inner = caller.data().expect("inner is set");
                let inner = inner.typed::<i32, i32>(&caller)?;
                match inner.call(&mut caller, x) {
                    Ok(v) => Ok(v + 100),
                    Err(trap) => {
                        assert!(trap.downcast_ref::<Trap>().is_some());
                        Ok(-1)
                    }
                }
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let inner = instance.get_func(&mut store, "inner").unwrap();
    *store.data_mut() = Some(inner);
    let outer = instance
        .get_typed_func::<i32, i32>(&mut store, "outer")
        .unwrap();
    assert_eq!(outer.call(&mut store, 0).unwrap(), 103);
    assert_eq!(outer.call(&mut store, 1).unwrap(), -1);
}

#[test]
fn func_new_works_with_vals_and_checks_result_types() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u32);
    let ty = FuncType::new([ValType::I64, ValType::F64], [ValType::F64]);
    let add = Func::new(&mut store, ty.clone(), |mut caller, params, results| {
        *caller.data_mut() += 1;
        results[0] = Val::from(params[0].i64().unwrap() as f64 + params[1].f64().unwrap());
        Ok(())
    });
    assert_eq!(add.ty(&store), ty);
    let mut results = [Val::I32(0)];
    add.call(&mut store, &[Val::I64(2), Val::from(0.5)], &mut results)
        .unwrap();
    assert_eq!(results[0].f64(), Some(2.5));
    assert_eq!(*store.data(), 1);

    let module = Module::new(
        &engine,
        r#"(module (import "" "f" (func $f (param i64 f64) (result f64)))
             (func (export "g") (result f64) (call $f (i64.const 40) (f64.const 2))))"#,
    )
    .unwrap();
    let instance = remap::Instance::new(&mut store, &module, &[add.into()]).unwrap();
    let g = instance.get_typed_func::<(), f64>(&mut store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 42.0);

    let wrong = Func::new(
        &mut store,
        FuncType::new([], [ValType::I32]),
        |_, _, results| {
            results[0] = Val::I64(1);
            Ok(())
        },
    );
    let error = wrong.call(&mut store, &[], &mut [Val::I32(0)]).unwrap_err();
    assert!(error.to_string().contains("type mismatch"), "{error}");
}

#[test]
fn wrong_arguments_are_errors_not_crashes() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let f = Func::wrap(&mut store, |a: i32, b: i64| a as i64 + b);
    assert!(
        f.call(&mut store, &[Val::I32(1)], &mut [Val::I64(0)])
            .is_err()
    );
    assert!(
        f.call(&mut store, &[Val::I64(1), Val::I64(1)], &mut [Val::I64(0)])
            .is_err()
    );
    assert!(
        f.call(&mut store, &[Val::I32(1), Val::I64(1)], &mut [])
            .is_err()
    );
    assert!(f.typed::<(i32, i32), i64>(&store).is_err());
    let typed = f.typed::<(i32, i64), i64>(&store).unwrap();
    assert_eq!(typed.call(&mut store, (2, 40)).unwrap(), 42);
}

/// The widest parameter list a typed function supports: every numeric type, four times.
#[rustfmt::skip]
type SixteenParams = (i32, i64, f32, f64, i32, i64, f32, f64, i32, i64, f32, f64, i32, i64, f32, f64);

#[test]
fn all_arities_and_value_types_round_trip() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let many = Func::wrap(
        &mut store,
        |a: i32,
         b: i64,
         c: f32,
         d: f64,
         e: i32,
         f: i64,
         g: f32,
         h: f64,
         i: i32,
         j: i64,
         k: f32,
         l: f64,
         m: i32,
         n: i64,
         o: f32,
         p: f64| {
            (a as f64 + b as f64 + c as f64 + d + e as f64 + f as f64 + g as f64 + h)
                + (i as f64 + j as f64 + k as f64 + l + m as f64 + n as f64 + o as f64 + p)
        },
    );
    let typed = many.typed::<SixteenParams, f64>(&store).unwrap();
    let sum = typed
        .call(
            &mut store,
            (
                1, 2, 3.0, 4.0, 5, 6, 7.0, 8.0, 9, 10, 11.0, 12.0, 13, 14, 15.0, 16.0,
            ),
        )
        .unwrap();
    assert_eq!(sum, 136.0);

    let multi = Func::wrap(
        &mut store,
        |mut caller: Caller<'_, ()>, x: i32| -> (i32, Option<ExternRef>) {
            (x + 1, Some(ExternRef::new(&mut caller, x)))
        },
    );
    let (y, r) = multi
        .typed::<i32, (i32, Option<ExternRef>)>(&store)
        .unwrap()
        .call(&mut store, 41)
        .unwrap();
    assert_eq!(y, 42);
    assert_eq!(
        r.unwrap().data(&store).unwrap().downcast_ref::<i32>(),
        Some(&41)
    );
}

#[test]
fn references_pass_through_wasm_and_tables() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (table (export "t") 2 externref)
             (func (export "id") (param externref) (result externref) (local.get 0))
             (func (export "call") (param funcref) (result i32)
               (table.set $f (i32.const 0) (local.get 0))
               (call_indirect $f (result i32) (i32.const 0)))
             (table $f 1 funcref))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let value = ExternRef::new(&mut store, String::from("hello"));
    let id = instance
        .get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut store, "id")
        .unwrap();
    let back = id.call(&mut store, Some(value)).unwrap().unwrap();
    assert_eq!(
        back.data(&store).unwrap().downcast_ref::<String>().unwrap(),
        "hello"
    );
    assert!(id.call(&mut store, None).unwrap().is_none());

    let table = instance.get_table(&mut store, "t").unwrap();
    table.set(&mut store, 1, Ref::Extern(Some(value))).unwrap();
    assert!(matches!(
        table.get(&mut store, 1),
        Some(Ref::Extern(Some(_)))
    ));
    assert!(table.set(&mut store, 5, Ref::Extern(None)).is_err());
    assert!(table.set(&mut store, 0, Ref::Func(None)).is_err());

    let seven = Func::wrap(&mut store, || 7i32);
    let call = instance
        .get_typed_func::<Option<Func>, i32>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, Some(seven)).unwrap(), 7);
}

#[test]
fn caller_sees_the_calling_instance_exports() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "" "peek" (func $peek (result i32)))
             (memory (export "mem") 1) (data (i32.const 8) "\2a")
             (func (export "run") (result i32) (call $peek)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("", "peek", |mut caller: Caller<'_, ()>| -> Result<i32> {
            let memory = caller
                .get_export("mem")
                .and_then(Extern::into_memory)
                .ok_or_else(|| anyhow!("no memory"))?;
            Ok(memory.data(&caller)[8].into())
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 42);
}
