//! A refused `memory.grow` (past the type's maximum, or past
//! `Config::max_memory_size`) returns -1 and changes nothing: size,
//! contents and `Memory::stats` stay as they were. 32- and 64-bit memories,
//! both memory styles.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

const PAGE: u64 = 65536;

fn module(index_type: &str, grow_type: &str) -> String {
    format!(
        r#"(module
             (memory (export "memory") {index_type} 2 4)
             (data ({index_type}.const 100) "kept")
             (func (export "grow") (param {grow_type}) (result {grow_type})
               (memory.grow (local.get 0))))"#
    )
}

#[test]
fn a_refused_grow_returns_minus_one_and_changes_nothing() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        for (index_type, grow_type) in [("i32", "i32"), ("i64", "i64")] {
            let mut config = Config::new();
            config.memory_style(style).max_memory_size(Some(3 * PAGE));
            let engine = Engine::new(&config).unwrap();
            let module = Module::new(&engine, module(index_type, grow_type)).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let case = format!("{style:?}, {index_type}");
            let before_stats = memory.stats(&store);
            let before_data = memory.data(&store).to_vec();

            // 2 + 3 pages is over the maximum of 4; 2 + 2 is within the type
            // but over the engine's 3-page limit.
            let refused: Vec<i64> = [3, 2, -1]
                .into_iter()
                .map(|delta| {
                    if grow_type == "i32" {
                        let grow = instance
                            .get_typed_func::<i32, i32>(&mut store, "grow")
                            .unwrap();
                        i64::from(grow.call(&mut store, delta as i32).unwrap())
                    } else {
                        let grow = instance
                            .get_typed_func::<i64, i64>(&mut store, "grow")
                            .unwrap();
                        grow.call(&mut store, delta).unwrap()
                    }
                })
                .collect();
            assert_eq!(refused, [-1, -1, -1], "{case}");
            assert_eq!(memory.size(&store), 2, "{case}");
            assert_eq!(memory.data(&store), &before_data[..], "{case}");
            assert_eq!(&memory.data(&store)[100..104], b"kept");
            assert_eq!(memory.stats(&store), before_stats, "{case}");
        }
    }
}
