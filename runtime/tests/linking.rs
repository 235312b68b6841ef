//! Linking instances together and with host items: the Linker, exported and
//! imported tables, globals and memories, and the host handles for them.

use remap::{
    Caller, Engine, Extern, Func, Global, GlobalType, Instance, Linker, Memory, MemoryType, Module,
    Mutability, Ref, RefType, Store, Table, TableType, Val, ValType,
};

const PROVIDER: &str = r#"
(module
  (memory (export "mem") 1 4)
  (table (export "tab") 3 10 funcref)
  (global (export "counter") (mut i32) (i32.const 10))
  (global (export "limit") i64 (i64.const 99))
  (func $double (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (elem (i32.const 0) $double)
  (data (i32.const 0) "provider"))
"#;

const CONSUMER: &str = r#"
(module
  (import "p" "mem" (memory 1))
  (import "p" "tab" (table 3 funcref))
  (import "p" "counter" (global $counter (mut i32)))
  (import "p" "double" (func $double (param i32) (result i32)))
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (elem (i32.const 1) $triple)
  (func (export "run") (param i32) (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $add
      (call_indirect (type $unary) (local.get 0) (i32.const 0))
      (call_indirect (type $unary) (local.get 0) (i32.const 1))))
  (func (export "first_byte") (result i32) (i32.load8_u (i32.const 0)))
  (func (export "grow_table") (result i32) (table.grow (ref.null func) (i32.const 2))))
"#;

#[test]
fn instances_link_through_the_linker() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0i32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "add",
            |mut caller: Caller<'_, i32>, a: i32, b: i32| {
                *caller.data_mut() += 1;
                a + b
            },
        )
        .unwrap();
    let provider = Module::new(&engine, PROVIDER).unwrap();
    linker.module(&mut store, "p", &provider).unwrap();
    let consumer = Module::new(&engine, CONSUMER).unwrap();
    let instance = linker.instantiate(&mut store, &consumer).unwrap();

    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 5).unwrap(), 25);
    assert_eq!(*store.data(), 1);
    let counter = linker
        .get(&mut store, "p", "counter")
        .unwrap()
        .into_global()
        .unwrap();
    assert_eq!(counter.get(&mut store).i32(), Some(11));
    let first = instance
        .get_typed_func::<(), i32>(&mut store, "first_byte")
        .unwrap();
    assert_eq!(first.call(&mut store, ()).unwrap(), i32::from(b'p'));

    // The table is shared: growing it in the consumer is seen by the provider's handle.
    let table = linker
        .get(&mut store, "p", "tab")
        .unwrap()
        .into_table()
        .unwrap();
    let grow = instance
        .get_typed_func::<(), i32>(&mut store, "grow_table")
        .unwrap();
    assert_eq!(grow.call(&mut store, ()).unwrap(), 3);
    assert_eq!(table.size(&store), 5);
    assert_eq!(table.ty(&store).maximum(), Some(10));
    assert!(matches!(table.get(&mut store, 1), Some(Ref::Func(Some(_)))));
    assert!(matches!(table.get(&mut store, 4), Some(Ref::Func(None))));
    assert!(table.get(&mut store, 5).is_none());

    // A function taken out of the table can be called from the host.
    let Some(Ref::Func(Some(triple))) = table.get(&mut store, 1) else {
        panic!("no function")
    };
    let mut results = [Val::I32(0)];
    triple
        .call(&mut store, &[Val::I32(7)], &mut results)
        .unwrap();
    assert_eq!(results[0].i32(), Some(21));

    let exports: Vec<&str> = instance
        .exports(&mut store)
        .map(|export| export.name())
        .collect();
    assert_eq!(exports, ["run", "first_byte", "grow_table"]);
}

#[test]
fn host_created_items_satisfy_imports() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, MemoryType::new(2, Some(3))).unwrap();
    let table = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 4, None),
        Ref::Func(None),
    )
    .unwrap();
    let counter = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Var),
        Val::I32(0),
    )
    .unwrap();
    let double = Func::wrap(&mut store, |x: i32| x * 2);
    let add = Func::wrap(&mut store, |a: i32, b: i32| a + b);
    table.set(&mut store, 0, Ref::Func(Some(double))).unwrap();
    memory.write(&mut store, 0, b"host").unwrap();

    let consumer = Module::new(&engine, CONSUMER).unwrap();
    let imports: [Extern; 5] = [
        memory.into(),
        table.into(),
        counter.into(),
        double.into(),
        add.into(),
    ];
    let instance = Instance::new(&mut store, &consumer, &imports).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 4).unwrap(), 20);
    assert_eq!(counter.get(&mut store).i32(), Some(1));
    let first = instance
        .get_typed_func::<(), i32>(&mut store, "first_byte")
        .unwrap();
    assert_eq!(first.call(&mut store, ()).unwrap(), i32::from(b'h'));

    let (bytes, _) = memory.data_and_store_mut(&mut store);
    bytes[0] = b'X';
    assert_eq!(first.call(&mut store, ()).unwrap(), i32::from(b'X'));
    let mut buffer = [0u8; 4];
    assert!(memory.read(&store, 2 * 65536 - 2, &mut buffer).is_err());
    assert!(memory.write(&mut store, usize::MAX, b"x").is_err());
    assert_eq!(memory.ty(&store).maximum(), Some(3));

    assert!(
        Table::new(
            &mut store,
            TableType::new(RefType::EXTERNREF, 1, None),
            Ref::Func(None)
        )
        .is_err()
    );
    assert!(
        Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 2, Some(1)),
            Ref::Func(None)
        )
        .is_err()
    );
    assert_eq!(table.grow(&mut store, 2, Ref::Func(Some(add))).unwrap(), 4);
    assert!(table.grow(&mut store, u64::MAX, Ref::Func(None)).is_err());
}

#[test]
fn linker_definitions_shadow_only_when_allowed() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.func_wrap("m", "f", || 1i32).unwrap();
    assert!(linker.func_wrap("m", "f", || 2i32).is_err());
    linker.allow_shadowing(true);
    linker.func_wrap("m", "f", || 3i32).unwrap();
    let f = linker
        .get(&mut store, "m", "f")
        .unwrap()
        .into_func()
        .unwrap();
    assert_eq!(
        f.typed::<(), i32>(&store)
            .unwrap()
            .call(&mut store, ())
            .unwrap(),
        3
    );
    // A store reuses its instance of a linker function.
    assert_eq!(
        linker.get(&mut store, "m", "f").unwrap().into_func(),
        Some(f)
    );
    assert!(linker.get(&mut store, "m", "g").is_none());
    linker
        .func_new(
            "m",
            "g",
            remap::FuncType::new([ValType::I32], [ValType::I32]),
            |_, params, results| {
                results[0] = Val::I32(params[0].i32().unwrap() + 1);
                Ok(())
            },
        )
        .unwrap();
    let g = linker
        .get(&mut store, "m", "g")
        .unwrap()
        .into_func()
        .unwrap();
    assert_eq!(
        g.typed::<i32, i32>(&store)
            .unwrap()
            .call(&mut store, 41)
            .unwrap(),
        42
    );
}
