//! A memory of 1-byte pages (`(pagesize 1)`): its last byte is accessible,
//! the byte past it traps with `MemoryOutOfBounds` (although the host page
//! it lies in is mapped), and after `memory.grow 1` that byte is accessible
//! and the next one traps. Sizes are in 1-byte pages for Wasm and the API.
//! Both memory styles (such a memory is always dynamic), 32- and 64-bit.

mod common;

use common::{engines_for_every_bounds_check, expect_out_of_bounds};
use remap::{Engine, Instance, Module, Store};

fn module(index_type: &str) -> String {
    format!(
        r#"(module
             (memory (export "memory") {index_type} 10 (pagesize 1))
             (func (export "load") (param {index_type}) (result i32)
               (i32.load8_u (local.get 0)))
             (func (export "store") (param {index_type} i32)
               (i32.store8 (local.get 0) (local.get 1)))
             (func (export "load_word") (param {index_type}) (result i32)
               (i32.load offset=2 (local.get 0)))
             (func (export "grow") (param {index_type}) (result {index_type})
               (memory.grow (local.get 0)))
             (func (export "size") (result {index_type}) (memory.size)))"#
    )
}

#[test]
fn one_byte_pages_bound_accesses_to_the_byte() {
    for (case, engine) in engines_for_every_bounds_check() {
        let module = Module::new(&engine, module("i32")).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        let store8 = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "store")
            .unwrap();
        let load_word = instance
            .get_typed_func::<i32, i32>(&mut store, "load_word")
            .unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        let size = instance
            .get_typed_func::<(), i32>(&mut store, "size")
            .unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(memory.ty(&store).page_size(), 1);
        assert_eq!(memory.size(&store), 10);

        store8.call(&mut store, (9, 0x5a)).unwrap();
        assert_eq!(load.call(&mut store, 9).unwrap(), 0x5a, "{case}");
        expect_out_of_bounds(load.call(&mut store, 10), &case);
        expect_out_of_bounds(store8.call(&mut store, (10, 1)), &case);
        assert_eq!(load_word.call(&mut store, 4).unwrap(), 0x5a00_0000);
        expect_out_of_bounds(load_word.call(&mut store, 5), &case);

        assert_eq!(grow.call(&mut store, 1).unwrap(), 10, "{case}");
        assert_eq!(size.call(&mut store, ()).unwrap(), 11);
        assert_eq!(memory.size(&store), 11);
        assert_eq!(memory.data_size(&store), 11);
        assert_eq!(load.call(&mut store, 10).unwrap(), 0, "{case}");
        store8.call(&mut store, (10, 0x7e)).unwrap();
        assert_eq!(memory.data(&store)[9..], [0x5a, 0x7e]);
        expect_out_of_bounds(load.call(&mut store, 11), &case);
        assert_eq!(load_word.call(&mut store, 5).unwrap(), 0x7e5a_0000);
    }
}

#[test]
fn a_64_bit_memory_of_one_byte_pages_traps_one_past_its_end() {
    let engine = Engine::default();
    let module = Module::new(&engine, module("i64")).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let load = instance
        .get_typed_func::<i64, i32>(&mut store, "load")
        .unwrap();
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .unwrap();
    assert_eq!(load.call(&mut store, 9).unwrap(), 0);
    expect_out_of_bounds(load.call(&mut store, 10), "i64, before growth");
    assert_eq!(grow.call(&mut store, 1).unwrap(), 10);
    assert_eq!(load.call(&mut store, 10).unwrap(), 0);
    expect_out_of_bounds(load.call(&mut store, 11), "i64, after growth");
    expect_out_of_bounds(load.call(&mut store, -1), "i64, at 2^64 - 1");
}
