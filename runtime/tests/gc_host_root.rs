//! An object the host holds survives collections; once the host drops its
//! root, the next collection frees it.

use remap::{Engine, Module, OwnedAnyRef, RootScope, Store, Val};

const WAT: &str = r#"
(module
  (type $box (struct (field $value i64)))
  (func (export "make") (param i64) (result (ref $box))
    (struct.new $box (local.get 0)))
  (func (export "garbage") (param $count i32)
    (loop $again
      (drop (struct.new $box (i64.const -1)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br_if $again (local.get $count)))))
"#;

#[test]
fn a_host_root_keeps_its_object_until_dropped() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let make = instance.get_func(&mut store, "make").unwrap();
    let garbage = instance
        .get_typed_func::<i32, ()>(&mut store, "garbage")
        .unwrap();

    let owned = {
        let mut scope = RootScope::new(&mut store);
        let mut results = [Val::I32(0)];
        make.call(&mut scope, &[Val::I64(77)], &mut results)
            .unwrap();
        let Val::AnyRef(Some(reference)) = results[0] else {
            panic!("expected a struct, got {:?}", results[0]);
        };
        OwnedAnyRef::new(&mut scope, &reference).unwrap()
    };
    // Collections inside Wasm and from the host keep the object.
    garbage.call(&mut store, 200_000).unwrap();
    store.gc();
    assert!(store.gc_stats().collections > 1);
    assert_eq!(store.gc_stats().live_bytes, 16);
    {
        let mut scope = RootScope::new(&mut store);
        let reference = owned.to_anyref(&mut scope).unwrap();
        let object = reference.as_struct(&scope).unwrap().unwrap();
        assert!(matches!(object.field(&scope, 0).unwrap(), Val::I64(77)));
        assert!(object.field(&scope, 1).is_err());
        assert!(object.set_field(&mut scope, 0, Val::I64(1)).is_err());
    }

    drop(owned);
    store.gc();
    assert_eq!(store.gc_stats().live_bytes, 0);
}
