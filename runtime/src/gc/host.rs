//! Host handles of the internal hierarchy: [`AnyRef`], [`EqRef`],
//! [`StructRef`], [`ArrayRef`] and the unboxed [`I31`].
//!
//! Handles are rooted, in Wasmtime's shape: a handle (`Copy`) names an
//! entry of the store's LIFO root list, which a [`RootScope`] releases when
//! it ends (without a scope, the entry lives as long as the store); an
//! [`OwnedAnyRef`] keeps its object alive until the last clone is dropped.
//! Handles are checked against their store and root on use; field and
//! element accesses check types and bounds and return errors.

use super::GcRootSlot;
use crate::externref::ExternRef;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut, StoreId, StoreOpaque};
use crate::values::{Val, ValRaw};
use anyhow::{Result, bail};
use remap_compiler::gc_layout::{
    ARRAY_ELEMENTS, ARRAY_LENGTH, FLAG_ARRAY, GcRef, HEADER_FLAGS, HEADER_TYPE_ID, storage_size,
};
use remap_compiler::types::{ArrayType, CompositeInnerType, StorageType, StructType, ValType};
use std::sync::Arc;

/// An unboxed 31-bit integer of the `i31` type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I31(i32);

impl I31 {
    /// `value` if it fits in 31 signed bits.
    pub fn new_i32(value: i32) -> Option<I31> {
        (-(1 << 30)..(1 << 30))
            .contains(&value)
            .then_some(I31(value))
    }

    /// The low 31 bits of `value` (what `ref.i31` keeps).
    pub fn wrapping_i32(value: i32) -> I31 {
        I31((value << 1) >> 1)
    }

    /// The value, sign-extended (`i31.get_s`).
    pub fn get_i32(self) -> i32 {
        self.0
    }

    /// The value, zero-extended (`i31.get_u`).
    pub fn get_u32(self) -> u32 {
        (self.0 as u32) & 0x7fff_ffff
    }
}

/// A host root of one reference: an entry of the store's LIFO root list
/// (released when the enclosing [`RootScope`] ends, or with the store).
/// The collector does not move objects, so the raw bits stay valid while
/// the entry exists; using a handle whose entry was released is an error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rooted {
    store: StoreId,
    index: u32,
    raw: u64,
}

impl Rooted {
    /// Roots `raw` in `store`'s LIFO root list.
    pub(crate) fn new(store: &StoreOpaque, raw: u64) -> Rooted {
        let index = store.gc_root_lifo(raw);
        Rooted {
            store: store.id(),
            index,
            raw,
        }
    }

    /// The raw reference, after checking that the handle belongs to
    /// `store` and its root still exists.
    pub(crate) fn raw(&self, store: &StoreOpaque) -> Result<u64> {
        if self.store != store.id() {
            bail!("GC reference used with a store it does not belong to");
        }
        if !store.gc_lifo_root_holds(self.index, self.raw) {
            bail!("GC reference used after the root scope that rooted it ended");
        }
        Ok(self.raw)
    }

    /// The raw reference without checks (for comparisons).
    pub(crate) fn unchecked_raw(&self) -> u64 {
        self.raw
    }
}

/// A non-null reference of the `any` hierarchy held by the host: an
/// `i31`, a struct, an array, or an internalized host reference.
#[derive(Clone, Copy, Debug)]
pub struct AnyRef(Rooted);

impl PartialEq for AnyRef {
    /// Reference identity (`ref.eq`).
    fn eq(&self, other: &AnyRef) -> bool {
        self.0.store == other.0.store && self.0.raw == other.0.raw
    }
}

impl Eq for AnyRef {}

impl AnyRef {
    /// The `i31` reference of `value`.
    pub fn from_i31(mut ctx: impl AsContextMut, value: I31) -> AnyRef {
        let store = &ctx.as_context_mut().0.opaque;
        AnyRef(Rooted::new(store, GcRef::I31(value.get_i32()).to_raw()))
    }

    /// `any.convert_extern`: `reference` as a reference of the `any`
    /// hierarchy (the same reference, seen from the other hierarchy).
    pub fn convert_extern(mut ctx: impl AsContextMut, reference: &ExternRef) -> Result<AnyRef> {
        let store = &ctx.as_context_mut().0.opaque;
        let raw = ExternRef::option_to_raw(Some(reference), store)?;
        Ok(AnyRef(Rooted::new(store, raw)))
    }

    /// The reference behind raw bits compiled code produced (0 is null).
    pub(crate) fn from_raw(store: &StoreOpaque, raw: u64) -> Option<AnyRef> {
        (raw != 0).then(|| AnyRef(Rooted::new(store, raw)))
    }

