//! Wasmtime engines with the same linear-memory layouts as Remap's styles
//! (the in-process counterpart of `compare`'s `-O` options), for the
//! side-by-side criterion rows built with `--features wasmtime-peer`.

/// Which memory layout a Wasmtime engine gets.
#[derive(Clone, Copy, Debug)]
pub enum PeerLayout {
    /// Wasmtime's own defaults (on-demand allocator).
    WasmtimeDefault,
    /// Remap's static style: 4 GiB reservation + 4 GiB guard, never moves.
    Static,
    /// Remap's dynamic style: the size + 16 MiB room + 64 KiB guard, may move.
    Dynamic,
}

/// A Wasmtime engine with `layout`, compiling in parallel or not.
pub fn wasmtime_engine(layout: PeerLayout, parallel: bool) -> wasmtime::Engine {
    wasmtime::Engine::new(&wasmtime_config(layout, parallel))
        .expect("configuring the Wasmtime engine")
}

/// The configuration behind [`wasmtime_engine`], for callers that change
/// one more setting.
pub fn wasmtime_config(layout: PeerLayout, parallel: bool) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.parallel_compilation(parallel);
    match layout {
        PeerLayout::WasmtimeDefault => {}
        PeerLayout::Static => {
            config
                .memory_reservation(4 << 30)
                .memory_guard_size(4 << 30)
                .guard_before_linear_memory(true)
                .memory_may_move(false);
        }
        PeerLayout::Dynamic => {
            config
                .memory_reservation(0)
                .memory_reservation_for_growth(16 << 20)
                .memory_guard_size(64 << 10)
                .guard_before_linear_memory(true)
                .memory_may_move(true);
        }
    }
    config
}
