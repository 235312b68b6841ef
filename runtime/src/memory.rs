//! Linear memories as the host sees them, built on `remap_memory::LinearMemory`.
//! Sizes are in the memory type's pages (64 KiB, or 1 byte with custom page
//! sizes) and u64 for 32- and 64-bit memories alike; each memory is laid out
//! by the compiler's plan for its type (64-bit and 1-byte-page memories are
//! always dynamic). A refused grow changes nothing.
//! The notifier that keeps each instance's cached view true is
//! `vm::vmctx::VmctxViewNotifier`. A memory an instance defines may start
//! as its module's copy-on-write image (memory_image.rs); if the image
//! cannot be mapped, the memory is created again without it and its
//! segments are copied. A memory planned for an arena
//! ([`MemoryStyle::Arena`]) lives in a slot of the engine's arena, with no
//! image (its segments are copied: mapping a file into a slot would split
//! the arena's mapping); a pinned one gets its own reservation instead,
//! which its full-end bounds checks serve as well. A store's use of a
//! shared memory is an entry too, holding the `SharedMemory`
//! (shared_memory.rs), which outlives the store; such an entry is never
//! recycled and needs no notifier of its own. Shared memories are never
//! planned for an arena (they must never move).

use crate::engine::Engine;
use crate::limits::{self, Growth, ResourceLimiter};
use crate::shared_memory::SharedMemory;
use crate::store::{AsContext, AsContextMut, StoreContextMut, StoreId, StoreOpaque};
use crate::types::MemoryType;
use crate::vm::registry::{self, ReservationRegistration};
use anyhow::{Context, Result, anyhow, bail};
use remap_compiler::MemoryStyle;
use remap_memory::{LinearMemory, MemoryConfig, MemoryImage, MemoryView};
use std::mem::ManuallyDrop;
use std::ops::Range;
use std::sync::Arc;

/// A memory owned by a store, or a store's use of a shared memory.
pub(crate) struct MemoryEntry {
    /// Taken in `drop`, to hand the memory back to the engine's slot cache.
    memory: ManuallyDrop<Arc<LinearMemory>>,
    ty: MemoryType,
    /// Taken in `drop` first: the registry holds the other handle on `memory`.
    /// `None` for a shared memory, which keeps its own registration, and
    /// for a memory planned for an arena: its code checks the full end of
    /// every access, so no access of it faults and a fault handler has
    /// nothing to look up (registering a million arena memories would also
    /// make that lookup, which scans every registered memory, slow).
    reservation: Option<ReservationRegistration>,
    /// The shared memory this entry uses, if it is one: it outlives the
    /// store, and its memory is never recycled.
    shared: Option<SharedMemory>,
    engine: Engine,
}

impl MemoryEntry {
    /// Creates the linear memory for `ty` as the engine's configuration says,
    /// in a cached reservation when the engine has one that fits.
    pub(crate) fn new(engine: &Engine, ty: MemoryType) -> Result<MemoryEntry> {
        MemoryEntry::with_image(engine, ty, None)
    }

    /// As [`Self::new`], with `image` mapped copy-on-write over the start of
    /// the memory. If the image cannot be mapped, the memory is dropped
    /// whole and created again without it; [`Self::has_image`] tells which
    /// happened, so that the caller copies the segments instead.
    pub(crate) fn with_image(
        engine: &Engine,
        ty: MemoryType,
        image: Option<Arc<MemoryImage>>,
    ) -> Result<MemoryEntry> {
        let config = memory_config(engine, &ty)?;
        let slots = engine.memory_slots();
        let arena = engine
            .memory_arena()
            .filter(|_| !config.pinned && in_arena(engine, &ty));
        let planned_for_arena = arena.is_some();
        let memory = match (arena, image) {
            (Some(arena), _) => LinearMemory::in_arena(config, arena).map_err(|error| {
                let full = matches!(error, remap_memory::MemoryError::ArenaFull { .. });
                let error = anyhow::Error::from(error);
                if full {
                    error.context(
                        "cannot create a memory in the engine's arena: raise \
                         Config::arena_max_slots (remap -O arena-max-slots=N)",
                    )
                } else {
                    error.context("cannot create a memory in the engine's arena")
                }
            })?,
            (None, image) => match image {
                Some(image) => match slots.create_with_image(config.clone(), Some(image)) {
                    Ok(memory) => memory,
                    Err(_) => slots.create(config)?,
                },
                None => slots.create(config)?,
            },
        };
        let memory = Arc::new(memory);
        Ok(MemoryEntry {
            reservation: (!planned_for_arena)
                .then(|| registry::register_reservation(memory.clone())),
            memory: ManuallyDrop::new(memory),
            ty,
            shared: None,
            engine: engine.clone(),
        })
    }

