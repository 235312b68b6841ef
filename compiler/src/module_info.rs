//! Everything about a module except its function bodies: parsed and
//! validated with wasmparser, in a form the runtime can use directly.

use crate::error::CompileError;
use crate::types::{
    FuncType, GlobalType, HeapType, MemoryType, ModuleTypeIndex, ModuleTypes, RefType, TableType,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasmparser::{
    ConstExpr as WasmConstExpr, DataKind, ElementItems as WasmElementItems, ElementKind,
    ExternalKind, FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser, Payload,
    TableInit, TypeRef, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

/// One instruction of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConstOp {
    /// Push an i32.
    I32Const(i32),
    /// Push an i64.
    I64Const(i64),
    /// Push an f32 given by its bits.
    F32Const(u32),
    /// Push an f64 given by its bits.
    F64Const(u64),
    /// Push a v128.
    V128Const(u128),
    /// Push a null reference of the given heap type.
    RefNull(HeapType),
    /// Push a reference to function `index`.
    RefFunc(u32),
    /// Push the value of global `index` (an import or an earlier global).
    GlobalGet(u32),
    /// Pop two i32s, push their wrapping sum.
    I32Add,
    /// Pop two i32s, push their wrapping difference.
    I32Sub,
    /// Pop two i32s, push their wrapping product.
    I32Mul,
    /// Pop two i64s, push their wrapping sum.
    I64Add,
    /// Pop two i64s, push their wrapping difference.
    I64Sub,
    /// Pop two i64s, push their wrapping product.
    I64Mul,
    /// Pop an i32, push it as an `i31` reference.
    RefI31,
    /// Pop one value per field, push a new struct of this module type.
    StructNew(u32),
    /// Push a new struct of this module type with default fields.
    StructNewDefault(u32),
    /// Pop one value per field and then a descriptor, push a new struct of
    /// this (described) module type.
    StructNewDesc(u32),
    /// Pop a descriptor, push a new struct of this (described) module type
    /// with default fields.
    StructNewDefaultDesc(u32),
    /// Pop a value and a length, push a new array of this module type.
    ArrayNew(u32),
    /// Pop a length, push a new array of this module type with default elements.
    ArrayNewDefault(u32),
    /// Pop this many values, push a new array of the module type with them.
    ArrayNewFixed {
        /// Module type index of the array.
        type_index: u32,
        /// Number of elements.
        len: u32,
    },
    /// `any.convert_extern` or `extern.convert_any`: the same bits (see
    /// `crate::gc_layout`), so the value stays as it is.
    ConvertReference,
}

/// A constant expression: a stack program that leaves one value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConstExpr {
    /// The instructions, in order (without the final `end`).
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    fn parse(expr: &WasmConstExpr<'_>) -> Result<Self, CompileError> {
        let mut reader = expr.get_operators_reader();
        let mut ops = Vec::new();
        loop {
            let offset = reader.original_position() as usize;
            let op = match reader.read()? {
                Operator::End => break,
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                Operator::RefNull { hty } => {
                    ConstOp::RefNull(HeapType::from_wasmparser(hty, offset)?)
                }
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::RefI31 => ConstOp::RefI31,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::StructNewDesc { struct_type_index } => {
                    ConstOp::StructNewDesc(struct_type_index)
                }
                Operator::StructNewDefaultDesc { struct_type_index } => {
                    ConstOp::StructNewDefaultDesc(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed {
                    type_index: array_type_index,
                    len: array_size,
                },
                Operator::AnyConvertExtern | Operator::ExternConvertAny => {
                    ConstOp::ConvertReference
                }
                // Everything else the validator lets into a constant
                // expression belongs to a proposal Remap does not support.
                other => {
                    return Err(CompileError::Unsupported {
                        feature: "gc".into(),
                        offset,
                        message: format!("{other:?} in a constant expression"),
                    });
                }
            };
            ops.push(op);
        }
        Ok(Self { ops })
    }
}

/// What an import provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportKind {
    /// A function of the given module type index or of a subtype of it.
    Function(u32),
    /// A function of exactly the given module type index (custom
    /// descriptors' `(func (exact (type $t)))`).
    ExactFunction(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// An exception tag whose parameters are those of the function type at
    /// the given module type index.
    Tag(u32),
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
    /// Index in its own index space (function, table, memory, global or tag).
    pub index: u32,
}

/// The kind of an exported (or imported) entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityKind {
    /// A function.
    Function,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// Kind of entity.
    pub kind: EntityKind,
    /// Index in that kind's index space.
    pub index: u32,
}

/// A table: its type and, for defined tables, the initial element value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Type.
    pub ty: TableType,
    /// Initial value of every element of a defined table; `None` means null
    /// (and is always the case for imported tables).
    pub init: Option<ConstExpr>,
}

