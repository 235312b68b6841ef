//! Pinned memories: VmLck rises by the memory's size, the pin budget is a
//! clear error at instantiation and makes `memory.grow` return -1.
//! Both memory styles, one after the other in one test: VmLck is process-wide.
//! A dynamic memory with no room to grow relocates, and its lock moves with it.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

fn vm_lck_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

const MODULE: &str = r#"
(module
  (memory (export "memory") 4)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

#[test]
fn pinning_locks_pages_and_respects_the_budget() {
    pinning_in_style(MemoryStyle::Static);
    pinning_in_style(MemoryStyle::Dynamic);
}

fn pinning_in_style(style: MemoryStyle) {
    const PAGE: u64 = 65536;
    let mut config = Config::new();
    config
        .memory_style(style)
        .dynamic_memory_reserve(0)
        .pin_memory(true)
        .pin_budget(6 * PAGE);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();

    let before = vm_lck_bytes();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(
        vm_lck_bytes() - before,
        4 * PAGE,
        "VmLck rises by the memory's size"
    );
    assert_eq!(engine.memory_stats().pinned_bytes, 4 * PAGE);
    assert_eq!(store.memory_stats().pinned_bytes, 4 * PAGE);

    // Growing within the budget pins the new pages too.
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let base = memory.data_ptr(&store);
    assert_eq!(grow.call(&mut store, 1).unwrap(), 4);
    assert_eq!(vm_lck_bytes() - before, 5 * PAGE);
    let moved = memory.data_ptr(&store) != base;
    assert_eq!(
        moved,
        style == MemoryStyle::Dynamic,
        "{style:?}: only a dynamic memory without room relocates"
    );
    // Past the budget: memory.grow returns -1 and nothing changes.
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1);
    assert_eq!(vm_lck_bytes() - before, 5 * PAGE);

    // A second instance does not fit the remaining budget: a clear error.
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("budget"), "{message}");

    // Dropping the store unpins everything.
    drop(store);
    assert_eq!(vm_lck_bytes(), before);
    assert_eq!(engine.memory_stats().pinned_bytes, 0);
}
