//! A narrow store of a constant (`i32.store8 (i32.const -1)` and the
//! like, compiled as an immediate store) writes exactly the constant's low
//! bytes and nothing past them, for every width, in every memory style.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "run")
    (i32.store8 (i32.const 0) (i32.const -1))
    (i32.store8 (i32.const 1) (i32.const 0x1234))
    (i32.store16 (i32.const 4) (i32.const -2))
    (i32.store16 (i32.const 8) (i32.const 0x12345678))
    (i64.store8 (i32.const 12) (i64.const -3))
    (i64.store16 (i32.const 16) (i64.const 0x7fff_0000_0000_abcd))
    (i64.store32 (i32.const 20) (i64.const -4))
    (i64.store32 (i32.const 28) (i64.const 0x1_2345_6789))))"#;

#[test]
fn narrow_constant_stores_write_the_low_bytes_only() {
    let expected: [(usize, &[u8]); 8] = [
        (0, &[0xff, 0x34, 0x00, 0x00]),
        (4, &[0xfe, 0xff, 0x00, 0x00]),
        (8, &[0x78, 0x56, 0x00, 0x00]),
        (12, &[0xfd, 0x00, 0x00, 0x00]),
        (16, &[0xcd, 0xab, 0x00, 0x00]),
        (20, &[0xfc, 0xff, 0xff, 0xff, 0x00]),
        (28, &[0x89, 0x67, 0x45, 0x23, 0x00]),
        (33, &[0x00]),
    ];
    for style in [
        MemoryStyle::Static,
        MemoryStyle::Dynamic,
        MemoryStyle::Arena,
    ] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        run.call(&mut store, ()).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let data = memory.data(&store);
        for (offset, bytes) in expected {
            assert_eq!(
                &data[offset..offset + bytes.len()],
                bytes,
                "{style:?} at {offset}"
            );
        }
    }
}
