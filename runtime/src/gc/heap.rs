//! The GC heap of one store: a `remap-memory` linear memory (a guarded
//! reservation, dynamic style) holding objects laid out as
//! `remap_compiler::gc_layout` says, with allocation, marking and sweeping.
//!
//! Layout invariant: every byte of `[FIRST_OBJECT, end)` belongs to an object
//! or to a free block, so the heap can be walked from `FIRST_OBJECT`. A free
//! block has the header type id [`FREE_BLOCK`] and its size in the flags
//! word; only its header is ever read, so the rest of it may hold anything
//! (stale bytes, or zero pages given back to the kernel). Bytes from `end`
//! to the memory's length hold no object. Allocation zeroes every object it
//! hands out. Offset 0 is never an object (it is the null reference).
//!
//! Allocation bumps a cursor through the current free run, then through
//! the next free run the last sweep found (lowest address first), then at
//! `end`, growing the memory (by relocation with `mremap` when the
//! reservation is full). The heap's notifier writes every new base into the
//! store's `VMRuntimeLimits`, where compiled code reads it. Objects never
//! move otherwise: references are heap offsets and stay valid across
//! relocations. `in_use` counts the bytes of objects (live at the last sweep
//! plus allocated since), so the caller's soft limit bounds the work done
//! between collections even when the heap has room.
//!
//! Returning memory: after a sweep, [`GcHeap::release_idle_pages`] is told
//! how many bytes the allocator may hand out before the next collection is
//! due. Free space is used in a known order (free runs by address, then the
//! end), so the free bytes past that budget cannot be reached before the
//! next collection: their whole host pages are given back to the kernel
//! (`LinearMemory::discard_pages`, `MADV_DONTNEED`). This does not thrash:
//! a page is released only when it will stay unused at least until the
//! next collection, which happens after the live bytes' worth of
//! allocation; released pages are remembered (`ReleasedPages`) until the
//! allocator reaches them again, so no page is released twice, and idle
//! stretches shorter than [`MIN_RELEASE_BYTES`] stay resident (a system
//! call would cost more than their RAM is worth). A heap whose free space
//! is all needed before the next collection (the steady state, where the
//! heap is twice the live bytes) releases nothing.
//!
//! Failure behaviour: an allocation the limit cannot hold returns `None`;
//! the memory is unchanged by a refused growth. A refused release leaves
//! the pages resident and is otherwise ignored (the heap stays correct).

use super::layout::ObjectLayout;
use remap_compiler::gc_layout::{
    ARRAY_LENGTH, FLAG_ARRAY, FLAG_MARKED, GcRef, HEADER_FLAGS, HEADER_TYPE_ID, OBJECT_ALIGN,
};
use remap_compiler::vmctx::VMRuntimeLimits;
use remap_memory::{
    InvalidationNotifier, LinearMemory, MemoryConfig, MemoryError, MemoryStyle, MemoryView,
    NotifierRegistration,
};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Header type id of a free block.
const FREE_BLOCK: u32 = u32::MAX;
/// Offset of the first object (offset 0 is null).
const FIRST_OBJECT: u32 = OBJECT_ALIGN;
/// The heap grows in steps of this many bytes.
const HEAP_PAGE: u64 = 64 * 1024;
/// Room for in-place growth before the heap relocates.
const HEAP_RESERVE: u64 = 16 << 20;
/// Inaccessible bytes after the reservation.
const HEAP_GUARD: u64 = 64 * 1024;
/// Idle stretches of free space shorter than this stay resident.
const MIN_RELEASE_BYTES: u64 = 64 * 1024;

/// A store's GC heap.
pub(crate) struct GcHeap {
    memory: LinearMemory,
    /// `memory`'s view, refreshed after each growth (see `view`).
    view: MemoryView,
    _base_registration: NotifierRegistration,
    /// End of the walkable part (see the module invariant).
    end: u32,
    /// The free run being allocated from: `cursor..run_end`.
    cursor: u32,
    run_end: u32,
    /// Free runs of the last sweep not yet used, highest address first.
    free_runs: Vec<Range<u32>>,
    /// Bytes of objects: live at the last sweep plus allocated since.
    in_use: u64,
    /// Host pages of free space given back to the kernel.
    released: ReleasedPages,
    /// Layouts of the types objects were allocated with, indexed by engine
    /// type id (dense: ids index the engine's type registry).
    layouts: Vec<Option<Arc<ObjectLayout>>>,
}