/// A global: type and, for defined globals, initialiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Global {
    /// Type.
    pub ty: GlobalType,
    /// Initialiser of a defined global; `None` for imported globals.
    pub init: Option<ConstExpr>,
}

/// Where a data segment goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataSegmentKind {
    /// Copied into `memory` at `offset` during instantiation.
    Active {
        /// Memory index.
        memory: u32,
        /// Offset expression (i32 for 32-bit memories, i64 for 64-bit ones).
        offset: ConstExpr,
    },
    /// Used only by `memory.init`.
    Passive,
}

/// A data segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSegment {
    /// Active or passive.
    pub kind: DataSegmentKind,
    /// The bytes. Not serialized: a precompiled module keeps them in its
    /// data section, read in place (the runtime's `data_segments`).
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// Where an element segment goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElementSegmentKind {
    /// Copied into `table` at `offset` during instantiation.
    Active {
        /// Table index.
        table: u32,
        /// Offset expression (i32 for 32-bit tables, i64 for 64-bit ones).
        offset: ConstExpr,
    },
    /// Used only by `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// The items of an element segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElementItems {
    /// Function indices (each item is `ref.func index`).
    Functions(Vec<u32>),
    /// Constant expressions producing references.
    Expressions(Vec<ConstExpr>),
}

impl ElementItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ElementItems::Functions(items) => items.len(),
            ElementItems::Expressions(items) => items.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementSegment {
    /// Active, passive or declared.
    pub kind: ElementSegmentKind,
    /// Element type.
    pub ty: RefType,
    /// The items.
    pub items: ElementItems,
}

/// Names from the name section (malformed name sections are ignored, as
/// the spec allows).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Names {
    /// The module's name.
    pub module: Option<String>,
    /// Function index -> name. Not serialized: a precompiled module keeps
    /// function names in a lookup table read in place (the runtime's
    /// `code_tables`), so loading one decodes none of them.
    #[serde(skip)]
    pub functions: BTreeMap<u32, String>,
}

/// A module's declarations, parsed and validated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModuleInfo {
    /// The type section, by module type index.
    pub types: ModuleTypes,
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// Exports in declaration order.
    pub exports: Vec<Export>,
    /// Type index of every function, imports first.
    pub functions: Vec<u32>,
    /// Number of imported functions (the first entries of `functions`).
    pub num_imported_functions: u32,
    /// Every table, imports first.
    pub tables: Vec<Table>,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Every memory, imports first.
    pub memories: Vec<MemoryType>,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Every global, imports first.
    pub globals: Vec<Global>,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Every exception tag's function type index (its parameters are the
    /// payload), imports first.
    pub tags: Vec<u32>,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Start function index.
    pub start: Option<u32>,
    /// Names from the name section.
    pub names: Names,
    /// The data count section's value, if present.
    pub data_count: Option<u32>,
}

impl ModuleInfo {
    /// The function type at module type index `type_index`; `None` when
    /// there is no such type or it is not a function type.
    pub fn signature(&self, type_index: u32) -> Option<&FuncType> {
        self.types.func_type(ModuleTypeIndex::from_u32(type_index))
    }

    /// The signature of function `func_index` (imports first); `None` for a
    /// function index out of range.
    pub fn func_type(&self, func_index: u32) -> Option<&FuncType> {
        self.signature(*self.functions.get(func_index as usize)?)
    }

    /// The payload types of tag `tag_index` (its function type's
    /// parameters); `None` for an index out of range.
    pub fn tag_type(&self, tag_index: u32) -> Option<&FuncType> {
        self.signature(*self.tags.get(tag_index as usize)?)
    }

    /// Whether function `func_index` is imported.
    pub fn is_imported_function(&self, func_index: u32) -> bool {
        func_index < self.num_imported_functions
    }

    /// Number of functions defined (not imported) by the module.
    pub fn num_defined_functions(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_functions
    }

