//! Garbage collection of Wasm GC objects (structs and arrays).
//!
//! Each store has one GC heap ([`heap::GcHeap`]), made on its first
//! allocation: a dynamic-style linear memory of `remap-memory`, limited by
//! `Config::gc_heap_limit`, that grows by relocation (`mremap`) with its
//! notifier keeping the base compiled code reads (in the store's
//! `VMRuntimeLimits`) true. References are heap offsets or tagged values
//! (`remap_compiler::gc_layout`); `i31` values are not heap objects.
//!
//! The collector is a non-moving **mark-sweep** collector: marking follows
//! references from exact roots, sweeping walks the heap once and turns
//! every unmarked object into free space that later allocations reuse. It
//! does not move objects, so no root needs rewriting: compiled code may keep
//! references in registers across calls that cannot collect, and the host
//! API's roots keep plain offsets. Fragmentation is the price; allocation
//! reuses free runs first-fit in address order, which keeps it low for the
//! equal-sized objects typical programs allocate.
//!
//! Casts of objects to concrete types read the store's supertype displays
//! (one per type objects were allocated with, made with its first object)
//! through `VMRuntimeLimits`; the displays live as long as the store.
//!
//! Roots: the store's globals, tables, passive element segments and
//! exception payloads of managed reference types (the `any` and `extern`
//! hierarchies), the host's roots (the LIFO list of scoped handles such as
//! [`AnyRef`] and [`crate::ExternRef`], and the [`OwnedAnyRef`] slots), and
//! the references live in Wasm frames at their
//! calls: Cranelift's stack maps, read by walking the frames of this
//! store's activations on the current thread.
//!
//! Host values of `externref`s are collected too: a collection records
//! which entries of the store's extern reference list it reached (from the
//! same roots, and through GC objects), and the unreached ones are dropped
//! as soon as the store is held exclusively (`Store::gc`, or making the
//! next extern reference, which collects first once the store holds twice
//! as many as were live).
//!
//! A collection runs when an allocation would bring the bytes of objects
//! (live at the last collection plus allocated since), or the heap, past a
//! soft limit (twice the bytes that survived the last collection, at least
//! [`MIN_COLLECTION_BYTES`]), and only where every root is known: in
//! builtins called by compiled code, and in host allocations (whose Wasm
//! callers are stopped at calls with stack maps). Constant expressions run
//! during instantiation allocate without collecting (their operands are in
//! no root). Running out of heap (the limit) is a trap
//! (`TrapKind::GcHeapExhausted`), never a crash.
//!
//! After each collection the heap gives the free pages it will not reuse
//! before the next one back to the kernel (the policy is in the `heap`
//! module's docs). Each collection's pause (marking, sweeping and that
//! release; one monotonic clock read at its start and one at its end) is
//! added to [`GcStats`].

mod heap;
mod host;
pub(crate) mod layout;

pub(crate) use host::Rooted;
pub use host::{
    AnyRef, ArrayRef, ArrayRefPre, EqRef, I31, OwnedAnyRef, RootScope, StructRef, StructRefPre,
};

use crate::store::StoreOpaque;
use crate::trap::TrapKind;
use crate::values::ValRaw;
use crate::vm::registry::{CodeInfo, FramePc};
use crate::vm::traps::visit_store_frames;
use heap::GcHeap;
use layout::{ObjectLayout, is_gc_managed, is_gc_managed_ref};
use remap_compiler::gc_layout::{GcRef, storage_size};
use remap_compiler::types::{
    CompositeInnerType, CompositeType, EngineTypeIndex, ModuleTypeIndex, ModuleTypes,
    RegisteredTypes, StorageType, SubType,
};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A collection is not due before the heap reaches this size.
pub const MIN_COLLECTION_BYTES: u64 = 1 << 20;

/// Making an extern reference does not collect before the store holds
/// this many.
pub const MIN_COLLECTION_EXTERNREFS: usize = 1024;

