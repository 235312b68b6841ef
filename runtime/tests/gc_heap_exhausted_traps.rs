//! Filling the GC heap past its configured limit is a clean trap.

use remap::{Config, Engine, Module, Store, Trap, TrapKind};

const WAT: &str = r#"
(module
  (type $bytes (array (mut i8)))
  (type $node (struct (field $next (ref null $node)) (field $payload (ref $bytes))))
  (func (export "hoard") (result i32)
    (local $head (ref null $node))
    (loop $again
      (local.set $head
        (struct.new $node (local.get $head) (array.new_default $bytes (i32.const 4096))))
      (br $again))
    (i32.const 0)))
"#;

#[test]
fn running_out_of_heap_traps() {
    let mut config = Config::new();
    config.gc_heap_limit(4 << 20);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let hoard = instance
        .get_typed_func::<(), i32>(&mut store, "hoard")
        .unwrap();
    let error = hoard.call(&mut store, ()).unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::GcHeapExhausted);
    assert!(store.gc_stats().heap_bytes <= 4 << 20);
    // The store stays usable: a collection frees everything.
    store.gc();
    assert_eq!(store.gc_stats().live_bytes, 0);
}
