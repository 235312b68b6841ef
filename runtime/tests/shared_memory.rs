//! Two instances share one dynamic memory. One grows it past its reservation,
//! which relocates it; the other, whose vmctx caches the old base, must see
//! the new base before its next access: it reads the old data and writes the
//! new range correctly.

use remap::{Config, Engine, Instance, Memory, MemoryStyle, MemoryType, Module, Store};

const USER: &str = r#"
(module
  (import "env" "memory" (memory 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size)))
"#;

fn engine(style: MemoryStyle) -> Engine {
    let mut config = Config::new();
    // No growth room: the first grow of a dynamic memory must relocate it.
    config.memory_style(style).dynamic_memory_reserve(0);
    Engine::new(&config).unwrap()
}

#[test]
fn relocation_by_one_instance_is_seen_by_the_other() {
    let engine = engine(MemoryStyle::Dynamic);
    let module = Module::new(&engine, USER).unwrap();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let a = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
    let b = Instance::new(&mut store, &module, &[memory.into()]).unwrap();

    let grow_a = a.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    let store_b = b
        .get_typed_func::<(i32, i32), ()>(&mut store, "store")
        .unwrap();
    let load_b = b.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    let size_b = b.get_typed_func::<(), i32>(&mut store, "size").unwrap();

    // B writes data and caches the base by using the memory.
    store_b.call(&mut store, (100, 0x1234_5678)).unwrap();
    store_b.call(&mut store, (65532, 0x0bad_cafe)).unwrap();
    let old_base = memory.data_ptr(&store);

    // A grows it well past its (empty) reserve: relocation.
    assert_eq!(grow_a.call(&mut store, 15).unwrap(), 1);
    let new_base = memory.data_ptr(&store);
    assert_ne!(
        old_base, new_base,
        "growing past the reservation must relocate the memory"
    );
    assert_eq!(memory.stats(&store).relocations, 1);

    // B sees the new size and base: old data is there, the new range works.
    assert_eq!(size_b.call(&mut store, ()).unwrap(), 16);
    assert_eq!(load_b.call(&mut store, 100).unwrap(), 0x1234_5678);
    assert_eq!(load_b.call(&mut store, 65532).unwrap(), 0x0bad_cafe);
    assert_eq!(load_b.call(&mut store, 16 * 65536 - 4).unwrap(), 0);
    store_b.call(&mut store, (16 * 65536 - 4, 77)).unwrap();
    assert_eq!(load_b.call(&mut store, 16 * 65536 - 4).unwrap(), 77);
    // ... and still traps just past the new end.
    assert!(load_b.call(&mut store, 16 * 65536 - 3).is_err());
    // The host's handle sees the same bytes.
    let mut word = [0u8; 4];
    memory.read(&store, 16 * 65536 - 4, &mut word).unwrap();
    assert_eq!(i32::from_le_bytes(word), 77);
}

#[test]
fn growth_from_the_host_updates_instances() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, USER).unwrap();
        let mut store = Store::new(&engine, ());
        let memory = Memory::new(&mut store, MemoryType::new(1, Some(8))).unwrap();
        let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
        let store_fn = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "store")
            .unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        store_fn.call(&mut store, (0, 9)).unwrap();
        assert!(store_fn.call(&mut store, (65536, 1)).is_err());
        assert_eq!(memory.grow(&mut store, 3).unwrap(), 1);
        store_fn.call(&mut store, (65536 * 3, 5)).unwrap();
        assert_eq!(load.call(&mut store, 65536 * 3).unwrap(), 5);
        assert_eq!(load.call(&mut store, 0).unwrap(), 9);
        assert!(memory.grow(&mut store, 5).is_err(), "past the maximum");
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 5).unwrap(), -1);
        assert_eq!(grow.call(&mut store, 4).unwrap(), 4);
        assert_eq!(memory.size(&store), 8);
        assert_eq!(memory.data_size(&store), 8 * 65536);
    }
}

#[test]
fn huge_growth_requests_fail_cleanly() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, USER).unwrap();
        let mut store = Store::new(&engine, ());
        let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
        let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, -1).unwrap(), -1);
        assert_eq!(grow.call(&mut store, 65536).unwrap(), -1);
        assert_eq!(memory.size(&store), 1);
        assert!(memory.grow(&mut store, u64::MAX).is_err());
    }
}
