//! Unbounded recursion inside an async call, on a fiber's stack, is a
//! stack-overflow trap (not a crash), and the store and the fiber pool stay
//! usable afterwards.

use remap::{Config, Engine, Instance, Module, Store, Trap, TrapKind};

const WAT: &str = r#"
(module
  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (call $forever (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "answer") (result i32) (i32.const 42)))
"#;

#[test]
fn recursion_on_a_fiber_traps_with_stack_overflow() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new_async(&mut store, &module, &[]).await.unwrap();
        let forever = instance
            .get_typed_func::<i32, i32>(&mut store, "forever")
            .unwrap();
        for _ in 0..3 {
            let error = forever.call_async(&mut store, 0).await.unwrap_err();
            let trap = error.downcast_ref::<Trap>().expect("a trap");
            assert_eq!(trap.kind(), TrapKind::StackOverflow, "{error:?}");
        }
        let answer = instance
            .get_typed_func::<(), i32>(&mut store, "answer")
            .unwrap();
        assert_eq!(answer.call_async(&mut store, ()).await.unwrap(), 42);
    });
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
