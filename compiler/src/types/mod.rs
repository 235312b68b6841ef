//! The one Wasm 3.0 type model shared by compiler, runtime and API.
//!
//! Value types ([`ValType`], [`RefType`], [`HeapType`]), the composite types a
//! type section defines ([`FuncType`], [`StructType`], [`ArrayType`]), sub
//! types with their declared supertype ([`SubType`]) and recursion groups
//! ([`RecGroup`]), and the types of memories, tables and globals
//! ([`MemoryType`], [`TableType`], [`GlobalType`], entity.rs). [`ModuleTypes`] (module.rs) holds one module's type
//! section; [`TypeRegistry`] (registry.rs) canonicalizes rec groups across
//! all modules of an engine; convert.rs turns wasmparser's types into these
//! (a proposal the model does not hold is an error, never a panic).
//!
//! A concrete heap type names its type by a [`TypeIndex`], which says which
//! index space the number belongs to:
//! - [`TypeIndex::Module`] in a module's own types ([`ModuleTypes`]; every
//!   reference there is of this form);
//! - [`TypeIndex::RecGroup`] relative to the enclosing rec group, only inside
//!   the canonical form of a rec group (the registry's key);
//! - [`TypeIndex::Engine`] once registered (every type the registry hands out).
//!
//! Custom descriptors add exact heap types ([`HeapType::Exact`]: a type and
//! none of its strict subtypes) and the `descriptor`/`describes` clauses of
//! a [`SubType`], which name types of the same rec group and take part in
//! canonicalization like any other reference (wasmparser checks their
//! rules when it validates).
//!
//! Subtyping ([`ValType::is_subtype_of`] and friends) asks a
//! [`ConcreteTypes`] about concrete indices: [`ModuleTypes`] answers for
//! module indices, [`TypeRegistry`] for engine indices. An index the
//! resolver does not know matches nothing, not even itself, so a stale or
//! foreign index fails closed.

mod convert;
mod entity;
mod module;
mod registry;

pub use entity::{GlobalType, IndexType, MemoryType, MemoryTypeError, Mutability, TableType};
pub use module::ModuleTypes;
pub use registry::{RegisteredType, RegisteredTypes, TypeRegistry};

use cranelift_codegen::entity::entity_impl;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a type in a module's type section.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModuleTypeIndex(u32);
entity_impl!(ModuleTypeIndex, "type");

/// Canonical index of a type in an engine's [`TypeRegistry`]: two types have
/// the same engine index exactly when they are equal (iso-recursively).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EngineTypeIndex(u32);
entity_impl!(EngineTypeIndex, "engine-type");

/// Index of a recursion group in a module's type section.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecGroupIndex(u32);
entity_impl!(RecGroupIndex, "rec-group");

/// Which type a concrete heap type or a supertype names, and in which index
/// space (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypeIndex {
    /// A type of the module's type section.
    Module(ModuleTypeIndex),
    /// The type at this position of the enclosing canonical rec group.
    RecGroup(u32),
    /// A type registered in the engine.
    Engine(EngineTypeIndex),
}

impl fmt::Display for TypeIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The text format's own spelling of a type index.
            TypeIndex::Module(index) => write!(f, "{}", index.as_u32()),
            TypeIndex::RecGroup(index) => write!(f, "(rec {index})"),
            TypeIndex::Engine(index) => write!(f, "(engine {})", index.as_u32()),
        }
    }
}

/// The abstract heap types of Wasm 3.0.
///
/// Three hierarchies, each with a top and a bottom: internal values
/// (`none <: i31, struct, array <: eq <: any`), functions
/// (`nofunc <: func`), external values (`noextern <: extern`) and
/// exceptions (`noexn <: exn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AbstractHeapType {
    /// Any function.
    Func,
    /// No function (the bottom of the function hierarchy).
    NoFunc,
    /// Any host value.
    Extern,
    /// No host value (the bottom of the external hierarchy).
    NoExtern,
    /// Any internal value (the top of the internal hierarchy).
    Any,
    /// Values that `ref.eq` compares.
    Eq,
    /// Unboxed 31-bit integers.
    I31,
    /// Any struct.
    Struct,
    /// Any array.
    Array,
    /// No internal value (the bottom of the internal hierarchy).
    None,
    /// Any exception.
    Exn,
    /// No exception (the bottom of the exception hierarchy).
    NoExn,
}

