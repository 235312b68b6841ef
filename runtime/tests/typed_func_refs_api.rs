//! Typed function references through the embedding API: `Func::ty` reports
//! concrete reference types; the host passes and receives functions of a
//! concrete type, defines host functions over them, and a value of the
//! wrong type (another function type, null for a non-nullable type) is an
//! error, never a crash.

use remap::{
    Engine, Extern, Func, FuncType, Global, GlobalType, HeapType, Instance, Module, Mutability,
    Ref, RefType, Store, Table, TableType, Val, ValType,
};

const WAT: &str = r#"
(module
  (type $unary (func (param i32) (result i32)))
  (type $nullary (func (result i32)))
  (func $double (export "double") (type $unary) (i32.mul (local.get 0) (i32.const 2)))
  (func $seven (export "seven") (type $nullary) (i32.const 7))
  (func (export "apply") (param (ref $unary)) (param i32) (result i32)
    (call_ref $unary (local.get 1) (local.get 0)))
  (func (export "pick") (param i32) (result (ref null $unary))
    (if (result (ref null $unary)) (local.get 0)
      (then (ref.func $double))
      (else (ref.null $unary))))
  (elem declare func $double))
"#;

struct Setup {
    store: Store<()>,
    instance: Instance,
}

fn instantiate() -> Setup {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    Setup { store, instance }
}

fn func(setup: &mut Setup, name: &str) -> Func {
    setup.instance.get_func(&mut setup.store, name).unwrap()
}

/// `(ref $unary)` as the API reports it: the first parameter of `apply`.
fn unary_ref(setup: &mut Setup) -> RefType {
    let apply = func(setup, "apply");
    match apply.ty(&setup.store).params()[0] {
        ValType::Ref(ty) => ty,
        other => panic!("not a reference: {other}"),
    }
}

#[test]
fn func_ty_reports_concrete_reference_types() {
    let mut setup = instantiate();
    let unary = unary_ref(&mut setup);
    assert!(!unary.nullable);
    assert!(matches!(unary.heap_type, HeapType::Concrete(_)), "{unary}");
    let pick = func(&mut setup, "pick");
    let result = pick.ty(&setup.store).results()[0];
    assert_eq!(
        result,
        ValType::Ref(RefType {
            nullable: true,
            ..unary
        })
    );
    let double = func(&mut setup, "double");
    assert!(
        Ref::Func(Some(double))
            .matches_ty(&setup.store, &unary)
            .unwrap()
    );
    let seven = func(&mut setup, "seven");
    assert!(
        !Ref::Func(Some(seven))
            .matches_ty(&setup.store, &unary)
            .unwrap()
    );
    assert!(
        Ref::Func(Some(seven))
            .matches_ty(&setup.store, &RefType::FUNCREF)
            .unwrap()
    );
}

#[test]
fn the_host_passes_and_receives_typed_function_references() {
    let mut setup = instantiate();
    let apply = func(&mut setup, "apply");
    let double = func(&mut setup, "double");
    let mut results = [Val::I32(0)];
    apply
        .call(
            &mut setup.store,
            &[Val::FuncRef(Some(double)), Val::I32(21)],
            &mut results,
        )
        .unwrap();
    assert_eq!(results[0].i32(), Some(42));

    let pick = func(&mut setup, "pick");
    let mut picked = [Val::FuncRef(None)];
    pick.call(&mut setup.store, &[Val::I32(1)], &mut picked)
        .unwrap();
    let received = picked[0].funcref().unwrap().copied().expect("non-null");
    assert_eq!(
        received.ty(&setup.store),
        double.ty(&setup.store),
        "the same function type"
    );
    pick.call(&mut setup.store, &[Val::I32(0)], &mut picked)
        .unwrap();
    assert!(picked[0].funcref().unwrap().is_none());
}

