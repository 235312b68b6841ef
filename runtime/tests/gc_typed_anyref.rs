//! Typed functions take and return `Option<AnyRef>`.

use remap::{AnyRef, I31, Module, Store};

#[test]
fn typed_functions_pass_anyrefs() {
    let engine = remap::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "id") (param anyref) (result anyref) (local.get 0)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let id = instance
        .get_typed_func::<Option<AnyRef>, Option<AnyRef>>(&mut store, "id")
        .unwrap();
    let value = AnyRef::from_i31(&mut store, I31::wrapping_i32(-3));
    let back = id.call(&mut store, Some(value)).unwrap().unwrap();
    assert_eq!(back.as_i31(&store).unwrap().unwrap().get_i32(), -3);
    assert!(id.call(&mut store, None).unwrap().is_none());
}
