//! `memory.atomic.wait32`/`wait64` on a value that stays as expected return
//! 2 ("timed-out") once the timeout has passed; a value that differs returns
//! 1 ("not-equal") at once.

use remap::{Engine, Instance, Module, Store};
use std::time::{Duration, Instant};

const WAITER: &str = r#"
(module
  (memory 1 1 shared)
  (func (export "wait32") (param i32 i64) (result i32)
    (memory.atomic.wait32 (i32.const 8) (local.get 0) (local.get 1)))
  (func (export "wait64") (param i64 i64) (result i32)
    (memory.atomic.wait64 (i32.const 8) (local.get 0) (local.get 1))))
"#;

#[test]
fn an_unchanged_value_times_out() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAITER).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let wait32 = instance
        .get_typed_func::<(i32, i64), i32>(&mut store, "wait32")
        .unwrap();
    let wait64 = instance
        .get_typed_func::<(i64, i64), i32>(&mut store, "wait64")
        .unwrap();
    let timeout = Duration::from_millis(20);
    let started = Instant::now();
    assert_eq!(wait32.call(&mut store, (0, 20_000_000)).unwrap(), 2);
    assert!(started.elapsed() >= timeout, "returned before the timeout");
    let started = Instant::now();
    assert_eq!(wait64.call(&mut store, (0, 20_000_000)).unwrap(), 2);
    assert!(started.elapsed() >= timeout, "returned before the timeout");
    assert_eq!(wait32.call(&mut store, (0, 0)).unwrap(), 2, "zero timeout");
    assert_eq!(wait32.call(&mut store, (7, -1)).unwrap(), 1, "not equal");
    assert_eq!(wait64.call(&mut store, (7, -1)).unwrap(), 1, "not equal");
}
