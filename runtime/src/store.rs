//! Stores: the owner of instances, memories, tables, globals, host functions
//! and extern references, plus the embedder's data `T`.

use crate::engine::Engine;
use crate::exception::{ExceptionAllocation, TagEntry};
use crate::externref::ExternRefEntry;
use crate::func::Func;
use crate::func::HostFuncAllocation;
use crate::gc::{GcStats, GcStore};
use crate::global::GlobalEntry;
use crate::instance::InstanceData;
use crate::interruption::EpochCallback;
use crate::limits::{self, Growth, LimiterAccessor, WithLimiter};
use crate::memory::MemoryEntry;
use crate::table::TableEntry;
use anyhow::Result;
use remap_compiler::vmctx::VMRuntimeLimits;
use remap_memory::MemoryStats;
use std::cell::{RefCell, UnsafeCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies a store, so handles used with the wrong store are caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    /// The id as a number (never reused within the process).
    pub(crate) fn as_u64(self) -> u64 {
        self.0
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// Owns everything instances create and the embedder's state `T`.
/// Dropping it frees them all.
pub struct Store<T> {
    pub(crate) inner: Box<StoreInner<T>>,
}

/// The store's contents. `opaque` comes first so a pointer to this struct is
/// also a pointer to its [`StoreOpaque`] (compiled code and builtins only see that).
#[repr(C)]
pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    /// Finds the embedder's limiter in `data` (limits.rs).
    pub(crate) limiter: Option<LimiterAccessor<T>>,
    pub(crate) data: T,
}

/// The part of a store that does not depend on `T`.
#[doc(hidden)]
#[allow(
    clippy::vec_box,
    reason = "vmctx fields, compiled code and handles point into the boxes, so they must not move"
)]
pub struct StoreOpaque {
    id: StoreId,
    engine: Engine,
    /// Instances hold notifier registrations on memories, so they go first.
    pub(crate) instances: Vec<Box<InstanceData>>,
    pub(crate) memories: Vec<MemoryEntry>,
    pub(crate) tables: Vec<Box<TableEntry>>,
    pub(crate) globals: Vec<Box<GlobalEntry>>,
    pub(crate) host_funcs: Vec<HostFuncAllocation>,
    /// Linker host functions already added to this store, by the address of
    /// their shared closure, so instantiating again reuses them.
    pub(crate) linker_funcs: HashMap<usize, Func>,
    /// Host values of extern references (externref.rs); `None` once
    /// collected, its index then on `free_externrefs`.
    pub(crate) externrefs: Vec<Option<ExternRefEntry>>,
    pub(crate) free_externrefs: Vec<u32>,
    /// Every tag of the store, by `Tag` index (exception.rs).
    pub(crate) tags: Vec<TagEntry>,
    /// Every exception object made in the store, by `ExnRef` index; builtins
    /// add to it through a shared borrow (exception.rs).
    pub(crate) exceptions: RefCell<Vec<ExceptionAllocation>>,
    /// The GC heap and roots (gc/); dropped before `limits`, which its
    /// notifier writes.
    pub(crate) gc: RefCell<GcStore>,
    limits: Box<UnsafeCell<VMRuntimeLimits>>,
    /// What happens when the epoch deadline passes: `None` traps
    /// (interruption.rs).
    pub(crate) epoch_callback: Option<EpochCallback>,
    /// Runs a growth with the limiter of this store's `T` (limits.rs):
    /// how code that only sees this part reaches it.
    pub(crate) with_limiter: unsafe fn(*mut StoreOpaque, WithLimiter<'_>) -> Result<Growth>,
}

impl Drop for StoreOpaque {
    fn drop(&mut self) {
        // SAFETY: the limits are still alive (fields drop after this) and
        // nothing else uses the store any more.
        unsafe { self.engine.forget_epoch_store(self.limits()) };
    }
}

// SAFETY: the raw pointers inside a store (vmctx allocations, table storage,
// host contexts, exception objects) are owned by the store and only used by
// whoever holds it;
// a store is used by one thread at a time, like any `Send` value. It is not
// `Sync`: instances keep segment state in `Cell`/`RefCell`s and compiled code
// writes the runtime limits through shared pointers, so `&StoreOpaque` must
// not be shared between threads (the fields' own auto traits say so).
unsafe impl Send for StoreOpaque {}

impl StoreOpaque {
    pub(crate) fn id(&self) -> StoreId {
        self.id
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store's `VMRuntimeLimits`, shared with compiled code.
    pub(crate) fn limits(&self) -> *mut VMRuntimeLimits {
        self.limits.get()
    }

    /// Panics with a clear message when a handle from another store is used.
    #[track_caller]
    pub(crate) fn assert_owns(&self, id: StoreId, what: &str) {
        assert!(
            id == self.id,
            "{what} used with a store it does not belong to"
        );
    }

    /// Summed statistics of this store's linear memories.
    pub(crate) fn memory_stats(&self) -> MemoryStats {
        let mut total = MemoryStats::default();
        for entry in &self.memories {
            let stats = entry.memory().stats();
            total.committed_bytes += stats.committed_bytes;
            total.peak_committed_bytes += stats.peak_committed_bytes;
            total.pinned_bytes += stats.pinned_bytes;
            total.relocations += stats.relocations;
            total.grows += stats.grows;
            total.protection_calls_requested += stats.protection_calls_requested;
            total.protection_calls_issued += stats.protection_calls_issued;
        }
        total
    }
}

impl<T> Store<T> {
    /// A store for `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        Store {
            inner: Box::new(StoreInner {
                opaque: StoreOpaque {
                    id: StoreId(NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed)),
                    engine: engine.clone(),
                    instances: Vec::new(),
                    memories: Vec::new(),
                    tables: Vec::new(),
                    globals: Vec::new(),
                    host_funcs: Vec::new(),
                    linker_funcs: HashMap::new(),
                    externrefs: Vec::new(),
                    free_externrefs: Vec::new(),
                    tags: Vec::new(),
                    exceptions: RefCell::new(Vec::new()),
                    gc: RefCell::new(GcStore::new(engine.config().gc_heap_limit)),
                    limits: Box::new(UnsafeCell::new(VMRuntimeLimits {
                        // The deadline starts at 0, which has passed.
                        epoch_deadline_passed: 1,
                        epoch_trampoline: engine.epoch_trampoline(),
                        ..VMRuntimeLimits::default()
                    })),
                    epoch_callback: None,
                    with_limiter: limits::with_limiter::<T>,
                },
                limiter: None,
                data,
            }),
        }
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store and returns the embedder's data.
    pub fn into_data(self) -> T {
        let inner = *self.inner;
        let StoreInner {
            opaque,
            limiter,
            data,
        } = inner;
        drop(limiter);
        drop(opaque);
        data
    }