impl AbstractHeapType {
    /// The name in the text format, as in `(ref func)`.
    pub fn name(self) -> &'static str {
        match self {
            AbstractHeapType::Func => "func",
            AbstractHeapType::NoFunc => "nofunc",
            AbstractHeapType::Extern => "extern",
            AbstractHeapType::NoExtern => "noextern",
            AbstractHeapType::Any => "any",
            AbstractHeapType::Eq => "eq",
            AbstractHeapType::I31 => "i31",
            AbstractHeapType::Struct => "struct",
            AbstractHeapType::Array => "array",
            AbstractHeapType::None => "none",
            AbstractHeapType::Exn => "exn",
            AbstractHeapType::NoExn => "noexn",
        }
    }

    /// The shorthand of the nullable reference, as in `funcref`.
    fn nullable_shorthand(self) -> &'static str {
        match self {
            AbstractHeapType::Func => "funcref",
            AbstractHeapType::NoFunc => "nullfuncref",
            AbstractHeapType::Extern => "externref",
            AbstractHeapType::NoExtern => "nullexternref",
            AbstractHeapType::Any => "anyref",
            AbstractHeapType::Eq => "eqref",
            AbstractHeapType::I31 => "i31ref",
            AbstractHeapType::Struct => "structref",
            AbstractHeapType::Array => "arrayref",
            AbstractHeapType::None => "nullref",
            AbstractHeapType::Exn => "exnref",
            AbstractHeapType::NoExn => "nullexnref",
        }
    }

    /// The bottom of this type's hierarchy.
    pub fn bottom(self) -> AbstractHeapType {
        match self {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => AbstractHeapType::NoFunc,
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => AbstractHeapType::NoExtern,
            AbstractHeapType::Exn | AbstractHeapType::NoExn => AbstractHeapType::NoExn,
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => AbstractHeapType::None,
        }
    }

    /// Whether every value of `self` is a value of `other` (same sharedness
    /// assumed).
    pub fn is_subtype_of(self, other: AbstractHeapType) -> bool {
        use AbstractHeapType::*;
        match (self, other) {
            _ if self == other => true,
            (None, Any | Eq | I31 | Struct | Array) => true,
            (I31 | Struct | Array, Eq | Any) => true,
            (Eq, Any) => true,
            (NoFunc, Func) | (NoExtern, Extern) | (NoExn, Exn) => true,
            _ => false,
        }
    }
}

/// What a reference points to: an abstract heap type or a concrete type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    /// An abstract heap type, possibly shared (shared-everything threads).
    Abstract {
        /// Whether the referenced values may be shared between threads.
        shared: bool,
        /// The abstract type.
        ty: AbstractHeapType,
    },
    /// A type the module defines, or any subtype of it.
    Concrete(TypeIndex),
    /// Exactly a type the module defines, none of its strict subtypes
    /// (custom descriptors' `(exact $t)`).
    Exact(TypeIndex),
}

impl HeapType {
    /// An unshared abstract heap type.
    pub const fn unshared(ty: AbstractHeapType) -> HeapType {
        HeapType::Abstract { shared: false, ty }
    }

    /// Whether every value of `self` is a value of `other`. An exact type
    /// is below its inexact form; only an equal exact type (or a bottom
    /// type) is below an exact type.
    pub fn is_subtype_of(&self, other: &HeapType, types: &impl ConcreteTypes) -> bool {
        match (*self, *other) {
            (
                HeapType::Abstract { shared, ty },
                HeapType::Abstract {
                    shared: other_shared,
                    ty: other_ty,
                },
            ) => shared == other_shared && ty.is_subtype_of(other_ty),
            (
                HeapType::Concrete(index) | HeapType::Exact(index),
                HeapType::Abstract { shared, ty },
            ) => types.shape(index).is_some_and(|shape| {
                shape.shared == shared && shape.abstract_type().is_subtype_of(ty)
            }),
            (
                HeapType::Abstract { shared, ty },
                HeapType::Concrete(index) | HeapType::Exact(index),
            ) => types.shape(index).is_some_and(|shape| {
                shape.shared == shared && shape.abstract_type().bottom() == ty
            }),
            (
                HeapType::Concrete(index) | HeapType::Exact(index),
                HeapType::Concrete(other_index),
            ) => types.is_concrete_subtype(index, other_index),
            // Declared subtyping is antisymmetric: both ways means equal.
            (HeapType::Exact(index), HeapType::Exact(other_index)) => {
                types.is_concrete_subtype(index, other_index)
                    && types.is_concrete_subtype(other_index, index)
            }
            (HeapType::Concrete(_), HeapType::Exact(_)) => false,
        }
    }