/// Statistics of a store's GC heap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Bytes of heap accessible now (what the heap's memory has grown to).
    pub heap_bytes: u64,
    /// Bytes of objects that survived the last collection.
    pub live_bytes: u64,
    /// Collections run so far.
    pub collections: u64,
    /// Times the heap moved to a new reservation as it grew.
    pub relocations: u64,
    /// Host values of extern references held now (collected ones excluded).
    pub externrefs: u64,
    /// Bytes of free heap pages given back to the kernel so far.
    pub released_bytes: u64,
    /// Time spent in collections so far (the sum of their pauses).
    pub total_pause: Duration,
    /// The longest pause of one collection.
    pub max_pause: Duration,
}

/// An owned host root: keeps the object (or host `externref`) it holds
/// alive while any [`OwnedAnyRef`] holds the slot. The collector does not
/// move objects, so the raw reference never changes.
#[derive(Debug)]
pub(crate) struct GcRootSlot {
    raw: u64,
}

impl GcRootSlot {
    /// The raw reference.
    pub(crate) fn raw(&self) -> u64 {
        self.raw
    }
}

/// A store's collector state: its heap (made on first use), limits and
/// host roots.
pub(crate) struct GcStore {
    /// Boxed: most stores never allocate an object, and the heap's memory
    /// bookkeeping would otherwise double the size of every store.
    heap: Option<Box<GcHeap>>,
    limit_bytes: u64,
    /// The heap may grow to this size before a collection is due.
    collect_at: u64,
    live_bytes: u64,
    collections: u64,
    released_bytes: u64,
    total_pause: Duration,
    max_pause: Duration,
    /// Roots of [`OwnedAnyRef`] handles, dead ones forgotten lazily.
    host_roots: Vec<Weak<GcRootSlot>>,
    /// Roots of scoped handles (see `host::Rooted`).
    lifo_roots: Vec<u64>,
    /// Which host `externref` entries the last collection reached, until
    /// the unreached ones are freed (which takes the store exclusively).
    reached_externrefs: Option<Vec<bool>>,
    /// Making an `externref` collects first once the store holds this many.
    externref_collect_at: usize,
    /// Types the host registered to allocate objects of (kept registered
    /// while the store lives, like its objects).
    host_types: Vec<RegisteredTypes>,
    /// The supertype display of each type objects were allocated with
    /// (`[n, t_0, ..., t_{n-1}]`, root first, the type itself last).
    displays: Vec<Box<[u32]>>,
    /// Addresses of `displays` by engine type id (0 for other types): the
    /// table compiled code reads through `VMRuntimeLimits`.
    display_table: Vec<usize>,
}

impl GcStore {
    /// A store's collector state with heap limit `limit_bytes`.
    pub(crate) fn new(limit_bytes: u64) -> GcStore {
        GcStore {
            heap: None,
            limit_bytes,
            collect_at: MIN_COLLECTION_BYTES.min(limit_bytes),
            live_bytes: 0,
            collections: 0,
            released_bytes: 0,
            total_pause: Duration::ZERO,
            max_pause: Duration::ZERO,
            host_roots: Vec::new(),
            lifo_roots: Vec::new(),
            reached_externrefs: None,
            externref_collect_at: MIN_COLLECTION_EXTERNREFS,
            host_types: Vec::new(),
            displays: Vec::new(),
            display_table: Vec::new(),
        }
    }
}

