//! A panic in an async host function's future, while the guest is
//! suspended on a fiber, resumes in the task that awaited the call (not on
//! the fiber, and not as a crash); the fiber goes back to the pool.

use remap::{Caller, Config, Engine, Linker, Module, Store};

const WAT: &str = r#"
(module
  (import "host" "explode" (func $explode))
  (func (export "run") (call $explode)))
"#;

/// Suspends the guest once, then panics.
async fn explode() {
    tokio::task::yield_now().await;
    panic!("host future exploded");
}

#[test]
fn a_host_future_panic_reaches_the_awaiting_task() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "explode", |_: Caller<'_, ()>, ()| {
            Box::new(explode())
        })
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let (engine, module, linker) = (engine.clone(), module.clone(), linker.clone());
        tokio::spawn(async move {
            let mut store = Store::new(&engine, ());
            let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
            let run = instance
                .get_typed_func::<(), ()>(&mut store, "run")
                .unwrap();
            run.call_async(&mut store, ()).await
        })
        .await
    });
    let payload = outcome.unwrap_err().into_panic();
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("host future exploded")
    );
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
