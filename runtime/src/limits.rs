//! Resource limits: an embedder's [`ResourceLimiter`] decides every growth
//! of a memory or table of its store (from Wasm's `memory.grow` and
//! `table.grow` and from the host API alike, and the initial sizes at
//! instantiation) and caps how many instances, tables and memories the
//! store may hold. [`StoreLimits`] is a ready-made limiter.
//!
//! Order of checks: a growth past the type's maximum is refused before the
//! limiter is asked; only a growth the limiter allows reaches the memory
//! subsystem, whose own refusals (the engine's `max_memory_size`, address
//! space) go to `memory_grow_failed`. A denied growth therefore changes
//! nothing (size, contents, pins, statistics): `memory.grow` returns -1,
//! `table.grow` -1, the host API an error. A limiter that returns an error stops the growing guest:
//! the error unwinds like a trap and the call into Wasm returns it.
//!
//! The limiter lives in the store's data `T`; the store keeps the accessor
//! the embedder gave ([`Store::limiter`]) next to the data, so the two can
//! be borrowed apart from the rest of the store. Code that only sees the
//! type-erased store (builtins) reaches it through `StoreOpaque::with_limiter`,
//! a function made for the store's `T`.

use crate::store::{Store, StoreInner, StoreOpaque};
use anyhow::{Result, bail};

/// Default cap on instances, tables and memories per store (as Wasmtime).
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// Default cap on tables per store.
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// Default cap on memories per store.
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// Decides how far a store's memories and tables may grow and how many of
/// them and of instances it may hold.
pub trait ResourceLimiter {
    /// A memory wants to grow from `current` to `desired` bytes (its
    /// maximum, if any, is `maximum` bytes). `Ok(false)` denies the growth
    /// (`memory.grow` returns -1); an error stops the guest.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// A growth the limiter allowed failed in the memory subsystem (e.g. out
    /// of address space). `Ok(())` lets `memory.grow` return -1; an error
    /// stops the guest.
    fn memory_grow_failed(&mut self, error: anyhow::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// A table wants to grow from `current` to `desired` elements.
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// Most instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// Most tables the store may hold.
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// Most memories the store may hold.
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }
}

/// A [`ResourceLimiter`] with fixed limits; build it with
/// [`StoreLimitsBuilder`].
#[derive(Clone, Debug)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    tables: usize,
    memories: usize,
    trap_on_grow_failure: bool,
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            trap_on_grow_failure: false,
        }
    }
}

