//! Shared helpers for the benchmarks.

pub mod measure;
pub mod wasi_run;
#[cfg(feature = "wasmtime-peer")]
pub mod wasmtime_peer;
pub mod workloads;

use remap_memory::{LinearMemory, MemoryConfig, MemoryStyle, WASM_PAGE_SIZE};

/// A dynamic linear memory of `bytes` bytes, every page written (so every
/// page is resident and must survive a move), with `reserve_pages` Wasm
/// pages of room for in-place growth.
pub fn written_memory(bytes: u64, reserve_pages: u64) -> LinearMemory {
    let memory = LinearMemory::new(MemoryConfig {
        style: MemoryStyle::Dynamic {
            reserve_bytes: reserve_pages * WASM_PAGE_SIZE,
            guard_bytes: WASM_PAGE_SIZE,
        },
        initial_bytes: bytes,
        ..MemoryConfig::default()
    })
    .expect("creating a benchmark memory");
    let view = memory.view();
    // SAFETY: the view is accessible and owned by the caller; nothing else uses it.
    let data = unsafe { std::slice::from_raw_parts_mut(view.base, view.len) };
    for (index, chunk) in data.chunks_mut(4096).enumerate() {
        chunk.fill(index as u8 | 1);
    }
    memory
}