    /// The export named `name`.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|export| export.name == name)
    }

    /// The name of function `func_index` from the name section.
    pub fn function_name(&self, func_index: u32) -> Option<&str> {
        self.names.functions.get(&func_index).map(String::as_str)
    }

    /// Parses and validates `wasm` with `features` (a compiler's
    /// [`features`](crate::Compiler::features)), including every function body.
    pub fn from_wasm(wasm: &[u8], features: WasmFeatures) -> Result<Self, CompileError> {
        let parsed = ParsedModule::parse(wasm, features)?;
        for body in parsed.bodies {
            let mut validator = body.validator.into_validator(Default::default());
            validator.validate(&body.body)?;
        }
        Ok(parsed.info)
    }
}

/// The Wasm features Remap compiles by default: Wasm 2.0 without SIMD, plus
/// multi-memory, extended constant expressions, memory64 (64-bit memories
/// and tables), custom page sizes, typed function references, tail calls,
/// GC (whose instructions Remap lacks are refused when translated), wide
/// arithmetic, relaxed SIMD, exception handling (with the legacy
/// `try`/`catch`/`delegate`/`rethrow` form) and threads (shared memories
/// and atomics). Custom descriptors are opt-in
/// (`Compiler::with_custom_descriptors`). SIMD is opt-in (`Compiler::with_simd`);
/// relaxed SIMD only takes effect with it, since its instructions work on
/// `v128` values.
pub fn supported_features() -> WasmFeatures {
    (WasmFeatures::WASM2
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MEMORY64
        | WasmFeatures::CUSTOM_PAGE_SIZES
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::GC
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::LEGACY_EXCEPTIONS
        | WasmFeatures::THREADS)
        - WasmFeatures::SIMD
}

/// A function body waiting for validation and translation.
pub(crate) struct PendingBody<'a> {
    pub validator: FuncToValidate<ValidatorResources>,
    pub body: FunctionBody<'a>,
}

/// The result of the module-level pass: declarations plus bodies.
pub(crate) struct ParsedModule<'a> {
    pub info: ModuleInfo,
    pub bodies: Vec<PendingBody<'a>>,
}

impl<'a> ParsedModule<'a> {
    pub fn parse(wasm: &'a [u8], features: WasmFeatures) -> Result<Self, CompileError> {
        let mut validator = Validator::new_with_features(features);
        let mut info = ModuleInfo::default();
        let mut bodies = Vec::new();
        // The parser decodes with the same features the validator checks:
        // left at its default (every feature) it would accept encodings of
        // proposals Remap does not support, such as compact imports.
        let mut parser = Parser::new(0);
        parser.set_features(features);
        for payload in parser.parse_all(wasm) {
            let payload = payload?;
            if let ValidPayload::Func(validator, body) = validator.payload(&payload)? {
                bodies.push(PendingBody { validator, body });
            }
            info.absorb(payload)?;
        }
        Ok(Self { info, bodies })
    }
}