impl StoreLimits {
    /// Allows a growth up to `limit`; past it, denies it or (when asked to
    /// trap) fails naming `what`.
    fn allow(&self, what: &str, desired: usize, limit: Option<usize>) -> Result<bool> {
        match limit {
            Some(limit) if desired > limit => {
                if self.trap_on_grow_failure {
                    bail!(
                        "forcing trap: {what} growth to {desired} exceeds the store's limit of {limit}"
                    );
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _: Option<usize>,
    ) -> Result<bool> {
        self.allow("memory", desired, self.memory_size)
    }

    fn memory_grow_failed(&mut self, error: anyhow::Error) -> Result<()> {
        if self.trap_on_grow_failure {
            return Err(error.context("forcing trap: memory growth failed"));
        }
        Ok(())
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _: Option<usize>) -> Result<bool> {
        self.allow("table", desired, self.table_elements)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }
}

/// Builds a [`StoreLimits`]; every limit is unbounded (or the default
/// count) unless set.
#[derive(Clone, Debug, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// A builder with no limits set.
    pub fn new() -> StoreLimitsBuilder {
        StoreLimitsBuilder::default()
    }

    /// Largest size in bytes any one linear memory may reach.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// Largest number of elements any one table may reach.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// Most instances in the store.
    pub fn instances(mut self, count: usize) -> Self {
        self.0.instances = count;
        self
    }

    /// Most tables in the store.
    pub fn tables(mut self, count: usize) -> Self {
        self.0.tables = count;
        self
    }

    /// Most memories in the store.
    pub fn memories(mut self, count: usize) -> Self {
        self.0.memories = count;
        self
    }

    /// Makes a growth past a limit (or a failed growth) stop the guest with
    /// an error instead of returning -1.
    pub fn trap_on_grow_failure(mut self, trap: bool) -> Self {
        self.0.trap_on_grow_failure = trap;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

/// Reaches the embedder's limiter inside the store's data.
pub(crate) type LimiterAccessor<T> =
    Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// What became of a growth the limiter did not stop.
pub(crate) enum Growth {
    /// It happened; the old size.
    Grew(u64),
    /// It was refused, for this reason; nothing changed.
    Refused(anyhow::Error),
}

/// A growth run with the store's limiter, if it has one.
pub(crate) type WithLimiter<'a> =
    &'a mut dyn FnMut(&StoreOpaque, Option<&mut dyn ResourceLimiter>) -> Result<Growth>;

/// `pages` of `page_size` bytes as a byte count for the limiter
/// (saturating: no memory can be that large anyway).
pub(crate) fn bytes(pages: u64, page_size: u64) -> usize {
    usize::try_from(pages.saturating_mul(page_size)).unwrap_or(usize::MAX)
}

/// `elements` as a count for the limiter (saturating).
pub(crate) fn elements(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// Checks that instantiating `module` stays within `limiter`: the store's
/// counts of instances, tables and memories, and the initial size of each
/// table and memory the module defines (asked as growths from zero).
pub(crate) fn check_instantiation(
    store: &StoreOpaque,
    limiter: Option<&mut dyn ResourceLimiter>,
    module: &crate::Module,
) -> Result<()> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    let info = module.info();
    let defined_tables = info.tables.len() - info.num_imported_tables as usize;
    let defined_memories = info.memories.len() - info.num_imported_memories as usize;
    let counts = [
        ("instances", store.instances.len() + 1, limiter.instances()),
        (
            "tables",
            store.tables.len() + defined_tables,
            limiter.tables(),
        ),
        (
            "memories",
            store.memories.len() + defined_memories,
            limiter.memories(),
        ),
    ];
    for (what, wanted, limit) in counts {
        if wanted > limit {
            bail!(
                "instantiation would make {wanted} {what} in the store, over its limit of {limit}"
            );
        }
    }
    for table in &info.tables[info.num_imported_tables as usize..] {
        let ty = table.ty;
        let maximum = ty.maximum().map(elements);
        if !limiter.table_growing(0, elements(ty.minimum()), maximum)? {
            bail!(
                "the store's limiter refused a table of {} elements",
                ty.minimum()
            );
        }
    }
    for ty in &info.memories[info.num_imported_memories as usize..] {
        let page = ty.page_size();
        let maximum = ty.maximum().map(|pages| bytes(pages, page));
        if !limiter.memory_growing(0, bytes(ty.minimum(), page), maximum)? {
            bail!(
                "the store's limiter refused a memory of {} bytes",
                bytes(ty.minimum(), page)
            );
        }
    }
    Ok(())
}

impl<T> StoreInner<T> {
    /// The store apart from its limiter, and the limiter (borrowed from the
    /// data), so both can be used at once.
    pub(crate) fn split_limiter(&mut self) -> (&mut StoreOpaque, Option<&mut dyn ResourceLimiter>) {
        let limiter = match &mut self.limiter {
            Some(accessor) => Some(accessor(&mut self.data)),
            None => None,
        };
        (&mut self.opaque, limiter)
    }
}

/// Runs `body` with the store behind `store` and its limiter: what
/// `StoreOpaque::with_limiter` points at, made for the store's `T`.
///
/// # Safety
/// `store` must point at a whole live `StoreInner<T>` to which no
/// reference is live.
pub(crate) unsafe fn with_limiter<T>(
    store: *mut StoreOpaque,
    body: WithLimiter<'_>,
) -> Result<Growth> {
    let inner = store.cast::<StoreInner<T>>();
    // SAFETY: guaranteed by the caller: the fields are borrowed apart, each
    // once, for the duration of `body`.
    unsafe {
        let data = &mut *std::ptr::addr_of_mut!((*inner).data);
        let limiter = (*std::ptr::addr_of_mut!((*inner).limiter))
            .as_mut()
            .map(|accessor| accessor(data));
        body(&*std::ptr::addr_of!((*inner).opaque), limiter)
    }
}

impl<T> Store<T> {
    /// Puts every growth of this store's memories and tables, and the
    /// number of instances, tables and memories it holds, under the limiter
    /// `accessor` finds in the store's data.
    pub fn limiter(
        &mut self,
        accessor: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        self.inner.limiter = Some(Box::new(accessor));
    }
}
