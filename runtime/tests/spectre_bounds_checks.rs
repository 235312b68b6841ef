//! Out-of-bounds accesses to a dynamic memory trap with MemoryOutOfBounds
//! whether its explicit bounds checks are Spectre-hardened (the access is
//! redirected to null and faults) or not (a branch to a trap), and the store
//! stays usable afterwards.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind, TypedFunc};

const WAT: &str = r#"
(module
  (memory 1)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_far") (param i32) (result i32) (i32.load offset=100000 (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "store_far") (param i32 i32) (i64.store offset=100000 (local.get 0) (i64.extend_i32_u (local.get 1))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

struct Exports {
    load: TypedFunc<i32, i32>,
    load_far: TypedFunc<i32, i32>,
    load8: TypedFunc<i32, i32>,
    store: TypedFunc<(i32, i32), ()>,
    store_far: TypedFunc<(i32, i32), ()>,
    grow: TypedFunc<i32, i32>,
}

fn setup(spectre_mitigations: bool) -> (Store<()>, Exports) {
    let mut config = Config::new();
    config
        .memory_style(MemoryStyle::Dynamic)
        .spectre_mitigations(spectre_mitigations);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let exports = Exports {
        load: instance.get_typed_func(&mut store, "load").unwrap(),
        load_far: instance.get_typed_func(&mut store, "load_far").unwrap(),
        load8: instance.get_typed_func(&mut store, "load8").unwrap(),
        store: instance.get_typed_func(&mut store, "store").unwrap(),
        store_far: instance.get_typed_func(&mut store, "store_far").unwrap(),
        grow: instance.get_typed_func(&mut store, "grow").unwrap(),
    };
    (store, exports)
}

fn assert_out_of_bounds<R: std::fmt::Debug>(result: anyhow::Result<R>, what: &str) {
    let error = result.expect_err(what);
    let trap = error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("{what}: not a trap: {error:#}"));
    assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds, "{what}: {trap}");
}

fn out_of_bounds_accesses_trap(spectre_mitigations: bool) {
    let (mut store, exports) = setup(spectre_mitigations);
    exports.store.call(&mut store, (65532, 7)).unwrap();
    // 65533: the access straddles the bound (a load only: whether a store
    // that straddles it writes its first bytes is up to the CPU).
    assert_out_of_bounds(exports.load.call(&mut store, 65533), "load");
    for index in [65536, 1 << 20, -1] {
        assert_out_of_bounds(exports.load.call(&mut store, index), "load");
        assert_out_of_bounds(exports.store.call(&mut store, (index, 9)), "store");
    }
    assert_out_of_bounds(exports.load8.call(&mut store, 65536), "load8");
    assert_out_of_bounds(exports.load_far.call(&mut store, 0), "load past the guard");
    assert_out_of_bounds(
        exports.store_far.call(&mut store, (-1, 9)),
        "store past the guard",
    );
    // The store is usable and no failed store wrote anything.
    assert_eq!(exports.load.call(&mut store, 65532).unwrap(), 7);
    assert_eq!(exports.load8.call(&mut store, 65535).unwrap(), 0);
    assert_eq!(exports.load.call(&mut store, 0).unwrap(), 0);

    // What was out of bounds is accessible once the memory has grown.
    assert_eq!(exports.grow.call(&mut store, 1).unwrap(), 1);
    exports.store.call(&mut store, (65536, 5)).unwrap();
    assert_eq!(exports.load.call(&mut store, 65536).unwrap(), 5);
    assert_eq!(exports.load_far.call(&mut store, 0).unwrap(), 0);
    assert_out_of_bounds(exports.load.call(&mut store, 131069), "load after grow");
}

#[test]
fn out_of_bounds_accesses_trap_with_spectre_mitigations() {
    out_of_bounds_accesses_trap(true);
}

#[test]
fn out_of_bounds_accesses_trap_without_spectre_mitigations() {
    out_of_bounds_accesses_trap(false);
}
