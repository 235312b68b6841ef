//! A host function creates a Wasm exception of a tag it defined and throws
//! it; the Wasm caller catches it and reads the payload.

use remap::{
    Caller, Engine, ExnRef, Linker, Module, Store, Tag, TagType, ThrownException, Val, ValType,
};

const WAT: &str = r#"
(module
  (import "host" "tag" (tag $e (param i32 i64)))
  (import "host" "fail" (func $fail (param i32)))
  (func (export "run") (param i32) (result i64)
    (local $y i64)
    (block $caught (result i32 i64)
      (try_table (catch $e $caught)
        (call $fail (local.get 0)))
      (return (i64.const -1)))
    ;; The payload (x, y) gives x + y.
    (local.set $y)
    (i64.extend_i32_u)
    (local.get $y)
    (i64.add)))
"#;

#[test]
fn a_host_function_throws_an_exception_that_wasm_catches() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new([ValType::I32, ValType::I64])).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "tag", tag).unwrap();
    linker
        .func_wrap(
            "host",
            "fail",
            move |mut caller: Caller<'_, ()>, x: i32| -> anyhow::Result<()> {
                let exception = ExnRef::new(&mut caller, &tag, &[Val::I32(x), Val::I64(1 << 40)])?;
                Err(ThrownException::new(exception).into())
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i64>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 7).unwrap(), 7 + (1 << 40));
}

#[test]
fn an_exception_that_does_not_fit_its_tag_is_refused() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new([ValType::I32])).unwrap();
    assert!(ExnRef::new(&mut store, &tag, &[]).is_err());
    assert!(ExnRef::new(&mut store, &tag, &[Val::I64(1)]).is_err());
}
