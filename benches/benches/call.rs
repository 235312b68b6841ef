//! Crossing the host/Wasm boundary: a host-to-Wasm `TypedFunc` call of an
//! empty function, and Wasm-to-host calls of an empty import (a Wasm loop
//! making `CALLS_PER_ITERATION` calls, reported per call). With
//! `--features wasmtime-peer`, the same calls in Wasmtime.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use remap::{Engine, Linker, Module, Store};
use std::time::Duration;

const CALLS_PER_ITERATION: u64 = 1000;

const MODULE: &str = r#"
(module
  (import "host" "empty" (func $empty))
  (func (export "empty"))
  (func (export "call_host") (param $n i32)
    (loop $again
      (call $empty)
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again))))
"#;

fn call(c: &mut Criterion) {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).expect("compiling the module");
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "empty", || {})
        .expect("defining the import");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiating");
    let empty = instance
        .get_typed_func::<(), ()>(&mut store, "empty")
        .expect("the empty export");
    let call_host = instance
        .get_typed_func::<i32, ()>(&mut store, "call_host")
        .expect("the call_host export");

    let mut group = c.benchmark_group("call");
    group.throughput(Throughput::Elements(1));
    group.bench_function("host_to_wasm_empty", |b| {
        b.iter(|| empty.call(&mut store, ()).expect("calling"))
    });
    group.throughput(Throughput::Elements(CALLS_PER_ITERATION));
    group.bench_function("wasm_to_host_empty", |b| {
        b.iter(|| {
            call_host
                .call(&mut store, CALLS_PER_ITERATION as i32)
                .expect("calling")
        })
    });
    #[cfg(feature = "wasmtime-peer")]
    wasmtime_rows(&mut group);
    group.finish();
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_rows(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, MODULE).expect("compiling in Wasmtime");
    let mut linker = wasmtime::Linker::new(&engine);
    linker
        .func_wrap("host", "empty", || {})
        .expect("defining the import in Wasmtime");
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiating in Wasmtime");
    let empty = instance
        .get_typed_func::<(), ()>(&mut store, "empty")
        .expect("the empty export");
    let call_host = instance
        .get_typed_func::<i32, ()>(&mut store, "call_host")
        .expect("the call_host export");
    group.throughput(Throughput::Elements(1));
    group.bench_function("wasmtime/host_to_wasm_empty", |b| {
        b.iter(|| empty.call(&mut store, ()).expect("calling"))
    });
    group.throughput(Throughput::Elements(CALLS_PER_ITERATION));
    group.bench_function("wasmtime/wasm_to_host_empty", |b| {
        b.iter(|| {
            call_host
                .call(&mut store, CALLS_PER_ITERATION as i32)
                .expect("calling")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = call
}
criterion_main!(benches);