    /// The raw bits compiled code holds; 0 for `None`.
    pub(crate) fn option_to_raw(reference: Option<&AnyRef>, store: &StoreOpaque) -> Result<u64> {
        reference.map_or(Ok(0), |reference| reference.0.raw(store))
    }

    fn decoded(&self, store: &StoreOpaque) -> Result<GcRef> {
        GcRef::from_raw(self.0.raw(store)?).ok_or_else(|| anyhow::anyhow!("malformed GC reference"))
    }

    /// The `i31` value, if this is an `i31` reference.
    pub fn as_i31(&self, ctx: impl AsContext) -> Result<Option<I31>> {
        Ok(match self.decoded(&ctx.as_context().0.opaque)? {
            GcRef::I31(value) => Some(I31(value)),
            _ => None,
        })
    }

    /// Whether this is an `i31` reference.
    pub fn is_i31(&self, ctx: impl AsContext) -> Result<bool> {
        Ok(self.as_i31(ctx)?.is_some())
    }

    /// The object's offset when this refers to a GC object.
    fn object(&self, store: &StoreOpaque) -> Result<Option<u32>> {
        Ok(match self.decoded(store)? {
            GcRef::Object(offset) => Some(offset),
            _ => None,
        })
    }

    fn object_is_array(&self, store: &StoreOpaque) -> Result<Option<bool>> {
        let Some(offset) = self.object(store)? else {
            return Ok(None);
        };
        Ok(store.with_gc_heap(|heap| heap.read_u32(offset, HEADER_FLAGS) & FLAG_ARRAY != 0))
    }

    /// Whether this refers to a struct.
    pub fn is_struct(&self, ctx: impl AsContext) -> Result<bool> {
        self.is_struct_in(&ctx.as_context().0.opaque)
    }

    pub(crate) fn is_struct_in(&self, store: &StoreOpaque) -> Result<bool> {
        Ok(self.object_is_array(store)? == Some(false))
    }

    /// Whether this refers to an array.
    pub fn is_array(&self, ctx: impl AsContext) -> Result<bool> {
        self.is_array_in(&ctx.as_context().0.opaque)
    }

    pub(crate) fn is_array_in(&self, store: &StoreOpaque) -> Result<bool> {
        Ok(self.object_is_array(store)? == Some(true))
    }

    /// Whether this is an `eqref` (an `i31`, a struct or an array).
    pub fn is_eqref(&self, ctx: impl AsContext) -> Result<bool> {
        self.is_eqref_in(&ctx.as_context().0.opaque)
    }

    pub(crate) fn is_eqref_in(&self, store: &StoreOpaque) -> Result<bool> {
        Ok(!matches!(self.decoded(store)?, GcRef::Extern(_)))
    }

    pub(crate) fn is_i31_in(&self, store: &StoreOpaque) -> Result<bool> {
        Ok(matches!(self.decoded(store)?, GcRef::I31(_)))
    }

    /// This reference as an [`EqRef`], if it is one.
    pub fn as_eqref(&self, ctx: impl AsContext) -> Result<Option<EqRef>> {
        Ok(self.is_eqref(ctx)?.then_some(EqRef(*self)))
    }

    /// This reference as a [`StructRef`], if it refers to a struct.
    pub fn as_struct(&self, ctx: impl AsContext) -> Result<Option<StructRef>> {
        Ok(self.is_struct(ctx)?.then_some(StructRef(*self)))
    }

    /// This reference as an [`ArrayRef`], if it refers to an array.
    pub fn as_array(&self, ctx: impl AsContext) -> Result<Option<ArrayRef>> {
        Ok(self.is_array(ctx)?.then_some(ArrayRef(*self)))
    }

    /// The host reference this internalizes (what `any.convert_extern`
    /// made it from), if it is one.
    pub fn as_extern(&self, ctx: impl AsContext) -> Result<Option<ExternRef>> {
        let store = &ctx.as_context().0.opaque;
        Ok(match self.decoded(store)? {
            GcRef::Extern(_) => ExternRef::from_raw(store, self.0.raw(store)?),
            _ => None,
        })
    }

    /// The engine type index of the object's type, when this refers to an
    /// object (what casts compare).
    pub(crate) fn object_type_id(&self, store: &StoreOpaque) -> Result<Option<u32>> {
        let Some(offset) = self.object(store)? else {
            return Ok(None);
        };
        Ok(store.with_gc_heap(|heap| heap.read_u32(offset, HEADER_TYPE_ID)))
    }
}