    /// A store's entry for `shared`, which must belong to the store's engine.
    pub(crate) fn for_shared(engine: &Engine, shared: SharedMemory) -> Result<MemoryEntry> {
        if !Engine::same(engine, shared.engine()) {
            bail!("a shared memory can only be used with stores of the engine it was created for");
        }
        Ok(MemoryEntry {
            memory: ManuallyDrop::new(shared.linear_memory().clone()),
            ty: shared.ty(),
            reservation: None,
            shared: Some(shared),
            engine: engine.clone(),
        })
    }

    /// The shared memory this entry uses, if it is one.
    pub(crate) fn shared(&self) -> Option<&SharedMemory> {
        self.shared.as_ref()
    }

    pub(crate) fn memory(&self) -> &Arc<LinearMemory> {
        &self.memory
    }

    /// Whether the memory was initialised from an image (so its data
    /// segments need no copying).
    pub(crate) fn has_image(&self) -> bool {
        self.memory.image().is_some()
    }

    pub(crate) fn ty(&self) -> MemoryType {
        self.ty.with_minimum(self.memory.size_pages())
    }

    /// Grows by `delta` pages, asking `limiter` first (limits.rs has the
    /// order of checks). A refusal changes nothing; an error is the
    /// limiter's, and stops the guest.
    pub(crate) fn grow(
        &self,
        delta: u64,
        mut limiter: Option<&mut dyn ResourceLimiter>,
    ) -> Result<Growth> {
        let maximum = self.ty.maximum().unwrap_or(self.ty.absolute_max_pages());
        let old = self.memory.size_pages();
        let Some(new) = old.checked_add(delta).filter(|&new| new <= maximum) else {
            return Ok(Growth::Refused(anyhow!(
                "failed to grow memory by {delta} pages: the maximum is {maximum} pages"
            )));
        };
        if let Some(limiter) = limiter.as_deref_mut() {
            let page = self.ty.page_size();
            let limit = self.ty.maximum().map(|pages| limits::bytes(pages, page));
            if !limiter.memory_growing(limits::bytes(old, page), limits::bytes(new, page), limit)? {
                return Ok(Growth::Refused(anyhow!(
                    "failed to grow memory by {delta} pages: the store's limiter refused it"
                )));
            }
        }
        match self.memory.grow(delta) {
            Ok(old) => Ok(Growth::Grew(old)),
            Err(error) => {
                let error = anyhow::Error::from(error)
                    .context(format!("failed to grow memory by {delta} pages"));
                match limiter {
                    Some(limiter) => {
                        limiter.memory_grow_failed(error)?;
                        Ok(Growth::Refused(anyhow!(
                            "failed to grow memory by {delta} pages"
                        )))
                    }
                    None => Ok(Growth::Refused(error)),
                }
            }
        }
    }
}

impl Drop for MemoryEntry {
    fn drop(&mut self) {
        // Faults in the reservation stop counting as Wasm traps from here on:
        // no code of this store runs any more.
        drop(self.reservation.take());
        // SAFETY: `memory` is never used again; this is its only take.
        let memory = unsafe { ManuallyDrop::take(&mut self.memory) };
        if self.shared.is_some() {
            return;
        }
        if let Ok(memory) = Arc::try_unwrap(memory) {
            self.engine.memory_slots().recycle(memory);
        }
    }
}

/// Whether the compiler planned a memory of type `ty` for an arena slot.
fn in_arena(engine: &Engine, ty: &MemoryType) -> bool {
    engine.compiler().tunables().memory_plan(ty).style == MemoryStyle::Arena
}

