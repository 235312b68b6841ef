//! A Wasm exception thrown 100 frames deep reaches a `try_table` through the
//! Wasm frames and through a host function in the middle of the chain.

use remap::{Caller, Engine, Linker, Module, Store};

const WAT: &str = r#"
(module
  (import "host" "middle" (func $middle (param i32) (result i32)))
  (tag $e (param i32))
  ;; down(n) = down(n - 1) + 1, throwing $e 42 at 0; at 50 the call goes
  ;; through the host.
  (func $down (export "down") (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (throw $e (i32.const 42))))
    (if (result i32) (i32.eq (local.get $n) (i32.const 50))
      (then (call $middle (i32.sub (local.get $n) (i32.const 1))))
      (else (call $down (i32.sub (local.get $n) (i32.const 1)))))
    (i32.const 1)
    (i32.add))
  (func (export "run") (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $e $caught)
        (call $down (i32.const 100)))
      ;; Not reached: the exception skips the normal return.
      (i32.const -1)
      (return))
    ;; The payload plus 1000, to show the handler ran.
    (i32.const 1000)
    (i32.add)))
"#;

#[test]
fn a_throw_crosses_100_wasm_frames_and_a_host_function() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "middle",
            |mut caller: Caller<'_, u32>, n: i32| -> anyhow::Result<i32> {
                *caller.data_mut() += 1;
                let down = caller
                    .get_export("down")
                    .and_then(|export| export.into_func())
                    .expect("exported down");
                let down = down.typed::<i32, i32>(&caller)?;
                // The exception comes back as this call's error; `?` hands
                // it on to the Wasm caller, which rethrows it.
                down.call(&mut caller, n)
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1042);
    assert_eq!(*store.data(), 1, "the host function ran once");
    // The store still works after the unwinding.
    assert_eq!(run.call(&mut store, ()).unwrap(), 1042);
}
