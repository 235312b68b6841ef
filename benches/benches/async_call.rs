//! An async call round trip: `TypedFunc::call_async` of a Wasm function that
//! calls an async host function once, driven to completion by a minimal
//! executor on the bench thread. Two host functions: one whose future is
//! ready at once (the cost of the fiber and the async entry), and one that
//! is pending once before it is ready (plus one suspension and resumption of
//! the guest). With `--features wasmtime-peer`, the same calls in Wasmtime
//! (its `async` feature, `Linker::func_wrap_async`).

use criterion::{Criterion, criterion_group, criterion_main};
use remap::{Caller, Config, Engine, Linker, Module, Store};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const MODULE: &str = r#"
(module
  (import "host" "ready" (func $ready (param i32) (result i32)))
  (import "host" "pending_once" (func $pending_once (param i32) (result i32)))
  (func (export "ready") (param i32) (result i32) (call $ready (local.get 0)))
  (func (export "pending_once") (param i32) (result i32) (call $pending_once (local.get 0))))
"#;

/// A future that is pending once (waking its task) and then ready.
struct PendingOnce {
    value: i32,
    polled: bool,
}

impl Future for PendingOnce {
    type Output = i32;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<i32> {
        if self.polled {
            return Poll::Ready(self.value + 1);
        }
        self.polled = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls `future` on this thread until it is ready (every future here wakes
/// itself before returning `Pending`).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fn async_call(c: &mut Criterion) {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).expect("creating the engine");
    let module = Module::new(&engine, MODULE).expect("compiling the module");
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap_async("host", "ready", |_: Caller<'_, ()>, (x,): (i32,)| {
            Box::new(async move { x + 1 })
        })
        .expect("defining ready")
        .func_wrap_async("host", "pending_once", |_: Caller<'_, ()>, (x,): (i32,)| {
            Box::new(PendingOnce {
                value: x,
                polled: false,
            })
        })
        .expect("defining pending_once");
    let mut store = Store::new(&engine, ());
    let instance = block_on(linker.instantiate_async(&mut store, &module)).expect("instantiating");
    let mut group = c.benchmark_group("async_call");
    for name in ["ready", "pending_once"] {
        let func = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .expect("the export");
        assert_eq!(
            block_on(func.call_async(&mut store, 1)).expect("calling"),
            2
        );
        group.bench_function(name, |b| {
            b.iter(|| block_on(func.call_async(&mut store, 1)).expect("calling"))
        });
    }
    #[cfg(feature = "wasmtime-peer")]
    wasmtime_rows(&mut group);
    group.finish();
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_rows(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    // Wasmtime 48 runs async calls whenever its `async` feature is built.
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, MODULE).expect("compiling in Wasmtime");
    let mut linker: wasmtime::Linker<()> = wasmtime::Linker::new(&engine);
    linker
        .func_wrap_async(
            "host",
            "ready",
            |_: wasmtime::Caller<'_, ()>, (x,): (i32,)| Box::new(async move { x + 1 }),
        )
        .expect("defining ready in Wasmtime")
        .func_wrap_async(
            "host",
            "pending_once",
            |_: wasmtime::Caller<'_, ()>, (x,): (i32,)| {
                Box::new(PendingOnce {
                    value: x,
                    polled: false,
                })
            },
        )
        .expect("defining pending_once in Wasmtime");
    let mut store = wasmtime::Store::new(&engine, ());
    let instance =
        block_on(linker.instantiate_async(&mut store, &module)).expect("instantiating in Wasmtime");
    for name in ["ready", "pending_once"] {
        let func = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .expect("the export in Wasmtime");
        group.bench_function(format!("wasmtime/{name}"), |b| {
            b.iter(|| block_on(func.call_async(&mut store, 1)).expect("calling Wasmtime"))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = async_call
}
criterion_main!(benches);
