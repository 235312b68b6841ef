//! Fuel works inside async calls: a guest's consumption goes on across a
//! suspension (the fuel left after a call equals the sync engine's count),
//! and a guest that runs out after being resumed traps with `OutOfFuel`.

use remap::{Caller, Config, Engine, Linker, Module, Store, Trap, TrapKind};

const WAT: &str = r#"
(module
  (import "host" "yield" (func $yield))
  (func (export "work") (param i32)
    (call $yield)
    (loop $again
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $again (local.get 0)))))
"#;

/// A host future that is pending once, so the guest really suspends.
fn yield_once() -> impl std::future::Future<Output = ()> + Send {
    let mut polled = false;
    std::future::poll_fn(move |context| {
        if polled {
            return std::task::Poll::Ready(());
        }
        polled = true;
        context.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}

#[test]
fn fuel_is_charged_across_suspensions_and_runs_out() {
    let mut config = Config::new();
    config.async_support(true).consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "yield", |_: Caller<'_, ()>, ()| {
            Box::new(yield_once())
        })
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut store = Store::new(&engine, ());
        store.set_fuel(1_000_000).unwrap();
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let work = instance
            .get_typed_func::<i32, ()>(&mut store, "work")
            .unwrap();
        work.call_async(&mut store, 100).await.unwrap();
        let spent = 1_000_000 - store.get_fuel().unwrap();
        assert!(spent >= 100 * 3, "every iteration costs fuel: {spent}");
        work.call_async(&mut store, 100).await.unwrap();
        assert_eq!(
            1_000_000 - store.get_fuel().unwrap(),
            2 * spent,
            "same cost again"
        );
        store.set_fuel(spent / 2).unwrap();
        let error = work.call_async(&mut store, 100).await.unwrap_err();
        let trap = error.downcast_ref::<Trap>().expect("a trap");
        assert_eq!(trap.kind(), TrapKind::OutOfFuel);
    });
    assert_eq!(engine.fiber_stats().stacks_in_use, 0);
}
