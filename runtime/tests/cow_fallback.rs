//! Issue 16: memories whose data segments cannot be imaged are initialised
//! by copying, with the spec's exact semantics: offsets read from globals,
//! segments into imported memories (whose earlier segments stay written
//! when a later one traps), and segments that do not fit, which trap at
//! instantiation; a memory that can be imaged next to one that traps does
//! not hide the trap.

mod images;

use images::{exported_memory, image_mapped_bytes};
use remap::{
    Extern, Global, GlobalType, Instance, Memory, MemoryType, Module, Mutability, Store, Trap,
    TrapKind, Val, ValType,
};

#[test]
fn offsets_from_globals_are_copied() {
    let engine = remap::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "base" (global i32))
             (memory (export "memory") 1)
             (data (i32.const 10) "constant")
             (data (global.get 0) "global"))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let base = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(14),
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[Extern::Global(base)]).unwrap();
    let memory = exported_memory(&mut store, &instance);
    assert_eq!(image_mapped_bytes(&store, memory), 0, "not imaged");
    assert_eq!(&memory.data(&store)[10..20], b"consglobal");
}

#[test]
fn segments_into_imported_memories_are_copied_up_to_the_one_that_traps() {
    let engine = remap::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "memory" (memory 1))
             (memory 1)
             (data (memory 1) (i32.const 0) "fits")
             (data (memory 0) (i32.const 0) "written")
             (data (memory 1) (i32.const 65535) "traps")
             (data (memory 0) (i32.const 8) "never"))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let imported = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let error = Instance::new(&mut store, &module, &[Extern::Memory(imported)]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::MemoryOutOfBounds
    );
    assert_eq!(&imported.data(&store)[..13], b"written\0\0\0\0\0\0");
}

#[test]
fn an_imageable_memory_does_not_hide_another_memory_s_trap() {
    let engine = remap::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (memory 1)
             (memory 1)
             (data (memory 0) (i32.const 0) "imaged")
             (data (memory 1) (i32.const 65534) "traps"))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::MemoryOutOfBounds
    );
}