/// A non-null `eqref`: an `i31`, a struct or an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqRef(AnyRef);

impl EqRef {
    /// The reference as an [`AnyRef`].
    pub fn to_anyref(&self) -> AnyRef {
        self.0
    }
}

/// A non-null reference to a struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StructRef(AnyRef);

impl StructRef {
    /// The reference as an [`AnyRef`].
    pub fn to_anyref(&self) -> AnyRef {
        self.0
    }

    /// Field `index` of the struct; an error when it does not exist.
    pub fn field(&self, ctx: impl AsContext, index: usize) -> Result<Val> {
        let store = &ctx.as_context().0.opaque;
        let (storage, offset) = self.field_location(store, index)?;
        Ok(read_value(store, storage, offset))
    }

    /// Sets field `index` to `value`; an error when the field does not
    /// exist, is immutable, or `value` has another type.
    pub fn set_field(&self, mut ctx: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &ctx.as_context_mut().0.opaque;
        let (storage, offset) = self.field_location(store, index)?;
        if !self.field_is_mutable(store, index)? {
            bail!("struct field {index} is immutable");
        }
        write_value(store, storage, offset, value)
    }

    /// The struct's descriptor (custom descriptors): `None` when its type
    /// has no `descriptor` clause.
    pub fn descriptor(&self, ctx: impl AsContext) -> Result<Option<StructRef>> {
        let store = &ctx.as_context().0.opaque;
        let object = self
            .0
            .object(store)?
            .expect("a StructRef refers to a struct");
        let offset = store
            .with_gc_heap(|heap| {
                let type_id = heap.read_u32(object, HEADER_TYPE_ID);
                match heap.layout(type_id).map(|layout| &**layout) {
                    Some(super::ObjectLayout::Struct { descriptor, .. }) => *descriptor,
                    _ => None,
                }
            })
            .flatten();
        let Some(offset) = offset else {
            return Ok(None);
        };
        match read_value(store, StorageType::Val(ValType::STRUCTREF), object + offset) {
            Val::AnyRef(Some(descriptor)) => Ok(Some(StructRef(descriptor))),
            _ => bail!("the struct's descriptor is missing"),
        }
    }

    /// The storage and heap offset of field `index`.
    fn field_location(&self, store: &StoreOpaque, index: usize) -> Result<(StorageType, u32)> {
        let object = self
            .0
            .object(store)?
            .expect("a StructRef refers to a struct");
        let field = store
            .with_gc_heap(|heap| {
                let type_id = heap.read_u32(object, HEADER_TYPE_ID);
                match heap.layout(type_id).map(|layout| &**layout) {
                    Some(super::ObjectLayout::Struct { fields, .. }) => fields.get(index).copied(),
                    _ => None,
                }
            })
            .flatten();
        match field {
            Some((storage, offset)) => Ok((storage, object + offset)),
            None => bail!("the struct has no field {index}"),
        }
    }

    fn field_is_mutable(&self, store: &StoreOpaque, index: usize) -> Result<bool> {
        let object = self
            .0
            .object(store)?
            .expect("a StructRef refers to a struct");
        let type_id = store
            .with_gc_heap(|heap| heap.read_u32(object, HEADER_TYPE_ID))
            .expect("objects live in the heap");
        let ty = store
            .engine()
            .type_registry()
            .sub_type(remap_compiler::types::EngineTypeIndex::from_u32(type_id));
        Ok(ty
            .as_ref()
            .and_then(|ty| ty.composite.as_struct())
            .and_then(|ty| ty.fields.get(index))
            .is_some_and(|field| field.mutable))
    }
}

/// A non-null reference to an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayRef(AnyRef);

impl ArrayRef {
    /// The reference as an [`AnyRef`].
    pub fn to_anyref(&self) -> AnyRef {
        self.0
    }

    fn location(&self, store: &StoreOpaque) -> (u32, StorageType) {
        let object = self
            .0
            .object(store)
            .ok()
            .flatten()
            .expect("an ArrayRef refers to an array");
        let element = store
            .with_gc_heap(|heap| {
                let type_id = heap.read_u32(object, HEADER_TYPE_ID);
                match heap.layout(type_id).map(|layout| &**layout) {
                    Some(super::ObjectLayout::Array { element, .. }) => Some(*element),
                    _ => None,
                }
            })
            .flatten()
            .expect("arrays have array layouts");
        (object, element)
    }

