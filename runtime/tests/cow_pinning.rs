//! Issue 16: a pinned memory mapped from its module's copy-on-write image
//! locks all its pages, image pages included (VmLck rises by the memory's
//! size), reads the image, keeps it pinned through growth, and hands its
//! slot to the next instance with the image and without its writes. Both
//! memory styles, one after the other in one test: VmLck is process-wide.

mod images;

use images::exported_memory;
use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

const PAGE: u64 = 65536;

const MODULE: &str = r#"
(module
  (memory (export "memory") 4)
  (data (i32.const 65536) "pinned image")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

fn vm_lck_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn pinned_image_memories_are_locked_and_reset_to_the_image() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config
            .memory_style(style)
            .dynamic_memory_reserve(0)
            .pin_memory(true);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();

        let before = vm_lck_bytes();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(vm_lck_bytes() - before, 4 * PAGE, "{style:?}: all locked");
        let memory = exported_memory(&mut store, &instance);
        assert_eq!(&memory.data(&store)[65536..65548], b"pinned image");
        memory.write(&mut store, 65536, b"PINNED").unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 2).unwrap(), 4);
        assert_eq!(
            vm_lck_bytes() - before,
            6 * PAGE,
            "{style:?}: grown pages locked"
        );
        assert_eq!(&memory.data(&store)[65536..65548], b"PINNED image");
        let slot = memory.data_ptr(&store);
        drop(store);
        assert_eq!(vm_lck_bytes(), before, "{style:?}: unlocked with the store");

        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = exported_memory(&mut store, &instance);
        assert_eq!(memory.data_ptr(&store), slot, "{style:?}: the same slot");
        assert_eq!(vm_lck_bytes() - before, 4 * PAGE, "{style:?}: locked again");
        assert_eq!(
            &memory.data(&store)[65536..65548],
            b"pinned image",
            "{style:?}"
        );
        assert_eq!(memory.data(&store).len() as u64, 4 * PAGE);
    }
}
