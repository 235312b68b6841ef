//! Bad input gets a clear error: malformed, invalid and unsupported modules,
//! missing and incompatible imports, items from another store, and a fault
//! outside Wasm code is not swallowed by Remap's signal handlers.

use remap::{
    Config, Engine, Global, GlobalType, Instance, Linker, Memory, MemoryType, Module, Mutability,
    Store, Trap, TrapKind, Val, ValType,
};

#[test]
fn malformed_and_invalid_modules_are_rejected_with_offsets() {
    let engine = Engine::default();
    let error = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
    assert!(format!("{error:#}").contains("offset"), "{error:#}");
    let error = Module::new(&engine, "(module (func (result i32)))").unwrap_err();
    assert!(format!("{error:#}").contains("type mismatch"), "{error:#}");
    let error = Module::new(&engine, "(module (func").unwrap_err();
    assert!(!format!("{error:#}").is_empty());
    assert!(Module::validate(&engine, b"\0asm\x01\0\0\0").is_ok());
    assert!(Module::validate(&engine, b"garbage").is_err());
}

#[test]
fn unsupported_features_are_named() {
    let mut config = Config::new();
    config.wasm_multi_memory(false);
    let engine = Engine::new(&config).unwrap();
    let error = Module::new(&engine, "(module (memory 1) (memory 1))").unwrap_err();
    assert!(
        format!("{error:#}").contains("multiple memories"),
        "{error:#}"
    );
    let mut config = Config::new();
    config.wasm_simd(false);
    let engine = Engine::new(&config).unwrap();
    let error = Module::new(&engine, "(module (func (param v128)))").unwrap_err();
    assert!(format!("{error:#}").contains("simd"), "{error:#}");
    // Validation uses the engine's features, as compilation does.
    let simd = wat::parse_str("(module (func (param v128)))").unwrap();
    let error = Module::validate(&engine, &simd).unwrap_err();
    assert!(format!("{error:#}").contains("simd"), "{error:#}");
    Module::validate(&Engine::default(), &simd).unwrap();
}

#[test]
fn missing_and_incompatible_imports_are_clear_errors() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "f" (func (param i32)))
                   (import "env" "m" (memory 2)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let error = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown import: `env::f` has not been defined"
    );

    linker.func_wrap("env", "f", |_: i64| {}).unwrap();
    let small = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    linker.define(&store, "env", "m", small).unwrap();
    let error = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("incompatible import type for `env::f`"),
        "{error:#}"
    );

    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "f", |_: i32| {}).unwrap();
    linker.define(&store, "env", "m", small).unwrap();
    let error = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("incompatible import type for `env::m`"),
        "{error:#}"
    );
    assert!(
        linker.func_wrap("env", "f", |_: i32| {}).is_err(),
        "no shadowing by default"
    );

    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(
        error.to_string().contains("expected 2 imports"),
        "{error:#}"
    );
}

#[test]
fn uninstantiable_modules_report_the_trap() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (memory 1) (data (i32.const 65535) "ab"))"#,
    )
    .unwrap();
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::MemoryOutOfBounds
    );
    let module = Module::new(
        &engine,
        r#"(module (table 1 funcref) (func $f) (elem (i32.const 1) $f))"#,
    )
    .unwrap();
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::TableOutOfBounds
    );
    let module = Module::new(&engine, r#"(module (func $s unreachable) (start $s))"#).unwrap();
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::UnreachableCodeReached
    );
}

#[test]
fn globals_check_types_and_mutability() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let constant = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(1),
    )
    .unwrap();
    assert!(constant.set(&mut store, Val::I32(2)).is_err());
    let variable = Global::new(
        &mut store,
        GlobalType::new(ValType::F64, Mutability::Var),
        Val::from(1.0),
    )
    .unwrap();
    assert!(variable.set(&mut store, Val::I32(2)).is_err());
    variable.set(&mut store, Val::from(2.5)).unwrap();
    assert_eq!(variable.get(&mut store).f64(), Some(2.5));
    assert!(
        Global::new(
            &mut store,
            GlobalType::new(ValType::I64, Mutability::Const),
            Val::I32(1)
        )
        .is_err()
    );

    let module = Module::new(
        &engine,
        r#"(module (import "" "g" (global $g (mut f64)))
                   (func (export "bump") (global.set $g (f64.add (global.get $g) (f64.const 1)))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[variable.into()]).unwrap();
    instance
        .get_typed_func::<(), ()>(&mut store, "bump")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    assert_eq!(variable.get(&mut store).f64(), Some(3.5));
    assert!(Instance::new(&mut store, &module, &[constant.into()]).is_err());
}

