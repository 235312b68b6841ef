//! Wasm allocates 10 GiB in total of cyclic structures (rings of nodes,
//! each node carrying a byte array) under a 64 MiB GC heap limit, keeping a
//! sliding window of recent rings alive: the collector reclaims the rings
//! that leave the window, cycles and all, so the heap stays within its limit
//! and the process's peak resident size stays bounded.

use remap::{Config, Engine, Instance, Module, ProcessMemory, Store};

const HEAP_LIMIT: u64 = 64 << 20;
const TOTAL_BYTES: u64 = 10 << 30;
const NODES_PER_RING: i32 = 8;
const PAYLOAD_BYTES: i32 = 4096;
/// Rings kept alive at once: about 24 MiB, so each collection has real
/// work to do and the heap is under pressure from its limit.
const WINDOW_BYTES: u64 = 24 << 20;

const WAT: &str = r#"
(module
  (type $bytes (array (mut i8)))
  (type $node (struct
    (field $next (mut (ref null $node)))
    (field $ring i32)
    (field $payload (ref $bytes))))
  (type $rings (array (mut (ref null $node))))
  (global $kept (mut (ref null $node)) (ref.null $node))

  ;; A ring of $len nodes tagged $id: each node points at the one made
  ;; before it, and the first at the last.
  (func $ring (param $id i32) (param $len i32) (param $payload i32) (result (ref $node))
    (local $first (ref $node))
    (local $node (ref $node))
    (local $i i32)
    (local.set $first
      (struct.new $node (ref.null $node) (local.get $id)
        (array.new $bytes (local.get $id) (local.get $payload))))
    (local.set $node (local.get $first))
    (local.set $i (i32.const 1))
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $node
          (struct.new $node (local.get $node) (local.get $id)
            (array.new_default $bytes (local.get $payload))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $more)))
    (struct.set $node $next (local.get $first) (local.get $node))
    (local.get $first))

  ;; Traps unless the ring at $head has $len nodes tagged $id and closes.
  (func $check (param $head (ref $node)) (param $id i32) (param $len i32)
    (local $node (ref $node))
    (local $i i32)
    (local.set $node (local.get $head))
    (loop $more
      (if (i32.ne (struct.get $node $ring (local.get $node)) (local.get $id))
        (then (unreachable)))
      (local.set $node (ref.as_non_null (struct.get $node $next (local.get $node))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $len))))
    (if (i32.eqz (ref.eq (local.get $node) (local.get $head)))
      (then (unreachable)))
    ;; The first node's payload was filled with the ring's id.
    (if (i32.ne
          (array.get_u $bytes (struct.get $node $payload (local.get $head)) (i32.const 0))
          (i32.and (local.get $id) (i32.const 255)))
      (then (unreachable))))

  ;; Keeps one ring in a global (to measure a ring's bytes), or none.
  (func (export "keep_one") (param $keep i32) (param $len i32) (param $payload i32)
    (global.set $kept
      (if (result (ref null $node)) (local.get $keep)
        (then (call $ring (i32.const 7) (local.get $len) (local.get $payload)))
        (else (ref.null $node)))))

  ;; Makes $count rings, keeping the newest $window alive and checking each
  ;; ring as it leaves the window; the number of rings checked.
  (func (export "churn")
      (param $count i32) (param $window i32) (param $len i32) (param $payload i32)
      (result i32)
    (local $rings (ref $rings))
    (local $id i32)
    (local $slot i32)
    (local $old (ref null $node))
    (local $checked i32)
    (local.set $rings (array.new_default $rings (local.get $window)))
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $id) (local.get $count)))
        (local.set $slot (i32.rem_u (local.get $id) (local.get $window)))
        (local.set $old (array.get $rings (local.get $rings) (local.get $slot)))
        (if (i32.eqz (ref.is_null (local.get $old)))
          (then
            (call $check (ref.as_non_null (local.get $old))
              (i32.sub (local.get $id) (local.get $window)) (local.get $len))
            (local.set $checked (i32.add (local.get $checked) (i32.const 1)))))
        (array.set $rings (local.get $rings) (local.get $slot)
          (call $ring (local.get $id) (local.get $len) (local.get $payload)))
        (local.set $id (i32.add (local.get $id) (i32.const 1)))
        (br $more)))
    (local.get $checked)))
"#;

#[test]
fn ten_gib_of_cycles_fit_a_64_mib_heap() {
    let mut config = Config::new();
    config.gc_heap_limit(HEAP_LIMIT);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let keep_one = instance
        .get_typed_func::<(i32, i32, i32), ()>(&mut store, "keep_one")
        .unwrap();
    let churn = instance
        .get_typed_func::<(i32, i32, i32, i32), i32>(&mut store, "churn")
        .unwrap();

    keep_one
        .call(&mut store, (1, NODES_PER_RING, PAYLOAD_BYTES))
        .unwrap();
    store.gc();
    let ring_bytes = store.gc_stats().live_bytes;
    assert!(ring_bytes > (NODES_PER_RING * PAYLOAD_BYTES) as u64);
    keep_one.call(&mut store, (0, 0, 0)).unwrap();

    let window = (WINDOW_BYTES / ring_bytes) as i32;
    let rings = TOTAL_BYTES.div_ceil(ring_bytes) as i32;
    let peak_before = ProcessMemory::read().unwrap().peak_resident_bytes;
    let started = std::time::Instant::now();
    let checked = churn
        .call(&mut store, (rings, window, NODES_PER_RING, PAYLOAD_BYTES))
        .unwrap();
    let elapsed = started.elapsed();
    let peak_after = ProcessMemory::read().unwrap().peak_resident_bytes;
    let stats = store.gc_stats();
    eprintln!(
        "{rings} rings of {ring_bytes} bytes in {elapsed:?}; peak RSS {} -> {} MiB; {stats:?}",
        peak_before >> 20,
        peak_after >> 20
    );

    assert_eq!(checked, rings - window);
    assert!(u64::from(rings as u32) * ring_bytes >= TOTAL_BYTES);
    assert!(stats.heap_bytes <= HEAP_LIMIT, "{stats:?}");
    // Every collection frees all but about the window (~24 MiB) of the
    // heap: at least 10 GiB / 40 MiB of them ran.
    assert!(stats.collections >= TOTAL_BYTES / (40 << 20), "{stats:?}");
    assert!(stats.max_pause > std::time::Duration::ZERO, "{stats:?}");
    assert!(stats.total_pause >= stats.max_pause, "{stats:?}");
    // The heap's pages at most, plus slack for the allocator's buffers and
    // the collector's work lists; unbounded growth would pass it many
    // times over.
    assert!(
        peak_after <= peak_before + HEAP_LIMIT + (32 << 20),
        "peak RSS grew from {peak_before} to {peak_after} bytes"
    );

    store.gc();
    assert_eq!(store.gc_stats().live_bytes, 0);
}
