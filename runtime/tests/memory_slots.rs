//! The engine's cache of retired memory reservations: a memory dropped with
//! its store leaves its reservation for the next one, which must behave
//! exactly like a fresh memory (contents, size, maximum, bounds, traps,
//! statistics, pins).

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};

const PAGE: u64 = 65536;

/// One page that may grow to two, a data segment, and accessors.
const SMALL: &str = r#"
(module
  (memory (export "memory") 1 2)
  (data (i32.const 16) "fresh")
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

/// One page without a maximum.
const UNBOUNDED: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

fn engine(style: MemoryStyle) -> Engine {
    let mut config = Config::new();
    config.memory_style(style);
    Engine::new(&config).unwrap()
}

#[test]
fn a_new_store_gets_a_fresh_memory_in_the_old_reservation() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, SMALL).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let old_base = memory.data_ptr(&store);
        memory.data_mut(&mut store).fill(0xee);
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
        drop(store);
        assert_eq!(engine.memory_stats().committed_bytes, 0);

        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(memory.data_ptr(&store), old_base, "{style:?}: reused");
        assert_eq!(memory.size(&store), 1);
        let data = memory.data(&store);
        assert_eq!(&data[16..21], b"fresh");
        assert!(data[..16].iter().chain(&data[21..]).all(|&b| b == 0));
        let stats = memory.stats(&store);
        assert_eq!(stats.committed_bytes, PAGE);
        assert_eq!(stats.grows, 0, "statistics start over");
        assert_eq!(engine.memory_stats().committed_bytes, PAGE);
    }
}

#[test]
fn a_reused_slot_keeps_the_new_memorys_bounds_and_maximum() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        // The first user grows its memory to five pages and dirties them.
        let unbounded = Module::new(&engine, UNBOUNDED).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &unbounded, &[]).unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 4).unwrap(), 1);
        let store_byte = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "store")
            .unwrap();
        store_byte.call(&mut store, (3 * PAGE as i32, 7)).unwrap();
        drop(store);

        // The next one has one page of at most two: past them it traps and
        // its growth stops at its own maximum.
        let small = Module::new(&engine, SMALL).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &small, &[]).unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        let error = load.call(&mut store, 3 * PAGE as i32).unwrap_err();
        let trap = error
            .downcast_ref::<Trap>()
            .unwrap_or_else(|| panic!("{style:?}: not a trap: {error:#}"));
        assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds);
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 2).unwrap(), -1, "{style:?}");
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
        assert_eq!(load.call(&mut store, PAGE as i32 + 5).unwrap(), 0);
        let error = load.call(&mut store, 2 * PAGE as i32).unwrap_err();
        assert!(error.downcast_ref::<Trap>().is_some(), "{error:#}");
    }
}

#[test]
fn without_a_cache_every_memory_is_fresh_too() {
    let mut config = Config::new();
    config.memory_slot_cache(0);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, SMALL).unwrap();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(&memory.data(&store)[16..21], b"fresh");
        memory.data_mut(&mut store).fill(1);
    }
    assert_eq!(engine.memory_stats().committed_bytes, 0);
}

#[test]
fn a_reused_pinned_slot_is_charged_to_the_budget_again() {
    let mut config = Config::new();
    config.pin_memory(true).pin_budget(2 * PAGE);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, SMALL).unwrap();
    for _ in 0..3 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap_or_else(|error| {
            panic!("a pinned one-page memory: {error:#} (raise `ulimit -l` or run as root)")
        });
        assert_eq!(engine.memory_stats().pinned_bytes, PAGE);
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
        assert_eq!(engine.memory_stats().pinned_bytes, 2 * PAGE);
        // The budget is full: a second memory is refused with a clear error.
        let error = Instance::new(&mut store, &module, &[]).unwrap_err();
        assert!(format!("{error:#}").contains("budget"), "{error:#}");
        drop(store);
        assert_eq!(engine.memory_stats().pinned_bytes, 0);
    }
}