    /// The number of elements.
    pub fn len(&self, ctx: impl AsContext) -> Result<u32> {
        let store = &ctx.as_context().0.opaque;
        self.0.decoded(store)?;
        let (object, _) = self.location(store);
        Ok(store
            .with_gc_heap(|heap| heap.read_u32(object, ARRAY_LENGTH))
            .expect("objects live in the heap"))
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self, ctx: impl AsContext) -> Result<bool> {
        Ok(self.len(ctx)? == 0)
    }

    fn element_offset(&self, store: &StoreOpaque, index: u32) -> Result<(StorageType, u32)> {
        self.0.decoded(store)?;
        let (object, element) = self.location(store);
        let len = store
            .with_gc_heap(|heap| heap.read_u32(object, ARRAY_LENGTH))
            .expect("objects live in the heap");
        if index >= len {
            bail!("array index {index} is out of bounds for length {len}");
        }
        Ok((
            element,
            object + ARRAY_ELEMENTS + index * storage_size(element),
        ))
    }

    /// Element `index`; an error when out of bounds.
    pub fn get(&self, ctx: impl AsContext, index: u32) -> Result<Val> {
        let store = &ctx.as_context().0.opaque;
        let (storage, offset) = self.element_offset(store, index)?;
        Ok(read_value(store, storage, offset))
    }

    /// Sets element `index` to `value`; an error when out of bounds or when
    /// `value` has another type.
    pub fn set(&self, mut ctx: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = &ctx.as_context_mut().0.opaque;
        let (storage, offset) = self.element_offset(store, index)?;
        write_value(store, storage, offset, value)
    }
}

/// Reads the value of `storage` at heap offset `offset` (packed values
/// zero-extended).
fn read_value(store: &StoreOpaque, storage: StorageType, offset: u32) -> Val {
    let bits = store
        .with_gc_heap(|heap| {
            let size = storage_size(storage) as usize;
            let address = heap.address(offset, 0, size);
            let mut bytes = [0u8; 16];
            // SAFETY: `address` checked `size` bytes lie inside the heap.
            unsafe { std::ptr::copy_nonoverlapping(address, bytes.as_mut_ptr(), size) };
            u128::from_le_bytes(bytes)
        })
        .expect("objects live in the heap");
    // Outside the heap's borrow: a reference read back is rooted, which
    // takes the collector's state.
    match storage {
        StorageType::I8 | StorageType::I16 => Val::I32(bits as u32 as i32),
        // SAFETY: the field holds a value of its type from this store
        // (every write checks the type).
        StorageType::Val(ty) => unsafe { Val::from_raw(store, ValRaw::u128(bits), ty) },
    }
}

/// Writes `value` as `storage` at heap offset `offset`.
fn write_value(store: &StoreOpaque, storage: StorageType, offset: u32, value: Val) -> Result<()> {
    let bits = match (storage, &value) {
        (StorageType::I8 | StorageType::I16, Val::I32(v)) => u128::from(*v as u32),
        (StorageType::Val(ty), value) => value.to_raw_checked(store, ty, "the field")?.get_u128(),
        _ => bail!("packed fields hold i32 values"),
    };
    let size = storage_size(storage) as usize;
    store
        .with_gc_heap(|heap| {
            let address = heap.address(offset, 0, size);
            // SAFETY: `address` checked `size` bytes lie inside the heap.
            unsafe { std::ptr::copy_nonoverlapping(bits.to_le_bytes().as_ptr(), address, size) };
        })
        .expect("objects live in the heap");
    Ok(())
}

/// Ends the LIFO roots made while it lives: every handle rooted inside
/// the scope becomes unusable (and its object collectable) when the scope
/// is dropped. Use it as the store context of the code it scopes.
pub struct RootScope<C: AsContextMut> {
    ctx: C,
    depth: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// A scope over `ctx`'s store.
    pub fn new(mut ctx: C) -> RootScope<C> {
        let depth = ctx.as_context_mut().0.opaque.gc_lifo_depth();
        RootScope { ctx, depth }
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        self.ctx
            .as_context_mut()
            .0
            .opaque
            .gc_release_lifo_roots(self.depth);
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.ctx.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.ctx.as_context_mut()
    }
}

/// A handle that keeps its object alive, independent of root scopes,
/// until the last clone is dropped; then the object is collectable.
#[derive(Clone, Debug)]
pub struct OwnedAnyRef {
    store: StoreId,
    slot: Arc<GcRootSlot>,
}

