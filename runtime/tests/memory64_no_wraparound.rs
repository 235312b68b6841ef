//! A 64-bit access whose index plus offset plus size passes 2^64 traps with
//! `MemoryOutOfBounds`; it never wraps to a small, valid address. Both
//! memory styles, with and without Spectre mitigations (select-to-null or
//! an explicit trap).

mod common;

use common::{engines_for_every_bounds_check, expect_out_of_bounds};
use remap::{Instance, Module, Store};

const MODULE: &str = r#"
(module
  (memory i64 1)
  (data (i64.const 0) "\2a\2a\2a\2a\2a\2a\2a\2a")
  (func (export "load_at") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load_max_offset") (param i64) (result i32)
    (i32.load8_u offset=0xffff_ffff_ffff_ffff (local.get 0)))
  (func (export "load_high_offset") (param i64) (result i64)
    (i64.load offset=0xffff_ffff_ffff_fff8 (local.get 0)))
  (func (export "store_offset_1") (param i64) (i32.store8 offset=1 (local.get 0) (i32.const 1))))
"#;

#[test]
fn accesses_near_2_pow_64_trap_instead_of_wrapping() {
    for (case, engine) in engines_for_every_bounds_check() {
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let load_at = instance
            .get_typed_func::<i64, i64>(&mut store, "load_at")
            .unwrap();
        let max_offset = instance
            .get_typed_func::<i64, i32>(&mut store, "load_max_offset")
            .unwrap();
        let high_offset = instance
            .get_typed_func::<i64, i64>(&mut store, "load_high_offset")
            .unwrap();
        let store_offset_1 = instance
            .get_typed_func::<i64, ()>(&mut store, "store_offset_1")
            .unwrap();

        assert_eq!(load_at.call(&mut store, 0).unwrap(), 0x2a2a_2a2a_2a2a_2a2a);
        expect_out_of_bounds(load_at.call(&mut store, -1), &case);
        expect_out_of_bounds(load_at.call(&mut store, -8), &case);
        // index + offset is 2^64 + 0: wrapped, it would read byte 0.
        expect_out_of_bounds(max_offset.call(&mut store, 1), &case);
        expect_out_of_bounds(max_offset.call(&mut store, 0), &case);
        expect_out_of_bounds(max_offset.call(&mut store, -1), &case);
        // 8 + 0xffff_ffff_ffff_fff8 is 2^64: wrapped, it would read 0..8.
        expect_out_of_bounds(high_offset.call(&mut store, 8), &case);
        expect_out_of_bounds(high_offset.call(&mut store, 0), &case);
        expect_out_of_bounds(store_offset_1.call(&mut store, -1), &case);
        assert_eq!(
            load_at.call(&mut store, 0).unwrap(),
            0x2a2a_2a2a_2a2a_2a2a,
            "{case}: nothing was written at a wrapped address"
        );
    }
}
