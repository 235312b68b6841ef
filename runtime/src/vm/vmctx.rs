//! Instance contexts (vmctx, ABI.md "VMContext"): their allocation, every
//! write of their fields, reading the instance and store back from a vmctx,
//! and the notifier that keeps a vmctx's cached memory views true.
//!
//! Invariants: a [`Vmctx`] is laid out by the `VMOffsets` of its module and
//! zeroed until instantiation fills it; every field is written through a
//! method here at an offset of that layout, with the field's type. Pointers
//! written into a vmctx (store, instance, limits, builtins, functions, globals,
//! tables) point at things the instance's store owns, which outlive every run
//! of the instance's code.
//!
//! Failure behaviour: allocation failure aborts through
//! `handle_alloc_error`, as any Rust allocation; nothing else here fails.

use crate::instance::InstanceData;
use crate::store::StoreOpaque;
use crate::values::ValRaw;
use crate::vm::builtins::BUILTINS;
use remap_compiler::vmctx::{
    VMCTX_MAGIC, VMFuncRef, VMFunctionImport, VMMemoryView, VMOffsets, VMRuntimeLimits,
    VMTableDefinition,
};
use remap_memory::{InvalidationNotifier, LinearMemory, MemoryView, NotifierRegistration};
use std::alloc::Layout;
use std::ops::Range;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An instance's vmctx allocation, laid out by its module's `VMOffsets`.
pub(crate) struct Vmctx {
    ptr: NonNull<u8>,
    layout: Layout,
    offsets: VMOffsets,
}

impl Drop for Vmctx {
    fn drop(&mut self) {
        // SAFETY: allocated in `Vmctx::new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl Vmctx {
    /// A zeroed vmctx for a module with layout `offsets`.
    pub(crate) fn new(offsets: VMOffsets) -> Vmctx {
        let layout =
            Layout::from_size_align(offsets.size() as usize, 16).expect("vmctx size fits a layout");
        // SAFETY: the layout has a non-zero size (the header alone is 48 bytes).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Vmctx {
            ptr,
            layout,
            offsets,
        }
    }

    /// The vmctx pointer compiled code receives.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Writes `value` at byte `offset`.
    ///
    /// # Safety
    /// `offset` must be a field of type `V` in this vmctx's layout.
    unsafe fn write<V>(&self, offset: u32, value: V) {
        // SAFETY: guaranteed by the caller; fields are naturally aligned.
        unsafe { self.at::<V>(offset).write(value) }
    }

    /// The address of the field of type `V` at byte `offset`.
    fn at<V>(&self, offset: u32) -> *mut V {
        assert!(
            offset as usize + size_of::<V>() <= self.layout.size(),
            "vmctx field out of bounds"
        );
        // SAFETY: in bounds of the allocation (checked above).
        unsafe { self.ptr.as_ptr().add(offset as usize).cast::<V>() }
    }

    /// Fills the header (magic, limits, builtins, type ids, store, instance).
    ///
    /// # Safety
    /// The pointers must stay valid while the instance's code can run:
    /// `limits` and `store` are the owning store's, `type_ids` the module's,
    /// `instance` the instance's data that owns this vmctx.
    pub(crate) unsafe fn init_header(
        &self,
        limits: *mut VMRuntimeLimits,
        type_ids: *const u32,
        store: *mut StoreOpaque,
        instance: *mut InstanceData,
    ) {
        // SAFETY: each write targets a fixed header field of every layout
        // (ABI.md "VMContext") with the field's declared type.
        unsafe {
            self.write(VMOffsets::MAGIC, VMCTX_MAGIC);
            self.write(VMOffsets::RUNTIME_LIMITS, limits);
            self.write(VMOffsets::BUILTINS, BUILTINS.as_ptr());
            self.write(VMOffsets::TYPE_IDS, type_ids);
            self.write(VMOffsets::STORE, store);
            self.write(VMOffsets::INSTANCE, instance);
        }
    }

    /// Sets imported function `index` (what `call` to an import reads).
    ///
    /// # Safety
    /// `import` must be a live function of the instance's store.
    pub(crate) unsafe fn set_imported_function(&self, index: u32, import: VMFunctionImport) {
        // SAFETY: an imported-function field of this layout.
        unsafe { self.write(self.offsets.imported_function(index), import) }
    }

    /// Sets the `VMFuncRef` of function `index` (imported or defined).
    ///
    /// # Safety
    /// `func_ref` must describe a live function of the instance's store.
    pub(crate) unsafe fn set_func_ref(&self, index: u32, func_ref: VMFuncRef) {
        // SAFETY: a func-ref field of this layout.
        unsafe { self.write(self.offsets.func_ref(index), func_ref) }
    }

    /// The `VMFuncRef` of function `index`: what a `funcref` to it holds.
    pub(crate) fn func_ref(&self, index: u32) -> NonNull<VMFuncRef> {
        NonNull::new(self.at::<VMFuncRef>(self.offsets.func_ref(index))).expect("vmctx is non-null")
    }

