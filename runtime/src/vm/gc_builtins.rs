//! The GC builtins compiled code calls (compiler `foreach_builtin!`):
//! allocation and the bulk array operators. Each runs with the calling
//! store and instance and raises its trap after everything it borrowed is
//! released (`run_trapping`).
//!
//! Every allocation here may collect: compiled code is stopped at the
//! builtin's call, whose stack map names every reference it holds. Arrays
//! are checked for null and bounds here (compiled code passes references
//! unchecked); indices and lengths are the instruction's `u32` operands.

use super::builtins::run_trapping;
use crate::instance::InstanceData;
use crate::store::StoreOpaque;
use crate::trap::TrapKind;
use remap_compiler::gc_layout::{
    ARRAY_ELEMENTS, ARRAY_LENGTH, GcRef, HEADER_TYPE_ID, storage_size,
};
use remap_compiler::types::StorageType;
use std::ops::Range;

/// Runs a builtin body that produces a reference, raising its trap.
///
/// # Safety
/// As for `run_trapping`.
unsafe fn run_allocating(
    vmctx: *mut u8,
    body: impl FnOnce(&StoreOpaque, &InstanceData) -> Result<u32, TrapKind>,
) -> u64 {
    let mut result = 0;
    let wrapped = |store: &StoreOpaque, instance: &InstanceData| {
        result = u64::from(body(store, instance)?);
        Ok(())
    };
    // SAFETY: forwarded from the caller.
    unsafe { run_trapping(vmctx, wrapped) };
    result
}

/// The engine type id of module type `type_index` of `instance`.
fn engine_type(instance: &InstanceData, type_index: u32) -> Result<u32, TrapKind> {
    instance
        .module()
        .type_ids()
        .get(type_index as usize)
        .copied()
        .ok_or(TrapKind::CastFailure)
}

/// A non-null array's offset, element storage and length.
struct ArrayView {
    offset: u32,
    element: StorageType,
    len: u32,
}

impl ArrayView {
    /// The array behind raw reference `array` (null traps).
    fn of(store: &StoreOpaque, array: u64) -> Result<ArrayView, TrapKind> {
        let Some(GcRef::Object(offset)) = GcRef::from_raw(array) else {
            return Err(TrapKind::NullArrayReference);
        };
        store
            .with_gc_heap(|heap| {
                let type_id = heap.read_u32(offset, HEADER_TYPE_ID);
                let element = match heap.layout(type_id).map(|layout| &**layout) {
                    Some(crate::gc::layout::ObjectLayout::Array { element, .. }) => *element,
                    _ => return Err(TrapKind::CastFailure),
                };
                Ok(ArrayView {
                    offset,
                    element,
                    len: heap.read_u32(offset, ARRAY_LENGTH),
                })
            })
            .unwrap_or(Err(TrapKind::NullArrayReference))
    }

    fn element_size(&self) -> usize {
        storage_size(self.element) as usize
    }

    /// The heap byte range of elements `index..index + count` (out of
    /// bounds traps).
    fn bytes(&self, index: u32, count: u32) -> Result<Range<usize>, TrapKind> {
        let end = index.checked_add(count).ok_or(TrapKind::ArrayOutOfBounds)?;
        if end > self.len {
            return Err(TrapKind::ArrayOutOfBounds);
        }
        let start =
            self.offset as usize + ARRAY_ELEMENTS as usize + index as usize * self.element_size();
        Ok(start..start + count as usize * self.element_size())
    }
}

/// Copies `bytes` into the heap at `range`.
fn write_heap(store: &StoreOpaque, range: Range<usize>, bytes: &[u8]) {
    store.with_gc_heap(|heap| {
        let address = heap.address(range.start as u32, 0, range.len());
        // SAFETY: `address` checked the range lies inside the heap; the
        // source is not heap memory.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), address, range.len()) };
    });
}

/// Writes element references `values` (8 bytes each) at `range`.
fn write_references(store: &StoreOpaque, range: Range<usize>, values: &[u64]) {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    write_heap(store, range, &bytes);
}

pub(super) unsafe extern "C" fn gc_alloc(vmctx: *mut u8, type_index: u32, len: u32) -> u64 {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        store.gc_allocate(engine_type(instance, type_index)?, len, true)
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_allocating(vmctx, body) }
}

