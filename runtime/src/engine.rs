//! The engine: configuration, the engine-wide type registry, memory
//! accounting, and the cache of host trampolines.
//!
//! Every module and host function registers its types in the engine's
//! [`TypeRegistry`] and keeps the registration alive as long as it exists:
//! engine type indices are reused once unregistered, so nothing here is
//! keyed by one (the host trampoline cache is keyed by [`FuncType`]).

use crate::config::Config;
use crate::types::FuncType;
use crate::vm::epoch_deadlines::EpochDeadlines;
use anyhow::{Context, Result};
use remap_compiler::Compiler;
use remap_compiler::MemoryStyle;
use remap_compiler::types::{ModuleTypes, RegisteredType, RegisteredTypes, TypeRegistry};
use remap_compiler::vmctx::VMRuntimeLimits;
use remap_memory::{
    Accounting, Arena, FiberStackPool, FiberStackStats, MemoryStats, PinBudget, SlotCache,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Compiles modules and owns the settings every store created from it shares.
/// Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    config: Config,
    /// Built once: detecting the host CPU's features is not free.
    compiler: Compiler,
    types: TypeRegistry,
    accounting: Accounting,
    pin_budget: Option<PinBudget>,
    /// Retired linear memories whose reservations new ones reuse.
    memory_slots: SlotCache,
    /// The arena small memories live in, when the configuration asks for
    /// [`MemoryStyle::Arena`]; it maps nothing until its first memory.
    memory_arena: Option<Arena>,
    host_trampolines: Mutex<HashMap<FuncType, crate::module::HostTrampoline>>,
    /// The one-thread pool that compiles when parallel compilation is off,
    /// made on first use and kept, so each module does not start a thread.
    serial_compilation: OnceLock<rayon::ThreadPool>,
    /// The epoch and the stores' deadlines (interruption.rs,
    /// vm/epoch_deadlines.rs).
    epoch_deadlines: EpochDeadlines,
    /// The `preserve_all` trampoline epoch checks call, when the engine
    /// compiles code for epoch interruption.
    epoch_trampoline: Option<crate::module::HostTrampoline>,
    /// Stacks for the fibers async calls run on (vm/fiber.rs).
    fiber_stacks: FiberStackPool,
}

