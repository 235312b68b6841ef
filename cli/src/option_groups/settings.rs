//! What the option-group keys asked for, and how it reaches the engine's
//! [`Config`], the store's [`StoreLimits`] and the run.
//!
//! Every field is `None` (or empty) until a key sets it, so each place that
//! applies settings changes only what was asked for and keeps Remap's
//! defaults otherwise; a later key overrides an earlier one, as in Wasmtime.
//!
//! The `-O` memory keys are Wasmtime's; they map onto Remap's two memory
//! styles the way `benches/compare/setups.rs` pairs the two runtimes'
//! options for the same layout:
//! - `memory-may-move=n` makes memories static: reserved once, never moved;
//! - otherwise `memory-reservation=` decides: at least 4 GiB (the whole
//!   32-bit index space, Wasmtime's default) is static without bounds
//!   checks, less is dynamic (bounds-checked, moved when it outgrows its
//!   room); Remap's static reservation is that size;
//! - a static memory with a reservation below 4 GiB is bounds-checked and
//!   cannot grow past it, as in Wasmtime with `memory-may-move=n`;
//! - `memory-reservation-for-growth=` is the room of a dynamic memory,
//!   `memory-guard-size=` the guard after every memory, and
//!   `guard-before-linear-memory=n` drops the guard before it (Remap's is
//!   64 KiB, where Wasmtime's is as large as the one after).
//!
//! 64-bit memories and memories with custom page sizes are always dynamic.

use anyhow::{Result, bail};
use remap::{Config, MemoryStyle, StoreLimits, StoreLimitsBuilder};
use std::fmt::Display;
use std::time::Duration;

/// A 32-bit memory's whole index space: a reservation this large needs no
/// bounds checks, so the memory is static.
const FULL_32_BIT_RESERVATION: u64 = 1 << 32;

/// Remap's guard before each linear memory (see `Config::memory_pre_guard_size`).
const DEFAULT_PRE_GUARD: u64 = 64 * 1024;

/// The settings of all four groups.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `-W fuel=N`: code consumes fuel and the store starts with N.
    pub fuel: Option<u64>,
    /// `-W epoch-interruption`.
    pub epoch_interruption: Option<bool>,
    /// `-W timeout=`: how long the guest may run.
    pub timeout: Option<Duration>,
    /// `-W max-wasm-stack=`, bytes.
    pub max_wasm_stack: Option<u64>,
    /// `-W max-*` and `trap-on-grow-failure`.
    pub limits: Limits,
    /// `-W unknown-imports-trap`: imports nothing defines become functions
    /// that fail when called.
    pub unknown_imports_trap: Option<bool>,
    /// `-W` feature switches Remap can turn.
    pub features: Features,
    /// `-O` memory layout keys.
    pub layout: Layout,
    /// `-C parallel-compilation`.
    pub parallel_compilation: Option<bool>,
    /// `-C cache`: whether `remap run` caches compiled code (default yes).
    pub code_cache: Option<bool>,
    /// `-S` keys.
    pub wasi: Wasi,
}

/// The store's resource limits (`-W max-memory-size=` etc.).
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Largest size of any one linear memory, in bytes.
    pub memory_size: Option<u64>,
    /// Largest number of elements of any one table.
    pub table_elements: Option<u64>,
    /// Most instances in the store.
    pub instances: Option<u64>,
    /// Most tables in the store.
    pub tables: Option<u64>,
    /// Most memories in the store.
    pub memories: Option<u64>,
    /// Whether a refused growth traps instead of returning -1.
    pub trap_on_grow_failure: Option<bool>,
}

/// Wasm features Remap can turn on and off.
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// `-W simd`.
    pub simd: Option<bool>,
    /// `-W relaxed-simd`.
    pub relaxed_simd: Option<bool>,
    /// `-W relaxed-simd-deterministic`.
    pub relaxed_simd_deterministic: Option<bool>,
    /// `-W wide-arithmetic`.
    pub wide_arithmetic: Option<bool>,
    /// `-W exceptions`.
    pub exceptions: Option<bool>,
    /// `-W custom-descriptors` (Remap's own).
    pub custom_descriptors: Option<bool>,
}

