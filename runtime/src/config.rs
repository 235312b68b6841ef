//! Engine configuration: memory layout, pinning, stack size, compilation.

use crate::code_cache::{CodeCache, DEFAULT_CODE_CACHE_MAX_BYTES};
use crate::profiling::ProfilingStrategy;
use anyhow::{Result, bail};
use remap_compiler::{MemoryStyle, Tunables};
use std::path::PathBuf;

/// Settings shared by everything an [`Engine`](crate::Engine) compiles and runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The memory policy and code generation settings the compiler and
    /// each memory's layout follow.
    pub(crate) tunables: Tunables,
    pub(crate) memory_pre_guard_size: u64,
    pub(crate) pin_memory: bool,
    pub(crate) pin_budget: Option<u64>,
    pub(crate) max_memory_size: Option<u64>,
    pub(crate) memory_slot_cache: usize,
    pub(crate) memory_keep_resident: usize,
    /// The most memories that live in the engine's arena at once ([`MemoryStyle::Arena`]).
    pub(crate) arena_max_slots: usize,
    /// Whether instances map their memories' initial contents copy-on-write
    /// from a per-module image instead of copying data segments.
    pub(crate) memory_init_cow: bool,
    pub(crate) max_wasm_stack: usize,
    pub(crate) parallel_compilation: bool,
    pub(crate) wasm_simd: bool,
    pub(crate) wasm_relaxed_simd: bool,
    pub(crate) wasm_wide_arithmetic: bool,
    pub(crate) wasm_exceptions: bool,
    pub(crate) wasm_custom_descriptors: bool,
    pub(crate) wasm_multi_memory: bool,
    pub(crate) wasm_reference_types: bool,
    /// The most bytes each store's GC heap may grow to.
    pub(crate) gc_heap_limit: u64,
    /// Where compiled modules are cached, if anywhere (code_cache.rs).
    pub(crate) code_cache: Option<CodeCache>,
    /// Which profiler compiled code is described to (profiling.rs).
    pub(crate) profiler: ProfilingStrategy,
    /// Whether calls run on fibers and must be made with `call_async`.
    pub(crate) async_support: bool,
    /// Usable bytes of each fiber's stack.
    pub(crate) async_stack_size: usize,
}

/// Retired memory reservations an engine keeps for reuse. Each holds address
/// space only (8 GiB for a default static memory, a fraction of the 128 TiB a
/// process has), so this bounds the address space parked, not memory.
const DEFAULT_MEMORY_SLOT_CACHE: usize = 16;
/// Bytes of each cached reservation zeroed in place rather than discarded:
/// one Wasm page, so at most 1 MiB stays resident across the default 16 slots.
const DEFAULT_MEMORY_KEEP_RESIDENT: usize = 64 * 1024;
/// Memories an engine's arena holds at most by default: 2^21, so 2 TiB of
/// address space (of the 128 TiB a process has) with the default 1 MiB slots.
const DEFAULT_ARENA_MAX_SLOTS: usize = 1 << 21;

/// Default limit of a store's GC heap.
/// GC references are 32-bit heap offsets: no heap can be larger.
const MAX_GC_HEAP_LIMIT: u64 = (1 << 32) - 64 * 1024;
/// As large as a heap can be, as in Wasmtime (whose GC heap may also grow
/// to 4 GiB): a program that allocates a 2 GiB array there runs here too.
/// The heap reserves address space only; memory is used as it grows.
const DEFAULT_GC_HEAP_LIMIT: u64 = MAX_GC_HEAP_LIMIT;

