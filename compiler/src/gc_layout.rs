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
//! fields follow in declaration order, each aligned to its size; an array
//! has its length at [`ARRAY_LENGTH`] and its elements from
//! [`ARRAY_ELEMENTS`]. References inside objects take 8 bytes.

use crate::types::{StorageType, StructType, ValType};

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
}

impl StructLayout {
    /// The layout of objects of type `ty`.
    pub fn of(ty: &StructType) -> StructLayout {
        let mut end = HEADER_SIZE;
        let field_offsets = ty
            .fields
            .iter()
            .map(|field| {
                let size = storage_size(field.storage);
                let align = size.min(OBJECT_ALIGN);
                let offset = end.next_multiple_of(align);
                end = offset + size;
                offset
            })
            .collect();
        StructLayout {
            size: end.next_multiple_of(OBJECT_ALIGN),
            field_offsets,
        }
    }
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
        let layout = StructLayout::of(&ty);
        assert_eq!(layout.field_offsets, [8, 16, 24, 28]);
        assert_eq!(layout.size, 32);
    }

    #[test]
    fn array_sizes_are_checked() {
        assert_eq!(array_size(1, 3), Some(24));
        assert_eq!(array_size(8, 0), Some(16));
        assert_eq!(array_size(16, u32::MAX), None);
    }
}
