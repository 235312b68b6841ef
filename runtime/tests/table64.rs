//! A 64-bit table (table64): `table.get`/`set`/`grow`/`size` and
//! `call_indirect` with i64 indices work at large indices and trap with the
//! right kind out of bounds, including at indices past 2^32 that a 32-bit
//! truncation would bring back in bounds. Both memory styles.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Ref, Store, Trap, TrapKind};

/// Elements the table grows to: beyond any small-table fast path.
const SIZE: i64 = 100_000;

const MODULE: &str = r#"
(module
  (type $ret (func (result i64)))
  (table $t (export "table") i64 1 funcref)
  (func $seven (result i64) (i64.const 7))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "set") (param i64) (table.set $t (local.get 0) (ref.func $seven)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "call") (param i64) (result i64) (call_indirect $t (type $ret) (local.get 0)))
  (elem declare func $seven))
"#;

fn trap_kind(error: anyhow::Error) -> TrapKind {
    error.downcast_ref::<Trap>().unwrap().kind()
}

#[test]
fn table64_accesses_at_large_indices_and_out_of_bounds() {
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
        let set = instance
            .get_typed_func::<i64, ()>(&mut store, "set")
            .unwrap();
        let is_null = instance
            .get_typed_func::<i64, i32>(&mut store, "is_null")
            .unwrap();
        let call = instance
            .get_typed_func::<i64, i64>(&mut store, "call")
            .unwrap();
        let table = instance.get_table(&mut store, "table").unwrap();
        assert!(table.ty(&store).is_64());

        assert_eq!(grow.call(&mut store, SIZE - 1).unwrap(), 1);
        assert_eq!(size.call(&mut store, ()).unwrap(), SIZE);
        assert_eq!(table.size(&store), SIZE as u64);
        assert_eq!(grow.call(&mut store, -1).unwrap(), -1, "{style:?}: refused");
        assert_eq!(size.call(&mut store, ()).unwrap(), SIZE);

        let last = SIZE - 1;
        assert_eq!(is_null.call(&mut store, last).unwrap(), 1);
        set.call(&mut store, last).unwrap();
        assert_eq!(is_null.call(&mut store, last).unwrap(), 0);
        assert!(matches!(
            table.get(&mut store, last as u64),
            Some(Ref::Func(Some(_)))
        ));
        assert_eq!(call.call(&mut store, last).unwrap(), 7);

        // 2^32 + last truncates to `last`: it must not alias it.
        for out_of_bounds in [SIZE, (1 << 32) + last, -1] {
            let what = format!("{style:?}: index {out_of_bounds:#x}");
            assert_eq!(
                trap_kind(set.call(&mut store, out_of_bounds).unwrap_err()),
                TrapKind::TableOutOfBounds,
                "{what}"
            );
            assert_eq!(
                trap_kind(is_null.call(&mut store, out_of_bounds).unwrap_err()),
                TrapKind::TableOutOfBounds,
                "{what}"
            );
            assert_eq!(
                trap_kind(call.call(&mut store, out_of_bounds).unwrap_err()),
                TrapKind::IndirectCallOutOfBounds,
                "{what}"
            );
        }
        assert_eq!(
            trap_kind(call.call(&mut store, 0).unwrap_err()),
            TrapKind::IndirectCallToNull
        );
    }
}
