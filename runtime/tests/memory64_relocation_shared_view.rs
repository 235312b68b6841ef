//! A pinned 64-bit memory that relocates when it grows (no room reserved)
//! stays coherent for everyone who sees it: the exporting instance, a second
//! instance that imports it and the host (`Memory::data`, `data_ptr`) all
//! see the new base and size; its lock moves with it. Both memory styles.

use remap::{Config, Engine, Linker, MemoryStyle, Module, Store};

const PAGE: u64 = 65536;

const EXPORTER: &str = r#"
(module
  (memory (export "memory") i64 1)
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1))))
"#;

const IMPORTER: &str = r#"
(module
  (import "exporter" "memory" (memory i64 1))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "size") (result i64) (memory.size)))
"#;

#[test]
fn a_relocated_pinned_memory64_is_seen_at_its_new_base() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config
            .memory_style(style)
            .dynamic_memory_reserve(0)
            .pin_memory(true)
            .pin_budget(16 * PAGE);
        let engine = Engine::new(&config).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let exporter = Module::new(&engine, EXPORTER).unwrap();
        let exporter = linker.instantiate(&mut store, &exporter).unwrap();
        linker.instance(&mut store, "exporter", exporter).unwrap();
        let importer = Module::new(&engine, IMPORTER).unwrap();
        let importer = linker.instantiate(&mut store, &importer).unwrap();

        let grow = exporter
            .get_typed_func::<i64, i64>(&mut store, "grow")
            .unwrap();
        let store_i64 = exporter
            .get_typed_func::<(i64, i64), ()>(&mut store, "store")
            .unwrap();
        let load = importer
            .get_typed_func::<i64, i64>(&mut store, "load")
            .unwrap();
        let size = importer
            .get_typed_func::<(), i64>(&mut store, "size")
            .unwrap();
        let memory = exporter.get_memory(&mut store, "memory").unwrap();

        store_i64.call(&mut store, (8, 77)).unwrap();
        let old_base = memory.data_ptr(&store);
        for pages in 2..=4u64 {
            assert_eq!(grow.call(&mut store, 1).unwrap(), pages as i64 - 1);
            let stats = memory.stats(&store);
            assert_eq!(stats.pinned_bytes, pages * PAGE, "{style:?}: lock moved");
            let last = pages * PAGE - 8;
            store_i64
                .call(&mut store, (last as i64, pages as i64))
                .unwrap();
            assert_eq!(size.call(&mut store, ()).unwrap(), pages as i64);
            assert_eq!(load.call(&mut store, last as i64).unwrap(), pages as i64);
            assert_eq!(load.call(&mut store, 8).unwrap(), 77, "contents moved");
            let data = memory.data(&store);
            assert_eq!(data.len() as u64, pages * PAGE);
            assert_eq!(
                data[last as usize], pages as u8,
                "the host sees the new base"
            );
        }
        // A relocation may leave room for later growth: at least the first
        // growth moved the memory.
        assert!(memory.stats(&store).relocations >= 1, "{style:?}");
        assert_ne!(memory.data_ptr(&store), old_base, "{style:?}: moved");
    }
}
