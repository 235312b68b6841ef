//! `ref.cast_desc_eq` succeeds for an object built with the given
//! descriptor and traps with `DescriptorCastFailure` for one built with
//! another; a null descriptor traps with `NullDescriptorReference`.

use remap::{Config, Engine, Instance, Module, Store, Trap, TrapKind};

const WAT: &str = r#"
(module
  (rec
    (type $object (descriptor $vtable) (struct))
    (type $vtable (describes $object) (struct)))
  (global $first (ref (exact $vtable)) (struct.new $vtable))
  (global $second (ref (exact $vtable)) (struct.new $vtable))
  (global $null (ref null (exact $vtable)) (ref.null none))
  (func $cast (param $object anyref) (param $vtable (ref null (exact $vtable)))
    (drop (ref.cast_desc_eq (ref $object) (local.get $object) (local.get $vtable))))
  (func (export "same") (result i32)
    (call $cast (struct.new_desc $object (global.get $first)) (global.get $first))
    (i32.const 1))
  (func (export "other")
    (call $cast (struct.new_desc $object (global.get $first)) (global.get $second)))
  (func (export "null")
    (call $cast (struct.new_desc $object (global.get $first)) (global.get $null))))
"#;

fn trap_kind(error: anyhow::Error) -> TrapKind {
    error.downcast_ref::<Trap>().expect("a trap").kind()
}

#[test]
fn desc_eq_cast_matches_the_descriptor() {
    let mut config = Config::new();
    config.wasm_custom_descriptors(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let same = instance
        .get_typed_func::<(), i32>(&mut store, "same")
        .unwrap();
    assert_eq!(same.call(&mut store, ()).unwrap(), 1);
    let other = instance
        .get_typed_func::<(), ()>(&mut store, "other")
        .unwrap();
    assert_eq!(
        trap_kind(other.call(&mut store, ()).unwrap_err()),
        TrapKind::DescriptorCastFailure
    );
    let null = instance
        .get_typed_func::<(), ()>(&mut store, "null")
        .unwrap();
    assert_eq!(
        trap_kind(null.call(&mut store, ()).unwrap_err()),
        TrapKind::NullDescriptorReference
    );
}
