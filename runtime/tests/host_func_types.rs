//! A host function's type must be registrable in the engine: one naming a
//! concrete type the engine does not hold is an error, not a crash.

use remap::{Engine, FuncType, HeapType, Linker, RefType, ValType};
use remap_compiler::types::{ModuleTypeIndex, TypeIndex};

#[test]
fn a_host_function_type_naming_a_module_type_is_refused() {
    let engine = Engine::default();
    let concrete = ValType::Ref(RefType {
        nullable: true,
        heap_type: HeapType::Concrete(TypeIndex::Module(ModuleTypeIndex::from_u32(0))),
    });
    let mut linker = Linker::<()>::new(&engine);
    let error = linker
        .func_new("host", "f", FuncType::new([concrete], []), |_, _, _| Ok(()))
        .map(|_| ())
        .unwrap_err();
    assert!(format!("{error:#}").contains("not registered"), "{error:#}");
    assert!(
        linker
            .func_new(
                "host",
                "f",
                FuncType::new([ValType::FUNCREF], []),
                |_, _, _| Ok(())
            )
            .is_ok()
    );
}
