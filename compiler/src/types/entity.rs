//! The types of a module's memories, tables and globals.
//!
//! One description each, used by the compiler (module info, memory plans,
//! code generation) and handed unchanged to the runtime and its API. Fields
//! are private so every value keeps its invariants: a [`MemoryType`] has a
//! page size of 1 byte or 64 KiB and limits its index type can address in
//! those pages. Building one from wasmparser never panics: what the model
//! cannot hold is an error.

use super::{RefType, TypeIndex, ValType};
use crate::error::CompileError;
use serde::{Deserialize, Serialize};

/// The value type a memory (or table) is indexed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IndexType {
    /// 32-bit indices (Wasm 1.0 and 2.0).
    I32,
    /// 64-bit indices (memory64).
    I64,
}

impl IndexType {
    /// Bytes the index type can address: an access's index is below this.
    pub fn index_space_bytes(self) -> u64 {
        match self {
            IndexType::I32 => 1 << 32,
            IndexType::I64 => u64::MAX,
        }
    }
}

/// Whether a global can be written after instantiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// The type of a global: its value type and mutability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    /// A global holding `content` values.
    pub fn new(content: ValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content,
            mutability,
        }
    }

    /// The value type.
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// The mutability.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// The same type with every concrete type index mapped by `map`.
    pub(super) fn map_indices(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> GlobalType {
        GlobalType {
            content: self.content.map_index(map),
            ..self
        }
    }

    /// A validated global type from wasmparser; an error for a value type the
    /// model does not hold.
    pub(crate) fn from_wasmparser(
        ty: &wasmparser::GlobalType,
        offset: usize,
    ) -> Result<GlobalType, CompileError> {
        let mutability = if ty.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        };
        Ok(GlobalType::new(
            ValType::from_wasmparser(ty.content_type, offset)?,
            mutability,
        ))
    }
}

/// Why a [`MemoryType`] cannot have the page size asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryTypeError {
    /// The page size is neither 1 byte nor 64 KiB.
    #[error("page size 2^{0} bytes: only 1 byte and 64 KiB are supported")]
    UnsupportedPageSize(u8),
    /// A limit exceeds what the index type can address in pages of this size.
    #[error("memory size must be at most {limit} pages of 2^{page_size_log2} bytes")]
    LimitsTooLarge {
        /// The largest number of pages allowed.
        limit: u64,
        /// Log2 of the page size in bytes.
        page_size_log2: u8,
    },
}

/// The type of a linear memory: index type, sharing, page size and limits in
/// pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    memory64: bool,
    shared: bool,
    page_size_log2: u8,
}

impl MemoryType {
    /// Log2 of the default page size, 64 KiB.
    pub const DEFAULT_PAGE_SIZE_LOG2: u8 = 16;

    /// A 32-bit memory of `minimum` 64 KiB pages that can grow to `maximum` pages.
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType {
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
            memory64: false,
            shared: false,
            page_size_log2: Self::DEFAULT_PAGE_SIZE_LOG2,
        }
    }

    /// A shared 32-bit memory (threads proposal) of `minimum` 64 KiB pages
    /// that can grow to `maximum` pages: a shared memory always has a maximum.
    pub fn shared(minimum: u32, maximum: u32) -> MemoryType {
        MemoryType {
            shared: true,
            ..MemoryType::new(minimum, Some(maximum))
        }
    }

    /// A 64-bit memory (memory64 proposal) of `minimum` 64 KiB pages.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: true,
            shared: false,
            page_size_log2: Self::DEFAULT_PAGE_SIZE_LOG2,
        }
    }

    /// This type with pages of `2^page_size_log2` bytes (custom-page-sizes
    /// proposal: 0 for 1-byte pages, or the default 16). The limits keep
    /// their page counts; an error when the page size is not one of those
    /// two or the limits exceed what the index type can address in them.
    pub fn with_page_size_log2(
        mut self,
        page_size_log2: u8,
    ) -> Result<MemoryType, MemoryTypeError> {
        if page_size_log2 != 0 && page_size_log2 != Self::DEFAULT_PAGE_SIZE_LOG2 {
            return Err(MemoryTypeError::UnsupportedPageSize(page_size_log2));
        }
        self.page_size_log2 = page_size_log2;
        let limit = self.absolute_max_pages();
        if self.minimum > limit || self.maximum.is_some_and(|maximum| maximum > limit) {
            return Err(MemoryTypeError::LimitsTooLarge {
                limit,
                page_size_log2,
            });
        }
        Ok(self)
    }

    /// The same type with `minimum` pages (a memory's current size, which
    /// never exceeds what the index type addresses).
    pub fn with_minimum(self, minimum: u64) -> MemoryType {
        MemoryType { minimum, ..self }
    }

    /// The minimum size in pages.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The maximum size in pages, if any.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    /// Whether addresses are 64-bit.
    pub fn is_64(&self) -> bool {
        self.memory64
    }

    /// Whether the memory is shared between threads (threads proposal).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The type of the memory's addresses.
    pub fn index_type(&self) -> IndexType {
        if self.memory64 {
            IndexType::I64
        } else {
            IndexType::I32
        }
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// Log2 of the page size in bytes.
    pub fn page_size_log2(&self) -> u8 {
        self.page_size_log2
    }

    /// The largest number of pages the index type allows: `2^32` or `2^64`
    /// bytes in pages, except that a memory of 1-byte pages stops one byte
    /// short (its size in pages must fit the index type).
    pub fn absolute_max_pages(&self) -> u64 {
        let index_space: u128 = if self.memory64 { 1 << 64 } else { 1 << 32 };
        let pages = if self.page_size_log2 == 0 {
            index_space - 1
        } else {
            index_space >> self.page_size_log2
        };
        u64::try_from(pages).unwrap_or(u64::MAX)
    }

    /// A validated memory type from wasmparser; an error (never expected
    /// after validation) when its page size or limits break the invariants.
    pub(crate) fn from_wasmparser(
        ty: &wasmparser::MemoryType,
        offset: usize,
    ) -> Result<MemoryType, CompileError> {
        let page_size_log2 = match ty.page_size_log2 {
            None => Self::DEFAULT_PAGE_SIZE_LOG2,
            Some(log2) => u8::try_from(log2).map_err(|_| CompileError::Invalid {
                offset,
                message: format!("page size 2^{log2} bytes: only 1 byte and 64 KiB are supported"),
            })?,
        };
        let unchecked = MemoryType {
            minimum: ty.initial,
            maximum: ty.maximum,
            memory64: ty.memory64,
            shared: ty.shared,
            page_size_log2: Self::DEFAULT_PAGE_SIZE_LOG2,
        };
        unchecked
            .with_page_size_log2(page_size_log2)
            .map_err(|error| CompileError::Invalid {
                offset,
                message: error.to_string(),
            })
    }
}