impl GcHeap {
    /// An empty heap of at most `limit_bytes` whose base is kept in
    /// `limits.gc_heap_base`.
    ///
    /// # Safety
    /// `limits` must stay valid for as long as the heap lives.
    pub(crate) unsafe fn new(
        limit_bytes: u64,
        limits: *mut VMRuntimeLimits,
    ) -> Result<GcHeap, MemoryError> {
        let memory = LinearMemory::new(MemoryConfig {
            style: MemoryStyle::dynamic(HEAP_RESERVE, HEAP_GUARD),
            initial_bytes: 0,
            limit_bytes: Some(limit_bytes),
            page_size: HEAP_PAGE,
            ..MemoryConfig::default()
        })?;
        let notifier = Arc::new(HeapBaseNotifier {
            limits,
            released: AtomicBool::new(false),
        });
        let registration = memory.register_notifier(notifier.clone())?;
        notifier.write(memory.view());
        Ok(GcHeap {
            view: memory.view(),
            memory,
            _base_registration: registration,
            end: FIRST_OBJECT,
            cursor: 0,
            run_end: 0,
            free_runs: Vec::new(),
            in_use: 0,
            released: ReleasedPages::new(),
            layouts: Vec::new(),
        })
    }

    /// Bytes of address space the heap has accessible now.
    pub(crate) fn heap_bytes(&self) -> u64 {
        self.view.len as u64
    }

    /// How many times the heap moved to a new reservation.
    pub(crate) fn relocations(&self) -> u64 {
        self.memory.stats().relocations
    }

    /// The heap's accessible bytes: a copy of the memory's view, which
    /// changes only when the heap grows (`take_from_end`), so every field
    /// access does not take the memory's view lock.
    fn view(&self) -> MemoryView {
        self.view
    }

    /// The layout of engine type `type_id` of an allocated object.
    pub(crate) fn layout(&self, type_id: u32) -> Option<&Arc<ObjectLayout>> {
        self.layouts.get(type_id as usize)?.as_ref()
    }

    /// Remembers `layout` for engine type `type_id`.
    pub(crate) fn register_layout(&mut self, type_id: u32, layout: Arc<ObjectLayout>) {
        let index = type_id as usize;
        if self.layouts.len() <= index {
            self.layouts.resize(index + 1, None);
        }
        self.layouts[index].get_or_insert(layout);
    }

    /// Allocates a zeroed object of `size` bytes (a multiple of
    /// [`OBJECT_ALIGN`]) with header `type_id`: an array of `len` elements
    /// when `array_len` is given, else a struct. Neither the bytes of
    /// objects (`in_use`) nor the heap may pass `soft_limit`; `None` when
    /// that is not enough room.
    pub(crate) fn allocate(
        &mut self,
        type_id: u32,
        array_len: Option<u32>,
        size: u32,
        soft_limit: u64,
    ) -> Option<u32> {
        debug_assert!(size.is_multiple_of(OBJECT_ALIGN) && size >= OBJECT_ALIGN);
        let in_use = self.in_use + u64::from(size);
        if in_use > soft_limit {
            return None;
        }
        let offset = match self.take_from_runs(size) {
            Some(offset) => offset,
            None => self.take_from_end(size, soft_limit)?,
        };
        self.in_use = in_use;
        let base = self.view().base;
        // SAFETY: `offset..offset + size` lies inside the accessible heap
        // (taken from a free run or from the end, which the heap covers).
        unsafe { std::ptr::write_bytes(base.add(offset as usize), 0, size as usize) };
        self.write_u32(offset, HEADER_TYPE_ID, type_id);
        if let Some(len) = array_len {
            self.write_u32(offset, HEADER_FLAGS, FLAG_ARRAY);
            self.write_u32(offset, ARRAY_LENGTH, len);
        }
        Some(offset)
    }

    fn take_from_runs(&mut self, size: u32) -> Option<u32> {
        while self.run_end - self.cursor < size {
            let run = self.free_runs.pop()?;
            self.released.forget(run.clone());
            self.cursor = run.start;
            self.run_end = run.end;
        }
        let offset = self.cursor;
        self.cursor += size;
        if self.cursor < self.run_end {
            self.write_free_block(self.cursor, self.run_end - self.cursor);
        }
        Some(offset)
    }

    fn take_from_end(&mut self, size: u32, grow_limit: u64) -> Option<u32> {
        let new_end = self.end.checked_add(size)?;
        let needed = u64::from(new_end);
        if needed > self.heap_bytes() {
            if needed > grow_limit {
                return None;
            }
            let delta_bytes = needed - self.heap_bytes();
            self.memory.grow(delta_bytes.div_ceil(HEAP_PAGE)).ok()?;
            self.view = self.memory.view();
        }
        let offset = self.end;
        self.released.forget(offset..new_end);
        self.end = new_end;
        Some(offset)
    }

