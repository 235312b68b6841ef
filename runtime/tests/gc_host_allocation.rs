//! The host allocates structs and arrays, Wasm casts and reads them, and
//! field and element accesses of the wrong type or out of bounds are
//! errors, not panics.

use remap::{
    ArrayRef, ArrayRefPre, ArrayType, FieldType, Module, RootScope, StorageType, Store, StructRef,
    StructRefPre, StructType, Val, ValType,
};

const WAT: &str = r#"
(module
  (type $point (struct (field $x (mut i32)) (field $y i64)))
  (type $bytes (array (mut i8)))
  (func (export "sum") (param anyref) (result i64)
    (local $p (ref $point))
    (local.set $p (ref.cast (ref $point) (local.get 0)))
    (i64.add
      (i64.extend_i32_s (struct.get $point $x (local.get $p)))
      (struct.get $point $y (local.get $p))))
  (func (export "byte") (param (ref $bytes) i32) (result i32)
    (array.get_u $bytes (local.get 0) (local.get 1))))
"#;

fn field(storage: StorageType, mutable: bool) -> FieldType {
    FieldType { storage, mutable }
}

#[test]
fn host_allocated_objects_are_wasm_objects() {
    let engine = remap::Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let mut scope = RootScope::new(&mut store);

    let point_type = StructType {
        fields: vec![
            field(StorageType::Val(ValType::I32), true),
            field(StorageType::Val(ValType::I64), false),
        ]
        .into(),
    };
    let point_pre = StructRefPre::new(&mut scope, point_type).unwrap();
    let point = StructRef::new(&mut scope, &point_pre, &[Val::I32(-2), Val::I64(10)]).unwrap();
    assert!(StructRef::new(&mut scope, &point_pre, &[Val::I32(1)]).is_err());
    assert!(StructRef::new(&mut scope, &point_pre, &[Val::I64(1), Val::I64(1)]).is_err());

    point.set_field(&mut scope, 0, Val::I32(5)).unwrap();
    assert!(point.set_field(&mut scope, 0, Val::I64(5)).is_err());
    assert!(
        point.set_field(&mut scope, 1, Val::I64(5)).is_err(),
        "immutable"
    );
    let sum = instance.get_func(&mut scope, "sum").unwrap();
    let mut result = [Val::I64(0)];
    let argument = Val::AnyRef(Some(point.to_anyref()));
    sum.call(&mut scope, &[argument], &mut result).unwrap();
    assert!(matches!(result[0], Val::I64(15)));

    let bytes_type = ArrayType {
        element: field(StorageType::I8, true),
    };
    let bytes_pre = ArrayRefPre::new(&mut scope, bytes_type).unwrap();
    let bytes = ArrayRef::new(&mut scope, &bytes_pre, &Val::I32(0x1ff), 3).unwrap();
    assert_eq!(bytes.len(&scope).unwrap(), 3);
    bytes.set(&mut scope, 1, Val::I32(7)).unwrap();
    assert!(bytes.set(&mut scope, 3, Val::I32(7)).is_err());
    assert!(bytes.get(&scope, 3).is_err());
    assert!(matches!(bytes.get(&scope, 0).unwrap(), Val::I32(0xff)));
    let byte = instance.get_func(&mut scope, "byte").unwrap();
    let argument = Val::AnyRef(Some(bytes.to_anyref()));
    let mut byte_result = [Val::I32(0)];
    byte.call(&mut scope, &[argument, Val::I32(1)], &mut byte_result)
        .unwrap();
    assert!(matches!(byte_result[0], Val::I32(7)));
}