    /// The type index a concrete or exact heap type names.
    pub fn concrete_index(&self) -> Option<TypeIndex> {
        match self {
            HeapType::Concrete(index) | HeapType::Exact(index) => Some(*index),
            HeapType::Abstract { .. } => None,
        }
    }

    fn map_index(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> HeapType {
        match self {
            HeapType::Concrete(index) => HeapType::Concrete(map(index)),
            HeapType::Exact(index) => HeapType::Exact(map(index)),
            HeapType::Abstract { .. } => self,
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Abstract { shared: false, ty } => f.write_str(ty.name()),
            HeapType::Abstract { shared: true, ty } => write!(f, "(shared {})", ty.name()),
            HeapType::Concrete(index) => index.fmt(f),
            HeapType::Exact(index) => write!(f, "(exact {index})"),
        }
    }
}

/// The type of a reference value: its heap type and whether it may be null.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    /// Whether null is a value of this type.
    pub nullable: bool,
    /// What a non-null value points to.
    pub heap_type: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType::nullable_abstract(AbstractHeapType::Func);
    /// `externref`.
    pub const EXTERNREF: RefType = RefType::nullable_abstract(AbstractHeapType::Extern);
    /// `anyref`.
    pub const ANYREF: RefType = RefType::nullable_abstract(AbstractHeapType::Any);
    /// `eqref`.
    pub const EQREF: RefType = RefType::nullable_abstract(AbstractHeapType::Eq);
    /// `i31ref`.
    pub const I31REF: RefType = RefType::nullable_abstract(AbstractHeapType::I31);
    /// `structref`.
    pub const STRUCTREF: RefType = RefType::nullable_abstract(AbstractHeapType::Struct);
    /// `arrayref`.
    pub const ARRAYREF: RefType = RefType::nullable_abstract(AbstractHeapType::Array);
    /// `nullref`.
    pub const NULLREF: RefType = RefType::nullable_abstract(AbstractHeapType::None);
    /// `nullfuncref`.
    pub const NULLFUNCREF: RefType = RefType::nullable_abstract(AbstractHeapType::NoFunc);
    /// `nullexternref`.
    pub const NULLEXTERNREF: RefType = RefType::nullable_abstract(AbstractHeapType::NoExtern);
    /// `exnref`.
    pub const EXNREF: RefType = RefType::nullable_abstract(AbstractHeapType::Exn);
    /// `nullexnref`.
    pub const NULLEXNREF: RefType = RefType::nullable_abstract(AbstractHeapType::NoExn);

    /// `(ref null ty)` for an unshared abstract `ty`.
    pub const fn nullable_abstract(ty: AbstractHeapType) -> RefType {
        RefType {
            nullable: true,
            heap_type: HeapType::unshared(ty),
        }
    }

    /// Whether every value of `self` is a value of `other`.
    pub fn is_subtype_of(&self, other: &RefType, types: &impl ConcreteTypes) -> bool {
        (!self.nullable || other.nullable) && self.heap_type.is_subtype_of(&other.heap_type, types)
    }

    fn map_index(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> RefType {
        RefType {
            nullable: self.nullable,
            heap_type: self.heap_type.map_index(map),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap_type) {
            (true, HeapType::Abstract { shared: false, ty }) => {
                f.write_str(ty.nullable_shorthand())
            }
            (true, heap_type) => write!(f, "(ref null {heap_type})"),
            (false, heap_type) => write!(f, "(ref {heap_type})"),
        }
    }
}

/// The type of a Wasm value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

impl ValType {
    /// `funcref`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `anyref`.
    pub const ANYREF: ValType = ValType::Ref(RefType::ANYREF);
    /// `eqref`.
    pub const EQREF: ValType = ValType::Ref(RefType::EQREF);
    /// `i31ref`.
    pub const I31REF: ValType = ValType::Ref(RefType::I31REF);
    /// `structref`.
    pub const STRUCTREF: ValType = ValType::Ref(RefType::STRUCTREF);
    /// `arrayref`.
    pub const ARRAYREF: ValType = ValType::Ref(RefType::ARRAYREF);
    /// `nullref`.
    pub const NULLREF: ValType = ValType::Ref(RefType::NULLREF);
    /// `nullfuncref`.
    pub const NULLFUNCREF: ValType = ValType::Ref(RefType::NULLFUNCREF);
    /// `nullexternref`.
    pub const NULLEXTERNREF: ValType = ValType::Ref(RefType::NULLEXTERNREF);
    /// `exnref`.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);
    /// `nullexnref`.
    pub const NULLEXNREF: ValType = ValType::Ref(RefType::NULLEXNREF);

