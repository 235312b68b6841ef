//! A trap inside an async call, after the guest was suspended and resumed
//! (perhaps on another thread), reports its kind and a Wasm backtrace that
//! names the guest's frames and stops at the fiber's base; an out-of-bounds
//! access (caught by the signal handler) works the same way.

mod async_common;

use async_common::{async_engine, linker_with_nap, two_worker_runtime};
use remap::{Module, Store, Trap, TrapKind};
use std::time::Duration;

const WAT: &str = r#"
(module $guest
  (import "host" "nap" (func $nap))
  (memory 1)
  (func $inner (param i32) (result i32)
    (call $nap)
    (if (result i32) (local.get 0)
      (then (i32.load (i32.const 0x7fff_fff0)))
      (else (unreachable))))
  (func $middle (param i32) (result i32) (call $inner (local.get 0)))
  (func (export "outer") (param i32) (result i32) (call $middle (local.get 0))))
"#;

fn frame_names(trap: &Trap) -> Vec<Option<String>> {
    trap.backtrace()
        .frames()
        .iter()
        .map(|frame| frame.func_name().map(str::to_owned))
        .collect()
}

#[test]
fn a_trap_after_a_suspension_has_a_backtrace() {
    let engine = async_engine();
    let module = Module::new(&engine, WAT).unwrap();
    let linker = linker_with_nap(&engine, Duration::from_millis(5));
    let runtime = two_worker_runtime();
    runtime.block_on(async {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let outer = instance
            .get_typed_func::<i32, i32>(&mut store, "outer")
            .unwrap();
        for (argument, kind) in [
            (0, TrapKind::UnreachableCodeReached),
            (1, TrapKind::MemoryOutOfBounds),
        ] {
            let error = outer.call_async(&mut store, argument).await.unwrap_err();
            let trap = error.downcast_ref::<Trap>().expect("a trap");
            assert_eq!(trap.kind(), kind, "{error:?}");
            assert_eq!(
                frame_names(trap),
                [Some("inner".to_owned()), Some("middle".to_owned()), None],
                "{trap}"
            );
            assert!(trap.to_string().contains("guest!inner"), "{trap}");
        }
    });
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