impl ModuleInfo {
    /// Records one (already validated) payload.
    fn absorb(&mut self, payload: Payload<'_>) -> Result<(), CompileError> {
        match payload {
            Payload::TypeSection(reader) => {
                self.types = ModuleTypes::from_type_section(reader)?;
            }
            Payload::ImportSection(reader) => {
                let offset = reader.range().start as usize;
                for import in reader.into_imports() {
                    let import = import?;
                    let (kind, index) = match import.ty {
                        TypeRef::Func(type_index) | TypeRef::FuncExact(type_index) => {
                            self.functions.push(type_index);
                            self.num_imported_functions += 1;
                            let kind = if matches!(import.ty, TypeRef::FuncExact(_)) {
                                ImportKind::ExactFunction(type_index)
                            } else {
                                ImportKind::Function(type_index)
                            };
                            (kind, self.num_imported_functions - 1)
                        }
                        TypeRef::Table(ty) => {
                            let ty = TableType::from_wasmparser(&ty, offset)?;
                            self.tables.push(Table { ty, init: None });
                            self.num_imported_tables += 1;
                            (ImportKind::Table(ty), self.num_imported_tables - 1)
                        }
                        TypeRef::Memory(ty) => {
                            let ty = MemoryType::from_wasmparser(&ty, offset)?;
                            self.memories.push(ty);
                            self.num_imported_memories += 1;
                            (ImportKind::Memory(ty), self.num_imported_memories - 1)
                        }
                        TypeRef::Global(ty) => {
                            let ty = GlobalType::from_wasmparser(&ty, offset)?;
                            self.globals.push(Global { ty, init: None });
                            self.num_imported_globals += 1;
                            (ImportKind::Global(ty), self.num_imported_globals - 1)
                        }
                        TypeRef::Tag(tag) => {
                            self.tags.push(tag.func_type_idx);
                            self.num_imported_tags += 1;
                            (
                                ImportKind::Tag(tag.func_type_idx),
                                self.num_imported_tags - 1,
                            )
                        }
                    };
                    self.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    self.functions.push(type_index?);
                }
            }
            Payload::TableSection(reader) => {
                let offset = reader.range().start as usize;
                for table in reader {
                    let table = table?;
                    let init = match table.init {
                        TableInit::RefNull => None,
                        TableInit::Expr(expr) => Some(ConstExpr::parse(&expr)?),
                    };
                    self.tables.push(Table {
                        ty: TableType::from_wasmparser(&table.ty, offset)?,
                        init,
                    });
                }
            }
            Payload::MemorySection(reader) => {
                let offset = reader.range().start as usize;
                for memory in reader {
                    self.memories
                        .push(MemoryType::from_wasmparser(&memory?, offset)?);
                }
            }
            Payload::GlobalSection(reader) => {
                let offset = reader.range().start as usize;
                for global in reader {
                    let global = global?;
                    self.globals.push(Global {
                        ty: GlobalType::from_wasmparser(&global.ty, offset)?,
                        init: Some(ConstExpr::parse(&global.init_expr)?),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => EntityKind::Function,
                        ExternalKind::Table => EntityKind::Table,
                        ExternalKind::Memory => EntityKind::Memory,
                        ExternalKind::Global => EntityKind::Global,
                        ExternalKind::Tag => EntityKind::Tag,
                    };
                    self.exports.push(Export {
                        name: export.name.to_string(),
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    self.tags.push(tag?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                for element in reader {
                    let element = element?;
                    let offset = element.range.start as usize;
                    let kind = match element.kind {
                        ElementKind::Passive => ElementSegmentKind::Passive,
                        ElementKind::Declared => ElementSegmentKind::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElementSegmentKind::Active {
                            table: table_index.unwrap_or(0),
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let (ty, items) = match element.items {
                        WasmElementItems::Functions(reader) => (
                            RefType::FUNCREF,
                            ElementItems::Functions(reader.into_iter().collect::<Result<_, _>>()?),
                        ),
                        WasmElementItems::Expressions(ref_type, reader) => {
                            let mut exprs = Vec::new();
                            for expr in reader {
                                exprs.push(ConstExpr::parse(&expr?)?);
                            }
                            (
                                RefType::from_wasmparser(ref_type, offset)?,
                                ElementItems::Expressions(exprs),
                            )
                        }
                    };
                    self.elements.push(ElementSegment { kind, ty, items });
                }
            }
            Payload::DataCountSection { count, .. } => self.data_count = Some(count),
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let kind = match data.kind {
                        DataKind::Passive => DataSegmentKind::Passive,
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataSegmentKind::Active {
                            memory: memory_index,
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    self.data.push(DataSegment {
                        kind,
                        data: data.data.to_vec(),
                    });
                }
            }
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    self.absorb_names(names);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn absorb_names(&mut self, reader: wasmparser::NameSectionReader<'_>) {
        for name in reader.into_iter().flatten() {
            match name {
                Name::Module { name, .. } => self.names.module = Some(name.to_string()),
                Name::Function(map) => {
                    for naming in map.into_iter().flatten() {
                        self.names
                            .functions
                            .insert(naming.index, naming.name.to_string());
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{
        CompositeInnerType, CompositeType, FieldType, StorageType, StructType, SubType, ValType,
    };

    #[test]
    fn a_struct_type_is_no_function_signature() {
        let struct_type = SubType {
            is_final: true,
            supertype: None,
            descriptor: None,
            describes: None,
            composite: CompositeType {
                shared: false,
                inner: CompositeInnerType::Struct(StructType {
                    fields: Box::new([FieldType {
                        storage: StorageType::I8,
                        mutable: false,
                    }]),
                }),
            },
        };
        let func_type = SubType::func(FuncType::new([ValType::I32], []));
        let info = ModuleInfo {
            types: ModuleTypes::from_rec_groups([vec![struct_type], vec![func_type]]).unwrap(),
            functions: vec![0, 1, 7],
            ..ModuleInfo::default()
        };
        assert_eq!(info.signature(0), None);
        assert_eq!(info.func_type(0), None);
        assert_eq!(
            info.func_type(1).map(FuncType::params),
            Some(&[ValType::I32][..])
        );
        assert_eq!(info.func_type(2), None);
        assert_eq!(info.func_type(3), None);
    }
}