impl StoreOpaque {
    /// Allocates a zeroed object of engine type `type_id` (an array of
    /// `len` elements, for an array type), collecting first when the heap
    /// is due for a collection and `may_collect` (every root is known).
    pub(crate) fn gc_allocate(
        &self,
        type_id: u32,
        len: u32,
        may_collect: bool,
    ) -> Result<u32, TrapKind> {
        // The common case: the type's layout is cached in the heap (no
        // reference count or registry lookup on the allocation path).
        let cached = self
            .gc
            .borrow()
            .heap
            .as_ref()
            .and_then(|heap| heap.layout(type_id))
            .map(|layout| (layout.object_size(len), layout.is_array()));
        let (size, is_array, new_layout) = match cached {
            Some((size, is_array)) => (size, is_array, None),
            None => {
                let layout = self.new_gc_layout(type_id)?;
                (layout.object_size(len), layout.is_array(), Some(layout))
            }
        };
        let size = size.ok_or(TrapKind::GcHeapExhausted)?;
        let array_len = is_array.then_some(len);
        {
            let mut gc = self.gc.borrow_mut();
            let gc = &mut *gc;
            let heap = match &mut gc.heap {
                Some(heap) => heap,
                slot @ None => {
                    // SAFETY: the limits are boxed in the store, which owns
                    // the heap and drops it first (a field before `limits`).
                    let heap = unsafe { GcHeap::new(gc.limit_bytes, self.limits()) }
                        .map_err(|_| TrapKind::GcHeapExhausted)?;
                    slot.insert(Box::new(heap))
                }
            };
            if let Some(layout) = new_layout {
                heap.register_layout(type_id, layout);
            }
            let soft_limit = if may_collect {
                gc.collect_at
            } else {
                gc.limit_bytes
            };
            if let Some(offset) = heap.allocate(type_id, array_len, size, soft_limit) {
                return Ok(offset);
            }
        }
        if may_collect {
            self.collect_garbage();
        }
        let mut gc = self.gc.borrow_mut();
        let limit = gc.limit_bytes;
        gc.heap
            .as_mut()
            .and_then(|heap| heap.allocate(type_id, array_len, size, limit))
            .ok_or(TrapKind::GcHeapExhausted)
    }

    /// The layout of engine type `type_id` (not cached in the heap yet),
    /// which must be a struct or array type.
    fn new_gc_layout(&self, type_id: u32) -> Result<Arc<ObjectLayout>, TrapKind> {
        let registry = self.engine().type_registry();
        let index = EngineTypeIndex::from_u32(type_id);
        // Compiled code and the host API only allocate struct and array
        // types: anything else is a type confusion, refused.
        let layout = ObjectLayout::of(registry, index).ok_or(TrapKind::CastFailure)?;
        let supertypes = registry.supertypes(index).unwrap_or_default();
        self.register_display(type_id, &supertypes);
        Ok(Arc::new(layout))
    }

    /// Makes the supertype display of engine type `type_id` (whose
    /// supertypes are `supertypes`) visible to compiled code.
    fn register_display(&self, type_id: u32, supertypes: &[EngineTypeIndex]) {
        let mut gc = self.gc.borrow_mut();
        let gc = &mut *gc;
        if gc
            .display_table
            .get(type_id as usize)
            .is_some_and(|&address| address != 0)
        {
            return;
        }
        let chain = supertypes
            .iter()
            .map(|index| index.as_u32())
            .chain([type_id]);
        let len = supertypes.len() as u32 + 1;
        let display: Box<[u32]> = std::iter::once(len).chain(chain).collect();
        if gc.display_table.len() <= type_id as usize {
            gc.display_table.resize(type_id as usize + 1, 0);
        }
        gc.display_table[type_id as usize] = display.as_ptr() as usize;
        gc.displays.push(display);
        // SAFETY: the limits are the store's own; compiled code is stopped
        // in a call (or not running) while the runtime allocates.
        unsafe { (*self.limits()).gc_type_displays = gc.display_table.as_ptr() as usize };
    }

    /// Runs `f` with the heap, which exists once an object was allocated.
    pub(crate) fn with_gc_heap<R>(&self, f: impl FnOnce(&GcHeap) -> R) -> Option<R> {
        self.gc.borrow().heap.as_deref().map(f)
    }

    /// Registers a final struct or array type of the host (in a rec group
    /// of its own) and keeps it registered: its engine type id.
    pub(crate) fn gc_register_host_type(&self, inner: CompositeInnerType) -> anyhow::Result<u32> {
        let sub_type = SubType {
            is_final: true,
            supertype: None,
            descriptor: None,
            describes: None,
            composite: CompositeType {
                shared: false,
                inner,
            },
        };
        let types = ModuleTypes::from_rec_groups([vec![sub_type]])?;
        let registered = self.engine().register_module_types(&types)?;
        let type_id = registered
            .engine_index(ModuleTypeIndex::from_u32(0))
            .expect("one type registered")
            .as_u32();
        self.gc.borrow_mut().host_types.push(registered);
        Ok(type_id)
    }

