//! A heap filled to 48 MiB whose objects then all die gives its free pages
//! back to the kernel at the next collection: the process's resident size
//! and the heap's released bytes show it, and the heap is usable after.

use remap::{Config, Engine, Instance, Module, ProcessMemory, Store};

const FILL_BYTES: u64 = 48 << 20;
const CHUNK_BYTES: i32 = 64 << 10;

const WAT: &str = r#"
(module
  (type $bytes (array (mut i8)))
  (type $node (struct (field $next (ref null $node)) (field $payload (ref $bytes))))
  (global $list (mut (ref null $node)) (ref.null $node))
  ;; Keeps $count nodes, each with a payload of $bytes bytes written
  ;; through (so every page is resident), in the global list.
  (func (export "fill") (param $count i32) (param $bytes i32)
    (loop $more
      (global.set $list
        (struct.new $node (global.get $list)
          (array.new $bytes (i32.const 1) (local.get $bytes))))
      (local.tee $count (i32.sub (local.get $count) (i32.const 1)))
      (br_if $more)))
  (func (export "drop_all") (global.set $list (ref.null $node))))
"#;

#[test]
fn a_collection_after_everything_died_releases_the_heap_pages() {
    let mut config = Config::new();
    config.gc_heap_limit(64 << 20);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let fill = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "fill")
        .unwrap();
    let drop_all = instance
        .get_typed_func::<(), ()>(&mut store, "drop_all")
        .unwrap();
    let count = (FILL_BYTES / CHUNK_BYTES as u64) as i32;

    let before_fill = ProcessMemory::read().unwrap().resident_bytes;
    fill.call(&mut store, (count, CHUNK_BYTES)).unwrap();
    let filled = store.gc_stats();
    let after_fill = ProcessMemory::read().unwrap().resident_bytes;
    assert!(filled.heap_bytes >= FILL_BYTES, "{filled:?}");
    assert!(
        after_fill >= before_fill + FILL_BYTES * 3 / 4,
        "resident {before_fill} -> {after_fill} bytes"
    );

    drop_all.call(&mut store, ()).unwrap();
    store.gc();
    let collected = store.gc_stats();
    let after_collection = ProcessMemory::read().unwrap().resident_bytes;
    assert_eq!(collected.live_bytes, 0);
    // All but the pages the allocator will reuse before the next
    // collection (at most 1 MiB) and those already released before.
    assert!(
        collected.released_bytes - filled.released_bytes >= FILL_BYTES - (2 << 20),
        "{filled:?} -> {collected:?}"
    );
    assert!(
        after_collection + FILL_BYTES * 3 / 4 <= after_fill,
        "resident {after_fill} -> {after_collection} bytes"
    );
    // Another collection has nothing more to give back.
    store.gc();
    assert_eq!(store.gc_stats().released_bytes, collected.released_bytes);

    // Released pages come back as the heap fills again.
    fill.call(&mut store, (count, CHUNK_BYTES)).unwrap();
    store.gc();
    assert!(store.gc_stats().live_bytes >= FILL_BYTES);
}