impl Default for Config {
    fn default() -> Config {
        Config {
            tunables: Tunables::default(),
            memory_pre_guard_size: 64 * 1024,
            pin_memory: false,
            pin_budget: None,
            max_memory_size: None,
            memory_slot_cache: DEFAULT_MEMORY_SLOT_CACHE,
            memory_keep_resident: DEFAULT_MEMORY_KEEP_RESIDENT,
            arena_max_slots: DEFAULT_ARENA_MAX_SLOTS,
            memory_init_cow: true,
            max_wasm_stack: 512 * 1024,
            parallel_compilation: true,
            wasm_simd: true,
            wasm_relaxed_simd: true,
            wasm_wide_arithmetic: true,
            wasm_exceptions: true,
            wasm_custom_descriptors: false,
            wasm_multi_memory: true,
            wasm_reference_types: true,
            gc_heap_limit: DEFAULT_GC_HEAP_LIMIT,
            code_cache: None,
            profiler: ProfilingStrategy::None,
            async_support: false,
            async_stack_size: 2 * 1024 * 1024,
        }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Config {
        Config::default()
    }

    /// Forces every linear memory that can have it into one style (default:
    /// static where the address space allows, i.e. 32-bit memories with
    /// 64 KiB pages; 64-bit memories are always dynamic).
    pub fn memory_style(&mut self, style: MemoryStyle) -> &mut Self {
        self.tunables.memory_style = Some(style);
        self
    }

    /// Bytes of the largest slot of the engine's memory arena (default
    /// 1 MiB): with [`MemoryStyle::Arena`], every memory whose initial size
    /// fits it (and that is not shared) lives in a slot, many to a kernel
    /// mapping, and grows in place up to the slot's size; past it, it moves
    /// to a reservation of its own. Slots come in power-of-two classes from
    /// 64 KiB up to this size; a memory gets the smallest one that holds four
    /// times its initial size (or its maximum, if smaller), so small memories
    /// share page-table pages. A pinned memory never lives in an arena.
    pub fn arena_slot_size(&mut self, bytes: u64) -> &mut Self {
        self.tunables.arena_slot_bytes = bytes;
        self
    }

    /// The most memories that may live in the engine's arena at once
    /// (default 2^21); one more is refused with an error naming this limit.
    pub fn arena_max_slots(&mut self, slots: usize) -> &mut Self {
        self.arena_max_slots = slots;
        self
    }

    /// Bytes reserved for a static memory (default 4 GiB).
    pub fn static_memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.tunables.static_memory_reservation = bytes;
        self
    }

