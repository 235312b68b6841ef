//! The types of Wasm values and of everything a module imports or exports.
//!
//! Value, reference and function types are the compiler's type model
//! (`remap_compiler::types`), re-exported as they are: one model from the
//! type section to the embedding API. So are the types of memories, tables
//! and globals: the compiler's module info holds them and the API hands
//! them out unchanged. This module adds what only the embedding needs: the
//! types of imports and exports, and import limits matching.

pub use remap_compiler::types::{
    AbstractHeapType, ArrayType, FieldType, FuncType, GlobalType, HeapType, MemoryType,
    MemoryTypeError, Mutability, RefType, StorageType, StructType, TableType, ValType,
};

use crate::exception::TagType;
use crate::module::Module;

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
    /// An exception tag.
    Tag(TagType),
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

    /// The tag type, if this is a tag.
    pub fn tag(&self) -> Option<&TagType> {
        match self {
            ExternType::Tag(t) => Some(t),
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
            ExternType::Tag(_) => "tag",
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
    module: &'module Module,
    index: usize,
}

impl<'module> ExportType<'module> {
    /// Export `index` of `module` (in declaration order).
    pub(crate) fn new(module: &'module Module, index: usize) -> Self {
        ExportType { module, index }
    }

    /// The export name.
    pub fn name(&self) -> &'module str {
        self.module.export_name(self.index)
    }

    /// The exported item's type.
    pub fn ty(&self) -> ExternType {
        self.module.export_type(self.index)
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
