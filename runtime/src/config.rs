//! Engine configuration: memory layout, pinning, stack size, compilation.

use anyhow::{Result, bail};

/// How linear memories are laid out in virtual memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryStyle {
    /// A large fixed reservation plus a guard region: the base never moves and
    /// compiled code needs no explicit bounds checks.
    Static,
    /// A small reservation that is relocated with `mremap` when outgrown;
    /// compiled code checks bounds against the cached bound.
    Dynamic,
}

/// Settings shared by everything an [`Engine`](crate::Engine) compiles and runs.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) memory_style: Option<MemoryStyle>,
    pub(crate) static_memory_reservation: u64,
    pub(crate) memory_guard_size: Option<u64>,
    pub(crate) dynamic_memory_reserve: u64,
    pub(crate) memory_pre_guard_size: u64,
    pub(crate) pin_memory: bool,
    pub(crate) pin_budget: Option<u64>,
    pub(crate) max_memory_size: Option<u64>,
    pub(crate) memory_slot_cache: usize,
    pub(crate) memory_keep_resident: usize,
    pub(crate) max_wasm_stack: usize,
    pub(crate) parallel_compilation: bool,
    pub(crate) wasm_simd: bool,
}

const GIB: u64 = 1 << 30;

/// Guard after a static memory: with a 4 GiB reservation, any 32-bit index
/// plus 32-bit offset lands inside reservation + guard.
const DEFAULT_STATIC_GUARD: u64 = 4 * GIB;
/// Guard after a dynamic memory: catches small overruns of the bound check's
/// neighbours; bounds are checked explicitly.
const DEFAULT_DYNAMIC_GUARD: u64 = 64 * 1024;

/// Retired memory reservations an engine keeps for reuse. Each holds address
/// space only (8 GiB for a default static memory, a fraction of the 128 TiB a
/// process has), so this bounds the address space parked, not memory.
const DEFAULT_MEMORY_SLOT_CACHE: usize = 16;
/// Bytes of each cached reservation zeroed in place rather than discarded:
/// one Wasm page, so at most 1 MiB stays resident across the default 16 slots.
const DEFAULT_MEMORY_KEEP_RESIDENT: usize = 64 * 1024;

impl Default for Config {
    fn default() -> Config {
        Config {
            memory_style: None,
            static_memory_reservation: 4 * GIB,
            memory_guard_size: None,
            dynamic_memory_reserve: 16 << 20,
            memory_pre_guard_size: 64 * 1024,
            pin_memory: false,
            pin_budget: None,
            max_memory_size: None,
            memory_slot_cache: DEFAULT_MEMORY_SLOT_CACHE,
            memory_keep_resident: DEFAULT_MEMORY_KEEP_RESIDENT,
            max_wasm_stack: 512 * 1024,
            parallel_compilation: true,
            wasm_simd: true,
        }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// Forces every linear memory into one style (default: static where the
    /// address space allows, i.e. 32-bit memories; dynamic for memory64).
    pub fn memory_style(&mut self, style: MemoryStyle) -> &mut Self {
        self.memory_style = Some(style);
        self
    }

    /// Bytes reserved for a static memory (default 4 GiB).
    pub fn static_memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.static_memory_reservation = bytes;
        self
    }

