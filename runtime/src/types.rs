//! The types of Wasm values and of everything a module imports or exports.
//!
//! Value, reference and function types are the compiler's type model
//! (`remap_compiler::types`), re-exported as they are: one model from the
//! type section to the embedding API. `convert` turns the compiler's
//! global, memory and table descriptions into the API's types.

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

/// The type of a linear memory: limits in 64 KiB pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    memory64: bool,
}

impl MemoryType {
    /// A 32-bit memory of `minimum` pages that can grow to `maximum` pages.
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType {
            minimum: minimum.into(),
            maximum: maximum.map(Into::into),
            memory64: false,
        }
    }

    /// A 64-bit memory (memory64 proposal) of `minimum` pages.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: true,
        }
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

    /// The largest number of pages the index type allows.
    pub(crate) fn absolute_max_pages(&self) -> u64 {
        if self.memory64 { 1 << 48 } else { 1 << 16 }
    }
}

/// The type of a table: element type and limits in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    element: RefType,
    minimum: u32,
    maximum: Option<u32>,
}

impl TableType {
    /// A table of `element` references with these limits.
    pub fn new(element: RefType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            element,
            minimum,
            maximum,
        }
    }

    /// The element type.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    /// The minimum number of elements.
    pub fn minimum(&self) -> u32 {
        self.minimum
    }

    /// The maximum number of elements, if any.
    pub fn maximum(&self) -> Option<u32> {
        self.maximum
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
        TableType::new(
            ty.element,
            u32::try_from(ty.minimum).unwrap_or(u32::MAX),
            ty.maximum.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
        )
    }

    pub(crate) fn memory_type(ty: &info::MemoryType) -> MemoryType {
        MemoryType {
            minimum: ty.minimum,
            maximum: ty.maximum,
            memory64: ty.memory64,
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
