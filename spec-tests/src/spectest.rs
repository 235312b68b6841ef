//! The `spectest` host module that the suite's scripts import from.

use anyhow::Result;
use remap::{
    Extern, Global, GlobalType, Linker, Memory, MemoryType, Mutability, Ref, RefType, SharedMemory,
    Store, Table, TableType, Val, ValType,
};

/// Defines `spectest` in `linker`: print functions that echo their arguments
/// to stdout (as the reference interpreter does), globals holding 666, a
/// 10..20 funcref table, a 1..2 page memory and a 1..2 page shared memory.
pub fn define_spectest<T: 'static>(linker: &mut Linker<T>, store: &mut Store<T>) -> Result<()> {
    linker.func_wrap("spectest", "print", || println!("spectest: print"))?;
    linker.func_wrap("spectest", "print_i32", |value: i32| {
        println!("spectest: {value} : i32")
    })?;
    linker.func_wrap("spectest", "print_i64", |value: i64| {
        println!("spectest: {value} : i64")
    })?;
    linker.func_wrap("spectest", "print_f32", |value: f32| {
        println!("spectest: {value} : f32")
    })?;
    linker.func_wrap("spectest", "print_f64", |value: f64| {
        println!("spectest: {value} : f64")
    })?;
    linker.func_wrap("spectest", "print_i32_f32", |first: i32, second: f32| {
        println!("spectest: {first} : i32, {second} : f32")
    })?;
    linker.func_wrap("spectest", "print_f64_f64", |first: f64, second: f64| {
        println!("spectest: {first} : f64, {second} : f64")
    })?;

    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
        linker.define(&*store, "spectest", name, Extern::Global(global))?;
    }

    let table_type = TableType::new(RefType::FUNCREF, 10, Some(20));
    let table = Table::new(&mut *store, table_type, Ref::Func(None))?;
    linker.define(&*store, "spectest", "table", Extern::Table(table))?;
    let table64_type = TableType::new64(RefType::FUNCREF, 10, Some(20));
    let table64 = Table::new(&mut *store, table64_type, Ref::Func(None))?;
    linker.define(&*store, "spectest", "table64", Extern::Table(table64))?;

    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&*store, "spectest", "memory", Extern::Memory(memory))?;
    let shared_memory = SharedMemory::new(store.engine(), MemoryType::shared(1, 2))?;
    linker.define(
        &*store,
        "spectest",
        "shared_memory",
        Extern::SharedMemory(shared_memory),
    )?;
    Ok(())
}
