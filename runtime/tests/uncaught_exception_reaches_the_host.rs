//! An exception no Wasm handler catches comes back to the host as a
//! `ThrownException`, not a trap, whose tag and payload the host can read.

use remap::{Engine, Instance, Module, Store, ThrownException, Trap, Val};

#[test]
fn an_uncaught_exception_carries_its_tag_and_payload_to_the_host() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (tag $e (export "e") (param i32 f64))
             (func $inner (throw $e (i32.const 7) (f64.const 2.5)))
             (func (export "run") (call $inner)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let error = run.call(&mut store, ()).unwrap_err();
    assert!(error.downcast_ref::<Trap>().is_none());
    let thrown = error
        .downcast_ref::<ThrownException>()
        .expect("an uncaught exception");
    let exception = thrown.exception();
    let tag = instance
        .get_export(&mut store, "e")
        .and_then(|export| export.into_tag())
        .expect("exported tag");
    assert_eq!(exception.tag(&store), tag);
    let payload = exception.payload(&store);
    assert_eq!(payload.len(), 2);
    assert_eq!(payload[0].i32(), Some(7));
    assert_eq!(payload[1].f64(), Some(2.5));
    assert!(matches!(payload[0], Val::I32(7)));
}
