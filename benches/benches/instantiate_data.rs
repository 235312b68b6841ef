//! Instantiating a module with 16 MiB of data segments in a fresh store and
//! answering one call, then dropping the store (issue 16): Remap with its
//! defaults (the segments mapped copy-on-write from the module's memory
//! image) and with `memory_init_cow(false)` (copied into each instance);
//! with `--features wasmtime-peer`, Wasmtime with its defaults (its own
//! copy-on-write images) and without its images.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use remap::{Config, Engine, Instance, Module, Store};
use std::time::Duration;

const MIB: usize = 1 << 20;

/// 16 MiB + one page of memory and `answer`, which reads a word of data.
const CODE: &str = r#"
(module
  (memory (export "memory") 257)
  (func (export "answer") (result i32) (i32.load (i32.const 8388608))))
"#;

/// The module: [`CODE`] followed by a data section of 16 segments of 1 MiB.
fn module_bytes() -> Vec<u8> {
    let mut wasm = wat::parse_str(CODE).expect("assembling the benchmark module");
    let mut section = Vec::new();
    leb128(&mut section, 16);
    for segment in 0..16 {
        section.extend([0x00, 0x41]); // active in memory 0, i32.const
        leb128(&mut section, (segment * MIB) as u64); // non-negative: the same as signed
        section.push(0x0b);
        leb128(&mut section, MIB as u64);
        section.extend((0..MIB).map(|byte| (byte % 251) as u8 + segment as u8 + 1));
    }
    wasm.push(11); // the data section, after the code section
    leb128(&mut wasm, section.len() as u64);
    wasm.extend(section);
    wasm
}

/// Appends `value` in unsigned LEB128; below 2^31, also signed LEB128's
/// encoding of a value whose bit 6 of the last byte is clear.
fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 && byte & 0x40 == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn instantiate_data(c: &mut Criterion) {
    let wasm = module_bytes();
    let mut group = c.benchmark_group("instantiate_data_16mib");
    for (name, copy_on_write) in [("default", true), ("no-cow", false)] {
        let mut config = Config::new();
        config.memory_init_cow(copy_on_write);
        let engine = Engine::new(&config).expect("creating the engine");
        let module = Module::new(&engine, &wasm).expect("compiling the module");
        group.bench_function(BenchmarkId::new("remap", name), |b| {
            b.iter(|| {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).expect("instantiating");
                instance
                    .get_typed_func::<(), i32>(&mut store, "answer")
                    .and_then(|answer| answer.call(&mut store, ()))
                    .expect("calling")
            })
        });
    }
    #[cfg(feature = "wasmtime-peer")]
    wasmtime_rows(&mut group, &wasm);
    group.finish();
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_rows(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    wasm: &[u8],
) {
    use remap_benches::wasmtime_peer::{PeerLayout, wasmtime_config};
    for (name, copy_on_write) in [("default", true), ("no-cow", false)] {
        let mut config = wasmtime_config(PeerLayout::WasmtimeDefault, true);
        config.memory_init_cow(copy_on_write);
        let engine = wasmtime::Engine::new(&config).expect("configuring Wasmtime");
        let module = wasmtime::Module::new(&engine, wasm).expect("compiling in Wasmtime");
        group.bench_function(BenchmarkId::new("wasmtime", name), |b| {
            b.iter(|| {
                let mut store = wasmtime::Store::new(&engine, ());
                let instance = wasmtime::Instance::new(&mut store, &module, &[])
                    .expect("instantiating in Wasmtime");
                instance
                    .get_typed_func::<(), i32>(&mut store, "answer")
                    .and_then(|answer| answer.call(&mut store, ()))
                    .expect("calling in Wasmtime")
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = instantiate_data
}
criterion_main!(benches);