impl OwnedAnyRef {
    /// An owned root of `reference`; an error when it belongs to another
    /// store or its scope ended.
    pub fn new(mut ctx: impl AsContextMut, reference: &AnyRef) -> Result<OwnedAnyRef> {
        let store = &ctx.as_context_mut().0.opaque;
        let raw = reference.0.raw(store)?;
        Ok(OwnedAnyRef {
            store: store.id(),
            slot: store.gc_root(raw),
        })
    }

    /// A handle to the same reference, rooted in the current scope.
    pub fn to_anyref(&self, mut ctx: impl AsContextMut) -> Result<AnyRef> {
        let store = &ctx.as_context_mut().0.opaque;
        if store.id() != self.store {
            bail!("GC reference used with a store it does not belong to");
        }
        Ok(AnyRef(Rooted::new(store, self.slot.raw())))
    }
}

/// A struct type registered for allocating structs from the host: a final
/// type without supertype in a rec group of its own, the same type as a
/// module's `(type (struct ...))` with those fields (so casts in Wasm
/// accept the host's structs). Concrete references in the fields must name
/// engine types.
#[derive(Clone, Copy, Debug)]
pub struct StructRefPre {
    store: StoreId,
    type_id: u32,
}

impl StructRefPre {
    /// Registers `ty` for allocation in the store; an error when the type
    /// cannot be registered.
    pub fn new(mut ctx: impl AsContextMut, ty: StructType) -> Result<StructRefPre> {
        let store = &ctx.as_context_mut().0.opaque;
        let type_id = store.gc_register_host_type(CompositeInnerType::Struct(ty))?;
        Ok(StructRefPre {
            store: store.id(),
            type_id,
        })
    }
}

/// An array type registered for allocating arrays from the host (see
/// [`StructRefPre`]).
#[derive(Clone, Copy, Debug)]
pub struct ArrayRefPre {
    store: StoreId,
    type_id: u32,
}

impl ArrayRefPre {
    /// Registers `ty` for allocation in the store; an error when the type
    /// cannot be registered.
    pub fn new(mut ctx: impl AsContextMut, ty: ArrayType) -> Result<ArrayRefPre> {
        let store = &ctx.as_context_mut().0.opaque;
        let type_id = store.gc_register_host_type(CompositeInnerType::Array(ty))?;
        Ok(ArrayRefPre {
            store: store.id(),
            type_id,
        })
    }
}

/// Allocates an object of engine type `type_id` for the host (collecting
/// when due: the host's values are rooted), rooted in the current scope.
fn allocate_for_host(store: &StoreOpaque, type_id: u32, len: u32) -> Result<AnyRef> {
    let offset = store
        .gc_allocate(type_id, len, true)
        .map_err(|kind| anyhow::anyhow!("cannot allocate: {kind}"))?;
    Ok(AnyRef(Rooted::new(store, u64::from(offset))))
}

impl StructRef {
    /// A new struct of `pre`'s type with `fields`; an error when their
    /// number or types do not match, or the heap is full.
    pub fn new(
        mut ctx: impl AsContextMut,
        pre: &StructRefPre,
        fields: &[Val],
    ) -> Result<StructRef> {
        let store = &ctx.as_context_mut().0.opaque;
        if pre.store != store.id() {
            bail!("struct type used with a store it does not belong to");
        }
        let object = StructRef(allocate_for_host(store, pre.type_id, 0)?);
        let layout = store
            .with_gc_heap(|heap| heap.layout(pre.type_id).cloned())
            .flatten();
        let Some(super::ObjectLayout::Struct { fields: slots, .. }) = layout.as_deref() else {
            bail!("not a struct type");
        };
        if slots.len() != fields.len() {
            bail!(
                "the struct has {} fields, got {} values",
                slots.len(),
                fields.len()
            );
        }
        let offset = object.0.object(store)?.expect("a new struct");
        for (&(storage, field), value) in slots.iter().zip(fields) {
            write_value(store, storage, offset + field, value.clone())?;
        }
        Ok(object)
    }
}

impl ArrayRef {
    /// A new array of `pre`'s type with `len` copies of `element`; an
    /// error when its type does not match or the heap is full.
    pub fn new(
        mut ctx: impl AsContextMut,
        pre: &ArrayRefPre,
        element: &Val,
        len: u32,
    ) -> Result<ArrayRef> {
        let store = &ctx.as_context_mut().0.opaque;
        if pre.store != store.id() {
            bail!("array type used with a store it does not belong to");
        }
        let array = ArrayRef(allocate_for_host(store, pre.type_id, len)?);
        for index in 0..len {
            let (storage, offset) = array.element_offset(store, index)?;
            write_value(store, storage, offset, element.clone())?;
        }
        Ok(array)
    }
}