    /// Whether this is a numeric type (i32, i64, f32, f64).
    pub fn is_num(&self) -> bool {
        matches!(
            self,
            ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64
        )
    }

    /// Whether this is a reference type.
    pub fn is_ref(&self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// Whether every value of `self` is a value of `other`: numeric and
    /// vector types only match themselves.
    pub fn is_subtype_of(&self, other: &ValType, types: &impl ConcreteTypes) -> bool {
        match (self, other) {
            (ValType::Ref(ty), ValType::Ref(other)) => ty.is_subtype_of(other, types),
            _ => self == other,
        }
    }

    fn map_index(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> ValType {
        match self {
            ValType::Ref(ty) => ValType::Ref(ty.map_index(map)),
            _ => self,
        }
    }

    fn concrete_index(&self) -> Option<TypeIndex> {
        match self {
            ValType::Ref(ty) => ty.heap_type.concrete_index(),
            _ => None,
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(ty) => ty.fmt(f),
        }
    }
}

/// The signature of a function: parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
}

impl FuncType {
    /// A signature with these parameters and results.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// The parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The result types.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    /// How many `ValRaw` slots a call of this type needs (the entry and
    /// host trampolines pass parameters and results in one array).
    pub fn value_slots(&self) -> usize {
        self.params.len().max(self.results.len())
    }

    /// Whether a function of type `self` may be used where `other` is
    /// expected: parameters contravariant, results covariant.
    pub fn is_subtype_of(&self, other: &FuncType, types: &impl ConcreteTypes) -> bool {
        self.params.len() == other.params.len()
            && self.results.len() == other.results.len()
            && self
                .params
                .iter()
                .zip(other.params.iter())
                .all(|(mine, theirs)| theirs.is_subtype_of(mine, types))
            && self
                .results
                .iter()
                .zip(other.results.iter())
                .all(|(mine, theirs)| mine.is_subtype_of(theirs, types))
    }

    fn map_indices(&self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> FuncType {
        FuncType {
            params: self.params.iter().map(|ty| ty.map_index(map)).collect(),
            results: self.results.iter().map(|ty| ty.map_index(map)).collect(),
        }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for ty in self.params.iter() {
                write!(f, " {ty}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for ty in self.results.iter() {
                write!(f, " {ty}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// How a struct field or array element is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StorageType {
    /// A packed 8-bit integer (read as i32).
    I8,
    /// A packed 16-bit integer (read as i32).
    I16,
    /// A value of this type.
    Val(ValType),
}

impl StorageType {
    /// The type of the value `struct.get`/`array.get` pushes.
    pub fn unpacked(&self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(ty) => *ty,
        }
    }

    fn map_index(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> StorageType {
        match self {
            StorageType::Val(ty) => StorageType::Val(ty.map_index(map)),
            StorageType::I8 | StorageType::I16 => self,
        }
    }
}

impl fmt::Display for StorageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageType::I8 => f.write_str("i8"),
            StorageType::I16 => f.write_str("i16"),
            StorageType::Val(ty) => ty.fmt(f),
        }
    }
}

/// The type of a struct field or of an array's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldType {
    /// How the value is stored.
    pub storage: StorageType,
    /// Whether `struct.set`/`array.set` may change it.
    pub mutable: bool,
}

impl FieldType {
    /// Whether a field of type `self` may stand in for one of type `other`:
    /// immutable fields are covariant, mutable ones invariant.
    pub fn is_subtype_of(&self, other: &FieldType, types: &impl ConcreteTypes) -> bool {
        let storage_matches = |sub: &StorageType, sup: &StorageType| match (sub, sup) {
            (StorageType::Val(sub), StorageType::Val(sup)) => sub.is_subtype_of(sup, types),
            _ => sub == sup,
        };
        self.mutable == other.mutable
            && storage_matches(&self.storage, &other.storage)
            && (!self.mutable || storage_matches(&other.storage, &self.storage))
    }

    fn map_index(self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> FieldType {
        FieldType {
            storage: self.storage.map_index(map),
            mutable: self.mutable,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(mut {})", self.storage)
        } else {
            self.storage.fmt(f)
        }
    }
}

/// A struct type: its fields in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct StructType {
    /// The fields.
    pub fields: Box<[FieldType]>,
}

impl StructType {
    /// Whether `self` may stand in for `other`: a prefix-compatible
    /// extension (width and depth subtyping).
    pub fn is_subtype_of(&self, other: &StructType, types: &impl ConcreteTypes) -> bool {
        self.fields.len() >= other.fields.len()
            && self
                .fields
                .iter()
                .zip(other.fields.iter())
                .all(|(mine, theirs)| mine.is_subtype_of(theirs, types))
    }
}

impl fmt::Display for StructType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(struct")?;
        for field in self.fields.iter() {
            write!(f, " (field {field})")?;
        }
        f.write_str(")")
    }
}

/// An array type: the type of its elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArrayType {
    /// The element type.
    pub element: FieldType,
}

impl fmt::Display for ArrayType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(array {})", self.element)
    }
}

