//! A pinned shared memory keeps every accessible page locked while threads
//! grow it concurrently: its pinned bytes always equal its committed bytes,
//! growth past the pin budget is refused (the memory unchanged), and VmLck
//! rises by exactly the memory's size. Both styles, one after the other:
//! VmLck is process-wide.

use remap::{Config, Engine, MemoryStyle, MemoryType, SharedMemory};

const PAGE: u64 = 65536;

fn vm_lck_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn concurrent_growth_pins_every_page_once() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config
            .memory_style(style)
            .pin_memory(true)
            .pin_budget(9 * PAGE);
        let engine = Engine::new(&config).unwrap();
        let before = vm_lck_bytes();
        let memory = SharedMemory::new(&engine, MemoryType::shared(1, 16)).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let memory = memory.clone();
                scope.spawn(move || {
                    for _ in 0..2 {
                        memory.grow(1).unwrap();
                    }
                });
            }
        });
        assert_eq!(memory.size(), 9, "{style:?}");
        let stats = memory.stats();
        assert_eq!(stats.committed_bytes, 9 * PAGE, "{style:?}");
        assert_eq!(stats.pinned_bytes, 9 * PAGE, "{style:?}");
        assert_eq!(vm_lck_bytes() - before, 9 * PAGE, "{style:?}");
        assert!(memory.grow(1).is_err(), "{style:?}: past the pin budget");
        assert_eq!(
            memory.size(),
            9,
            "{style:?}: a refused growth changes nothing"
        );
        assert_eq!(memory.stats().pinned_bytes, 9 * PAGE, "{style:?}");
        drop(memory);
        assert_eq!(vm_lck_bytes(), before, "{style:?}: unlocked when dropped");
    }
}