    /// Bytes of guard after each memory (default 4 GiB static, 64 KiB dynamic).
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.memory_guard_size = Some(bytes);
        self
    }

    /// Room a dynamic memory may grow into before it is relocated (default 16 MiB).
    pub fn dynamic_memory_reserve(&mut self, bytes: u64) -> &mut Self {
        self.dynamic_memory_reserve = bytes;
        self
    }

    /// Bytes of guard before each memory (default 64 KiB).
    pub fn memory_pre_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.memory_pre_guard_size = bytes;
        self
    }

    /// Keeps every accessible page of every instance memory locked in RAM.
    pub fn pin_memory(&mut self, pin: bool) -> &mut Self {
        self.pin_memory = pin;
        self
    }

    /// Caps the bytes the engine's memories may pin in total.
    pub fn pin_budget(&mut self, bytes: u64) -> &mut Self {
        self.pin_budget = Some(bytes);
        self
    }

    /// Caps each linear memory's size in bytes (`None`: only the type's maximum).
    pub fn max_memory_size(&mut self, bytes: Option<u64>) -> &mut Self {
        self.max_memory_size = bytes;
        self
    }

    /// How many retired linear-memory reservations the engine keeps for reuse
    /// (default 16; 0 turns the cache off). A memory dropped with its store
    /// leaves its reservation here, unpinned and reading as zero, so the next
    /// memory of the same layout skips mapping and unmapping a reservation.
    /// Cached slots hold no committed or pinned bytes (see
    /// [`Config::memory_keep_resident`] for what stays resident); dropping
    /// the engine unmaps them.
    pub fn memory_slot_cache(&mut self, slots: usize) -> &mut Self {
        self.memory_slot_cache = slots;
        self
    }

    /// Bytes at the start of each cached reservation that are zeroed in place
    /// instead of given back to the kernel (default 64 KiB). Those pages stay
    /// resident while the slot waits, so the next memory in it writes its
    /// data segments without page faults; zeroing costs time proportional to
    /// this size, discarding the rest costs one `madvise`.
    pub fn memory_keep_resident(&mut self, bytes: usize) -> &mut Self {
        self.memory_keep_resident = bytes;
        self
    }

    /// Stack bytes Wasm code may use before it traps with "call stack exhausted"
    /// (default 512 KiB). On a thread with less stack left than that, Wasm
    /// traps earlier: 128 KiB above the thread's stack end stay for the host.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Compiles a module's functions on all cores (default true).
    pub fn parallel_compilation(&mut self, parallel: bool) -> &mut Self {
        self.parallel_compilation = parallel;
        self
    }

    /// Accepts the fixed-width vector (SIMD, `v128`) instructions (default
    /// true, as in Wasm 2.0); when false, a module using them is rejected
    /// when it is compiled.
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_simd = enable;
        self
    }

    /// The style a memory gets: the forced style, else static for 32-bit memories.
    pub(crate) fn style_for(&self, memory64: bool) -> MemoryStyle {
        match self.memory_style {
            _ if memory64 => MemoryStyle::Dynamic,
            Some(style) => style,
            None => MemoryStyle::Static,
        }
    }

    /// The guard after a memory of `style`.
    pub(crate) fn guard_size(&self, style: MemoryStyle) -> u64 {
        self.memory_guard_size.unwrap_or(match style {
            MemoryStyle::Static => DEFAULT_STATIC_GUARD,
            MemoryStyle::Dynamic => DEFAULT_DYNAMIC_GUARD,
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_wasm_stack < 16 * 1024 {
            bail!(
                "max_wasm_stack must be at least 16 KiB (got {})",
                self.max_wasm_stack
            );
        }
        if self.memory_style == Some(MemoryStyle::Static) && self.static_memory_reservation == 0 {
            bail!("static_memory_reservation must not be 0 for static memories");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pick_static_for_32_bit_memories() {
        let config = Config::new();
        assert_eq!(config.style_for(false), MemoryStyle::Static);
        assert_eq!(config.style_for(true), MemoryStyle::Dynamic);
        assert_eq!(config.guard_size(MemoryStyle::Dynamic), 64 * 1024);
    }

    #[test]
    fn builder_methods_chain_and_validate() {
        let mut config = Config::new();
        config
            .memory_style(MemoryStyle::Dynamic)
            .memory_guard_size(4096)
            .max_wasm_stack(1);
        assert_eq!(config.style_for(false), MemoryStyle::Dynamic);
        assert_eq!(config.guard_size(MemoryStyle::Static), 4096);
        assert!(config.validate().is_err());
    }
}