pub(super) unsafe extern "C" fn array_fill(
    vmctx: *mut u8,
    array: u64,
    index: u32,
    value_lo: u64,
    value_hi: u64,
    len: u32,
) {
    let body = |store: &StoreOpaque, _: &InstanceData| {
        let view = ArrayView::of(store, array)?;
        let range = view.bytes(index, len)?;
        let value = (u128::from(value_hi) << 64) | u128::from(value_lo);
        let element = &value.to_le_bytes()[..view.element_size()];
        let bytes = element.repeat(len as usize);
        write_heap(store, range, &bytes);
        Ok(())
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

pub(super) unsafe extern "C" fn array_copy(
    vmctx: *mut u8,
    dst: u64,
    dst_index: u32,
    src: u64,
    src_index: u32,
    len: u32,
) {
    let body = |store: &StoreOpaque, _: &InstanceData| {
        let destination = ArrayView::of(store, dst)?;
        let source = ArrayView::of(store, src)?;
        let dst_range = destination.bytes(dst_index, len)?;
        let src_range = source.bytes(src_index, len)?;
        store.with_gc_heap(|heap| {
            let from = heap.address(src_range.start as u32, 0, src_range.len());
            let to = heap.address(dst_range.start as u32, 0, dst_range.len());
            // SAFETY: both ranges lie inside the heap; `copy` allows overlap.
            unsafe { std::ptr::copy(from, to, src_range.len()) };
        });
        Ok(())
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

/// Bytes `offset..offset + len * element_size` of data segment `data`
/// (out of bounds is a memory trap, as the spec says).
fn data_range(
    instance: &InstanceData,
    data: u32,
    offset: u32,
    len: u32,
    element_size: usize,
) -> Result<Range<usize>, TrapKind> {
    let bytes = (len as usize)
        .checked_mul(element_size)
        .ok_or(TrapKind::MemoryOutOfBounds)?;
    let start = offset as usize;
    let end = start
        .checked_add(bytes)
        .ok_or(TrapKind::MemoryOutOfBounds)?;
    if end > instance.data_segment(data).len() {
        return Err(TrapKind::MemoryOutOfBounds);
    }
    Ok(start..end)
}

/// The element size of array type `type_id` (arrays only).
fn array_element(store: &StoreOpaque, type_id: u32) -> Result<StorageType, TrapKind> {
    let registry = store.engine().type_registry();
    registry
        .sub_type(remap_compiler::types::EngineTypeIndex::from_u32(type_id))
        .and_then(|ty| ty.composite.as_array().map(|array| array.element.storage))
        .ok_or(TrapKind::CastFailure)
}

pub(super) unsafe extern "C" fn array_new_data(
    vmctx: *mut u8,
    type_index: u32,
    data: u32,
    offset: u32,
    len: u32,
) -> u64 {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let type_id = engine_type(instance, type_index)?;
        let element = array_element(store, type_id)?;
        let source = data_range(instance, data, offset, len, storage_size(element) as usize)?;
        let array = store.gc_allocate(type_id, len, true)?;
        let view = ArrayView::of(store, u64::from(array))?;
        write_heap(
            store,
            view.bytes(0, len)?,
            &instance.data_segment(data)[source],
        );
        Ok(array)
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_allocating(vmctx, body) }
}

pub(super) unsafe extern "C" fn array_new_elem(
    vmctx: *mut u8,
    type_index: u32,
    element: u32,
    offset: u32,
    len: u32,
) -> u64 {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let type_id = engine_type(instance, type_index)?;
        let segment_len = instance.element_segment(element).len() as u64;
        let source = crate::table::checked_range(offset.into(), len.into(), segment_len)?;
        // The segment's references stay rooted by the segment while the
        // allocation may collect.
        let array = store.gc_allocate(type_id, len, true)?;
        let view = ArrayView::of(store, u64::from(array))?;
        let values = instance.element_segment(element)[source].to_vec();
        write_references(store, view.bytes(0, len)?, &values);
        Ok(array)
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_allocating(vmctx, body) }
}

pub(super) unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    array: u64,
    index: u32,
    data: u32,
    offset: u32,
    len: u32,
) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let view = ArrayView::of(store, array)?;
        let destination = view.bytes(index, len)?;
        let source = data_range(instance, data, offset, len, view.element_size())?;
        write_heap(store, destination, &instance.data_segment(data)[source]);
        Ok(())
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

pub(super) unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    array: u64,
    index: u32,
    element: u32,
    offset: u32,
    len: u32,
) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let view = ArrayView::of(store, array)?;
        let destination = view.bytes(index, len)?;
        let values = instance.element_segment(element);
        let source = crate::table::checked_range(offset.into(), len.into(), values.len() as u64)?;
        let values = values[source].to_vec();
        write_references(store, destination, &values);
        Ok(())
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}
