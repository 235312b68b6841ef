//! Issue 16: a dynamic memory mapped from its module's copy-on-write image
//! that grows past its reservation is relocated with `mremap`, image pages,
//! written pages and all: the guest and the host read the same contents at
//! the new address. 32- and 64-bit memories.

mod images;

use images::{exported_memory, image_mapped_bytes, with_data_segments};
use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

const PAGE: usize = 65536;

fn module(memory64: bool) -> Vec<u8> {
    let (index, address) = if memory64 {
        ("i64", "i64")
    } else {
        ("i32", "i32")
    };
    let text = format!(
        r#"(module
             (memory (export "memory") {index} 4)
             (func (export "load") (param {address}) (result i32)
               (i32.load8_u (local.get 0)))
             (func (export "store") (param {address} i32)
               (i32.store8 (local.get 0) (local.get 1)))
             (func (export "grow") (param {address}) (result {address})
               (memory.grow (local.get 0))))"#
    );
    let segments = [(10, vec![0xa1; 100]), (3 * PAGE as u64, vec![0xb2; PAGE])];
    with_data_segments(wat::parse_str(text).unwrap(), &segments, memory64)
}

#[test]
fn an_image_memory_keeps_its_contents_when_it_moves() {
    for memory64 in [false, true] {
        // An engine each: a cached slot would already have room to grow.
        let mut config = Config::new();
        config
            .memory_style(MemoryStyle::Dynamic)
            .dynamic_memory_reserve(0);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, module(memory64)).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = exported_memory(&mut store, &instance);
        assert!(image_mapped_bytes(&store, memory) > 0);
        let before = memory.data_ptr(&store);
        let (image_byte, written_byte, second_run) = if memory64 {
            let load = instance
                .get_typed_func::<i64, i32>(&mut store, "load")
                .unwrap();
            let store_byte = instance
                .get_typed_func::<(i64, i32), ()>(&mut store, "store")
                .unwrap();
            let grow = instance
                .get_typed_func::<i64, i64>(&mut store, "grow")
                .unwrap();
            store_byte.call(&mut store, (11, 0x11)).unwrap();
            store_byte
                .call(&mut store, (3 * PAGE as i64 + 1, 0x22))
                .unwrap();
            assert_eq!(grow.call(&mut store, 4).unwrap(), 4);
            (
                load.call(&mut store, 10).unwrap(),
                load.call(&mut store, 11).unwrap(),
                [
                    load.call(&mut store, 3 * PAGE as i64).unwrap(),
                    load.call(&mut store, 3 * PAGE as i64 + 1).unwrap(),
                    load.call(&mut store, 5 * PAGE as i64).unwrap(),
                ],
            )
        } else {
            let load = instance
                .get_typed_func::<i32, i32>(&mut store, "load")
                .unwrap();
            let store_byte = instance
                .get_typed_func::<(i32, i32), ()>(&mut store, "store")
                .unwrap();
            let grow = instance
                .get_typed_func::<i32, i32>(&mut store, "grow")
                .unwrap();
            store_byte.call(&mut store, (11, 0x11)).unwrap();
            store_byte
                .call(&mut store, (3 * PAGE as i32 + 1, 0x22))
                .unwrap();
            assert_eq!(grow.call(&mut store, 4).unwrap(), 4);
            (
                load.call(&mut store, 10).unwrap(),
                load.call(&mut store, 11).unwrap(),
                [
                    load.call(&mut store, 3 * PAGE as i32).unwrap(),
                    load.call(&mut store, 3 * PAGE as i32 + 1).unwrap(),
                    load.call(&mut store, 5 * PAGE as i32).unwrap(),
                ],
            )
        };
        assert_ne!(
            memory.data_ptr(&store),
            before,
            "memory64={memory64}: moved"
        );
        assert_eq!(memory.stats(&store).relocations, 1);
        assert_eq!(
            (image_byte, written_byte),
            (0xa1, 0x11),
            "memory64={memory64}"
        );
        assert_eq!(second_run, [0xb2, 0x22, 0], "memory64={memory64}");
        let data = memory.data(&store);
        assert_eq!(data.len(), 8 * PAGE);
        assert_eq!(&data[9..13], [0, 0xa1, 0x11, 0xa1]);
        assert_eq!(data[3 * PAGE + 2], 0xb2);
        assert!(data[4 * PAGE..].iter().all(|&b| b == 0));
    }
}