    /// Writes the low bytes of `value` as a field of `storage` at heap
    /// offset `offset` (inside an object just allocated).
    pub(crate) fn gc_write_raw(&self, offset: u32, storage: StorageType, value: ValRaw) {
        let size = storage_size(storage) as usize;
        let bytes = value.get_u128().to_le_bytes();
        self.with_gc_heap(|heap| {
            let address = heap.address(offset, 0, size);
            // SAFETY: `address` checked the bytes lie inside the heap.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), address, size) };
        });
    }

    /// Registers an owned host root holding `raw`.
    pub(crate) fn gc_root(&self, raw: u64) -> Arc<GcRootSlot> {
        let slot = Arc::new(GcRootSlot { raw });
        let mut gc = self.gc.borrow_mut();
        // Dropped roots are forgotten when the list would double, so it
        // stays proportional to the live roots.
        if gc.host_roots.len() == gc.host_roots.capacity() {
            gc.host_roots.retain(|root| root.strong_count() > 0);
        }
        gc.host_roots.push(Arc::downgrade(&slot));
        slot
    }

    /// Pushes `raw` on the LIFO root list; its index.
    pub(crate) fn gc_root_lifo(&self, raw: u64) -> u32 {
        let mut gc = self.gc.borrow_mut();
        let index = u32::try_from(gc.lifo_roots.len()).expect("fewer than 2^32 scoped roots");
        gc.lifo_roots.push(raw);
        index
    }

    /// Whether LIFO root `index` exists and holds `raw`.
    pub(crate) fn gc_lifo_root_holds(&self, index: u32, raw: u64) -> bool {
        self.gc.borrow().lifo_roots.get(index as usize) == Some(&raw)
    }

    /// The LIFO root list's length (a root scope's start).
    pub(crate) fn gc_lifo_depth(&self) -> usize {
        self.gc.borrow().lifo_roots.len()
    }

    /// Releases the LIFO roots from `depth` on (a root scope's end).
    pub(crate) fn gc_release_lifo_roots(&self, depth: usize) {
        self.gc.borrow_mut().lifo_roots.truncate(depth);
    }

    /// The heap's statistics.
    pub(crate) fn gc_stats(&self) -> GcStats {
        let gc = self.gc.borrow();
        GcStats {
            heap_bytes: gc.heap.as_deref().map_or(0, GcHeap::heap_bytes),
            live_bytes: gc.live_bytes,
            collections: gc.collections,
            relocations: gc.heap.as_deref().map_or(0, GcHeap::relocations),
            externrefs: (self.externrefs.len() - self.free_externrefs.len()) as u64,
            released_bytes: gc.released_bytes,
            total_pause: gc.total_pause,
            max_pause: gc.max_pause,
        }
    }

    /// Collects garbage: marks from every root, sweeps the rest.
    ///
    /// Must run only where every root is known: outside Wasm, in a host
    /// function, or in a builtin compiled code called.
    pub(crate) fn collect_garbage(&self) {
        let started = Instant::now();
        let roots = self.gc_roots();
        let mut gc = self.gc.borrow_mut();
        let gc = &mut *gc;
        let mut reached = vec![false; self.externrefs.len()];
        let mut on_extern = |index: u32| {
            if let Some(flag) = reached.get_mut(index as usize) {
                *flag = true;
            }
        };
        let collect_at = |live: u64| {
            live.saturating_mul(2)
                .max(MIN_COLLECTION_BYTES)
                .min(gc.limit_bytes)
        };
        let mut released = 0;
        let live = match gc.heap.as_mut() {
            Some(heap) => {
                heap.mark(roots, &mut on_extern);
                let live = heap.sweep();
                released = heap.release_idle_pages(collect_at(live).saturating_sub(live));
                live
            }
            None => {
                roots.into_iter().for_each(|raw| {
                    if let Some(GcRef::Extern(index)) = GcRef::from_raw(raw) {
                        on_extern(index);
                    }
                });
                0
            }
        };
        let live_externrefs = reached.iter().filter(|&&flag| flag).count();
        gc.externref_collect_at = (2 * live_externrefs).max(MIN_COLLECTION_EXTERNREFS);
        gc.reached_externrefs = Some(reached);
        gc.live_bytes = live;
        gc.collections += 1;
        gc.collect_at = collect_at(live);
        gc.released_bytes += released;
        let pause = started.elapsed();
        gc.total_pause += pause;
        gc.max_pause = gc.max_pause.max(pause);
    }

