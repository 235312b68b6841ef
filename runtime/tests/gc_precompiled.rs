//! A precompiled GC module keeps its stack maps: collections in its code
//! find the references its frames hold.

use remap::{Engine, Module, Store};

const WAT: &str = r#"
(module
  (type $node (struct (field $value i64)))
  (func $churn
    (local $i i32)
    (loop $again
      (drop (struct.new $node (i64.const -1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 200000)))))
  (func (export "run") (result i64)
    (local $kept (ref null $node))
    (local.set $kept (struct.new $node (i64.const 5)))
    (call $churn)
    (struct.get $node $value (ref.as_non_null (local.get $kept)))))
"#;

#[test]
fn precompiled_code_collects_with_its_stack_maps() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // SAFETY: the bytes were serialized by this engine just above.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<(), i64>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 5);
    assert!(store.gc_stats().collections > 0);
}
