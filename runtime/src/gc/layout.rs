//! Object layouts of engine types, and which reference types the collector
//! traces (the layout rules are `remap_compiler::gc_layout`'s, shared with
//! compiled code).

use remap_compiler::gc_layout::{StructLayout, array_size, descriptor_position, storage_size};
use remap_compiler::types::{
    AbstractHeapType, CompositeKind, EngineTypeIndex, HeapType, StorageType, TypeIndex,
    TypeRegistry,
};
use remap_compiler::{RefType, ValType};

/// How the objects of one engine type are laid out.
#[derive(Debug, Clone)]
pub(crate) enum ObjectLayout {
    /// A struct of `size` bytes.
    Struct {
        /// Object size, header included.
        size: u32,
        /// Each field's storage and offset from the object's start (the
        /// hidden descriptor reference is not a field).
        fields: Box<[(StorageType, u32)]>,
        /// Offsets of the fields the collector traces, the descriptor's
        /// included.
        traced: Box<[u32]>,
        /// Offset of the descriptor reference, for a described type.
        descriptor: Option<u32>,
    },
    /// An array.
    Array {
        /// The elements' storage.
        element: StorageType,
        /// Whether the collector traces the elements.
        traced: bool,
    },
}

impl ObjectLayout {
    /// The layout of engine type `index`; `None` for a function type or an
    /// unregistered index.
    pub(crate) fn of(registry: &TypeRegistry, index: EngineTypeIndex) -> Option<ObjectLayout> {
        let sub_type = registry.sub_type(index)?;
        if let Some(ty) = sub_type.composite.as_struct() {
            let position = descriptor_position(&sub_type, |index| match index {
                TypeIndex::Engine(index) => registry.sub_type(index),
                _ => None,
            });
            let layout = StructLayout::of(ty, position);
            let fields: Box<[(StorageType, u32)]> = ty
                .fields
                .iter()
                .zip(&layout.field_offsets)
                .map(|(field, &offset)| (field.storage, offset))
                .collect();
            // The descriptor is a struct, so a traced reference.
            let traced = layout
                .descriptor_offset
                .into_iter()
                .chain(
                    fields
                        .iter()
                        .filter(|(storage, _)| is_traced_storage(registry, *storage))
                        .map(|&(_, offset)| offset),
                )
                .collect();
            Some(ObjectLayout::Struct {
                size: layout.size,
                fields,
                traced,
                descriptor: layout.descriptor_offset,
            })
        } else {
            let element = sub_type.composite.as_array()?.element.storage;
            Some(ObjectLayout::Array {
                element,
                traced: is_traced_storage(registry, element),
            })
        }
    }

    /// Whether objects of this layout are arrays.
    pub(crate) fn is_array(&self) -> bool {
        matches!(self, ObjectLayout::Array { .. })
    }

    /// Bytes of an object of this layout with `len` elements (ignored for
    /// a struct); `None` past what a heap offset addresses.
    pub(crate) fn object_size(&self, len: u32) -> Option<u32> {
        match self {
            ObjectLayout::Struct { size, .. } => Some(*size),
            ObjectLayout::Array { element, .. } => array_size(storage_size(*element), len),
        }
    }
}

fn is_traced_storage(registry: &TypeRegistry, storage: StorageType) -> bool {
    match storage {
        StorageType::Val(ty) => is_gc_managed(registry, ty),
        StorageType::I8 | StorageType::I16 => false,
    }
}

/// Whether values of `ty` (with engine type indices) may be GC objects or
/// host `externref`s, which the collector traces: references of the `any`
/// and `extern` hierarchies. Function and exception references are host
/// addresses it does not manage.
pub(crate) fn is_gc_managed(registry: &TypeRegistry, ty: ValType) -> bool {
    match ty {
        ValType::Ref(ref_type) => is_gc_managed_ref(registry, ref_type),
        _ => false,
    }
}

/// [`is_gc_managed`] for a reference type.
pub(crate) fn is_gc_managed_ref(registry: &TypeRegistry, ty: RefType) -> bool {
    match ty.heap_type {
        HeapType::Abstract { ty, .. } => matches!(
            ty,
            AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None
                | AbstractHeapType::Extern
                | AbstractHeapType::NoExtern
        ),
        HeapType::Concrete(TypeIndex::Engine(index))
        | HeapType::Exact(TypeIndex::Engine(index)) => registry.sub_type(index).is_some_and(|ty| {
            matches!(
                ty.composite.shape().kind,
                CompositeKind::Struct | CompositeKind::Array
            )
        }),
        HeapType::Concrete(_) | HeapType::Exact(_) => false,
    }
}
