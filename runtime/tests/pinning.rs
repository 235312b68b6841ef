//! Pinned memories: VmLck rises by the memory's size, the pin budget is a
//! clear error at instantiation and makes `memory.grow` return -1.
//! (One test in its own binary: VmLck is process-wide.)

use remap::{Config, Engine, Instance, Module, Store};

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
    const PAGE: u64 = 65536;
    let mut config = Config::new();
    config.pin_memory(true).pin_budget(6 * PAGE);
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
    assert_eq!(grow.call(&mut store, 1).unwrap(), 4);
    assert_eq!(vm_lck_bytes() - before, 5 * PAGE);
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