/// The `-O` memory layout keys, as Wasmtime names them.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// `memory-may-move`.
    pub may_move: Option<bool>,
    /// `memory-reservation`, bytes.
    pub reservation: Option<u64>,
    /// `memory-reservation-for-growth`, bytes.
    pub reservation_for_growth: Option<u64>,
    /// `memory-guard-size`, bytes.
    pub guard_size: Option<u64>,
    /// `guard-before-linear-memory`.
    pub guard_before: Option<bool>,
    /// `memory-init-cow`.
    pub init_cow: Option<bool>,
    /// `arena-slot-size`, bytes (Remap's own key).
    pub arena_slot_size: Option<u64>,
    /// `arena-max-slots` (Remap's own key).
    pub arena_max_slots: Option<u64>,
}

/// The `-S` keys: what the program gets from WASI.
#[derive(Clone, Debug, Default)]
pub struct Wasi {
    /// `cli`: whether WASI is linked at all (default yes).
    pub cli: Option<bool>,
    /// `inherit-env`: the host's whole environment.
    pub inherit_env: Option<bool>,
    /// `inherit-stdin`, `inherit-stdout`, `inherit-stderr` (default yes).
    pub inherit_stdio: [Option<bool>; 3],
    /// `tcplisten=`: addresses to listen on, in order.
    pub tcp_listen: Vec<String>,
    /// `threads`: wasi-threads (`wasi::thread-spawn`).
    pub threads: Option<bool>,
}

impl Layout {
    /// The style these keys force on 32-bit memories, if any.
    pub fn style(&self) -> Option<MemoryStyle> {
        match (self.may_move, self.reservation) {
            (Some(false), _) => Some(MemoryStyle::Static),
            (_, Some(bytes)) if bytes >= FULL_32_BIT_RESERVATION => Some(MemoryStyle::Static),
            (_, Some(_)) => Some(MemoryStyle::Dynamic),
            (_, None) => None,
        }
    }

    fn configure(&self, config: &mut Config) {
        if self.style() == Some(MemoryStyle::Static)
            && let Some(bytes) = self.reservation
        {
            config.static_memory_reservation(bytes);
        }
        if let Some(bytes) = self.guard_size {
            config.memory_guard_size(bytes);
        }
        if let Some(before) = self.guard_before {
            config.memory_pre_guard_size(if before { DEFAULT_PRE_GUARD } else { 0 });
        }
        if let Some(on) = self.init_cow {
            config.memory_init_cow(on);
        }
        if let Some(bytes) = self.arena_slot_size {
            config.arena_slot_size(bytes);
        }
        if let Some(slots) = self.arena_max_slots {
            config.arena_max_slots(usize::try_from(slots).unwrap_or(usize::MAX));
        }
    }
}

impl Settings {
    /// Whether compiled code checks epochs: asked for, or needed by a timeout.
    pub fn epochs(&self) -> bool {
        self.timeout.is_some() || self.epoch_interruption == Some(true)
    }

