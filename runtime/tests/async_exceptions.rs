//! Wasm exceptions work inside async calls: a guest catches its own
//! exception thrown after a suspension, and an uncaught one reaches the
//! host as a `ThrownException`, with the fiber released.

mod async_common;

use async_common::{async_engine, linker_with_nap, two_worker_runtime};
use remap::{Module, Store, ThrownException};
use std::time::Duration;

const WAT: &str = r#"
(module
  (import "host" "nap" (func $nap))
  (tag $oops (param i32))
  (func $thrower (param i32)
    (call $nap)
    (throw $oops (local.get 0)))
  (func (export "catching") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught)
        (call $thrower (local.get 0)))
      (i32.const -1)))
  (func (export "uncaught") (param i32) (call $thrower (local.get 0))))
"#;

#[test]
fn exceptions_are_thrown_and_caught_on_a_fiber() {
    let engine = async_engine();
    let module = Module::new(&engine, WAT).unwrap();
    let linker = linker_with_nap(&engine, Duration::from_millis(2));
    let runtime = two_worker_runtime();
    runtime.block_on(async {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let catching = instance
            .get_typed_func::<i32, i32>(&mut store, "catching")
            .unwrap();
        assert_eq!(catching.call_async(&mut store, 17).await.unwrap(), 17);
        let uncaught = instance
            .get_typed_func::<i32, ()>(&mut store, "uncaught")
            .unwrap();
        let error = uncaught.call_async(&mut store, 5).await.unwrap_err();
        assert!(error.is::<ThrownException>(), "{error:?}");
        assert_eq!(catching.call_async(&mut store, 9).await.unwrap(), 9);
    });
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