#[test]
fn a_wrong_typed_or_null_argument_is_an_error() {
    let mut setup = instantiate();
    let apply = func(&mut setup, "apply");
    let seven = func(&mut setup, "seven");
    let mut results = [Val::I32(0)];
    let error = apply
        .call(
            &mut setup.store,
            &[Val::FuncRef(Some(seven)), Val::I32(1)],
            &mut results,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("type mismatch: argument 0"),
        "{error}"
    );
    let error = apply
        .call(
            &mut setup.store,
            &[Val::FuncRef(None), Val::I32(1)],
            &mut results,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("a null function reference"),
        "{error}"
    );
    let error = apply
        .call(
            &mut setup.store,
            &[Val::ExternRef(None), Val::I32(1)],
            &mut results,
        )
        .unwrap_err();
    assert!(error.to_string().contains("type mismatch"), "{error}");
    // A function of another store is refused before any type question.
    let mut other = instantiate();
    let foreign = func(&mut other, "double");
    let error = apply
        .call(
            &mut setup.store,
            &[Val::FuncRef(Some(foreign)), Val::I32(1)],
            &mut results,
        )
        .unwrap_err();
    assert!(error.to_string().contains("does not belong"), "{error}");
}

#[test]
fn host_functions_take_and_return_concrete_references() {
    const IMPORTER: &str = r#"
    (module
      (type $unary (func (param i32) (result i32)))
      (import "host" "twice" (func $twice (param (ref $unary)) (result (ref $unary))))
      (import "m" "double" (func $double (type $unary)))
      (elem declare func $double)
      (func (export "run") (param i32) (result i32)
        (call_ref $unary (local.get 0) (call $twice (ref.func $double)))))
    "#;
    let mut setup = instantiate();
    let unary = ValType::Ref(unary_ref(&mut setup));
    let double = func(&mut setup, "double");
    let seven = func(&mut setup, "seven");
    let engine = setup.store.engine().clone();
    let module = Module::new(&engine, IMPORTER).unwrap();

    // Returns the function it was given: a value of the declared type.
    let identity = Func::new(
        &mut setup.store,
        FuncType::new([unary], [unary]),
        |_, params, results| {
            results[0] = params[0].clone();
            Ok(())
        },
    );
    let instance = Instance::new(
        &mut setup.store,
        &module,
        &[Extern::Func(identity), Extern::Func(double)],
    )
    .unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut setup.store, "run")
        .unwrap();
    assert_eq!(run.call(&mut setup.store, 5).unwrap(), 10);

    // Returns a function of another type: an error, not a crash.
    let liar = Func::new(
        &mut setup.store,
        FuncType::new([unary], [unary]),
        move |_, _, results| {
            results[0] = Val::FuncRef(Some(seven));
            Ok(())
        },
    );
    let instance = Instance::new(
        &mut setup.store,
        &module,
        &[Extern::Func(liar), Extern::Func(double)],
    )
    .unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut setup.store, "run")
        .unwrap();
    let error = run.call(&mut setup.store, 5).unwrap_err();
    assert!(
        format!("{error:#}").contains("type mismatch: host function result 0"),
        "{error:#}"
    );
    // The store is still usable.
    assert!(run.call(&mut setup.store, 1).is_err());
}

#[test]
fn non_nullable_globals_and_tables_refuse_null() {
    let mut setup = instantiate();
    let unary = unary_ref(&mut setup);
    let double = func(&mut setup, "double");
    let ty = GlobalType::new(ValType::Ref(unary), Mutability::Var);
    let error = Global::new(&mut setup.store, ty, Val::FuncRef(None)).unwrap_err();
    assert!(error.to_string().contains("global value"), "{error}");
    let global = Global::new(&mut setup.store, ty, Val::FuncRef(Some(double))).unwrap();
    let seven = func(&mut setup, "seven");
    assert!(
        global
            .set(&mut setup.store, Val::FuncRef(Some(seven)))
            .is_err()
    );
    assert!(
        global
            .set(&mut setup.store, Val::FuncRef(Some(double)))
            .is_ok()
    );

    let table_type = TableType::new(unary, 2, None);
    let error = Table::new(&mut setup.store, table_type, Ref::Func(None)).unwrap_err();
    assert!(error.to_string().contains("table element"), "{error}");
    let table = Table::new(&mut setup.store, table_type, Ref::Func(Some(double))).unwrap();
    assert!(table.set(&mut setup.store, 1, Ref::Func(None)).is_err());
    assert!(
        table
            .set(&mut setup.store, 1, Ref::Func(Some(seven)))
            .is_err()
    );
    assert!(
        table
            .set(&mut setup.store, 1, Ref::Func(Some(double)))
            .is_ok()
    );
}
