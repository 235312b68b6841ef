//! A million list nodes allocated in a loop, of which only the newest two
//! stay reachable, are collected: the GC heap stays bounded.

use remap::{Config, Engine, MemoryStyle, Module, Store};

const WAT: &str = r#"
(module
  (type $node (struct (field $next (mut (ref null $node))) (field $value i64)))
  (func (export "churn") (param $count i32) (result i64)
    (local $head (ref null $node))
    (local $new (ref null $node))
    (local $i i32)
    (local.set $head (struct.new $node (ref.null $node) (i64.const 0)))
    (loop $again
      (local.set $new
        (struct.new $node (local.get $head) (i64.extend_i32_u (local.get $i))))
      ;; Cut the list behind the new head: everything older is garbage.
      (struct.set $node $next (ref.as_non_null (local.get $head)) (ref.null $node))
      (local.set $head (local.get $new))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $count))))
    ;; The head and its successor: the last two values.
    (i64.add
      (struct.get $node $value (local.get $head))
      (struct.get $node $value
        (ref.as_non_null (struct.get $node $next (local.get $head)))))))
"#;

#[test]
fn a_million_dropped_nodes_leave_a_bounded_heap() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
        let churn = instance
            .get_typed_func::<i32, i64>(&mut store, "churn")
            .unwrap();
        let count = 1_000_000;
        assert_eq!(
            churn.call(&mut store, count).unwrap(),
            i64::from(count - 1) + i64::from(count - 2)
        );
        let stats = store.gc_stats();
        // 24-byte nodes: 24 MB allocated in all.
        assert!(stats.collections > 0, "{stats:?}");
        assert!(stats.heap_bytes <= 4 << 20, "{style:?}: {stats:?}");
    }
}
