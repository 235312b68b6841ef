//! Compiled code is published with one protection change per module, and
//! modules report their imports and exports.

use remap::{Engine, ExternType, Module, ValType};

#[test]
fn code_is_published_with_one_protection_change() {
    let engine = Engine::default();
    let mut text = String::from("(module");
    for i in 0..200 {
        text.push_str(&format!(
            "(func (export \"f{i}\") (result i32) (i32.const {i}))"
        ));
    }
    text.push(')');
    let module = Module::new(&engine, &text).unwrap();
    let stats = module.code_memory_stats();
    assert_eq!(stats.protection_calls_issued, 1, "{stats:?}");
    assert_eq!(stats.protection_calls_requested, 1, "{stats:?}");
}

#[test]
fn imports_and_exports_are_described() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module $named
             (import "env" "f" (func (param i32) (result i64)))
             (import "env" "g" (global (mut f32)))
             (memory (export "mem") 1 3)
             (table (export "tab") 2 externref)
             (func (export "run")))"#,
    )
    .unwrap();
    assert_eq!(module.name(), Some("named"));
    let imports: Vec<_> = module
        .imports()
        .map(|i| (i.module().to_string(), i.name().to_string(), i.ty()))
        .collect();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0].2.func().unwrap().params(), &[ValType::I32]);
    assert!(matches!(imports[1].2, ExternType::Global(_)));
    let exports: Vec<_> = module.exports().map(|e| e.name().to_string()).collect();
    assert_eq!(exports, ["mem", "tab", "run"]);
    let memory = module.get_export("mem").unwrap();
    assert_eq!(memory.memory().unwrap().maximum(), Some(3));
}

#[test]
fn modules_load_from_files() {
    let engine = Engine::default();
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("m.wat");
    std::fs::write(&wat, "(module (func (export \"f\")))").unwrap();
    let wasm = dir.path().join("m.wasm");
    std::fs::write(
        &wasm,
        wat::parse_str("(module (func (export \"g\")))").unwrap(),
    )
    .unwrap();
    assert!(
        Module::from_file(&engine, &wat)
            .unwrap()
            .get_export("f")
            .is_some()
    );
    assert!(
        Module::from_file(&engine, &wasm)
            .unwrap()
            .get_export("g")
            .is_some()
    );
    let error = Module::from_file(&engine, dir.path().join("missing.wasm")).unwrap_err();
    assert!(error.to_string().contains("missing.wasm"), "{error:#}");
}