/// What a composite type is: the part of [`CompositeType`] besides sharedness.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompositeInnerType {
    /// A function type.
    Func(FuncType),
    /// A struct type.
    Struct(StructType),
    /// An array type.
    Array(ArrayType),
}

/// The kinds of composite type: what abstract heap type a concrete type is
/// directly below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompositeKind {
    /// A function type (below `func`).
    Func,
    /// A struct type (below `struct`).
    Struct,
    /// An array type (below `array`).
    Array,
}

/// All that abstract subtyping needs to know of a concrete type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompositeShape {
    /// Function, struct or array.
    pub kind: CompositeKind,
    /// Whether it is a shared type.
    pub shared: bool,
}

impl CompositeShape {
    /// The abstract heap type every type of this shape is directly below.
    pub fn abstract_type(&self) -> AbstractHeapType {
        match self.kind {
            CompositeKind::Func => AbstractHeapType::Func,
            CompositeKind::Struct => AbstractHeapType::Struct,
            CompositeKind::Array => AbstractHeapType::Array,
        }
    }
}

/// A type a type section defines (before its sub-type wrapper).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompositeType {
    /// Whether values of this type may be shared between threads.
    pub shared: bool,
    /// Function, struct or array.
    pub inner: CompositeInnerType,
}

impl CompositeType {
    /// An unshared function type.
    pub fn func(ty: FuncType) -> CompositeType {
        CompositeType {
            shared: false,
            inner: CompositeInnerType::Func(ty),
        }
    }

    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.inner {
            CompositeInnerType::Func(ty) => Some(ty),
            _ => None,
        }
    }

    /// The struct type, if this is one.
    pub fn as_struct(&self) -> Option<&StructType> {
        match &self.inner {
            CompositeInnerType::Struct(ty) => Some(ty),
            _ => None,
        }
    }

    /// The array type, if this is one.
    pub fn as_array(&self) -> Option<&ArrayType> {
        match &self.inner {
            CompositeInnerType::Array(ty) => Some(ty),
            _ => None,
        }
    }

    /// Its kind and sharedness.
    pub fn shape(&self) -> CompositeShape {
        let kind = match self.inner {
            CompositeInnerType::Func(_) => CompositeKind::Func,
            CompositeInnerType::Struct(_) => CompositeKind::Struct,
            CompositeInnerType::Array(_) => CompositeKind::Array,
        };
        CompositeShape {
            kind,
            shared: self.shared,
        }
    }

    /// Whether `self` is structurally a subtype of `other` (the check a
    /// declared supertype must pass; both of the same kind and sharedness).
    pub fn is_subtype_of(&self, other: &CompositeType, types: &impl ConcreteTypes) -> bool {
        self.shared == other.shared
            && match (&self.inner, &other.inner) {
                (CompositeInnerType::Func(sub), CompositeInnerType::Func(sup)) => {
                    sub.is_subtype_of(sup, types)
                }
                (CompositeInnerType::Struct(sub), CompositeInnerType::Struct(sup)) => {
                    sub.is_subtype_of(sup, types)
                }
                (CompositeInnerType::Array(sub), CompositeInnerType::Array(sup)) => {
                    sub.element.is_subtype_of(&sup.element, types)
                }
                _ => false,
            }
    }
}

impl fmt::Display for CompositeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shared {
            f.write_str("(shared ")?;
        }
        match &self.inner {
            CompositeInnerType::Func(ty) => ty.fmt(f)?,
            CompositeInnerType::Struct(ty) => ty.fmt(f)?,
            CompositeInnerType::Array(ty) => ty.fmt(f)?,
        }
        if self.shared {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A type definition: a composite type, whether it may be subtyped further,
/// its declared supertype and (custom descriptors) the struct types it is
/// described by or describes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubType {
    /// Whether no type may declare this one as its supertype.
    pub is_final: bool,
    /// The declared supertype, if any.
    pub supertype: Option<TypeIndex>,
    /// `(descriptor $d)`: every object of this struct type holds a
    /// reference to an object of exactly type `$d`, its descriptor.
    pub descriptor: Option<TypeIndex>,
    /// `(describes $t)`: this struct type is the descriptor type of `$t`.
    pub describes: Option<TypeIndex>,
    /// The type itself.
    pub composite: CompositeType,
}