/// Returned fiber stacks an engine keeps for reuse: bounds the mappings
/// parked, and the memory they keep (the pages their last call touched,
/// typically a few KiB each).
const MAX_IDLE_FIBER_STACKS: usize = 64;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl Engine {
    /// An engine with this configuration.
    pub fn new(config: &Config) -> Result<Engine> {
        config.validate()?;
        crate::vm::signals::install_handlers();
        let compiler = Compiler::new(crate::module::tunables(config))?
            .with_simd(config.wasm_simd)
            .with_relaxed_simd(config.wasm_simd && config.wasm_relaxed_simd)
            .with_wide_arithmetic(config.wasm_wide_arithmetic)
            .with_exceptions(config.wasm_exceptions)
            .with_multi_memory(config.wasm_multi_memory)
            .with_reference_types(config.wasm_reference_types)
            .with_custom_descriptors(config.wasm_custom_descriptors);
        let epoch_trampoline = if config.tunables.epoch_interruption {
            let compiled = compiler.compile_epoch_trampoline()?;
            Some(crate::module::HostTrampoline::publish(compiled)?)
        } else {
            None
        };
        let memory_arena = match config.tunables.memory_style {
            Some(MemoryStyle::Arena) => Some(
                Arena::new(config.tunables.arena_slot_bytes, config.arena_max_slots)
                    .context("invalid memory arena configuration")?,
            ),
            _ => None,
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                compiler,
                types: TypeRegistry::new(),
                accounting: Accounting::new(),
                pin_budget: config.pin_budget.map(PinBudget::new),
                memory_slots: SlotCache::new(config.memory_slot_cache, config.memory_keep_resident),
                memory_arena,
                host_trampolines: Mutex::new(HashMap::new()),
                serial_compilation: OnceLock::new(),
                epoch_deadlines: EpochDeadlines::new(),
                epoch_trampoline,
                fiber_stacks: FiberStackPool::new(config.async_stack_size, MAX_IDLE_FIBER_STACKS),
            }),
        })
    }

    /// Advances the epoch by one; callable from any thread. Guests of
    /// stores whose deadline it reaches stop at their next check (with
    /// `Config::epoch_interruption`).
    ///
    /// Async-signal-safe, as Wasmtime's: it may be called from a signal
    /// handler (it never allocates or blocks).
    pub fn increment_epoch(&self) {
        self.inner.epoch_deadlines.increment();
    }

    /// The current epoch.
    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch_deadlines.epoch()
    }

    /// Moves the deadline of the store whose limits are `limits` to
    /// `deadline`, keeping the word compiled code checks true.
    ///
    /// # Safety
    /// As [`EpochDeadlines::set`].
    pub(crate) unsafe fn set_epoch_deadline(&self, limits: *mut VMRuntimeLimits, deadline: u64) {
        if self.config().tunables.epoch_interruption {
            // SAFETY: guaranteed by the caller.
            unsafe { self.inner.epoch_deadlines.set(limits, deadline) }
        } else {
            // SAFETY: guaranteed by the caller; no code checks epochs.
            unsafe { (*limits).epoch_deadline = deadline };
        }
    }

    /// Forgets the deadline of a store being dropped.
    ///
    /// # Safety
    /// As [`EpochDeadlines::forget_store`].
    pub(crate) unsafe fn forget_epoch_store(&self, limits: *mut VMRuntimeLimits) {
        if self.config().tunables.epoch_interruption {
            // SAFETY: guaranteed by the caller.
            unsafe { self.inner.epoch_deadlines.forget_store(limits) }
        }
    }

    /// The `preserve_all` trampoline epoch checks call (0 when the engine
    /// does not compile for epoch interruption); valid while the engine
    /// lives.
    pub(crate) fn epoch_trampoline(&self) -> usize {
        self.inner
            .epoch_trampoline
            .as_ref()
            .map_or(0, |trampoline| trampoline.address() as usize)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Memory statistics summed over every linear memory this engine created.
    pub fn memory_stats(&self) -> MemoryStats {
        self.inner.accounting.stats()
    }

    /// Counts of the fiber stacks async calls run on: `stacks_in_use` is
    /// the number of live fibers (calls in progress or suspended).
    pub fn fiber_stats(&self) -> FiberStackStats {
        self.inner.fiber_stacks.stats()
    }

    /// The pool fiber stacks come from and go back to.
    pub(crate) fn fiber_stacks(&self) -> &FiberStackPool {
        &self.inner.fiber_stacks
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// The one-thread pool for compiling without parallelism.
    pub(crate) fn serial_compilation(&self) -> Result<&rayon::ThreadPool> {
        if let Some(pool) = self.inner.serial_compilation.get() {
            return Ok(pool);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|error| anyhow::anyhow!("creating a compilation thread: {error}"))?;
        // Two threads may race to build one: either pool serves.
        Ok(self.inner.serial_compilation.get_or_init(|| pool))
    }

    pub(crate) fn compiler(&self) -> &Compiler {
        &self.inner.compiler
    }

    pub(crate) fn accounting(&self) -> &Accounting {
        &self.inner.accounting
    }

    pub(crate) fn pin_budget(&self) -> Option<&PinBudget> {
        self.inner.pin_budget.as_ref()
    }

    pub(crate) fn memory_slots(&self) -> &SlotCache {
        &self.inner.memory_slots
    }

    /// The arena small memories live in, with [`MemoryStyle::Arena`].
    pub(crate) fn memory_arena(&self) -> Option<&Arena> {
        self.inner.memory_arena.as_ref()
    }

    /// What the engine's memory arena holds now (`None` without one).
    pub fn memory_arena_stats(&self) -> Option<crate::ArenaStats> {
        self.memory_arena().map(Arena::stats)
    }

    /// Registers the type of a host function; the result keeps its engine
    /// index alive.
    pub(crate) fn register_func_type(&self, ty: &FuncType) -> Result<RegisteredType> {
        self.inner
            .types
            .register_func_type(ty)
            .with_context(|| format!("registering function type {ty}"))
    }

    /// Registers a module's types; the result maps them to engine indices
    /// and keeps those alive.
    pub(crate) fn register_module_types(&self, types: &ModuleTypes) -> Result<RegisteredTypes> {
        self.inner
            .types
            .register_module(types)
            .context("registering the module's types")
    }

    /// The engine's type registry.
    pub(crate) fn type_registry(&self) -> &TypeRegistry {
        &self.inner.types
    }

    /// A host trampoline (Wasm -> host call adapter) for `ty`, compiled on first use.
    pub(crate) fn host_trampoline(&self, ty: &FuncType) -> Result<crate::module::HostTrampoline> {
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(ty) {
            return Ok(found.clone());
        }
        let trampoline = crate::module::HostTrampoline::compile(self, ty)?;
        cache.insert(ty.clone(), trampoline.clone());
        Ok(trampoline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ValType;

    #[test]
    fn equal_host_types_share_an_engine_index_while_registered() {
        let engine = Engine::default();
        let a = engine
            .register_func_type(&FuncType::new([ValType::I32], []))
            .unwrap();
        let b = engine
            .register_func_type(&FuncType::new([ValType::I64], []))
            .unwrap();
        assert_ne!(a.index(), b.index());
        let again = engine
            .register_func_type(&FuncType::new([ValType::I32], []))
            .unwrap();
        assert_eq!(a.index(), again.index());
        drop((a, again));
        assert!(engine.type_registry().func_type(b.index()).is_some());
        assert_eq!(engine.type_registry().type_count(), 1);
    }

    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
    }
}
