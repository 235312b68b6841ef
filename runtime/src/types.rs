//! The types of Wasm values and of everything a module imports or exports.
//!
//! Value, reference and function types are the compiler's type model
//! (`remap_compiler::types`), re-exported as they are: one model from the
//! type section to the embedding API. `convert` turns the compiler's
//! global, memory and table descriptions into the API's types.

use anyhow::{Result, bail};

pub use remap_compiler::types::{
    AbstractHeapType, ArrayType, FieldType, FuncType, HeapType, RefType, StorageType, StructType,
    ValType,
};

/// Whether a global can be written after instantiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

/// The type of a global: its value type and mutability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
}

/// The type of a linear memory: index type, page size and limits in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    memory64: bool,
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
            page_size_log2: Self::DEFAULT_PAGE_SIZE_LOG2,
        }
    }

    /// A 64-bit memory (memory64 proposal) of `minimum` 64 KiB pages.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: true,
            page_size_log2: Self::DEFAULT_PAGE_SIZE_LOG2,
        }
    }

    /// This type with pages of `2^page_size_log2` bytes (custom-page-sizes
    /// proposal: 0 for 1-byte pages, or the default 16). The limits keep
    /// their page counts; an error when the page size is not one of those
    /// two or the limits exceed what the index type can address in them.
    pub fn with_page_size_log2(mut self, page_size_log2: u8) -> Result<MemoryType> {
        if page_size_log2 != 0 && page_size_log2 != Self::DEFAULT_PAGE_SIZE_LOG2 {
            bail!("page size 2^{page_size_log2} bytes: only 1 byte and 64 KiB are supported");
        }
        self.page_size_log2 = page_size_log2;
        let limit = self.absolute_max_pages();
        if self.minimum > limit || self.maximum.is_some_and(|maximum| maximum > limit) {
            bail!("memory size must be at most {limit} pages of 2^{page_size_log2} bytes");
        }
        Ok(self)
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
    pub(crate) fn absolute_max_pages(&self) -> u64 {
        let index_space: u128 = if self.memory64 { 1 << 64 } else { 1 << 32 };
        let pages = if self.page_size_log2 == 0 {
            index_space - 1
        } else {
            index_space >> self.page_size_log2
        };
        u64::try_from(pages).unwrap_or(u64::MAX)
    }

    /// The same type with `minimum` pages (a memory's current size).
    pub(crate) fn with_minimum(self, minimum: u64) -> MemoryType {
        MemoryType { minimum, ..self }
    }

    /// The compiler's view of this type, from which it derives the memory's plan.
    pub(crate) fn to_compiler(self) -> remap_compiler::module_info::MemoryType {
        remap_compiler::module_info::MemoryType {
            minimum: self.minimum,
            maximum: self.maximum,
            memory64: self.memory64,
            shared: false,
            page_size_log2: self.page_size_log2,
        }
    }
}

/// The type of a table: element type, index type and limits in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

    /// The element type.
    pub fn element(&self) -> &RefType {
        &self.element
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

    /// The largest number of elements the index type allows.
    pub(crate) fn absolute_max_elements(&self) -> u64 {
        if self.table64 {
            u64::MAX
        } else {
            u32::MAX.into()
        }
    }

    /// The same type with `minimum` elements (a table's current size).
    pub(crate) fn with_minimum(self, minimum: u64) -> TableType {
        TableType { minimum, ..self }
    }
}

/// The type of something a module imports or exports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
}

impl ExternType {
    /// The function type, if this is a function.
    pub fn func(&self) -> Option<&FuncType> {
        match self {
            ExternType::Func(t) => Some(t),
            _ => None,
        }
    }

    /// The global type, if this is a global.
    pub fn global(&self) -> Option<&GlobalType> {
        match self {
            ExternType::Global(t) => Some(t),
            _ => None,
        }
    }

    /// The table type, if this is a table.
    pub fn table(&self) -> Option<&TableType> {
        match self {
            ExternType::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The memory type, if this is a memory.
    pub fn memory(&self) -> Option<&MemoryType> {
        match self {
            ExternType::Memory(t) => Some(t),
            _ => None,
        }
    }

    /// A short word for the kind, used in error messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "function",
            ExternType::Global(_) => "global",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
        }
    }
}

/// One import of a module: where it comes from and its type.
#[derive(Clone, Debug)]
pub struct ImportType<'module> {
    module: &'module str,
    name: &'module str,
    ty: ExternType,
}

impl<'module> ImportType<'module> {
    pub(crate) fn new(module: &'module str, name: &'module str, ty: ExternType) -> Self {
        ImportType { module, name, ty }
    }

    /// The module name the import is looked up in.
    pub fn module(&self) -> &'module str {
        self.module
    }

    /// The field name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// One export of a module: its name and type.
#[derive(Clone, Debug)]
pub struct ExportType<'module> {
    name: &'module str,
    ty: ExternType,
}

impl<'module> ExportType<'module> {
    pub(crate) fn new(name: &'module str, ty: ExternType) -> Self {
        ExportType { name, ty }
    }

    /// The export name.
    pub fn name(&self) -> &'module str {
        self.name
    }

    /// The exported item's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// Whether limits `(min, max)` of an actual item match the limits an import expects.
pub(crate) fn limits_match(
    actual_min: u64,
    actual_max: Option<u64>,
    expected_min: u64,
    expected_max: Option<u64>,
) -> bool {
    actual_min >= expected_min
        && match expected_max {
            None => true,
            Some(expected) => actual_max.is_some_and(|actual| actual <= expected),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_matching_follows_the_spec() {
        assert!(limits_match(2, Some(3), 1, Some(4)));
        assert!(limits_match(2, None, 1, None));
        assert!(!limits_match(2, None, 1, Some(4)));
        assert!(!limits_match(0, Some(3), 1, None));
        assert!(!limits_match(2, Some(5), 1, Some(4)));
    }
}

/// Conversions from the compiler's global, memory and table descriptions.
pub(crate) mod convert {
    use super::*;
    use remap_compiler::module_info as info;

    pub(crate) fn table_type(ty: &info::TableType) -> TableType {
        TableType {
            element: ty.element,
            minimum: ty.minimum,
            maximum: ty.maximum,
            table64: ty.table64,
        }
    }

    pub(crate) fn memory_type(ty: &info::MemoryType) -> MemoryType {
        MemoryType {
            minimum: ty.minimum,
            maximum: ty.maximum,
            memory64: ty.memory64,
            page_size_log2: ty.page_size_log2,
        }
    }

    pub(crate) fn global_type(ty: &info::GlobalType) -> GlobalType {
        GlobalType::new(
            ty.ty,
            if ty.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
        )
    }
}

#[cfg(test)]
mod memory_type_tests {
    use super::*;

    #[test]
    fn page_sizes_are_1_byte_or_64_kib_and_limits_must_fit() {
        assert!(MemoryType::new(1, None).with_page_size_log2(12).is_err());
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
}