impl SubType {
    /// A final function type without supertype: what `(type (func ...))`
    /// declares, and the type of a host function.
    pub fn func(ty: FuncType) -> SubType {
        SubType {
            is_final: true,
            supertype: None,
            descriptor: None,
            describes: None,
            composite: CompositeType::func(ty),
        }
    }

    /// Calls `visit` with every type index this type mentions: its
    /// supertype, its descriptor and described types, then those in its
    /// fields, parameters and results.
    pub fn visit_indices(&self, visit: &mut impl FnMut(TypeIndex)) {
        for index in [self.supertype, self.descriptor, self.describes]
            .into_iter()
            .flatten()
        {
            visit(index);
        }
        let mut visit_val = |ty: &ValType| {
            if let Some(index) = ty.concrete_index() {
                visit(index);
            }
        };
        match &self.composite.inner {
            CompositeInnerType::Func(ty) => ty
                .params
                .iter()
                .chain(ty.results.iter())
                .for_each(visit_val),
            CompositeInnerType::Struct(ty) => ty
                .fields
                .iter()
                .filter_map(|field| match &field.storage {
                    StorageType::Val(ty) => Some(ty),
                    StorageType::I8 | StorageType::I16 => None,
                })
                .for_each(visit_val),
            CompositeInnerType::Array(ty) => {
                if let StorageType::Val(ty) = &ty.element.storage {
                    visit_val(ty);
                }
            }
        }
    }

    /// This type with every type index replaced by `map(index)`.
    pub fn map_indices(&self, map: &mut impl FnMut(TypeIndex) -> TypeIndex) -> SubType {
        let inner = match &self.composite.inner {
            CompositeInnerType::Func(ty) => CompositeInnerType::Func(ty.map_indices(map)),
            CompositeInnerType::Struct(ty) => CompositeInnerType::Struct(StructType {
                fields: ty.fields.iter().map(|field| field.map_index(map)).collect(),
            }),
            CompositeInnerType::Array(ty) => CompositeInnerType::Array(ArrayType {
                element: ty.element.map_index(map),
            }),
        };
        SubType {
            is_final: self.is_final,
            supertype: self.supertype.map(&mut *map),
            descriptor: self.descriptor.map(&mut *map),
            describes: self.describes.map(&mut *map),
            composite: CompositeType {
                shared: self.composite.shared,
                inner,
            },
        }
    }
}

impl fmt::Display for SubType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = self.is_final && self.supertype.is_none();
        if !bare {
            f.write_str("(sub ")?;
            if self.is_final {
                f.write_str("final ")?;
            }
            if let Some(supertype) = self.supertype {
                write!(f, "{supertype} ")?;
            }
        }
        if let Some(described) = self.describes {
            write!(f, "(describes {described}) ")?;
        }
        if let Some(descriptor) = self.descriptor {
            write!(f, "(descriptor {descriptor}) ")?;
        }
        self.composite.fmt(f)?;
        if !bare {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A recursion group in canonical form: references to its own members are
/// [`TypeIndex::RecGroup`], references to other types [`TypeIndex::Engine`]
/// (or, inside one module, canonical [`TypeIndex::Module`] indices). Two rec
/// groups are iso-recursively equal exactly when their canonical forms are
/// equal, which makes this the registry's key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecGroup {
    types: Box<[SubType]>,
}

impl RecGroup {
    /// The canonical form of the rec group `members`, whose first type has
    /// module index `start`: a reference to a module index at or after
    /// `start` becomes group-relative, one before `start` becomes
    /// `outer(index)` (or stays as it is when `outer` gives `None`).
    pub fn canonicalize(
        members: &[SubType],
        start: ModuleTypeIndex,
        mut outer: impl FnMut(ModuleTypeIndex) -> Option<TypeIndex>,
    ) -> RecGroup {
        let mut map = |index: TypeIndex| match index {
            TypeIndex::Module(module_index) if module_index >= start => {
                TypeIndex::RecGroup(module_index.as_u32() - start.as_u32())
            }
            TypeIndex::Module(module_index) => outer(module_index).unwrap_or(index),
            TypeIndex::RecGroup(_) | TypeIndex::Engine(_) => index,
        };
        RecGroup {
            types: members.iter().map(|ty| ty.map_indices(&mut map)).collect(),
        }
    }

    /// The members, in order.
    pub fn types(&self) -> &[SubType] {
        &self.types
    }
}