    /// Applies the engine settings to `config`; the memory style and the
    /// dynamic room are left to the caller, who reconciles them with
    /// Remap's own options (see [`agree`]).
    pub fn configure(&self, config: &mut Config) {
        config.consume_fuel(self.fuel.is_some());
        config.epoch_interruption(self.epochs());
        if let Some(bytes) = self.max_wasm_stack {
            config.max_wasm_stack(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        if let Some(on) = self.features.simd {
            config.wasm_simd(on);
        }
        if let Some(on) = self.features.relaxed_simd {
            config.wasm_relaxed_simd(on);
        }
        if let Some(on) = self.features.wide_arithmetic {
            config.wasm_wide_arithmetic(on);
        }
        if let Some(on) = self.features.exceptions {
            config.wasm_exceptions(on);
        }
        if let Some(on) = self.features.custom_descriptors {
            config.wasm_custom_descriptors(on);
        }
        if let Some(parallel) = self.parallel_compilation {
            config.parallel_compilation(parallel);
        }
        self.layout.configure(config);
    }

    /// The store limits the `-W max-*` keys ask for; `None` when no key
    /// did, so the store runs without a limiter.
    pub fn store_limits(&self) -> Option<StoreLimits> {
        let limits = &self.limits;
        let counts = [
            limits.memory_size,
            limits.table_elements,
            limits.instances,
            limits.tables,
            limits.memories,
        ];
        if counts.iter().all(Option::is_none) && limits.trap_on_grow_failure.is_none() {
            return None;
        }
        let to_usize = |count: u64| usize::try_from(count).unwrap_or(usize::MAX);
        let mut builder = StoreLimitsBuilder::new();
        let setters: [fn(StoreLimitsBuilder, usize) -> StoreLimitsBuilder; 5] = [
            StoreLimitsBuilder::memory_size,
            StoreLimitsBuilder::table_elements,
            StoreLimitsBuilder::instances,
            StoreLimitsBuilder::tables,
            StoreLimitsBuilder::memories,
        ];
        for (count, set) in counts.into_iter().zip(setters) {
            if let Some(count) = count {
                builder = set(builder, to_usize(count));
            }
        }
        builder = builder.trap_on_grow_failure(limits.trap_on_grow_failure.unwrap_or(false));
        Some(builder.build())
    }
}

/// The one value asked for by a Remap option and the option-group key that
/// means the same: whichever was given, or either when both agree; both
/// with different values is an error naming the two.
pub fn agree<T: PartialEq + Display>(
    option: &str,
    from_option: Option<T>,
    key: &str,
    from_key: Option<T>,
) -> Result<Option<T>> {
    match (from_option, from_key) {
        (Some(a), Some(b)) if a != b => {
            bail!("{option} {a} contradicts {key}, which asks for {b}; give only one of them")
        }
        (Some(value), _) | (None, Some(value)) => Ok(Some(value)),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(may_move: Option<bool>, reservation: Option<u64>) -> Layout {
        Layout {
            may_move,
            reservation,
            ..Layout::default()
        }
    }

    #[test]
    fn the_layout_keys_pick_the_style_as_the_compare_setups_pair_them() {
        // benches/compare/setups.rs: STATIC and DYNAMIC.
        assert_eq!(
            layout(Some(false), Some(4 << 30)).style(),
            Some(MemoryStyle::Static)
        );
        assert_eq!(
            layout(Some(true), Some(0)).style(),
            Some(MemoryStyle::Dynamic)
        );
        assert_eq!(
            layout(None, Some(8 << 30)).style(),
            Some(MemoryStyle::Static)
        );
        assert_eq!(layout(Some(false), None).style(), Some(MemoryStyle::Static));
        assert_eq!(
            layout(Some(false), Some(1 << 20)).style(),
            Some(MemoryStyle::Static)
        );
        assert_eq!(
            layout(None, Some(1 << 20)).style(),
            Some(MemoryStyle::Dynamic)
        );
        assert_eq!(layout(Some(true), None).style(), None);
        assert_eq!(layout(None, None).style(), None);
    }

    #[test]
    fn only_asked_for_limits_make_a_limiter() {
        assert!(Settings::default().store_limits().is_none());
        let mut settings = Settings::default();
        settings.limits.instances = Some(1);
        let limits = format!("{:?}", settings.store_limits().unwrap());
        assert!(limits.contains("instances: 1,"), "{limits}");
        assert!(limits.contains("memory_size: None"), "{limits}");
        assert!(limits.contains("trap_on_grow_failure: false"), "{limits}");
    }

    #[test]
    fn a_timeout_turns_on_epochs() {
        let mut settings = Settings::default();
        assert!(!settings.epochs());
        settings.epoch_interruption = Some(false);
        settings.timeout = Some(Duration::from_secs(1));
        assert!(settings.epochs());
    }

    #[test]
    fn an_option_and_its_key_must_agree() {
        assert_eq!(agree("--a", Some(1), "-W a", None).unwrap(), Some(1));
        assert_eq!(agree("--a", None, "-W a", Some(2)).unwrap(), Some(2));
        assert_eq!(agree("--a", Some(3), "-W a", Some(3)).unwrap(), Some(3));
        assert_eq!(agree::<u8>("--a", None, "-W a", None).unwrap(), None);
        let err = agree("--a", Some(1), "-W a", Some(2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--a 1 contradicts -W a, which asks for 2; give only one of them"
        );
    }
}
