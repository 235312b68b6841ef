//! GC objects as compiled code and the runtime both see them: the encoding
//! of references of the `any` and `extern` hierarchies, and the layout of
//! struct and array objects in the GC heap.
//!
//! References are 64-bit values (as every reference in Remap), read by their
//! low three bits:
//!
//! - `0` is null;
//! - `…xx1` is an `i31`: the value sits in bits 1..32 ([`I31_TAG`]);
//! - `…100` is a host `externref` (or one internalized into `any` by
//!   `any.convert_extern`): its store entry index sits in bits 3.. ([`EXTERN_TAG`]);
//! - `…000` (non-zero) is a GC object: the value is the object's byte offset
//!   in its store's GC heap (offsets are 8-aligned and never 0).
//!
//! The `any` and `extern` hierarchies share the encoding, so
//! `any.convert_extern` and `extern.convert_any` are the identity and
//! `ref.eq` compares the bits. References are heap offsets, not addresses
//! (as in Wasmtime), so the heap can move (relocation by `mremap`) without
//! rewriting any reference; compiled code adds the heap base, which it
//! reloads from the store's runtime limits at every access.
//!
//! Every object starts with an 8-byte header: the engine type index of its
//! type ([`HEADER_TYPE_ID`], what casts compare) and a flags word
//! ([`HEADER_FLAGS`]: [`FLAG_ARRAY`] and the collector's mark bit). Struct
//! fields follow in declaration order, each aligned to its size. A struct
//! of a type with a descriptor (custom descriptors) also holds its
//! descriptor's reference, a hidden 8-byte field that is never null once
//! the object is initialized. It sits after the fields of the type's
//! highest described supertype ([`descriptor_position`]): every described
//! subtype (all subtypes of a described type are described) has the
//! descriptor where its supertypes have it, and a supertype without a
//! descriptor would still see its fields where it expects them (the
//! proposal first allowed one, WebAssembly/custom-descriptors#111 since
//! forbids it; the layout does not depend on which rule holds). An array
//! has its length at [`ARRAY_LENGTH`] and its elements from
//! [`ARRAY_ELEMENTS`]. References inside objects take 8 bytes.

use crate::types::{StorageType, StructType, SubType, TypeIndex, ValType};
use std::borrow::Borrow;

/// Offset of the header's `u32` engine type index.
pub const HEADER_TYPE_ID: i32 = 0;
/// Offset of the header's `u32` flags word.
pub const HEADER_FLAGS: i32 = 4;
/// Flag: the object is an array.
pub const FLAG_ARRAY: u32 = 1;
/// Flag: the collector reached the object in its current mark phase.
pub const FLAG_MARKED: u32 = 2;
/// Size of the object header; struct fields start here.
pub const HEADER_SIZE: u32 = 8;
/// Offset of an array's `u32` length.
pub const ARRAY_LENGTH: i32 = 8;
/// Offset of an array's first element.
pub const ARRAY_ELEMENTS: u32 = 16;
/// Every object starts and ends at a multiple of this.
pub const OBJECT_ALIGN: u32 = 8;

/// Mask of the tag bits of a reference.
pub const TAG_MASK: u64 = 7;
/// Tag bit of an `i31` reference.
pub const I31_TAG: u64 = 1;
/// Tag of a host `externref`.
pub const EXTERN_TAG: u64 = 4;

/// What a reference value of the `any` or `extern` hierarchy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcRef {
    /// The null reference.
    Null,
    /// An `i31` whose 31-bit value, sign-extended, is this.
    I31(i32),
    /// A host `externref`: the index of its store entry.
    Extern(u32),
    /// A GC object at this heap offset.
    Object(u32),
}

impl GcRef {
    /// Decodes raw reference bits; `None` for bits no reference has.
    pub fn from_raw(raw: u64) -> Option<GcRef> {
        if raw == 0 {
            Some(GcRef::Null)
        } else if raw & I31_TAG != 0 {
            Some(GcRef::I31(((raw as u32) as i32) >> 1))
        } else if raw & TAG_MASK == EXTERN_TAG {
            u32::try_from(raw >> 3).ok().map(GcRef::Extern)
        } else if raw & TAG_MASK == 0 {
            u32::try_from(raw).ok().map(GcRef::Object)
        } else {
            None
        }
    }

    /// The raw reference bits.
    pub fn to_raw(self) -> u64 {
        match self {
            GcRef::Null => 0,
            GcRef::I31(value) => u64::from(((value as u32) << 1) | I31_TAG as u32),
            GcRef::Extern(index) => (u64::from(index) << 3) | EXTERN_TAG,
            GcRef::Object(offset) => u64::from(offset),
        }
    }
}

/// Bytes a field or element of type `storage` takes in an object.
pub fn storage_size(storage: StorageType) -> u32 {
    match storage {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(ValType::I32 | ValType::F32) => 4,
        StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
        StorageType::Val(ValType::V128) => 16,
    }
}

/// Where a struct type's fields sit and how large its objects are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructLayout {
    /// Object size in bytes, header included, a multiple of [`OBJECT_ALIGN`].
    pub size: u32,
    /// Byte offset of each field from the start of the object.
    pub field_offsets: Vec<u32>,
    /// Byte offset of the descriptor reference, for a described type.
    pub descriptor_offset: Option<u32>,
}

