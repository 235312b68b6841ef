//! A guest in an infinite loop does not starve the others on a one-thread
//! executor when its store yields at every epoch deadline: other guests'
//! calls finish while it loops, and aborting its task cancels it and gives
//! its fiber back.

use remap::{Config, Engine, Instance, Module, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const WAT: &str = r#"
(module
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "count") (param i32) (result i32)
    (local $sum i32)
    (loop $again
      (local.set $sum (i32.add (local.get $sum) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $again (local.get 0)))
    (local.get $sum)))
"#;

async fn guest(engine: &Engine, module: &Module) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    let instance = Instance::new_async(&mut store, module, &[]).await.unwrap();
    (store, instance)
}

#[test]
fn a_looping_guest_yields_to_the_others() {
    let mut config = Config::new();
    config.async_support(true).epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                engine.increment_epoch();
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    // The executor runs on a thread of its own, so that a spinner that
    // never yields fails the test (by the timeout below) instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    let (executor_engine, executor_module) = (engine.clone(), module.clone());
    std::thread::spawn(move || {
        let (engine, module) = (executor_engine, executor_module);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let spinner = {
                let (engine, module) = (engine.clone(), module.clone());
                tokio::spawn(async move {
                    let (mut store, instance) = guest(&engine, &module).await;
                    let spin = instance
                        .get_typed_func::<(), ()>(&mut store, "spin")
                        .unwrap();
                    spin.call_async(&mut store, ()).await
                })
            };
            // Let the spinner start looping on the only thread.
            tokio::task::yield_now().await;
            for n in 1..=20 {
                let (mut store, instance) = guest(&engine, &module).await;
                let count = instance
                    .get_typed_func::<i32, i32>(&mut store, "count")
                    .unwrap();
                assert_eq!(
                    count.call_async(&mut store, n).await.unwrap(),
                    n * (n + 1) / 2
                );
            }
            assert!(!spinner.is_finished(), "the spinner loops forever");
            spinner.abort();
            assert!(spinner.await.unwrap_err().is_cancelled());
        });
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the other guests ran while one looped");
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