    /// Drops the host values of the extern references the last collection
    /// did not reach (entries made since then are kept).
    pub(crate) fn free_unreached_externrefs(&mut self) {
        let Some(reached) = self.gc.get_mut().reached_externrefs.take() else {
            return;
        };
        for (index, reached) in reached.into_iter().enumerate() {
            if !reached && self.externrefs[index].take().is_some() {
                self.free_externrefs.push(index as u32);
            }
        }
    }

    /// Whether the store holds so many extern references (twice those
    /// live after the last collection, at least
    /// [`MIN_COLLECTION_EXTERNREFS`]) that making another should collect
    /// first.
    pub(crate) fn externref_collection_due(&self) -> bool {
        let held = self.externrefs.len() - self.free_externrefs.len();
        held >= self.gc.borrow().externref_collect_at
    }

    /// Every root's raw reference (see the module docs).
    fn gc_roots(&self) -> Vec<u64> {
        let registry = self.engine().type_registry();
        let mut roots = Vec::new();
        for global in &self.globals {
            if is_gc_managed(registry, *global.ty().content()) {
                // SAFETY: the cell is live; Wasm is stopped in a call.
                roots.push(unsafe { (*global.cell()).get_reference() });
            }
        }
        for table in &self.tables {
            if is_gc_managed_ref(registry, *table.ty().element()) {
                table.for_each_element(&mut |raw| roots.push(raw));
            }
        }
        for instance in &self.instances {
            instance.for_each_segment_reference(registry, &mut |raw| roots.push(raw));
        }
        self.for_each_exception_reference(registry, &mut |raw| roots.push(raw));
        {
            let gc = self.gc.borrow();
            roots.extend(
                gc.host_roots
                    .iter()
                    .filter_map(Weak::upgrade)
                    .map(|root| root.raw),
            );
            roots.extend_from_slice(&gc.lifo_roots);
        }
        let mut visit_frame = |code: &CodeInfo, pc: FramePc, fp: usize| {
            let record = match pc {
                FramePc::Return(return_address) => code.stack_map(return_address),
                // The frame that called the builtin running now: its stack
                // maps all share the function's frame size, and its call
                // pushed the return address just below that frame.
                FramePc::InFunction(address) => {
                    code.function_stack_maps(address)
                        .iter()
                        .find_map(|candidate| {
                            let slot = fp.checked_sub(candidate.frame_size as usize + 8)?;
                            // SAFETY: below the frame pointer of a stopped frame
                            // and above the running builtin's: the live stack.
                            let return_address = unsafe { *(slot as *const usize) };
                            code.stack_map(return_address)
                                .filter(|found| found.frame_size == candidate.frame_size)
                        })
                }
                FramePc::Faulting(_) => None,
            };
            if let Some(record) = record {
                let sp = fp - record.frame_size as usize;
                for &slot in &record.slots {
                    // SAFETY: the stack map names an 8-byte slot of this
                    // live frame (checked to lie inside it when loaded).
                    roots.push(unsafe { *((sp + slot as usize) as *const u64) });
                }
            }
        };
        // SAFETY: collections run only while this store's Wasm is stopped
        // in a call out (see `collect_garbage`).
        unsafe { visit_store_frames(self.limits(), &mut visit_frame) };
        roots
    }
}