    /// Gives back to the kernel the whole host pages of free space the
    /// allocator cannot reach before it has handed out `reuse_bytes` more
    /// (see the module docs); the bytes released now.
    pub(crate) fn release_idle_pages(&mut self, reuse_bytes: u64) -> u64 {
        let mut budget = reuse_bytes;
        let mut idle = Vec::new();
        // The order allocation takes free space in: runs by address, then
        // the end.
        let heap_end = u32::try_from(self.heap_bytes()).unwrap_or(u32::MAX);
        let tail = self.end..heap_end;
        for run in self.free_runs.iter().rev().chain([&tail]) {
            let len = u64::from(run.end - run.start);
            if budget >= len {
                budget -= len;
                continue;
            }
            // The run's header (at its start) is read by sweeps; a run
            // entered past its start keeps the bytes before the cut.
            let keep = u32::try_from(budget).expect("less than the run");
            let start = run.start + keep.max(OBJECT_ALIGN);
            budget = 0;
            if start < run.end {
                idle.push(start..run.end);
            }
        }
        let mut released = 0;
        for range in idle {
            released += self.released.release(&self.memory, range);
        }
        released
    }

    fn write_free_block(&self, offset: u32, size: u32) {
        self.write_u32(offset, HEADER_TYPE_ID, FREE_BLOCK);
        self.write_u32(offset, HEADER_FLAGS, size);
    }

    /// Reads the `u32` at `offset + field` of the heap.
    pub(crate) fn read_u32(&self, offset: u32, field: i32) -> u32 {
        let address = self.address(offset, field, 4);
        // SAFETY: `address` checked the range lies inside the heap.
        unsafe { address.cast::<u32>().read_unaligned() }
    }

    /// Writes the `u32` at `offset + field` of the heap.
    pub(crate) fn write_u32(&self, offset: u32, field: i32, value: u32) {
        let address = self.address(offset, field, 4);
        // SAFETY: as in `read_u32`.
        unsafe { address.cast::<u32>().write_unaligned(value) }
    }

    /// Reads the reference at `offset + field` of the heap.
    pub(crate) fn read_u64(&self, offset: u32, field: u32) -> u64 {
        let address = self.address(offset, field as i32, 8);
        // SAFETY: as in `read_u32`.
        unsafe { address.cast::<u64>().read_unaligned() }
    }

    /// The address of `len` bytes at `offset + field`; panics when they
    /// are not inside the heap (a runtime bug: offsets come from objects).
    pub(crate) fn address(&self, offset: u32, field: i32, len: usize) -> *mut u8 {
        let view = self.view();
        let start = (offset as usize)
            .checked_add_signed(field as isize)
            .filter(|start| start.checked_add(len).is_some_and(|end| end <= view.len))
            .expect("GC heap access out of bounds");
        // SAFETY: in bounds of the accessible heap (checked above).
        unsafe { view.base.add(start) }
    }

    /// The layout and size of the object at `offset`.
    fn object_at(&self, offset: u32) -> (&ObjectLayout, u32) {
        let type_id = self.read_u32(offset, HEADER_TYPE_ID);
        let layout = self
            .layout(type_id)
            .expect("every object's type has a layout");
        let len = if layout.is_array() {
            self.read_u32(offset, ARRAY_LENGTH)
        } else {
            0
        };
        let size = layout.object_size(len).expect("allocated sizes fit");
        (layout, size)
    }

    /// Marks every object reachable from `roots` (raw references);
    /// `on_extern` sees every host `externref` index reached.
    pub(crate) fn mark(
        &self,
        roots: impl IntoIterator<Item = u64>,
        on_extern: &mut dyn FnMut(u32),
    ) {
        let mut worklist = Vec::new();
        let mut visit = |raw: u64, worklist: &mut Vec<u32>| match GcRef::from_raw(raw) {
            Some(GcRef::Object(offset)) => {
                let flags = self.read_u32(offset, HEADER_FLAGS);
                if flags & FLAG_MARKED == 0 {
                    self.write_u32(offset, HEADER_FLAGS, flags | FLAG_MARKED);
                    worklist.push(offset);
                }
            }
            Some(GcRef::Extern(index)) => on_extern(index),
            Some(GcRef::Null | GcRef::I31(_)) | None => {}
        };
        for raw in roots {
            visit(raw, &mut worklist);
        }
        while let Some(offset) = worklist.pop() {
            let (layout, _) = self.object_at(offset);
            match layout {
                ObjectLayout::Struct { traced, .. } => {
                    for &field in traced.iter() {
                        visit(self.read_u64(offset, field), &mut worklist);
                    }
                }
                ObjectLayout::Array { traced: true, .. } => {
                    let len = self.read_u32(offset, ARRAY_LENGTH);
                    for index in 0..len {
                        let field = remap_compiler::gc_layout::ARRAY_ELEMENTS + index * 8;
                        visit(self.read_u64(offset, field), &mut worklist);
                    }
                }
                ObjectLayout::Array { traced: false, .. } => {}
            }
        }
    }

