//! Import matching compares a memory's index type and page size and a
//! table's index type, not only limits: a 32-bit memory does not satisfy a
//! 64-bit import (nor the other way round), a 64 KiB-page memory does not
//! satisfy a 1-byte-page import, and a 32-bit table does not satisfy a
//! 64-bit table import. Host-made memories of each kind do satisfy theirs.

use remap::{
    Engine, Extern, Instance, Memory, MemoryType, Module, Ref, RefType, Store, Table, TableType,
};

fn instantiate(engine: &Engine, import: &str, item: impl FnOnce(&mut Store<()>) -> Extern) -> bool {
    let module = Module::new(engine, format!("(module (import \"m\" \"x\" {import}))")).unwrap();
    let mut store = Store::new(engine, ());
    let item = item(&mut store);
    Instance::new(&mut store, &module, &[item]).is_ok()
}

fn memory(ty: MemoryType) -> impl FnOnce(&mut Store<()>) -> Extern {
    move |store| Extern::Memory(Memory::new(store, ty).unwrap())
}

fn table(ty: TableType) -> impl FnOnce(&mut Store<()>) -> Extern {
    move |store| Extern::Table(Table::new(store, ty, Ref::Func(None)).unwrap())
}

#[test]
fn index_type_and_page_size_must_match() {
    let engine = Engine::default();
    let memory32 = MemoryType::new(1, None);
    let memory64 = MemoryType::new64(1, None);
    let bytes32 = MemoryType::new(1, None).with_page_size_log2(0).unwrap();
    let bytes64 = MemoryType::new64(1, None).with_page_size_log2(0).unwrap();

    assert!(instantiate(&engine, "(memory 1)", memory(memory32)));
    assert!(instantiate(&engine, "(memory i64 1)", memory(memory64)));
    assert!(!instantiate(&engine, "(memory i64 1)", memory(memory32)));
    assert!(!instantiate(&engine, "(memory 1)", memory(memory64)));
    assert!(instantiate(
        &engine,
        "(memory 1 (pagesize 1))",
        memory(bytes32)
    ));
    assert!(instantiate(
        &engine,
        "(memory i64 1 (pagesize 1))",
        memory(bytes64)
    ));
    assert!(!instantiate(
        &engine,
        "(memory 1 (pagesize 1))",
        memory(memory32)
    ));
    assert!(!instantiate(&engine, "(memory 1)", memory(bytes32)));

    let table32 = TableType::new(RefType::FUNCREF, 1, None);
    let table64 = TableType::new64(RefType::FUNCREF, 1, None);
    assert!(instantiate(
        &engine,
        "(table i64 1 funcref)",
        table(table64)
    ));
    assert!(!instantiate(
        &engine,
        "(table i64 1 funcref)",
        table(table32)
    ));
    assert!(!instantiate(&engine, "(table 1 funcref)", table(table64)));
}