/// The type of a table: element type, index type and limits in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableType {
    element: RefType,
    minimum: u64,
    maximum: Option<u64>,
    table64: bool,
}

impl TableType {
    /// A 32-bit table of `element` references with these limits.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            element,
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
            table64: false,
        }
    }

    /// A 64-bit table (table64, part of memory64) with these limits.
    pub fn new64(element: RefType, minimum: u64, maximum: Option<u64>) -> TableType {
        TableType {
            element,
            minimum,
            maximum,
            table64: true,
        }
    }

    /// The same type with `minimum` elements (a table's current size).
    pub fn with_minimum(self, minimum: u64) -> TableType {
        TableType { minimum, ..self }
    }

    /// The element type.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    /// The same type with every concrete type index mapped by `map`.
    pub(super) fn map_indices(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> TableType {
        TableType {
            element: self.element.map_index(map),
            ..self
        }
    }

    /// The minimum number of elements.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The maximum number of elements, if any.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    /// Whether indices are 64-bit.
    pub fn is_64(&self) -> bool {
        self.table64
    }

    /// The type of the table's indices.
    pub fn index_type(&self) -> IndexType {
        if self.table64 {
            IndexType::I64
        } else {
            IndexType::I32
        }
    }

    /// The largest number of elements the index type allows.
    pub fn absolute_max_elements(&self) -> u64 {
        if self.table64 {
            u64::MAX
        } else {
            u32::MAX.into()
        }
    }

    /// A validated table type from wasmparser; an error for an element type
    /// the model does not hold.
    pub(crate) fn from_wasmparser(
        ty: &wasmparser::TableType,
        offset: usize,
    ) -> Result<TableType, CompileError> {
        Ok(TableType {
            element: RefType::from_wasmparser(ty.element_type, offset)?,
            minimum: ty.initial,
            maximum: ty.maximum,
            table64: ty.table64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_1_byte_or_64_kib_and_limits_must_fit() {
        assert_eq!(
            MemoryType::new(1, None).with_page_size_log2(12),
            Err(MemoryTypeError::UnsupportedPageSize(12))
        );
        let bytes = MemoryType::new(0, Some(u32::MAX))
            .with_page_size_log2(0)
            .unwrap();
        assert_eq!(bytes.maximum(), Some(u64::from(u32::MAX)));
        assert_eq!(bytes.page_size(), 1);
        assert_eq!(bytes.absolute_max_pages(), u64::from(u32::MAX));
        assert!(
            MemoryType::new(0, Some(u32::MAX))
                .with_page_size_log2(16)
                .is_err(),
            "2^32 - 1 pages of 64 KiB exceed 4 GiB"
        );
        assert_eq!(MemoryType::new64(0, None).absolute_max_pages(), 1 << 48);
        let bytes64 = MemoryType::new64(0, None).with_page_size_log2(0).unwrap();
        assert_eq!(bytes64.absolute_max_pages(), u64::MAX);
    }

    #[test]
    fn wasmparser_memory_types_keep_every_field() {
        let parsed = wasmparser::MemoryType {
            memory64: true,
            shared: true,
            initial: 3,
            maximum: Some(9),
            page_size_log2: Some(0),
        };
        let ty = MemoryType::from_wasmparser(&parsed, 0).unwrap();
        assert_eq!(ty.minimum(), 3);
        assert_eq!(ty.maximum(), Some(9));
        assert!(ty.is_64() && ty.is_shared());
        assert_eq!(ty.index_type(), IndexType::I64);
        assert_eq!(ty.page_size_log2(), 0);
    }

    #[test]
    fn an_unsupported_page_size_from_wasmparser_is_an_error() {
        let parsed = wasmparser::MemoryType {
            memory64: false,
            shared: false,
            initial: 1,
            maximum: None,
            page_size_log2: Some(300),
        };
        assert!(matches!(
            MemoryType::from_wasmparser(&parsed, 7),
            Err(CompileError::Invalid { offset: 7, .. })
        ));
    }
}