    /// Frees every unmarked object and clears the marks: the live bytes
    /// remain. Adjacent free space becomes one free run.
    pub(crate) fn sweep(&mut self) -> u64 {
        let mut runs: Vec<Range<u32>> = Vec::new();
        let mut live = 0u64;
        let mut offset = FIRST_OBJECT;
        while offset < self.end {
            let type_id = self.read_u32(offset, HEADER_TYPE_ID);
            let (size, free) = if type_id == FREE_BLOCK {
                (self.read_u32(offset, HEADER_FLAGS), true)
            } else {
                let (_, size) = self.object_at(offset);
                let flags = self.read_u32(offset, HEADER_FLAGS);
                if flags & FLAG_MARKED != 0 {
                    self.write_u32(offset, HEADER_FLAGS, flags & !FLAG_MARKED);
                    live += u64::from(size);
                    (size, false)
                } else {
                    (size, true)
                }
            };
            if free {
                match runs.last_mut() {
                    Some(run) if run.end == offset => run.end += size,
                    _ => runs.push(offset..offset + size),
                }
            }
            offset += size;
        }
        if runs.last().is_some_and(|run| run.end == self.end) {
            self.end = runs.pop().expect("checked").start;
        }
        for run in &runs {
            self.write_free_block(run.start, run.end - run.start);
        }
        runs.reverse();
        self.free_runs = runs;
        self.cursor = 0;
        self.run_end = 0;
        self.in_use = live;
        live
    }
}

/// Which host pages of the heap hold free space given back to the kernel,
/// one bit per page, until the allocator reaches them again.
struct ReleasedPages {
    page: u32,
    bits: Vec<u64>,
}

impl ReleasedPages {
    fn new() -> ReleasedPages {
        let page = u32::try_from(remap_memory::host_page_size()).unwrap_or(u32::MAX);
        ReleasedPages {
            page,
            bits: Vec::new(),
        }
    }

    /// The pages `range` touches.
    fn pages_touched(&self, range: Range<u32>) -> Range<usize> {
        let first = range.start / self.page;
        let end = range.end.div_ceil(self.page);
        first as usize..end as usize
    }

    fn is_released(&self, page: usize) -> bool {
        self.bits
            .get(page / 64)
            .is_some_and(|word| word & (1 << (page % 64)) != 0)
    }

    /// Forgets that pages touching `range` were released: the allocator is
    /// about to use them (the kernel faults them in again).
    fn forget(&mut self, range: Range<u32>) {
        for page in self.pages_touched(range) {
            match self.bits.get_mut(page / 64) {
                Some(word) => *word &= !(1 << (page % 64)),
                None => break,
            }
        }
    }

    /// Releases the whole pages inside `range` (free space) not released
    /// yet, in stretches of at least [`MIN_RELEASE_BYTES`]; the bytes
    /// released.
    fn release(&mut self, memory: &LinearMemory, range: Range<u32>) -> u64 {
        let first = range.start.div_ceil(self.page) as usize;
        let end = (range.end / self.page) as usize;
        if end > self.bits.len() * 64 {
            self.bits.resize(end.div_ceil(64), 0);
        }
        let mut released = 0;
        let mut page = first;
        while page < end {
            if self.is_released(page) {
                page += 1;
                continue;
            }
            let stretch_start = page;
            while page < end && !self.is_released(page) {
                page += 1;
            }
            let bytes = ((page - stretch_start) as u64) * u64::from(self.page);
            if bytes < MIN_RELEASE_BYTES {
                continue;
            }
            let offsets =
                stretch_start as u64 * u64::from(self.page)..page as u64 * u64::from(self.page);
            // A pinned heap discards nothing (`Ok(0)`): its pages are marked
            // all the same, so they are not tried again.
            // SAFETY: the pages lie inside free space, whose contents no
            // one reads (see the module invariant), and nothing holds a
            // Rust reference into the heap.
            if let Ok(discarded) = unsafe { memory.discard_pages(offsets) } {
                for released_page in stretch_start..page {
                    self.bits[released_page / 64] |= 1 << (released_page % 64);
                }
                released += discarded;
            }
        }
        released
    }
}

