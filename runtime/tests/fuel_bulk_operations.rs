//! Fuel for bulk operators: `memory.fill/copy/init` cost one more per byte
//! and `table.fill/copy/init/grow` one more per element, charged before they
//! run, so a budget bounds their length and an operation the fuel left cannot
//! pay for traps out of fuel without writing anything.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind, Val};

const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (table 16 funcref)
  (data $bytes "0123456789abcdef")
  (elem $funcs func $f $f $f $f $f $f $f $f)
  (func $f)
  (func (export "fill") (param $len i32) (memory.fill (i32.const 0) (i32.const 7) (local.get $len)))
  (func (export "fill_64") (memory.fill (i32.const 0) (i32.const 7) (i32.const 64)))
  (func (export "copy") (param $len i32) (memory.copy (i32.const 0) (i32.const 100) (local.get $len)))
  (func (export "init") (param $len i32) (memory.init $bytes (i32.const 0) (i32.const 0) (local.get $len)))
  (func (export "table_fill") (param $len i32) (table.fill (i32.const 0) (ref.null func) (local.get $len)))
  (func (export "table_copy") (param $len i32) (table.copy (i32.const 0) (i32.const 8) (local.get $len)))
  (func (export "table_init") (param $len i32) (table.init $funcs (i32.const 0) (i32.const 0) (local.get $len)))
  (func (export "table_grow") (param $len i32) (drop (table.grow (ref.null func) (local.get $len)))))
"#;

const BUDGET: u64 = 1_000_000;

fn setup(style: MemoryStyle) -> (Store<()>, Instance) {
    let mut config = Config::new();
    config.memory_style(style).consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(BUDGET).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Fuel one call of `name` consumes, on a fresh instance.
fn fuel_used(style: MemoryStyle, name: &str, args: &[Val]) -> u64 {
    let (mut store, instance) = setup(style);
    let func = instance.get_func(&mut store, name).unwrap();
    func.call(&mut store, args, &mut []).unwrap();
    BUDGET - store.get_fuel().unwrap()
}

#[test]
fn bulk_operators_cost_one_per_unit() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        for (name, units) in [
            ("fill", 1000),
            ("copy", 1000),
            ("init", 16),
            ("table_fill", 16),
            ("table_copy", 8),
            ("table_init", 8),
            ("table_grow", 100),
        ] {
            let none = fuel_used(style, name, &[Val::I32(0)]);
            let some = fuel_used(style, name, &[Val::I32(units)]);
            assert_eq!(some - none, units as u64, "{name} in {style:?}");
        }
    }
}

#[test]
fn a_constant_size_is_charged_too() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let constant = fuel_used(style, "fill_64", &[]);
        let dynamic = fuel_used(style, "fill", &[Val::I32(64)]);
        // Both push three operands with one operator each.
        assert_eq!(constant, dynamic, "{style:?}");
    }
}

#[test]
fn a_fill_the_fuel_cannot_pay_for_writes_nothing() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let (mut store, instance) = setup(style);
        store.set_fuel(1000).unwrap();
        let fill = instance.get_func(&mut store, "fill").unwrap();
        let error = fill
            .call(&mut store, &[Val::I32(60_000)], &mut [])
            .unwrap_err();
        let trap = error.downcast_ref::<Trap>().expect("a trap");
        assert_eq!(trap.kind(), TrapKind::OutOfFuel, "{style:?}");
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert!(
            memory.data(&store)[..60_000].iter().all(|&byte| byte == 0),
            "{style:?}"
        );
    }
}
