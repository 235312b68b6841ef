//! Dropping an async call's future while its guest is suspended in an
//! async host function cancels the call: the host function's future is
//! dropped, the fiber goes back to the pool (no fiber in use) and the store
//! can be called again.

use remap::{Caller, Config, Engine, Linker, Module, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const WAT: &str = r#"
(module
  (import "host" "wait_forever" (func $wait))
  (global $entered (mut i32) (i32.const 0))
  (func (export "stuck") (result i32)
    (global.set $entered (i32.add (global.get $entered) (i32.const 1)))
    (call $wait)
    (i32.const 1))
  (func (export "entered") (result i32) (global.get $entered)))
"#;

/// Counts its drops, to see the host function's future dropped.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_dropped_call_gives_its_fiber_back() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut linker: Linker<()> = Linker::new(&engine);
    let counter = dropped.clone();
    linker
        .func_wrap_async("host", "wait_forever", move |_: Caller<'_, ()>, ()| {
            let guard = DropCounter(counter.clone());
            Box::new(async move {
                std::future::pending::<()>().await;
                drop(guard);
            })
        })
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let stuck = instance
            .get_typed_func::<(), i32>(&mut store, "stuck")
            .unwrap();
        for round in 1..=3 {
            let call = stuck.call_async(&mut store, ());
            let timed_out = tokio::time::timeout(Duration::from_millis(10), call).await;
            assert!(timed_out.is_err(), "the call never finishes");
            assert_eq!(engine.fiber_stats().stacks_in_use, 0);
            assert_eq!(dropped.load(Ordering::SeqCst), round);
        }
        let entered = instance
            .get_typed_func::<(), i32>(&mut store, "entered")
            .unwrap();
        assert_eq!(entered.call_async(&mut store, ()).await.unwrap(), 3);
    });
    let stats = engine.fiber_stats();
    assert_eq!(stats.stacks_in_use, 0, "{stats:?}");
    assert!(stats.stacks_idle >= 1, "the stack was pooled: {stats:?}");
}