/// The `remap_memory` configuration of a memory of type `ty` in `engine`:
/// laid out by the same [`MemoryPlan`](remap_compiler::MemoryPlan) the
/// compiler derived the memory's bounds checks from.
///
/// A shared memory never moves: whatever the plan's style, it is laid out
/// static (never relocated), its reservation covering its whole maximum,
/// with the plan's guard after it, so every check the compiler derived from
/// the plan still holds (shared_memory.rs explains why).
pub(crate) fn memory_config(engine: &Engine, ty: &MemoryType) -> Result<MemoryConfig> {
    let config = engine.config();
    let plan = engine.compiler().tunables().memory_plan(ty);
    let page_size = ty.page_size();
    let initial_bytes = ty
        .minimum()
        .checked_mul(page_size)
        .context("memory minimum overflows")?;
    let maximum_pages = ty
        .maximum()
        .unwrap_or(ty.absolute_max_pages())
        .min(ty.absolute_max_pages());
    if ty.minimum() > maximum_pages {
        bail!(
            "memory minimum {} pages exceeds the maximum of {maximum_pages} pages",
            ty.minimum()
        );
    }
    let maximum_bytes = maximum_pages.saturating_mul(page_size);
    let style = match plan.style {
        MemoryStyle::Static => remap_memory::MemoryStyle::Static {
            reservation_bytes: plan.reservation_bytes.max(if ty.is_shared() {
                maximum_bytes
            } else {
                0
            }),
            guard_bytes: plan.guard_bytes,
        },
        MemoryStyle::Dynamic if ty.is_shared() => remap_memory::MemoryStyle::Static {
            reservation_bytes: maximum_bytes,
            guard_bytes: plan.guard_bytes,
        },
        MemoryStyle::Dynamic => remap_memory::MemoryStyle::Dynamic {
            reserve_bytes: plan.reservation_bytes,
            guard_bytes: plan.guard_bytes,
        },
        // Out of its slot (outgrown, or pinned) the memory is dynamic;
        // its code checks every access in full, so it needs no guard,
        // but keeps the default one as a second line of defence.
        MemoryStyle::Arena => remap_memory::MemoryStyle::Dynamic {
            reserve_bytes: engine.config().tunables.dynamic_memory_reserve,
            guard_bytes: remap_compiler::DEFAULT_DYNAMIC_GUARD_BYTES,
        },
    };
    Ok(MemoryConfig {
        style,
        pre_guard_bytes: config.memory_pre_guard_size,
        initial_bytes,
        maximum_bytes: Some(maximum_bytes),
        limit_bytes: config.max_memory_size,
        page_size,
        pinned: config.pin_memory,
        pin_budget: engine.pin_budget().cloned(),
        accounting: Some(engine.accounting().clone()),
    })
}

/// A linear memory owned by a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    store: StoreId,
    index: usize,
}

impl Memory {
    /// The store this handle belongs to.
    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    /// Creates a memory of type `ty`, which must not be shared (a shared
    /// memory is a [`SharedMemory`], made by [`SharedMemory::new`]).
    pub fn new(mut ctx: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        if ty.is_shared() {
            bail!("a shared memory type needs `SharedMemory::new`, not `Memory::new`");
        }
        let store = &mut ctx.as_context_mut().0.opaque;
        let entry = MemoryEntry::new(store.engine(), ty)?;
        Ok(Memory::push(store, entry))
    }

    pub(crate) fn push(store: &mut StoreOpaque, entry: MemoryEntry) -> Memory {
        store.memories.push(entry);
        Memory {
            store: store.id(),
            index: store.memories.len() - 1,
        }
    }

