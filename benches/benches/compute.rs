//! The compute workloads (numeric kernels, a bytecode interpreter, SQLite;
//! C compiled with clang) run through the embedding API: a fresh store and
//! instance per iteration, the module compiled once. Each workload's output
//! is checked against its native build first.

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use remap::{Engine, Module};
use remap_benches::wasi_run::{run_command, wasi_linker};
use remap_benches::workloads::{self, WORKLOADS};
use std::process::Command;
use std::time::Duration;

fn compute(c: &mut Criterion) {
    let engine = Engine::default();
    let linker = wasi_linker(&engine).expect("defining WASI");
    let mut group = c.benchmark_group("compute");
    group.sampling_mode(SamplingMode::Flat);
    for workload in WORKLOADS.iter().filter(|workload| workload.compute) {
        let built = match workloads::build(workload) {
            Ok(built) => built,
            Err(err) => {
                eprintln!("skipping compute/{}: {err:#}", workload.name);
                continue;
            }
        };
        let module = Module::from_file(&engine, &built.wasm).expect("compiling the workload");
        let output = run_command(&linker, &module).expect("running the workload");
        if let Some(native) = &built.native {
            let expected = Command::new(native)
                .output()
                .expect("running the native build");
            assert_eq!(
                String::from_utf8_lossy(&output),
                String::from_utf8_lossy(&expected.stdout),
                "{} printed a different checksum under Remap than natively",
                workload.name
            );
        }
        group.bench_function(workload.name, |b| {
            b.iter(|| run_command(&linker, &module).expect("running the workload"))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = compute
}
criterion_main!(benches);