    /// The engine the store belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// Summed statistics of this store's linear memories.
    pub fn memory_stats(&self) -> MemoryStats {
        self.inner.opaque.memory_stats()
    }

    /// Statistics of this store's GC heap.
    pub fn gc_stats(&self) -> GcStats {
        self.inner.opaque.gc_stats()
    }

    /// Collects garbage now: every GC object no root reaches is freed.
    pub fn gc(&mut self) {
        self.inner.opaque.collect_garbage();
        self.inner.opaque.free_unreached_externrefs();
    }
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.opaque.id)
            .finish_non_exhaustive()
    }
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<'a, T> StoreContext<'a, T> {
    /// The embedder's data.
    pub fn data(&self) -> &'a T {
        &self.0.data
    }

    /// The engine.
    pub fn engine(&self) -> &'a Engine {
        &self.0.opaque.engine
    }
}

impl<'a, T> StoreContextMut<'a, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }
}

/// Something that can lend a shared borrow of a store.
pub trait AsContext {
    /// The store's data type.
    type Data;
    /// Borrows the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that can lend an exclusive borrow of a store.
pub trait AsContextMut: AsContext {
    /// Borrows the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keeps_data_and_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Store<u32>>();
        let mut store = Store::new(&Engine::default(), 5u32);
        *store.data_mut() += 1;
        assert_eq!(*store.as_context().data(), 6);
        assert_eq!(store.memory_stats().committed_bytes, 0);
        assert_eq!(store.into_data(), 6);
    }
}
