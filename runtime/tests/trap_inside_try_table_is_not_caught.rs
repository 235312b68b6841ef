//! A trap is never caught by a Wasm handler, not even a catch-all: it
//! unwinds to the host with its kind and an exact backtrace.

use remap::{Engine, Instance, Module, Store, Trap, TrapKind};

#[test]
fn a_trap_inside_try_table_reaches_the_host() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $fail (result i32) (i32.div_u (i32.const 1) (i32.const 0)))
             (func (export "run") (result i32)
               (block $caught
                 (try_table (catch_all $caught)
                   (drop (call $fail)))
                 (return (i32.const 1)))
               (i32.const 2)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    let error = run.call(&mut store, ()).unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::IntegerDivisionByZero);
    let functions: Vec<u32> = trap
        .backtrace()
        .frames()
        .iter()
        .map(|frame| frame.func_index())
        .collect();
    assert_eq!(functions, [0, 1]);
}
