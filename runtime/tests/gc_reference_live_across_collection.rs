//! References that Wasm frames hold across calls that collect survive:
//! in locals, on the operand stack, and in frames deep in a recursion.

use remap::{Engine, Module, Store};

const WAT: &str = r#"
(module
  (type $node (struct (field $next (ref null $node)) (field $value i64)))
  ;; Allocates garbage whose values would show if it reused a live node.
  (func $churn
    (local $i i32)
    (loop $again
      (drop (struct.new $node (ref.null $node) (i64.const 1000000)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 200000)))))
  (func (export "across_calls") (result i64)
    (local $kept (ref null $node))
    (local.set $kept (struct.new $node (ref.null $node) (i64.const 42)))
    (call $churn)
    (struct.new $node (local.get $kept) (i64.const 7))
    (call $churn)
    (struct.get $node $value)
    (struct.get $node $value (ref.as_non_null (local.get $kept)))
    (i64.add))
  ;; Each level keeps its own node; the innermost level collects.
  (func $down (export "recursion") (param $depth i32) (result i64)
    (local $mine (ref null $node))
    (local.set $mine (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $depth))))
    (if (result i64) (i32.eqz (local.get $depth))
      (then (call $churn) (i64.const 0))
      (else
        (call $down (i32.sub (local.get $depth) (i32.const 1)))
        (struct.get $node $value (ref.as_non_null (local.get $mine)))
        (i64.add)))))
"#;

#[test]
fn references_live_across_collections_survive() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let across = instance
        .get_typed_func::<(), i64>(&mut store, "across_calls")
        .unwrap();
    assert_eq!(across.call(&mut store, ()).unwrap(), 49);
    let recursion = instance
        .get_typed_func::<i32, i64>(&mut store, "recursion")
        .unwrap();
    assert_eq!(recursion.call(&mut store, 500).unwrap(), 500 * 501 / 2);
    assert!(store.gc_stats().collections >= 3);
}