    pub(crate) fn entry<'a>(&self, store: &'a StoreOpaque) -> &'a MemoryEntry {
        store.assert_owns(self.store, "Memory");
        &store.memories[self.index]
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self, ctx: impl AsContext) -> MemoryType {
        self.entry(&ctx.as_context().0.opaque).ty()
    }

    /// The size in pages (of [`MemoryType::page_size`] bytes).
    pub fn size(&self, ctx: impl AsContext) -> u64 {
        self.entry(&ctx.as_context().0.opaque).memory.size_pages()
    }

    /// The size in bytes.
    pub fn data_size(&self, ctx: impl AsContext) -> usize {
        self.entry(&ctx.as_context().0.opaque).memory.view().len
    }

    /// Grows by `delta` pages and returns the old size in pages; refused
    /// (an error, nothing changed) past the maximum or by the store's
    /// limiter.
    pub fn grow(&self, mut ctx: impl AsContextMut, delta: u64) -> Result<u64> {
        let (store, limiter) = ctx.as_context_mut().0.split_limiter();
        match self.entry(store).grow(delta, limiter)? {
            Growth::Grew(old) => Ok(old),
            Growth::Refused(why) => Err(why),
        }
    }

    /// The memory's contents.
    pub fn data<'a, C: AsContext>(&self, ctx: &'a C) -> &'a [u8] {
        let view = self.entry(&ctx.as_context().0.opaque).memory.view();
        // SAFETY: the view's bytes are accessible while the store is borrowed:
        // only this store can grow or move the memory, and it is borrowed
        // shared for the slice's lifetime.
        unsafe { view_slice(view) }
    }

    /// The memory's contents, mutably.
    pub fn data_mut<'a, C: AsContextMut>(&self, ctx: &'a mut C) -> &'a mut [u8] {
        let view = self.entry(&ctx.as_context_mut().0.opaque).memory.view();
        // SAFETY: as in `data`, with the store borrowed exclusively.
        unsafe { view_slice_mut(view) }
    }

    /// The memory's contents and the store's data, both mutably.
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        ctx: impl Into<StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let StoreContextMut(inner) = ctx.into();
        let view = self.entry(&inner.opaque).memory.view();
        // SAFETY: as in `data_mut`; the data `T` is a separate field.
        (unsafe { view_slice_mut(view) }, &mut inner.data)
    }

    /// Copies `buffer.len()` bytes at `offset` into `buffer`.
    pub fn read(&self, ctx: impl AsContext, offset: usize, buffer: &mut [u8]) -> Result<()> {
        let data = self.data(&ctx);
        let range = byte_range(offset, buffer.len(), data.len())?;
        buffer.copy_from_slice(&data[range]);
        Ok(())
    }

    /// Copies `buffer` into the memory at `offset`.
    pub fn write(&self, mut ctx: impl AsContextMut, offset: usize, buffer: &[u8]) -> Result<()> {
        let data = self.data_mut(&mut ctx);
        let range = byte_range(offset, buffer.len(), data.len())?;
        data[range].copy_from_slice(buffer);
        Ok(())
    }

    /// Statistics of this memory (committed, pinned, relocations, ...).
    pub fn stats(&self, ctx: impl AsContext) -> remap_memory::MemoryStats {
        self.entry(&ctx.as_context().0.opaque).memory.stats()
    }

    /// Address of byte 0 (changes when a dynamic memory is relocated).
    pub fn data_ptr(&self, ctx: impl AsContext) -> *mut u8 {
        self.entry(&ctx.as_context().0.opaque).memory.view().base
    }
}

impl<'a, T> From<&'a mut crate::Store<T>> for StoreContextMut<'a, T> {
    fn from(store: &'a mut crate::Store<T>) -> StoreContextMut<'a, T> {
        store.as_context_mut()
    }
}

impl<'a, T> From<&'a mut crate::Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(caller: &'a mut crate::Caller<'_, T>) -> StoreContextMut<'a, T> {
        caller.as_context_mut()
    }
}

fn byte_range(offset: usize, len: usize, size: usize) -> Result<Range<usize>> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(offset..end),
        _ => bail!(
            "out of bounds memory access: {len} bytes at offset {offset} (memory is {size} bytes)"
        ),
    }
}

/// # Safety
/// The view must describe accessible memory that stays valid and unaliased for `'a`.
unsafe fn view_slice<'a>(view: MemoryView) -> &'a [u8] {
    if view.len == 0 {
        return &[];
    }
    // SAFETY: forwarded from the caller.
    unsafe { std::slice::from_raw_parts(view.base, view.len) }
}

/// # Safety
/// As for [`view_slice`], exclusively.
unsafe fn view_slice_mut<'a>(view: MemoryView) -> &'a mut [u8] {
    if view.len == 0 {
        return &mut [];
    }
    // SAFETY: forwarded from the caller.
    unsafe { std::slice::from_raw_parts_mut(view.base, view.len) }
}
