//! A precompiled module keeps what typed function references and tail calls
//! need: its sub types and their supertypes (so `call_indirect` and casts
//! still accept a subtype after loading), `call_ref`, tail calls and the
//! new trap kinds.

use remap::{Engine, Instance, Module, Store, Trap, TrapKind};

const WAT: &str = r#"
(module
  (type $base (sub (func (result i32))))
  (type $derived (sub $base (func (result i32))))
  (type $other (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $derived_fn $other_fn)
  (func $derived_fn (type $derived) (i32.const 40))
  (func $other_fn (type $other) (i32.const 99))
  (func $count (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (call_indirect (type $base) (i32.const 0)))
      (else (return_call $count (i64.sub (local.get 0) (i64.const 1))))))
  (func (export "run") (result i32)
    (i32.add
      (call $count (i64.const 1000000))
      (call_ref $base (ref.cast (ref $base) (table.get (i32.const 0))))))
  (func (export "mismatch") (result i32) (call_indirect (type $base) (i32.const 1)))
  (func (export "bad_cast") (result i32)
    (call_ref $base (ref.cast (ref $base) (table.get (i32.const 1))))))
"#;

fn trap_kind(result: anyhow::Result<i32>) -> TrapKind {
    let error = result.unwrap_err();
    error.downcast_ref::<Trap>().expect("a trap").kind()
}

#[test]
fn subtyping_tail_calls_and_call_ref_survive_precompilation() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // SAFETY: the bytes were just produced by `serialize` in this process.
    let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let call = |store: &mut Store<()>, name: &str| {
        let func = instance
            .get_typed_func::<(), i32>(&mut *store, name)
            .unwrap();
        func.call(store, ())
    };
    assert_eq!(call(&mut store, "run").unwrap(), 80);
    assert_eq!(
        trap_kind(call(&mut store, "mismatch")),
        TrapKind::BadSignature
    );
    assert_eq!(
        trap_kind(call(&mut store, "bad_cast")),
        TrapKind::CastFailure
    );
}
