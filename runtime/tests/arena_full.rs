//! Issue 19, point 4: when every slot of the engine's memory arena is in
//! use, instantiation fails with an error that names the limit and what to
//! change, and succeeds again once an instance is dropped.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

#[test]
fn a_full_arena_is_a_clear_error() {
    let mut config = Config::new();
    config.memory_style(MemoryStyle::Arena).arena_max_slots(2);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, "(module (memory 1))").unwrap();
    let mut stores: Vec<Store<()>> = (0..2).map(|_| Store::new(&engine, ())).collect();
    for store in &mut stores {
        Instance::new(&mut *store, &module, &[]).unwrap();
    }
    let mut third = Store::new(&engine, ());
    let error = Instance::new(&mut third, &module, &[]).unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("arena is full"), "{message}");
    assert!(message.contains("all 2 slots"), "{message}");
    assert!(message.contains("Config::arena_max_slots"), "{message}");
    assert!(message.contains("arena-max-slots"), "{message}");

    stores.pop();
    Instance::new(&mut third, &module, &[]).unwrap();
    assert_eq!(engine.memory_arena_stats().unwrap().slots_in_use, 2);
}
