//! The host reads a struct's descriptor (`StructRef::descriptor`) besides
//! its fields, which the hidden descriptor field leaves where they are;
//! a struct of a type without a descriptor has none.

use remap::{AnyRef, Config, Engine, Instance, Module, Store, Val};

const WAT: &str = r#"
(module
  (rec
    (type $object (descriptor $vtable) (struct (field i32) (field i64)))
    (type $vtable (describes $object) (struct (field i32))))
  (type $plain (struct (field i32)))
  (func (export "described") (result anyref)
    (struct.new_desc $object (i32.const 5) (i64.const 6) (struct.new $vtable (i32.const 7))))
  (func (export "plain") (result anyref)
    (struct.new $plain (i32.const 8))))
"#;

#[test]
fn the_host_reads_a_structs_descriptor() {
    let mut config = Config::new();
    config.wasm_custom_descriptors(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let described = instance
        .get_typed_func::<(), Option<AnyRef>>(&mut store, "described")
        .unwrap();
    let plain = instance
        .get_typed_func::<(), Option<AnyRef>>(&mut store, "plain")
        .unwrap();

    let object = described.call(&mut store, ()).unwrap().unwrap();
    let object = object.as_struct(&store).unwrap().unwrap();
    assert!(matches!(object.field(&store, 0).unwrap(), Val::I32(5)));
    assert!(matches!(object.field(&store, 1).unwrap(), Val::I64(6)));
    assert!(object.field(&store, 2).is_err());
    let vtable = object.descriptor(&store).unwrap().expect("a descriptor");
    assert!(matches!(vtable.field(&store, 0).unwrap(), Val::I32(7)));
    assert!(vtable.descriptor(&store).unwrap().is_none());

    let plain = plain.call(&mut store, ()).unwrap().unwrap();
    let plain = plain.as_struct(&store).unwrap().unwrap();
    assert!(plain.descriptor(&store).unwrap().is_none());
}
