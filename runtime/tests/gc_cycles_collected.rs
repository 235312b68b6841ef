//! Cycles of objects that nothing else references are collected.

use remap::{Engine, Module, Store};

const WAT: &str = r#"
(module
  (type $pair (struct (field $other (mut (ref null $pair))) (field $value i32)))
  (func (export "cycles") (param $count i32) (result i32)
    (local $a (ref null $pair))
    (local $b (ref null $pair))
    (local $i i32)
    (loop $again
      (local.set $a (struct.new $pair (ref.null $pair) (local.get $i)))
      (local.set $b (struct.new $pair (local.get $a) (i32.const 1)))
      (struct.set $pair $other (ref.as_non_null (local.get $a)) (local.get $b))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $count))))
    (struct.get $pair $value
      (ref.as_non_null (struct.get $pair $other (ref.as_non_null (local.get $b)))))))
"#;

#[test]
fn unreachable_cycles_are_collected() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let cycles = instance
        .get_typed_func::<i32, i32>(&mut store, "cycles")
        .unwrap();
    assert_eq!(cycles.call(&mut store, 500_000).unwrap(), 499_999);
    let during = store.gc_stats();
    assert!(during.collections > 0, "{during:?}");
    assert!(during.heap_bytes <= 4 << 20, "{during:?}");
    // Nothing is reachable once the call returned.
    store.gc();
    assert_eq!(store.gc_stats().live_bytes, 0);
}
