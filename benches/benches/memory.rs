//! Linear memory from Wasm:
//!
//! - `grow_to_1GiB`: `memory.grow` by one page in a loop from 64 KiB to
//!   1 GiB, writing a word into each new page (`workloads/grow1g.wat`), in a
//!   static memory (protection changes only) and a dynamic one (relocated by
//!   `mremap` each time its 16 MiB of room runs out);
//! - `first_touch`: writing one byte into every 4 KiB page of a fresh 64 MiB
//!   memory, unpinned (each write faults a zero page in) and pinned (the
//!   pages were made resident when the memory was created), timing only the
//!   writes; `create_and_touch` also counts instantiation, where pinning
//!   pays for those pages.

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};
use remap_benches::workloads;
use std::time::{Duration, Instant};

const TOUCH_MODULE: &str = r#"
(module
  (memory (export "memory") 1024)
  (func (export "touch")
    (local $address i32)
    (loop $again
      (i32.store8 (local.get $address) (i32.const 1))
      (local.tee $address (i32.add (local.get $address) (i32.const 4096)))
      (br_if $again (i32.lt_u (i32.const 67108864))))))
"#;

fn engine(style: MemoryStyle, pin: bool) -> Engine {
    let mut config = Config::new();
    config.memory_style(style).pin_memory(pin);
    Engine::new(&config).expect("creating the engine")
}

fn grow(c: &mut Criterion) {
    let grow_wat = workloads::build(workloads::workload("grow1g").expect("grow1g is a workload"))
        .expect("locating grow1g.wat")
        .wasm;
    let mut group = c.benchmark_group("grow_to_1GiB");
    group.sampling_mode(SamplingMode::Flat);
    for (name, style) in [
        ("static", MemoryStyle::Static),
        ("dynamic", MemoryStyle::Dynamic),
    ] {
        let engine = engine(style, false);
        let module = Module::from_file(&engine, &grow_wat).expect("compiling grow1g.wat");
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).expect("instantiating");
                instance
                    .get_typed_func::<(), ()>(&mut store, "_start")
                    .expect("the _start export")
                    .call(&mut store, ())
                    .expect("growing to 1 GiB")
            })
        });
    }
    group.finish();
}

fn first_touch(c: &mut Criterion) {
    let mut touch_only = c.benchmark_group("first_touch");
    let mut cases = Vec::new();
    for pin in [false, true] {
        let engine = engine(MemoryStyle::Static, pin);
        let module = Module::new(&engine, TOUCH_MODULE).expect("compiling the touch module");
        let label = if pin { "pinned" } else { "unpinned" };
        if let Err(err) = Instance::new(&mut Store::new(&engine, ()), &module, &[]) {
            eprintln!("skipping first_touch/{label}: {err:#}");
            continue;
        }
        touch_only.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_custom(|iterations| {
                let mut measured = Duration::ZERO;
                for _ in 0..iterations {
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[]).expect("instantiating");
                    let touch = instance
                        .get_typed_func::<(), ()>(&mut store, "touch")
                        .expect("the touch export");
                    let start = Instant::now();
                    touch.call(&mut store, ()).expect("touching");
                    measured += start.elapsed();
                }
                measured
            })
        });
        cases.push((label, engine, module));
    }
    touch_only.finish();

    let mut with_creation = c.benchmark_group("create_and_touch");
    for (label, engine, module) in &cases {
        with_creation.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let mut store = Store::new(engine, ());
                let instance = Instance::new(&mut store, module, &[]).expect("instantiating");
                instance
                    .get_typed_func::<(), ()>(&mut store, "touch")
                    .expect("the touch export")
                    .call(&mut store, ())
                    .expect("touching")
            })
        });
    }
    with_creation.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = grow, first_touch
}
criterion_main!(benches);
