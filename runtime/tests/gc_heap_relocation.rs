//! The GC heap relocates (by `mremap`) as a live list outgrows its
//! reservation; compiled code follows the new base through the heap's
//! notifier, and the list survives collections on the way.

use remap::{Engine, Module, Store};

const WAT: &str = r#"
(module
  (type $node (struct (field $next (ref null $node)) (field $value i64)))
  (func (export "build_and_sum") (param $count i32) (result i64)
    (local $head (ref null $node))
    (local $i i32)
    (local $sum i64)
    (loop $build
      (local.set $head
        (struct.new $node (local.get $head) (i64.extend_i32_u (local.get $i))))
      ;; Garbage between the live nodes makes collections run meanwhile.
      (drop (struct.new $node (ref.null $node) (i64.const -1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $build (i32.lt_u (local.get $i) (local.get $count))))
    (block $done
      (loop $walk
        (br_if $done (ref.is_null (local.get $head)))
        (local.set $sum
          (i64.add (local.get $sum)
            (struct.get $node $value (ref.as_non_null (local.get $head)))))
        (local.set $head (struct.get $node $next (ref.as_non_null (local.get $head))))
        (br $walk)))
    (local.get $sum)))
"#;

#[test]
fn a_growing_live_heap_relocates_and_stays_intact() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let build = instance
        .get_typed_func::<i32, i64>(&mut store, "build_and_sum")
        .unwrap();
    let count: i64 = 1_000_000;
    assert_eq!(
        build.call(&mut store, count as i32).unwrap(),
        count * (count - 1) / 2
    );
    let stats = store.gc_stats();
    assert!(stats.relocations > 0, "{stats:?}");
    assert!(stats.collections > 0, "{stats:?}");
}
