//! Garbage collection inside async calls: references that Wasm frames on a
//! fiber hold across a suspension and across collections survive, and the
//! garbage made around them is collected.

mod async_common;

use async_common::{async_engine, linker_with_nap, two_worker_runtime};
use remap::{Module, Store};
use std::time::Duration;

const WAT: &str = r#"
(module
  (import "host" "nap" (func $nap))
  (type $node (struct (field $next (ref null $node)) (field $value i64)))
  ;; Garbage whose values would show if a live node were reused.
  (func $churn
    (local $i i32)
    (loop $again
      (drop (struct.new $node (ref.null $node) (i64.const 1000000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 30000)))))
  ;; Each level keeps its own node across a suspension and a collection.
  (func $down (export "down") (param $depth i32) (result i64)
    (local $mine (ref null $node))
    (local.set $mine (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $depth))))
    (call $nap)
    (if (result i64) (i32.eqz (local.get $depth))
      (then (call $churn) (i64.const 0))
      (else
        (call $down (i32.sub (local.get $depth) (i32.const 1)))
        (call $churn)
        (struct.get $node $value (ref.as_non_null (local.get $mine)))
        (i64.add)))))
"#;

#[test]
fn references_on_a_fiber_survive_suspensions_and_collections() {
    let engine = async_engine();
    let module = Module::new(&engine, WAT).unwrap();
    let linker = linker_with_nap(&engine, Duration::from_micros(100));
    let runtime = two_worker_runtime();
    let collections = runtime.block_on(async {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (engine, module, linker) = (engine.clone(), module.clone(), linker.clone());
                tokio::spawn(async move {
                    let mut store = Store::new(&engine, ());
                    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
                    let down = instance
                        .get_typed_func::<i32, i64>(&mut store, "down")
                        .unwrap();
                    assert_eq!(down.call_async(&mut store, 20).await.unwrap(), 20 * 21 / 2);
                    store.gc_stats().collections
                })
            })
            .collect();
        let mut collections = Vec::new();
        for task in tasks {
            collections.push(task.await.unwrap());
        }
        collections
    });
    assert!(
        collections.iter().all(|&count| count >= 1),
        "{collections:?}"
    );
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