/// Writes the heap's base into the store's runtime limits after every
/// change: the cached base compiled code reads.
struct HeapBaseNotifier {
    limits: *mut VMRuntimeLimits,
    released: AtomicBool,
}

// SAFETY: `limits` is the store's runtime limits, which outlive the heap
// (and so this registration); the heap changes only on the thread that uses
// the store.
unsafe impl Send for HeapBaseNotifier {}
// SAFETY: as above; the notifier only writes through `limits`.
unsafe impl Sync for HeapBaseNotifier {}

impl HeapBaseNotifier {
    fn write(&self, view: MemoryView) {
        if self.released.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: see the `Send` impl.
        unsafe { (*self.limits).gc_heap_base = view.base as usize };
    }
}

impl InvalidationNotifier for HeapBaseNotifier {
    fn invalidate_range_start(&self, _range: Range<usize>) {}

    fn invalidate_range_end(&self, _range: Range<usize>, new_view: MemoryView) {
        self.write(new_view);
    }

    fn release(&self) {
        self.released.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remap_compiler::types::{StorageType, ValType};

    fn heap(limits: &mut VMRuntimeLimits) -> GcHeap {
        // SAFETY: every test drops the heap before `limits`.
        let mut heap = unsafe { GcHeap::new(1 << 30, limits) }.expect("heap");
        heap.register_layout(
            7,
            Arc::new(ObjectLayout::Struct {
                size: 16,
                fields: vec![(StorageType::Val(ValType::EXTERNREF), 8)].into(),
                traced: vec![8].into(),
                descriptor: None,
            }),
        );
        heap
    }

    fn set_field(heap: &GcHeap, object: u32, value: u64) {
        let address = heap.address(object, 8, 8);
        // SAFETY: inside the heap (checked by `address`).
        unsafe { address.cast::<u64>().write_unaligned(value) };
    }

    #[test]
    fn unreachable_objects_and_cycles_are_swept_and_reused() {
        let mut limits = VMRuntimeLimits::default();
        let mut heap = heap(&mut limits);
        let a = heap.allocate(7, None, 16, u64::MAX).unwrap();
        let b = heap.allocate(7, None, 16, u64::MAX).unwrap();
        let c = heap.allocate(7, None, 16, u64::MAX).unwrap();
        set_field(&heap, a, u64::from(b));
        set_field(&heap, b, u64::from(a));
        set_field(&heap, c, u64::from(c));
        heap.mark([u64::from(a)], &mut |_| {});
        assert_eq!(heap.sweep(), 32);
        // `c` was the last object: the end moves back to it.
        assert_eq!(heap.allocate(7, None, 16, u64::MAX), Some(c));
        heap.mark([], &mut |_| {});
        assert_eq!(heap.sweep(), 0);
        assert_eq!(heap.allocate(7, None, 16, u64::MAX), Some(FIRST_OBJECT));
        assert_eq!(limits.gc_heap_base, heap.view().base as usize);
    }

    #[test]
    fn idle_free_pages_are_released_once_and_reused() {
        let mut limits = VMRuntimeLimits::default();
        let mut heap = heap(&mut limits);
        let count = 200_000u32;
        for _ in 0..count {
            heap.allocate(7, None, 16, u64::MAX).unwrap();
        }
        heap.mark([], &mut |_| {});
        assert_eq!(heap.sweep(), 0);
        // All of it is needed before the next collection: nothing goes.
        assert_eq!(heap.release_idle_pages(u64::MAX), 0);
        let released = heap.release_idle_pages(1 << 20);
        let page = remap_memory::host_page_size() as u64;
        assert!(released + (1 << 20) + 2 * page >= u64::from(count) * 16);
        assert_eq!(heap.release_idle_pages(1 << 20), 0, "released twice");
        // Allocation reaches the released pages again (zeroed objects),
        // and a later release gives them back once more: all but those
        // past the last object, which stayed released.
        for _ in 0..count {
            heap.allocate(7, None, 16, u64::MAX).unwrap();
        }
        heap.mark([], &mut |_| {});
        heap.sweep();
        let again = heap.release_idle_pages(1 << 20);
        assert!(
            again <= released && released - again < HEAP_PAGE,
            "{again} {released}"
        );
    }

    #[test]
    fn allocation_past_the_grow_limit_is_refused() {
        let mut limits = VMRuntimeLimits::default();
        let mut heap = heap(&mut limits);
        assert_eq!(heap.allocate(7, None, 16, 0), None);
        assert!(heap.allocate(7, None, 16, HEAP_PAGE).is_some());
    }
}