    /// Sets the pointer to global `index`'s value cell.
    ///
    /// # Safety
    /// `cell` must be a global of the instance's store.
    pub(crate) unsafe fn set_global(&self, index: u32, cell: *mut ValRaw) {
        // SAFETY: a global-pointer field of this layout.
        unsafe { self.write(self.offsets.global(index), cell) }
    }

    /// Sets the pointer to table `index`'s definition.
    ///
    /// # Safety
    /// `definition` must be a table of the instance's store.
    pub(crate) unsafe fn set_table(&self, index: u32, definition: *mut VMTableDefinition) {
        // SAFETY: a table-pointer field of this layout.
        unsafe { self.write(self.offsets.table(index), definition) }
    }

    /// Sets the view of shared memory `index`: its fixed base and the address
    /// of its atomic length, which compiled code reads instead of `bound`.
    ///
    /// # Safety
    /// `base` must be the shared memory's base and `length` its length, and
    /// the memory must outlive every run of the instance's code.
    pub(crate) unsafe fn set_shared_memory_view(
        &self,
        index: u32,
        base: *mut u8,
        length: *const u64,
    ) {
        let view = VMMemoryView {
            base,
            // Never read for a shared memory: `shared_length` is its length.
            bound: 0,
            shared_length: length,
        };
        // SAFETY: a memory-view field of this layout.
        unsafe { self.write(self.offsets.memory(index), view) }
    }

    /// The cached view of memory `index`, kept by a [`VmctxViewNotifier`].
    pub(crate) fn memory_view(&self, index: u32) -> *mut VMMemoryView {
        self.at::<VMMemoryView>(self.offsets.memory(index))
    }
}

/// Reads the `InstanceData` pointer of an instance vmctx.
///
/// # Safety
/// `vmctx` must be a live instance vmctx.
pub(crate) unsafe fn instance_of_vmctx(vmctx: *mut u8) -> *mut InstanceData {
    // SAFETY: guaranteed by the caller; the header field is pointer-aligned.
    unsafe {
        *vmctx
            .add(VMOffsets::INSTANCE as usize)
            .cast::<*mut InstanceData>()
    }
}

/// Reads the store pointer of an instance vmctx, as an address only: it was
/// made before the borrow the current call runs under (see
/// `vm::entered_store`), so it must not be dereferenced.
///
/// # Safety
/// `vmctx` must be a live instance vmctx.
pub(crate) unsafe fn store_address_of_vmctx(vmctx: *mut u8) -> *const StoreOpaque {
    // SAFETY: guaranteed by the caller; the header field is pointer-aligned.
    unsafe {
        *vmctx
            .add(VMOffsets::STORE as usize)
            .cast::<*const StoreOpaque>()
    }
}

/// Writes a memory's new base and bound into one instance's vmctx view: the
/// "software TLB" compiled code reads.
pub(crate) struct VmctxViewNotifier {
    view: *mut VMMemoryView,
    released: AtomicBool,
}

// SAFETY: `view` points into a vmctx that outlives the registration holding
// this notifier (the instance drops its registrations before its vmctx), and
// a store's memories change only on the thread that uses the store.
unsafe impl Send for VmctxViewNotifier {}
// SAFETY: as above; the notifier itself only writes through `view`.
unsafe impl Sync for VmctxViewNotifier {}

impl VmctxViewNotifier {
    /// Subscribes `view` to `memory` and writes the current view into it.
    ///
    /// # Safety
    /// `view` must stay valid until the returned registration is dropped.
    pub(crate) unsafe fn attach(
        memory: &LinearMemory,
        view: *mut VMMemoryView,
    ) -> anyhow::Result<NotifierRegistration> {
        let notifier = Arc::new(VmctxViewNotifier {
            view,
            released: AtomicBool::new(false),
        });
        let registration = memory.register_notifier(notifier.clone())?;
        // Registered first, so every later change reaches the notifier; the
        // sequence check catches a change that raced with this first copy.
        loop {
            let sequence = memory.read_begin();
            notifier.write(memory.view());
            if !memory.read_retry(sequence) {
                break;
            }
        }
        Ok(registration)
    }

    fn write(&self, new_view: MemoryView) {
        if self.released.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: see the `Send` impl: the vmctx is live while registered.
        unsafe {
            *self.view = VMMemoryView {
                base: new_view.base,
                bound: new_view.len as u64,
                shared_length: std::ptr::null(),
            }
        }
    }
}

impl InvalidationNotifier for VmctxViewNotifier {
    fn invalidate_range_start(&self, _range: Range<usize>) {}

    fn invalidate_range_end(&self, _range: Range<usize>, new_view: MemoryView) {
        self.write(new_view);
    }

    fn release(&self) {
        self.released.store(true, Ordering::Release);
    }
}