impl StructLayout {
    /// The layout of objects of type `ty`, which holds a descriptor
    /// reference after its first `descriptor_position` fields when given
    /// (see [`descriptor_position`]).
    pub fn of(ty: &StructType, descriptor_position: Option<usize>) -> StructLayout {
        let mut end = HEADER_SIZE;
        let mut descriptor_offset = None;
        let mut place_descriptor = |end: &mut u32, position: usize| {
            if descriptor_position == Some(position) {
                let offset = end.next_multiple_of(OBJECT_ALIGN);
                descriptor_offset = Some(offset);
                // A reference takes 8 bytes.
                *end = offset + 8;
            }
        };
        let mut field_offsets = Vec::with_capacity(ty.fields.len());
        for (position, field) in ty.fields.iter().enumerate() {
            place_descriptor(&mut end, position);
            let size = storage_size(field.storage);
            let align = size.min(OBJECT_ALIGN);
            let offset = end.next_multiple_of(align);
            end = offset + size;
            field_offsets.push(offset);
        }
        place_descriptor(&mut end, ty.fields.len());
        StructLayout {
            size: end.next_multiple_of(OBJECT_ALIGN),
            field_offsets,
            descriptor_offset,
        }
    }
}

/// After how many fields a struct of type `ty` holds its descriptor: the
/// field count of its highest supertype that has a descriptor (itself when
/// none has), so every described type of a subtype chain puts it at the
/// same offset. `None` when `ty` is not a described struct type.
/// `supertype` resolves a declared supertype's index; a chain it cannot
/// resolve ends there.
pub fn descriptor_position<S: Borrow<SubType>>(
    ty: &SubType,
    mut supertype: impl FnMut(TypeIndex) -> Option<S>,
) -> Option<usize> {
    ty.descriptor?;
    let mut fields = ty.composite.as_struct()?.fields.len();
    let mut next = ty.supertype;
    while let Some(index) = next {
        let Some(sup) = supertype(index) else {
            break;
        };
        let sup = sup.borrow();
        match (sup.descriptor, sup.composite.as_struct()) {
            (Some(_), Some(sup_struct)) => fields = sup_struct.fields.len(),
            _ => break,
        }
        next = sup.supertype;
    }
    Some(fields)
}

/// Size in bytes of an array object of `len` elements of `element_size`
/// bytes, or `None` when it exceeds what a heap offset can address.
pub fn array_size(element_size: u32, len: u32) -> Option<u32> {
    let bytes = u64::from(element_size) * u64::from(len) + u64::from(ARRAY_ELEMENTS);
    u32::try_from(bytes.next_multiple_of(u64::from(OBJECT_ALIGN))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FieldType;

    fn field(storage: StorageType) -> FieldType {
        FieldType {
            storage,
            mutable: true,
        }
    }

    #[test]
    fn references_round_trip_through_raw_bits() {
        for reference in [
            GcRef::Null,
            GcRef::I31(0),
            GcRef::I31(-1),
            GcRef::I31((1 << 30) - 1),
            GcRef::I31(-(1 << 30)),
            GcRef::Extern(0),
            GcRef::Extern(u32::MAX),
            GcRef::Object(8),
            GcRef::Object(!7),
        ] {
            assert_eq!(GcRef::from_raw(reference.to_raw()), Some(reference));
        }
        assert_eq!(GcRef::from_raw(2), None);
    }

    #[test]
    fn struct_fields_are_aligned_to_their_size() {
        let ty = StructType {
            fields: vec![
                field(StorageType::I8),
                field(StorageType::Val(ValType::I64)),
                field(StorageType::I16),
                field(StorageType::Val(ValType::F32)),
            ]
            .into(),
        };
        let layout = StructLayout::of(&ty, None);
        assert_eq!(layout.field_offsets, [8, 16, 24, 28]);
        assert_eq!(layout.size, 32);
        assert_eq!(layout.descriptor_offset, None);
    }

    #[test]
    fn the_descriptor_follows_the_described_prefix() {
        let ty = StructType {
            fields: vec![field(StorageType::I8), field(StorageType::I16)].into(),
        };
        let layout = StructLayout::of(&ty, Some(1));
        assert_eq!(layout.field_offsets, [8, 24]);
        assert_eq!(layout.descriptor_offset, Some(16));
        assert_eq!(layout.size, 32);
        let layout = StructLayout::of(&ty, Some(2));
        assert_eq!(layout.field_offsets, [8, 10]);
        assert_eq!(layout.descriptor_offset, Some(16));
    }

    #[test]
    fn described_subtypes_share_the_descriptor_position() {
        let module = |index| TypeIndex::Module(crate::types::ModuleTypeIndex::from_u32(index));
        let struct_type = |fields: usize, supertype, described: bool| SubType {
            is_final: false,
            supertype,
            descriptor: described.then(|| module(9)),
            describes: None,
            composite: crate::types::CompositeType {
                shared: false,
                inner: crate::types::CompositeInnerType::Struct(StructType {
                    fields: vec![field(StorageType::I8); fields].into(),
                }),
            },
        };
        // 0 has no descriptor, 1 (one more field) is the highest described.
        let types = [
            struct_type(1, None, false),
            struct_type(2, Some(module(0)), true),
            struct_type(3, Some(module(1)), true),
        ];
        let lookup = |index: TypeIndex| match index {
            TypeIndex::Module(index) => types.get(index.as_u32() as usize),
            _ => None,
        };
        assert_eq!(descriptor_position(&types[0], lookup), None);
        assert_eq!(descriptor_position(&types[1], lookup), Some(2));
        assert_eq!(descriptor_position(&types[2], lookup), Some(2));
    }

    #[test]
    fn array_sizes_are_checked() {
        assert_eq!(array_size(1, 3), Some(24));
        assert_eq!(array_size(8, 0), Some(16));
        assert_eq!(array_size(16, u32::MAX), None);
    }
}