impl fmt::Display for RecGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(rec")?;
        for ty in self.types.iter() {
            write!(f, " (type {ty})")?;
        }
        f.write_str(")")
    }
}

/// Resolves concrete type indices for subtyping: implemented by
/// [`ModuleTypes`] (module indices) and [`TypeRegistry`] (engine indices).
pub trait ConcreteTypes {
    /// The kind and sharedness of the type `index` names, or `None` when
    /// `index` is not a type this resolver knows.
    fn shape(&self, index: TypeIndex) -> Option<CompositeShape>;

    /// Whether `sub` is `sup` (up to canonical equality) or declares it as
    /// a supertype, directly or through its supertypes. False when either
    /// index is unknown.
    fn is_concrete_subtype(&self, sub: TypeIndex, sup: TypeIndex) -> bool;
}

/// Why a set of types cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// A type refers to a type after its own rec group, or to an index that
    /// is not a module index.
    #[error("{ty} refers to {referenced}, which is neither an earlier type nor in its rec group")]
    BadReference {
        /// The referring type.
        ty: TypeIndex,
        /// The index it names.
        referenced: TypeIndex,
    },
    /// A declared supertype is not an earlier type.
    #[error("{ty} declares supertype {supertype}, which is not an earlier type")]
    BadSupertype {
        /// The declaring type.
        ty: TypeIndex,
        /// The supertype it names.
        supertype: TypeIndex,
    },
    /// A type to register names a type the registry does not hold (or that
    /// is not an engine index).
    #[error("type index {0} is not registered in this engine")]
    Unregistered(TypeIndex),
    /// More types than 32-bit indices can number.
    #[error("too many types (the limit is 2^32 - 1)")]
    TooManyTypes,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that knows no concrete type.
    struct NoConcreteTypes;

    impl ConcreteTypes for NoConcreteTypes {
        fn shape(&self, _: TypeIndex) -> Option<CompositeShape> {
            None
        }

        fn is_concrete_subtype(&self, _: TypeIndex, _: TypeIndex) -> bool {
            false
        }
    }

    fn non_null(ty: AbstractHeapType) -> ValType {
        ValType::Ref(RefType {
            nullable: false,
            heap_type: HeapType::unshared(ty),
        })
    }

    #[test]
    fn display_uses_the_text_format() {
        let ty = FuncType::new([ValType::I32, ValType::F64], [ValType::EXTERNREF]);
        assert_eq!(ty.to_string(), "(func (param i32 f64) (result externref))");
        assert_eq!(ty.value_slots(), 2);
        assert_eq!(FuncType::default().to_string(), "(func)");
        assert_eq!(non_null(AbstractHeapType::Func).to_string(), "(ref func)");
        assert_eq!(ValType::NULLREF.to_string(), "nullref");
        let concrete = ValType::Ref(RefType {
            nullable: true,
            heap_type: HeapType::Concrete(TypeIndex::Module(ModuleTypeIndex::from_u32(3))),
        });
        assert_eq!(concrete.to_string(), "(ref null 3)");
        let shared = RefType {
            nullable: true,
            heap_type: HeapType::Abstract {
                shared: true,
                ty: AbstractHeapType::Any,
            },
        };
        assert_eq!(shared.to_string(), "(ref null (shared any))");
        let field = FieldType {
            storage: StorageType::I8,
            mutable: true,
        };
        let array = CompositeType {
            shared: false,
            inner: CompositeInnerType::Array(ArrayType { element: field }),
        };
        assert_eq!(array.to_string(), "(array (mut i8))");
    }

    #[test]
    fn abstract_internal_hierarchy() {
        use AbstractHeapType::*;
        for middle in [I31, Struct, Array] {
            assert!(None.is_subtype_of(middle));
            assert!(middle.is_subtype_of(Eq));
            assert!(middle.is_subtype_of(Any));
            assert!(!Eq.is_subtype_of(middle));
        }
        assert!(Eq.is_subtype_of(Any));
        assert!(!Any.is_subtype_of(Eq));
        assert!(!Struct.is_subtype_of(Array));
        assert!(!I31.is_subtype_of(Struct));
        assert!(None.is_subtype_of(Any));
    }

    #[test]
    fn abstract_hierarchies_are_disjoint() {
        use AbstractHeapType::*;
        assert!(NoFunc.is_subtype_of(Func));
        assert!(NoExtern.is_subtype_of(Extern));
        assert!(NoExn.is_subtype_of(Exn));
        assert!(!Func.is_subtype_of(Any));
        assert!(!Extern.is_subtype_of(Any));
        assert!(!None.is_subtype_of(Func));
        assert!(!NoFunc.is_subtype_of(Extern));
        assert!(!Exn.is_subtype_of(Any));
        assert_eq!(Eq.bottom(), None);
        assert_eq!(Func.bottom(), NoFunc);
    }

    #[test]
    fn nullability_is_covariant() {
        let types = &NoConcreteTypes;
        let ref_func = non_null(AbstractHeapType::Func);
        assert!(ref_func.is_subtype_of(&ValType::FUNCREF, types));
        assert!(!ValType::FUNCREF.is_subtype_of(&ref_func, types));
        assert!(ValType::NULLFUNCREF.is_subtype_of(&ValType::FUNCREF, types));
        assert!(!ValType::NULLFUNCREF.is_subtype_of(&ref_func, types));
        assert!(ValType::I31REF.is_subtype_of(&ValType::ANYREF, types));
        assert!(!ValType::ANYREF.is_subtype_of(&ValType::EQREF, types));
    }

    #[test]
    fn numeric_types_match_only_themselves() {
        let types = &NoConcreteTypes;
        assert!(ValType::I32.is_subtype_of(&ValType::I32, types));
        assert!(!ValType::I32.is_subtype_of(&ValType::I64, types));
        assert!(!ValType::V128.is_subtype_of(&ValType::ANYREF, types));
    }

    #[test]
    fn sharedness_must_agree() {
        let types = &NoConcreteTypes;
        let shared_any = HeapType::Abstract {
            shared: true,
            ty: AbstractHeapType::Any,
        };
        let shared_eq = HeapType::Abstract {
            shared: true,
            ty: AbstractHeapType::Eq,
        };
        assert!(shared_eq.is_subtype_of(&shared_any, types));
        assert!(!shared_eq.is_subtype_of(&HeapType::unshared(AbstractHeapType::Any), types));
        assert!(!HeapType::unshared(AbstractHeapType::Eq).is_subtype_of(&shared_any, types));
    }

    #[test]
    fn unknown_concrete_indices_match_nothing() {
        let types = &NoConcreteTypes;
        let concrete = HeapType::Concrete(TypeIndex::Engine(EngineTypeIndex::from_u32(0)));
        assert!(!concrete.is_subtype_of(&HeapType::unshared(AbstractHeapType::Func), types));
        assert!(!HeapType::unshared(AbstractHeapType::NoFunc).is_subtype_of(&concrete, types));
    }

    #[test]
    fn func_types_are_contravariant_in_params_covariant_in_results() {
        let types = &NoConcreteTypes;
        let wide = FuncType::new([ValType::ANYREF], [ValType::I31REF]);
        let narrow = FuncType::new([ValType::EQREF], [ValType::EQREF]);
        assert!(wide.is_subtype_of(&narrow, types));
        assert!(!narrow.is_subtype_of(&wide, types));
        let longer = FuncType::new([ValType::ANYREF, ValType::I32], [ValType::I31REF]);
        assert!(!longer.is_subtype_of(&narrow, types));
    }

    #[test]
    fn mutable_fields_are_invariant() {
        let types = &NoConcreteTypes;
        let field = |ty, mutable| FieldType {
            storage: StorageType::Val(ty),
            mutable,
        };
        assert!(field(ValType::I31REF, false).is_subtype_of(&field(ValType::ANYREF, false), types));
        assert!(!field(ValType::I31REF, true).is_subtype_of(&field(ValType::ANYREF, true), types));
        assert!(field(ValType::ANYREF, true).is_subtype_of(&field(ValType::ANYREF, true), types));
        assert!(!field(ValType::ANYREF, false).is_subtype_of(&field(ValType::ANYREF, true), types));
    }

    #[test]
    fn canonical_form_splits_inner_and_outer_references() {
        let concrete = |index| {
            ValType::Ref(RefType {
                nullable: true,
                heap_type: HeapType::Concrete(index),
            })
        };
        let module = |index| TypeIndex::Module(ModuleTypeIndex::from_u32(index));
        let members = [SubType::func(FuncType::new(
            [concrete(module(0))],
            [concrete(module(2))],
        ))];
        let engine = TypeIndex::Engine(EngineTypeIndex::from_u32(7));
        let group =
            RecGroup::canonicalize(&members, ModuleTypeIndex::from_u32(2), |_| Some(engine));
        let expected = SubType::func(FuncType::new(
            [concrete(engine)],
            [concrete(TypeIndex::RecGroup(0))],
        ));
        assert_eq!(group.types(), [expected]);
    }
}
