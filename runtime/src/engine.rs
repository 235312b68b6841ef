//! The engine: configuration, the engine-wide function type registry, memory
//! accounting, and the cache of host trampolines.

use crate::config::Config;
use crate::types::FuncType;
use anyhow::Result;
use remap_compiler::Compiler;
use remap_memory::{Accounting, MemoryStats, PinBudget, SlotCache};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

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
    host_trampolines: Mutex<HashMap<u32, crate::module::HostTrampoline>>,
    /// The one-thread pool that compiles when parallel compilation is off,
    /// made on first use and kept, so each module does not start a thread.
    serial_compilation: OnceLock<rayon::ThreadPool>,
}

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
        let compiler = Compiler::new(crate::module::tunables(config))?.with_simd(config.wasm_simd);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                compiler,
                types: TypeRegistry::default(),
                accounting: Accounting::new(),
                pin_budget: config.pin_budget.map(PinBudget::new),
                memory_slots: SlotCache::new(config.memory_slot_cache, config.memory_keep_resident),
                host_trampolines: Mutex::new(HashMap::new()),
                serial_compilation: OnceLock::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Memory statistics summed over every linear memory this engine created.
    pub fn memory_stats(&self) -> MemoryStats {
        self.inner.accounting.stats()
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

    /// The engine-wide id of a function type (interned).
    pub(crate) fn type_id(&self, ty: &FuncType) -> u32 {
        self.inner.types.intern(ty)
    }

    /// A host trampoline (Wasm -> host call adapter) for `ty`, compiled on first use.
    pub(crate) fn host_trampoline(&self, ty: &FuncType) -> Result<crate::module::HostTrampoline> {
        let id = self.type_id(ty);
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(&id) {
            return Ok(found.clone());
        }
        let trampoline = crate::module::HostTrampoline::compile(self, ty)?;
        cache.insert(id, trampoline.clone());
        Ok(trampoline)
    }
}

/// Interns function types: equal types get equal ids, so `call_indirect`
/// compares signatures by comparing two integers.
#[derive(Default)]
struct TypeRegistry {
    inner: RwLock<TypeTable>,
}

#[derive(Default)]
struct TypeTable {
    ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
}

impl TypeRegistry {
    fn intern(&self, ty: &FuncType) -> u32 {
        if let Some(&id) = self
            .inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .ids
            .get(ty)
        {
            return id;
        }
        let mut table = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(&id) = table.ids.get(ty) {
            return id;
        }
        let id = u32::try_from(table.types.len()).expect("fewer than 2^32 distinct function types");
        table.types.push(ty.clone());
        table.ids.insert(ty.clone(), id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ValType;

    #[test]
    fn equal_types_get_equal_ids() {
        let registry = TypeRegistry::default();
        let a = FuncType::new([ValType::I32], []);
        let b = FuncType::new([ValType::I64], []);
        let id_a = registry.intern(&a);
        assert_ne!(id_a, registry.intern(&b));
        assert_eq!(id_a, registry.intern(&FuncType::new([ValType::I32], [])));
        assert_eq!(registry.inner.read().unwrap().types[id_a as usize], a);
    }

    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
    }
}
