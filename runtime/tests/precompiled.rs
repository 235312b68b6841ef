//! Precompiled modules: `Module::serialize`, `Engine::precompile_module`,
//! `Module::deserialize[_file]` and the errors a user can meet on the way.

use remap::{Config, Engine, Linker, MemoryStyle, Module, Precompiled, Store, Trap, TrapKind};

const WAT: &str = r#"
(module $saved
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "saved")
  (table 2 funcref)
  (elem (i32.const 0) $seven $add)
  (global $counter (mut i32) (i32.const 100))
  (type $nullary (func (result i32)))
  (func $seven (result i32) (i32.const 7))
  (func (export "run") (param i32) (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $add
      (i32.add (call_indirect (type $nullary) (i32.const 0)) (i32.load8_u (i32.const 16)))
      (i32.add (local.get 0) (global.get $counter))))
  (func $crash (export "crash") (unreachable)))
"#;

/// Instantiates `module` with its host import and runs its exports.
fn exercise(module: &Module) {
    let mut store = Store::new(module.engine(), ());
    let mut linker = Linker::new(module.engine());
    linker
        .func_wrap("host", "add", |a: i32, b: i32| a + b)
        .unwrap();
    let instance = linker.instantiate(&mut store, module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    // 7 (table) + 's' (data) + 1 + 101 (global)
    assert_eq!(run.call(&mut store, 1).unwrap(), 7 + 115 + 1 + 101);
    let crash = instance
        .get_typed_func::<(), ()>(&mut store, "crash")
        .unwrap();
    let error = crash.call(&mut store, ()).unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::UnreachableCodeReached);
    assert_eq!(trap.backtrace().frames()[0].func_name(), Some("crash"));
    assert_eq!(trap.backtrace().frames()[0].module_name(), Some("saved"));
}

#[test]
fn a_serialized_module_runs_like_the_compiled_one() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    exercise(&module);
    let bytes = module.serialize().unwrap();
    assert_eq!(
        Engine::detect_precompiled(&bytes),
        Some(Precompiled::Module)
    );
    // SAFETY: the bytes come straight from serialize().
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    exercise(&loaded);
    assert_eq!(loaded.name(), Some("saved"));
    assert_eq!(
        loaded
            .imports()
            .map(|i| i.name().to_string())
            .collect::<Vec<_>>(),
        ["add"]
    );
    assert_eq!(loaded.exports().len(), 3);
    // Saving a loaded module gives the same bytes, and so does precompiling.
    assert_eq!(loaded.serialize().unwrap(), bytes);
    assert_eq!(engine.precompile_module(WAT.as_bytes()).unwrap(), bytes);
}

#[test]
fn a_precompiled_file_loads_on_another_engine_with_the_same_settings() {
    let mut config = Config::new();
    config.memory_style(MemoryStyle::Dynamic);
    let bytes = Engine::new(&config)
        .unwrap()
        .precompile_module(WAT.as_bytes())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.cwasm");
    std::fs::write(&path, &bytes).unwrap();
    let engine = Engine::new(&config).unwrap();
    // SAFETY: written by precompile_module just above.
    let loaded = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    exercise(&loaded);
}

#[test]
fn a_module_from_another_configuration_is_refused_with_the_reason() {
    let bytes = Engine::default().precompile_module(WAT.as_bytes()).unwrap();
    let mut config = Config::new();
    config.memory_style(MemoryStyle::Dynamic);
    let dynamic = Engine::new(&config).unwrap();
    // SAFETY: the bytes come from precompile_module (on another engine).
    let error = unsafe { Module::deserialize(&dynamic, &bytes) }.unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("does not fit this engine"), "{message}");
    assert!(message.contains("Dynamic"), "{message}");

    let mut config = Config::new();
    config.memory_guard_size(1 << 20);
    let small_guard = Engine::new(&config).unwrap();
    // SAFETY: as above.
    let error = unsafe { Module::deserialize(&small_guard, &bytes) }.unwrap_err();
    assert!(
        format!("{error:#}").contains("1048576-byte guards"),
        "{error:#}"
    );
}

#[test]
fn compiling_a_precompiled_module_points_at_deserialize() {
    let engine = Engine::default();
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    let error = Module::new(&engine, &bytes).unwrap_err();
    assert!(
        error.to_string().contains("Module::deserialize"),
        "{error:#}"
    );
    let error = Module::from_binary(&engine, &bytes).unwrap_err();
    assert!(
        error.to_string().contains("Module::deserialize"),
        "{error:#}"
    );
    let error = engine.precompile_module(&bytes).unwrap_err();
    assert!(error.to_string().contains("precompiled"), "{error:#}");
}

#[test]
fn wasm_text_and_damaged_files_are_clear_errors() {
    let engine = Engine::default();
    let wasm = wat::parse_str(WAT).unwrap();
    assert_eq!(Engine::detect_precompiled(&wasm), None);
    for (bytes, expected) in [
        (wasm.clone(), "WebAssembly binary"),
        (WAT.as_bytes().to_vec(), "magic"),
        (Vec::new(), "magic"),
    ] {
        // SAFETY: none of these is machine code; loading must refuse them.
        let error = unsafe { Module::deserialize(&engine, &bytes) }.unwrap_err();
        assert!(format!("{error:#}").contains(expected), "{error:#}");
    }
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    for len in [9, 20, bytes.len() / 2, bytes.len() - 1] {
        // SAFETY: a truncated artifact must be refused before anything runs.
        let error = unsafe { Module::deserialize(&engine, &bytes[..len]) }.unwrap_err();
        assert!(format!("{error:#}").contains("truncated"), "{error:#}");
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.cwasm");
    // SAFETY: the file does not exist.
    let error = unsafe { Module::deserialize_file(&engine, &missing) }.unwrap_err();
    assert!(format!("{error:#}").contains("cannot read"), "{error:#}");
}

#[test]
fn invalid_wasm_cannot_be_precompiled() {
    let error = Engine::default()
        .precompile_module(b"(module (func (result i32)))")
        .unwrap_err();
    assert!(format!("{error:#}").contains("type mismatch"), "{error:#}");
}
