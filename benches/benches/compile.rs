//! Compile throughput (MB/s of code section) for a ~1 MB module (SQLite,
//! built from C with clang) and a ~10 MB one (generated C functions), with
//! parallel compilation off (one core) and on (all cores). With
//! `--features wasmtime-peer`, Wasmtime compiles the same modules (same
//! Cranelift version) as `<module>/wasmtime-<mode>`.

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use remap::{Config, Engine, Module};
use remap_benches::workloads::{self, code_section_bytes};
use std::time::Duration;

const TEN_MB: usize = 10 << 20;

fn compile(c: &mut Criterion) {
    let sqlite = workloads::build(workloads::workload("sqlite").expect("sqlite is a workload"))
        .expect("building the SQLite workload");
    let inputs = [
        ("sqlite-1MB", sqlite.wasm),
        (
            "generated-10MB",
            workloads::generated_module(TEN_MB).expect("building the generated module"),
        ),
    ];
    let mut group = c.benchmark_group("compile");
    group.sampling_mode(SamplingMode::Flat);
    for (name, path) in inputs {
        let wasm = std::fs::read(&path).expect("reading the module");
        let code = code_section_bytes(&wasm).expect("parsing the module");
        group.throughput(Throughput::Bytes(code as u64));
        for parallel in [false, true] {
            let engine = Engine::new(Config::new().parallel_compilation(parallel))
                .expect("creating the engine");
            let mode = if parallel { "parallel" } else { "one-core" };
            group.bench_with_input(BenchmarkId::new(name, mode), &wasm, |b, wasm| {
                b.iter(|| Module::new(&engine, wasm).expect("compiling"))
            });
            #[cfg(feature = "wasmtime-peer")]
            {
                use remap_benches::wasmtime_peer::{PeerLayout, wasmtime_engine};
                let engine = wasmtime_engine(PeerLayout::Static, parallel);
                let id = BenchmarkId::new(name, format!("wasmtime-{mode}"));
                group.bench_with_input(id, &wasm, |b, wasm| {
                    b.iter(|| wasmtime::Module::new(&engine, wasm).expect("compiling in Wasmtime"))
                });
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = compile
}
criterion_main!(benches);
