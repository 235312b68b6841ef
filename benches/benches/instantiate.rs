//! Instantiating a small module (a one-page memory, a table with an element
//! segment, data segments, a global) in a fresh store, then dropping the
//! store: static and dynamic memories, pinned and unpinned. A dropped memory
//! leaves its reservation in the engine's slot cache, so in steady state
//! each instantiation reuses one; the `cold` rows turn the cache off
//! (`Config::memory_slot_cache(0)`: a reservation is mapped and unmapped
//! every time). With `--features wasmtime-peer`, the same module in Wasmtime
//! (default on-demand allocator: its default layout and Remap's two layouts;
//! and the static layout without its copy-on-write memory images). Both
//! runtimes map this module's data from copy-on-write images by default;
//! `instantiate_data` compares them on 16 MiB of data segments.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};
use std::time::Duration;

const MODULE: &str = r#"
(module
  (memory (export "memory") 1)
  (table (export "table") 16 funcref)
  (global (export "counter") (mut i32) (i32.const 0))
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.const 2))
  (func (export "read") (param i32) (result i32) (i32.load (local.get 0)))
  (elem (i32.const 0) $a $b $a $b)
  (data (i32.const 0) "Remap instantiation benchmark")
  (data (i32.const 1024) "\01\02\03\04\05\06\07\08")
  (data (i32.const 60000) "near the end of the first page"))
"#;

fn instantiate(c: &mut Criterion) {
    let mut group = c.benchmark_group("instantiate");
    for (style_name, style, slot_cache) in [
        ("static", MemoryStyle::Static, true),
        ("dynamic", MemoryStyle::Dynamic, true),
        ("static-cold", MemoryStyle::Static, false),
        ("dynamic-cold", MemoryStyle::Dynamic, false),
    ] {
        for pin in [false, true] {
            let mut config = Config::new();
            config.memory_style(style).pin_memory(pin);
            if !slot_cache {
                config.memory_slot_cache(0);
            }
            let engine = Engine::new(&config).expect("creating the engine");
            let module = Module::new(&engine, MODULE).expect("compiling the module");
            if let Err(err) = Instance::new(&mut Store::new(&engine, ()), &module, &[]) {
                eprintln!("skipping instantiate/{style_name}/pinned={pin}: {err:#}");
                continue;
            }
            let id = BenchmarkId::new(style_name, if pin { "pinned" } else { "unpinned" });
            group.bench_function(id, |b| {
                b.iter(|| {
                    let mut store = Store::new(&engine, ());
                    Instance::new(&mut store, &module, &[]).expect("instantiating")
                })
            });
        }
    }
    #[cfg(feature = "wasmtime-peer")]
    wasmtime_rows(&mut group);
    group.finish();
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_rows(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use remap_benches::wasmtime_peer::{PeerLayout, wasmtime_config};
    for (name, layout, copy_on_write) in [
        ("default", PeerLayout::WasmtimeDefault, true),
        ("static", PeerLayout::Static, true),
        ("dynamic", PeerLayout::Dynamic, true),
        ("static-no-cow", PeerLayout::Static, false),
    ] {
        let mut config = wasmtime_config(layout, true);
        config.memory_init_cow(copy_on_write);
        let engine = wasmtime::Engine::new(&config).expect("configuring Wasmtime");
        let module = wasmtime::Module::new(&engine, MODULE).expect("compiling in Wasmtime");
        group.bench_function(BenchmarkId::new("wasmtime", name), |b| {
            b.iter(|| {
                let mut store = wasmtime::Store::new(&engine, ());
                wasmtime::Instance::new(&mut store, &module, &[])
                    .expect("instantiating in Wasmtime")
            })
        });
    }
}

/// A module with host-function imports, as a server's per-request guest
/// has: what `InstancePre` saves is the name lookups and type checks.
const WITH_IMPORTS: &str = r#"
(module
  (import "host" "log" (func $log (param i32 i32)))
  (import "host" "now" (func $now (result i64)))
  (import "host" "random" (func $random (result i32)))
  (memory (export "memory") 1)
  (global (export "counter") (mut i32) (i32.const 0))
  (func (export "handle") (param i32) (result i32)
    (call $log (i32.const 0) (local.get 0))
    (drop (call $now))
    (call $random))
  (data (i32.const 0) "request"))
"#;

/// Store + instance + drop through the linker (`linker`) and through an
/// `InstancePre` (`pre`); Wasmtime's same two paths with `wasmtime-peer`.
fn instantiate_pre(c: &mut Criterion) {
    let mut group = c.benchmark_group("instantiate_pre");
    let engine = Engine::default();
    let module = Module::new(&engine, WITH_IMPORTS).expect("compiling the module");
    let mut linker = remap::Linker::<()>::new(&engine);
    linker
        .func_wrap("host", "log", |_: i32, _: i32| {})
        .and_then(|linker| linker.func_wrap("host", "now", || 0i64))
        .and_then(|linker| linker.func_wrap("host", "random", || 4i32))
        .expect("defining host functions");
    let pre = linker.instantiate_pre(&module).expect("pre-instantiating");
    group.bench_function("remap/linker", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            linker
                .instantiate(&mut store, &module)
                .expect("instantiating")
        })
    });
    group.bench_function("remap/pre", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            pre.instantiate(&mut store).expect("instantiating")
        })
    });
    #[cfg(feature = "wasmtime-peer")]
    {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, WITH_IMPORTS).expect("compiling in Wasmtime");
        let mut linker = wasmtime::Linker::<()>::new(&engine);
        linker
            .func_wrap("host", "log", |_: i32, _: i32| {})
            .and_then(|linker| linker.func_wrap("host", "now", || 0i64))
            .and_then(|linker| linker.func_wrap("host", "random", || 4i32))
            .expect("defining host functions in Wasmtime");
        let pre = linker
            .instantiate_pre(&module)
            .expect("pre-instantiating in Wasmtime");
        group.bench_function("wasmtime/linker", |b| {
            b.iter(|| {
                let mut store = wasmtime::Store::new(&engine, ());
                linker
                    .instantiate(&mut store, &module)
                    .expect("instantiating in Wasmtime")
            })
        });
        group.bench_function("wasmtime/pre", |b| {
            b.iter(|| {
                let mut store = wasmtime::Store::new(&engine, ());
                pre.instantiate(&mut store)
                    .expect("instantiating in Wasmtime")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = instantiate, instantiate_pre
}
criterion_main!(benches);
