//! A 64-bit memory grown past 4 GiB from Wasm: bytes just above 4 GiB and
//! the last byte are written and read back sparsely, and the first access
//! past the end traps with `MemoryOutOfBounds`, in both memory styles (a
//! 64-bit memory is always dynamic; the forced style must not change that).

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};

const PAGE: u64 = 65536;
/// Pages of 4 GiB plus two pages.
const PAGES: u64 = (1 << 16) + 2;

const MODULE: &str = r#"
(module
  (memory (export "memory") i64 1)
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0))))
"#;

#[test]
fn a_64_bit_memory_grows_past_4_gib_and_traps_past_its_end() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let grow = instance
            .get_typed_func::<i64, i64>(&mut store, "grow")
            .unwrap();
        let size = instance
            .get_typed_func::<(), i64>(&mut store, "size")
            .unwrap();
        let store_i64 = instance
            .get_typed_func::<(i64, i64), ()>(&mut store, "store")
            .unwrap();
        let load = instance
            .get_typed_func::<i64, i64>(&mut store, "load")
            .unwrap();
        let load8 = instance
            .get_typed_func::<i64, i32>(&mut store, "load8")
            .unwrap();

        assert_eq!(grow.call(&mut store, PAGES as i64 - 1).unwrap(), 1);
        assert_eq!(size.call(&mut store, ()).unwrap(), PAGES as i64);
        let end = PAGES * PAGE;
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(memory.size(&store), PAGES);
        assert_eq!(memory.data_size(&store) as u64, end);

        let above_4_gib = (1u64 << 32) + 8;
        let last_word = end - 8;
        store_i64.call(&mut store, (0, 0x1111)).unwrap();
        store_i64
            .call(&mut store, (above_4_gib as i64, 0x0123_4567_89ab_cdef))
            .unwrap();
        store_i64.call(&mut store, (last_word as i64, -2)).unwrap();
        assert_eq!(load.call(&mut store, 0).unwrap(), 0x1111);
        assert_eq!(
            load.call(&mut store, above_4_gib as i64).unwrap(),
            0x0123_4567_89ab_cdef,
            "{style:?}"
        );
        assert_eq!(load.call(&mut store, last_word as i64).unwrap(), -2);
        assert_eq!(load8.call(&mut store, end as i64 - 1).unwrap(), 0xff);
        let data = memory.data(&store);
        assert_eq!(
            data[above_4_gib as usize], 0xef,
            "the host sees Wasm's write"
        );

        for out_of_bounds in [end, end - 7, 1 << 40] {
            let error = load.call(&mut store, out_of_bounds as i64).unwrap_err();
            assert_eq!(
                error.downcast_ref::<Trap>().unwrap().kind(),
                TrapKind::MemoryOutOfBounds,
                "{style:?}: load at {out_of_bounds:#x}"
            );
        }
        assert_eq!(load8.call(&mut store, end as i64 - 1).unwrap(), 0xff);
    }
}
