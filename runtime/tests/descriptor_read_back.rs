//! A struct allocated with `struct.new_desc` gives back the very descriptor
//! it was given (`ref.get_desc`), across a collection, and the descriptor
//! keeps its own fields.

use remap::{Config, Engine, Instance, Module, Store};

const WAT: &str = r#"
(module
  (rec
    (type $object (descriptor $vtable) (struct (field i32)))
    (type $vtable (describes $object) (struct (field i32))))
  (global $keep (mut (ref null $object)) (ref.null none))
  (func (export "make") (param $tag i32)
    (global.set $keep
      (struct.new_desc $object
        (i32.const 1)
        (struct.new $vtable (local.get $tag)))))
  (func (export "tag") (result i32)
    (struct.get $vtable 0 (ref.get_desc $object (global.get $keep))))
  (func (export "same") (result i32)
    (local $object (ref $object))
    (local.set $object (ref.as_non_null (global.get $keep)))
    (ref.eq (ref.get_desc $object (local.get $object))
            (ref.get_desc $object (local.get $object)))))
"#;

#[test]
fn the_descriptor_is_read_back_from_the_object() {
    let mut config = Config::new();
    config.wasm_custom_descriptors(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let make = instance
        .get_typed_func::<i32, ()>(&mut store, "make")
        .unwrap();
    let tag = instance
        .get_typed_func::<(), i32>(&mut store, "tag")
        .unwrap();
    let same = instance
        .get_typed_func::<(), i32>(&mut store, "same")
        .unwrap();
    make.call(&mut store, 41).unwrap();
    // Only the object references the descriptor: the collector must trace
    // the hidden field to keep it.
    store.gc();
    assert_eq!(tag.call(&mut store, ()).unwrap(), 41);
    assert_eq!(same.call(&mut store, ()).unwrap(), 1);
}