#[test]
#[should_panic(expected = "does not belong to")]
fn handles_from_another_store_are_caught() {
    let engine = Engine::default();
    let mut first = Store::new(&engine, ());
    let second = Store::new(&engine, ());
    let memory = Memory::new(&mut first, MemoryType::new(1, None)).unwrap();
    memory.size(&second);
}

#[test]
fn invalid_configuration_is_an_error() {
    let mut config = Config::new();
    config.max_wasm_stack(0);
    assert!(Engine::new(&config).is_err());
}

/// Runs this test binary's test `name` alone in a child process with
/// `REMAP_FAULT_CHILD` set, and returns how the child ended.
fn run_in_child(name: &str) -> std::process::ExitStatus {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("REMAP_FAULT_CHILD", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

fn in_child() -> bool {
    std::env::var_os("REMAP_FAULT_CHILD").is_some()
}

/// Runs Wasm (so Remap's handlers are installed and this thread has been in
/// Wasm), then writes to an unmapped address outside Wasm code.
fn run_wasm_then_fault() -> ! {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 1);
    // SAFETY: deliberately not: this write must reach the previous handler or crash.
    unsafe { std::ptr::write_volatile(std::hint::black_box(16 as *mut u64), 1) };
    unreachable!("the fault must not be swallowed");
}

/// A segfault outside Wasm must kill the process even though Remap's
/// handlers are installed.
#[test]
fn fault_outside_wasm_code_is_not_swallowed() {
    if in_child() {
        run_wasm_then_fault();
    }
    use std::os::unix::process::ExitStatusExt;
    let status = run_in_child("fault_outside_wasm_code_is_not_swallowed");
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
}

/// A SIGSEGV handler the embedder installed before Remap still gets the
/// faults that are not Wasm traps.
#[test]
fn fault_outside_wasm_code_reaches_the_previous_handler() {
    const EXIT_FROM_PREVIOUS_HANDLER: i32 = 42;
    extern "C" fn previous(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(EXIT_FROM_PREVIOUS_HANDLER) }
    }
    if in_child() {
        // SAFETY: a zeroed sigaction is valid; the handler has the SA_SIGINFO signature.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = previous as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            assert_eq!(
                libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut()),
                0
            );
        }
        run_wasm_then_fault();
    }
    let status = run_in_child("fault_outside_wasm_code_reaches_the_previous_handler");
    assert_eq!(
        status.code(),
        Some(EXIT_FROM_PREVIOUS_HANDLER),
        "{status:?}"
    );
}

/// Calls, from Wasm, a host function that writes to `target(memory base)`:
/// the host function runs while Wasm is on the stack, but its faults are
/// not Wasm's.
fn fault_in_host_function_called_from_wasm(target: fn(usize) -> usize) -> ! {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "crash" (func $crash))
             (memory (export "memory") 1)
             (func (export "f") (call $crash)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("env", "crash", move |mut caller: remap::Caller<'_, ()>| {
            let memory = caller.get_export("memory").unwrap().into_memory().unwrap();
            let base = memory.data_ptr(&caller) as usize;
            // SAFETY: deliberately not: this write must crash the process.
            unsafe { std::ptr::write_volatile(std::hint::black_box(target(base) as *mut u64), 1) };
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let _ = f.call(&mut store, ());
    unreachable!("the fault must not be swallowed");
}

/// A host function's segfault kills the process even while Wasm is on the stack.
#[test]
fn a_fault_in_a_host_function_is_not_swallowed() {
    if in_child() {
        fault_in_host_function_called_from_wasm(|_| 16);
    }
    use std::os::unix::process::ExitStatusExt;
    let status = run_in_child("a_fault_in_a_host_function_is_not_swallowed");
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
}

/// Even a host function's fault inside a Wasm memory's guard region is not a
/// trap: only compiled Wasm code traps.
#[test]
fn a_host_function_fault_in_a_guard_region_is_not_a_trap() {
    if in_child() {
        fault_in_host_function_called_from_wasm(|base| base + (1 << 20));
    }
    use std::os::unix::process::ExitStatusExt;
    let status = run_in_child("a_host_function_fault_in_a_guard_region_is_not_a_trap");
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
}
