//! 10,000 guest calls run at once on a two-thread tokio runtime, each
//! suspended in the middle of its Wasm code while an async host function
//! awaits a timer; every one finishes with its own right result, and every
//! fiber goes back to the pool.

use remap::{Caller, Config, Engine, Linker, Module, Store};
use std::time::Duration;

const CALLS: i32 = 10_000;

const WAT: &str = r#"
(module
  (import "host" "sleep_then_add_three" (func $sleep (param i32) (result i32)))
  (func (export "run") (param i32) (result i32)
    (i32.add
      (call $sleep (i32.mul (local.get 0) (i32.const 2)))
      (i32.const 1))))
"#;

#[test]
fn ten_thousand_suspended_calls_all_finish_right() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap_async(
            "host",
            "sleep_then_add_three",
            |_caller: Caller<'_, ()>, (x,): (i32,)| {
                Box::new(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    x + 3
                })
            },
        )
        .unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let results = runtime.block_on(async {
        let tasks: Vec<_> = (0..CALLS)
            .map(|n| {
                let pre = pre.clone();
                let engine = engine.clone();
                tokio::spawn(async move {
                    let mut store = Store::new(&engine, ());
                    let instance = pre.instantiate_async(&mut store).await?;
                    let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
                    run.call_async(&mut store, n).await
                })
            })
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(task.await.unwrap().unwrap());
        }
        results
    });
    for (n, result) in (0..CALLS).zip(results) {
        assert_eq!(result, 2 * n + 3 + 1, "call {n}");
    }
    let stats = engine.fiber_stats();
    assert_eq!(stats.stacks_in_use, 0, "{stats:?}");
    assert!(stats.stacks_idle <= stats.stacks_created, "{stats:?}");
}
