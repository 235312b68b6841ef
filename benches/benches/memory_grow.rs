//! Growing a linear memory that holds 64 MiB, 256 MiB and 1 GiB of written data:
//!
//! - `relocate_mremap`: Remap's relocation, growing a memory with no room
//!   left by one page (the pages move with `mremap`, nothing is copied);
//! - `relocate_copy`: the baseline other runtimes use for a movable memory,
//!   a new mapping plus a copy of the data and the release of the old one
//!   (it exists only here);
//! - `grow_in_place`: growing by one page inside the reservation (`mprotect`).
//!
//! A relocation needs a fresh memory full of data for every iteration, and
//! filling 1 GiB costs far more than relocating it, so each relocation
//! sample performs at most `RELOCATIONS_PER_SAMPLE` relocations and reports
//! their mean per iteration.

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use remap_benches::written_memory;
use remap_memory::{LinearMemory, MemoryConfig, MemoryStyle, WASM_PAGE_SIZE};
use std::time::{Duration, Instant};

const SIZES: [(&str, u64); 3] = [
    ("64MiB", 64 << 20),
    ("256MiB", 256 << 20),
    ("1GiB", 1 << 30),
];

const RELOCATIONS_PER_SAMPLE: u64 = 2;

/// The baseline: map a larger memory, copy the data over, release the old one.
fn relocate_by_copy(old: LinearMemory, extra_bytes: u64) -> LinearMemory {
    let old_view = old.view();
    let new = LinearMemory::new(MemoryConfig {
        style: MemoryStyle::Dynamic {
            reserve_bytes: 0,
            guard_bytes: WASM_PAGE_SIZE,
        },
        initial_bytes: old_view.len as u64 + extra_bytes,
        ..MemoryConfig::default()
    })
    .expect("mapping the copy target");
    let new_view = new.view();
    // SAFETY: both views are accessible, distinct mappings owned here.
    unsafe { std::ptr::copy_nonoverlapping(old_view.base, new_view.base, old_view.len) };
    drop(old);
    new
}

/// Times `relocate` on up to `RELOCATIONS_PER_SAMPLE` fresh memories of
/// `bytes` and scales the mean to `iters` iterations.
fn time_relocations(
    iters: u64,
    bytes: u64,
    relocate: impl Fn(LinearMemory) -> LinearMemory,
) -> Duration {
    let performed = iters.clamp(1, RELOCATIONS_PER_SAMPLE);
    let mut measured = Duration::ZERO;
    for _ in 0..performed {
        let memory = written_memory(bytes, 0);
        let start = Instant::now();
        let grown = relocate(memory);
        measured += start.elapsed();
        assert_eq!(grown.len_bytes(), bytes + WASM_PAGE_SIZE);
        drop(grown);
    }
    measured.mul_f64(iters as f64 / performed as f64)
}

fn memory_grow(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_grow");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    for (label, bytes) in SIZES {
        group.bench_with_input(
            BenchmarkId::new("relocate_mremap", label),
            &bytes,
            |b, &bytes| {
                b.iter_custom(|iters| {
                    time_relocations(iters, bytes, |memory| {
                        memory.grow(1).expect("relocating");
                        assert_eq!(memory.stats().relocations, 1);
                        memory
                    })
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("relocate_copy", label),
            &bytes,
            |b, &bytes| {
                b.iter_custom(|iters| {
                    time_relocations(iters, bytes, |memory| {
                        relocate_by_copy(memory, WASM_PAGE_SIZE)
                    })
                })
            },
        );
        let mut current: Option<LinearMemory> = None;
        group.bench_with_input(
            BenchmarkId::new("grow_in_place", label),
            &bytes,
            |b, &bytes| {
                b.iter_custom(|iters| {
                    let room = |memory: &LinearMemory| {
                        (memory.capacity_bytes() - memory.len_bytes()) / WASM_PAGE_SIZE
                    };
                    if current.as_ref().is_none_or(|memory| room(memory) < iters) {
                        current = None;
                        current = Some(written_memory(bytes, iters.max(4096)));
                    }
                    let memory = current.as_ref().expect("memory just created");
                    let start = Instant::now();
                    for _ in 0..iters {
                        memory.grow(1).expect("growing in place");
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(memory.stats().relocations, 0);
                    elapsed
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, memory_grow);
criterion_main!(benches);