    /// Bytes of guard after each memory (default 4 GiB static, 64 KiB dynamic).
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.tunables.memory_guard_size = Some(bytes);
        self
    }

    /// Room a dynamic memory may grow into before it is relocated (default 16 MiB).
    pub fn dynamic_memory_reserve(&mut self, bytes: u64) -> &mut Self {
        self.tunables.dynamic_memory_reserve = bytes;
        self
    }

    /// Hardens explicit bounds checks against speculative execution (default
    /// true, as in Wasmtime): an out-of-bounds memory access computes a null
    /// address without a branch, and table accesses guard their element
    /// address as well. Only code with explicit checks pays for it (dynamic
    /// memories, tables); a static memory's guard needs none.
    pub fn spectre_mitigations(&mut self, enable: bool) -> &mut Self {
        self.tunables.spectre_mitigations = enable;
        self
    }

    /// Makes compiled code consume fuel (default false): each operator
    /// costs fuel from the store's budget ([`Store::set_fuel`](crate::Store::set_fuel)),
    /// and a guest traps with `TrapKind::OutOfFuel` when it is gone. Costs
    /// about as much run time as Wasmtime's fuel.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.tunables.consume_fuel = enable;
        self
    }

    /// Makes compiled code check the engine's epoch against the store's
    /// deadline at every function entry and loop header (default false);
    /// see [`Engine::increment_epoch`](crate::Engine::increment_epoch) and
    /// [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline).
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.tunables.epoch_interruption = enable;
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

    /// Initialises each new memory by mapping its module's data segments
    /// copy-on-write from an image laid out once per module, instead of
    /// copying them (default true, as Wasmtime's option of the same name).
    /// Instantiation then copies no segment byte, and pages that no
    /// instance writes are shared by all instances of the module. Memories
    /// whose segments cannot be imaged (offsets read from globals, imported
    /// memories, segments that trap) are always initialised by copying, as
    /// are all memories when this is false; their contents are the same.
    pub fn memory_init_cow(&mut self, enable: bool) -> &mut Self {
        self.memory_init_cow = enable;
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

    /// The most bytes each store's GC heap (where Wasm GC structs and
    /// arrays live) may grow to; default and cap 4 GiB - 64 KiB, what
    /// 32-bit heap offsets address. An allocation the heap cannot hold
    /// even after a collection traps (`TrapKind::GcHeapExhausted`).
    pub fn gc_heap_limit(&mut self, bytes: u64) -> &mut Self {
        self.gc_heap_limit = bytes.min(MAX_GC_HEAP_LIMIT);
        self
    }

    /// Stack bytes Wasm code may use before it traps with "call stack exhausted"
    /// (default 512 KiB). On a thread with less stack left than that, Wasm
    /// traps earlier: 128 KiB above the thread's stack end stay for the host.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Runs Wasm on fibers so that async host functions
    /// ([`Linker::func_wrap_async`](crate::Linker::func_wrap_async)) and
    /// epoch yields can suspend it (default false). Then calls and
    /// instantiation must use the async entry points (`Func::call_async`,
    /// `TypedFunc::call_async`, `Linker::instantiate_async`,
    /// `Instance::new_async`); the sync ones return an error, as the async
    /// ones do without this setting.
    pub fn async_support(&mut self, enable: bool) -> &mut Self {
        self.async_support = enable;
        self
    }

    /// Usable bytes of each fiber stack (default 2 MiB), above a guard page.
    /// Must exceed [`Config::max_wasm_stack`]: the host functions Wasm calls
    /// run on the same stack.
    pub fn async_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.async_stack_size = bytes;
        self
    }

    /// Compiles a module's functions on all cores (default true).
    pub fn parallel_compilation(&mut self, parallel: bool) -> &mut Self {
        self.parallel_compilation = parallel;
        self
    }

    /// Caches compiled modules in `dir` (created when needed), so compiling
    /// the same module with the same settings again loads it instead; `None`
    /// (the default for embedders) compiles every time. The directory is
    /// trusted like a precompiled file: keep it private to the user
    /// ([`default_code_cache_dir`](crate::default_code_cache_dir) is).
    pub fn code_cache(&mut self, dir: Option<PathBuf>) -> &mut Self {
        let max_bytes = self
            .code_cache
            .as_ref()
            .map_or(DEFAULT_CODE_CACHE_MAX_BYTES, |cache| cache.max_bytes);
        self.code_cache = dir.map(|dir| CodeCache { dir, max_bytes });
        self
    }

    /// Bounds the code cache's total size (default 1 GiB); the least
    /// recently used entries go first.
    pub fn code_cache_max_size(&mut self, bytes: u64) -> &mut Self {
        if let Some(cache) = &mut self.code_cache {
            cache.max_bytes = bytes;
        }
        self
    }

    /// Accepts the fixed-width vector (SIMD, `v128`) instructions (default
    /// true, as in Wasm 2.0); when false, a module using them is rejected
    /// when it is compiled.
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_simd = enable;
        self
    }

    /// Accepts the relaxed SIMD instructions of Wasm 3.0 (default true, as
    /// in Wasmtime); they need [`Config::wasm_simd`]. When false, a module
    /// using them is rejected when it is compiled.
    pub fn wasm_relaxed_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_relaxed_simd = enable;
        self
    }

    /// Gives every relaxed SIMD instruction the result of the Wasm
    /// deterministic profile, the same on every host, instead of what this
    /// CPU computes fastest (default false, as in Wasmtime). The compiler
    /// documents both choices per instruction (`translate/relaxed_simd.rs`
    /// in remap-compiler); a module precompiled with the other setting is
    /// refused.
    pub fn relaxed_simd_deterministic(&mut self, enable: bool) -> &mut Self {
        self.tunables.relaxed_simd_deterministic = enable;
        self
    }

    /// Accepts the wide-arithmetic instructions (`i64.add128`,
    /// `i64.sub128`, `i64.mul_wide_s`, `i64.mul_wide_u`; default true, where
    /// Wasmtime 48 defaults to false). When false, a module using them is
    /// rejected when it is compiled.
    pub fn wasm_wide_arithmetic(&mut self, enable: bool) -> &mut Self {
        self.wasm_wide_arithmetic = enable;
        self
    }

    /// Accepts exception handling: tags, `throw`, `throw_ref`, `try_table`
    /// and `exnref`, and the legacy `try`/`catch`/`delegate`/`rethrow`
    /// form (default true, as in Wasmtime). When false, a module using
    /// them is rejected when it is compiled.
    pub fn wasm_exceptions(&mut self, enable: bool) -> &mut Self {
        self.wasm_exceptions = enable;
        self
    }

    /// Accepts the custom descriptors proposal: `(descriptor $d)` and
    /// `(describes $t)` clauses, exact reference types and exact function
    /// imports, `struct.new_desc`, `struct.new_default_desc`,
    /// `ref.get_desc`, `ref.cast_desc_eq` and `br_on_cast_desc_eq(_fail)`
    /// (default false: the proposal also relaxes the validation of
    /// `br_on_cast`, so with it on some modules that Wasm 3.0 rejects
    /// validate). Needs [`Config::wasm_reference_types`] (GC).
    pub fn wasm_custom_descriptors(&mut self, enable: bool) -> &mut Self {
        self.wasm_custom_descriptors = enable;
        self
    }

    /// Describes every module's compiled code to a profiler (default
    /// none): with [`ProfilingStrategy::PerfMap`], `perf report` names the
    /// Wasm function of each sample. Changes no code, so a cached or
    /// precompiled module is described as well.
    pub fn profiler(&mut self, strategy: ProfilingStrategy) -> &mut Self {
        self.profiler = strategy;
        self
    }

    /// Accepts modules with more than one memory (default true, as in
    /// Wasmtime). When false, such a module is rejected when it is compiled.
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.wasm_multi_memory = enable;
        self
    }

    /// Accepts reference types: `funcref`/`externref` values and several
    /// tables (default true, as in Wasmtime). When false, so are typed
    /// function references, GC and exception handling, which build on them
    /// (whatever [`Config::wasm_exceptions`] says), and a module using any
    /// of them is rejected when it is compiled.
    pub fn wasm_reference_types(&mut self, enable: bool) -> &mut Self {
        self.wasm_reference_types = enable;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_wasm_stack < 16 * 1024 {
            bail!(
                "max_wasm_stack must be at least 16 KiB (got {})",
                self.max_wasm_stack
            );
        }
        if self.tunables.memory_style == Some(MemoryStyle::Arena)
            && (self.tunables.arena_slot_bytes == 0 || self.arena_max_slots == 0)
        {
            bail!("arena memories need a slot size and a slot limit above 0");
        }
        if self.async_support && self.async_stack_size <= self.max_wasm_stack {
            bail!(
                "async_stack_size ({}) must be larger than max_wasm_stack ({})",
                self.async_stack_size,
                self.max_wasm_stack
            );
        }
        if self.tunables.memory_style != Some(MemoryStyle::Dynamic)
            && self.tunables.static_memory_reservation == 0
        {
            bail!("static_memory_reservation must not be 0 for static memories");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryType;

    fn memory(memory64: bool) -> MemoryType {
        if memory64 {
            MemoryType::new64(1, None)
        } else {
            MemoryType::new(1, None)
        }
    }

    #[test]
    fn defaults_pick_static_for_32_bit_memories() {
        let config = Config::new();
        let plan = |memory64| config.tunables.memory_plan(&memory(memory64));
        assert_eq!(plan(false).style, MemoryStyle::Static);
        assert_eq!(plan(true).style, MemoryStyle::Dynamic);
        assert_eq!(plan(true).guard_bytes, 64 * 1024);
        assert!(config.tunables.spectre_mitigations);
    }

    #[test]
    fn builder_methods_chain_and_validate() {
        let mut config = Config::new();
        config
            .memory_style(MemoryStyle::Dynamic)
            .memory_guard_size(4096)
            .spectre_mitigations(false)
            .max_wasm_stack(1);
        let plan = config.tunables.memory_plan(&memory(false));
        assert_eq!(plan.style, MemoryStyle::Dynamic);
        assert_eq!(plan.guard_bytes, 4096);
        assert!(!config.tunables.spectre_mitigations);
        assert!(config.validate().is_err());
    }

    #[test]
    fn a_static_memory_needs_a_reservation() {
        let mut config = Config::new();
        config.static_memory_reservation(0);
        assert!(config.validate().is_err());
        config.memory_style(MemoryStyle::Dynamic);
        assert!(config.validate().is_ok());
    }
}
