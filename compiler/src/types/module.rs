//! One module's types: its type section as sub types in index order, grouped
//! into recursion groups.
//!
//! Invariants, checked by every constructor (deserialization included, so a
//! corrupt precompiled module is an error, not a panic later): every type
//! index a type mentions is a [`TypeIndex::Module`] naming an earlier type
//! or a type of its own rec group, and a declared supertype is an earlier
//! type. The registry relies on both; the second bounds every supertype
//! chain.

use super::{
    CompositeShape, ConcreteTypes, FuncType, ModuleTypeIndex, RecGroup, RecGroupIndex, SubType,
    TypeError, TypeIndex,
};
use crate::error::CompileError;
use cranelift_codegen::entity::EntityRef;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;

/// A module's types, in index order, with their recursion groups.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<Vec<SubType>>", into = "Vec<Vec<SubType>>")]
pub struct ModuleTypes {
    types: Vec<SubType>,
    /// The module indices each rec group covers, in order, back to back.
    rec_groups: Vec<Range<u32>>,
    /// For each type, the first type of the module equal to it
    /// (iso-recursively): module-level type equality.
    canonical: Vec<ModuleTypeIndex>,
}

impl ModuleTypes {
    /// The types of a module's type section, as wasmparser reads them.
    pub fn from_type_section(
        reader: wasmparser::TypeSectionReader<'_>,
    ) -> Result<ModuleTypes, CompileError> {
        let groups = reader
            .into_iter()
            .collect::<Result<Vec<_>, wasmparser::BinaryReaderError>>()?;
        ModuleTypes::from_wasmparser(groups)
    }

    /// The types of these rec groups, in order, as wasmparser reads them.
    pub fn from_wasmparser(
        groups: impl IntoIterator<Item = wasmparser::RecGroup>,
    ) -> Result<ModuleTypes, CompileError> {
        let mut offsets = Vec::new();
        let mut converted = Vec::new();
        for group in groups {
            let members = group
                .into_types_and_offsets()
                .map(|(offset, ty)| {
                    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                    offsets.push(offset);
                    SubType::from_wasmparser(&ty, offset)
                })
                .collect::<Result<Vec<_>, _>>()?;
            converted.push(members);
        }
        ModuleTypes::from_rec_groups(converted).map_err(|error| {
            let offset = error
                .module_type()
                .and_then(|ty| offsets.get(ty.index()).copied())
                .unwrap_or(0);
            CompileError::Invalid {
                offset,
                message: error.to_string(),
            }
        })
    }

    /// The types of these rec groups, in order; references are module
    /// indices (see the module documentation for what is checked).
    pub fn from_rec_groups(
        groups: impl IntoIterator<Item = Vec<SubType>>,
    ) -> Result<ModuleTypes, TypeError> {
        let mut types = Vec::new();
        let mut rec_groups = Vec::new();
        for members in groups {
            let start = u32::try_from(types.len()).map_err(|_| TypeError::TooManyTypes)?;
            let end = u32::try_from(members.len())
                .ok()
                .and_then(|len| start.checked_add(len))
                // u32::MAX is the entity types' reserved value.
                .filter(|&end| end < u32::MAX)
                .ok_or(TypeError::TooManyTypes)?;
            for (ty, own) in members.iter().zip(start..) {
                check_references(ty, ModuleTypeIndex::from_u32(own), end)?;
            }
            types.extend(members);
            rec_groups.push(start..end);
        }
        let canonical = module_canonical_indices(&types, &rec_groups);
        Ok(ModuleTypes {
            types,
            rec_groups,
            canonical,
        })
    }

    /// Number of types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the module defines no type.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The type at `index`.
    pub fn sub_type(&self, index: ModuleTypeIndex) -> Option<&SubType> {
        self.types.get(index.index())
    }

    /// The function type at `index`, if it is one.
    pub fn func_type(&self, index: ModuleTypeIndex) -> Option<&FuncType> {
        self.sub_type(index)?.composite.as_func()
    }

    /// Every type with its index, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (ModuleTypeIndex, &SubType)> {
        self.types
            .iter()
            .enumerate()
            .map(|(index, ty)| (ModuleTypeIndex::new(index), ty))
    }

    /// Number of rec groups (a type outside any `(rec ...)` is a group of one).
    pub fn rec_group_count(&self) -> usize {
        self.rec_groups.len()
    }

    /// Every rec group in order: the index of its first type and its types.
    pub fn rec_groups(&self) -> impl ExactSizeIterator<Item = (ModuleTypeIndex, &[SubType])> {
        self.rec_groups.iter().map(|range| {
            let members = &self.types[range.start as usize..range.end as usize];
            (ModuleTypeIndex::from_u32(range.start), members)
        })
    }

    /// The rec group `index` belongs to.
    pub fn rec_group_of(&self, index: ModuleTypeIndex) -> Option<RecGroupIndex> {
        let position = self
            .rec_groups
            .partition_point(|range| range.end <= index.as_u32());
        self.rec_groups
            .get(position)
            .filter(|range| range.contains(&index.as_u32()))
            .map(|_| RecGroupIndex::new(position))
    }

    /// The first type of the module equal to the type at `index`: two
    /// indices name equal types exactly when their canonical indices agree.
    pub fn canonical_index(&self, index: ModuleTypeIndex) -> Option<ModuleTypeIndex> {
        self.canonical.get(index.index()).copied()
    }
}

impl ConcreteTypes for ModuleTypes {
    fn shape(&self, index: TypeIndex) -> Option<CompositeShape> {
        match index {
            TypeIndex::Module(index) => Some(self.sub_type(index)?.composite.shape()),
            TypeIndex::RecGroup(_) | TypeIndex::Engine(_) => None,
        }
    }

    fn is_concrete_subtype(&self, sub: TypeIndex, sup: TypeIndex) -> bool {
        let (TypeIndex::Module(mut current), TypeIndex::Module(sup)) = (sub, sup) else {
            return false;
        };
        let Some(sup) = self.canonical_index(sup) else {
            return false;
        };
        // Declared supertypes are earlier types, so the walk ends.
        loop {
            if self.canonical_index(current) == Some(sup) {
                return true;
            }
            match self.sub_type(current).and_then(|ty| ty.supertype) {
                Some(TypeIndex::Module(supertype)) => current = supertype,
                _ => return false,
            }
        }
    }
}

impl TryFrom<Vec<Vec<SubType>>> for ModuleTypes {
    type Error = TypeError;

    fn try_from(groups: Vec<Vec<SubType>>) -> Result<ModuleTypes, TypeError> {
        ModuleTypes::from_rec_groups(groups)
    }
}

impl From<ModuleTypes> for Vec<Vec<SubType>> {
    fn from(types: ModuleTypes) -> Vec<Vec<SubType>> {
        let mut members = types.types.into_iter();
        types
            .rec_groups
            .iter()
            .map(|range| members.by_ref().take(range.len()).collect())
            .collect()
    }
}

/// Checks the invariants of the type `own`, whose rec group ends before
/// module index `group_end`.
fn check_references(ty: &SubType, own: ModuleTypeIndex, group_end: u32) -> Result<(), TypeError> {
    match ty.supertype {
        None => {}
        Some(TypeIndex::Module(supertype)) if supertype < own => {}
        Some(supertype) => {
            return Err(TypeError::BadSupertype {
                ty: TypeIndex::Module(own),
                supertype,
            });
        }
    }
    let mut bad_reference = None;
    ty.visit_indices(&mut |index| {
        let in_range =
            matches!(index, TypeIndex::Module(referenced) if referenced.as_u32() < group_end);
        if !in_range && bad_reference.is_none() {
            bad_reference = Some(index);
        }
    });
    match bad_reference {
        None => Ok(()),
        Some(referenced) => Err(TypeError::BadReference {
            ty: TypeIndex::Module(own),
            referenced,
        }),
    }
}

/// For each type, the first type equal to it: rec groups are keyed by their
/// canonical form, whose outer references are themselves canonical.
fn module_canonical_indices(types: &[SubType], rec_groups: &[Range<u32>]) -> Vec<ModuleTypeIndex> {
    let mut canonical: Vec<ModuleTypeIndex> = Vec::with_capacity(types.len());
    let mut first_of_group: HashMap<RecGroup, u32> = HashMap::new();
    for range in rec_groups {
        let members = &types[range.start as usize..range.end as usize];
        let key =
            RecGroup::canonicalize(members, ModuleTypeIndex::from_u32(range.start), |outer| {
                canonical
                    .get(outer.index())
                    .map(|&index| TypeIndex::Module(index))
            });
        let first = *first_of_group.entry(key).or_insert(range.start);
        canonical.extend((first..).take(range.len()).map(ModuleTypeIndex::from_u32));
    }
    canonical
}

impl TypeError {
    /// The module type the error is about, when there is one.
    pub fn module_type(&self) -> Option<ModuleTypeIndex> {
        match self {
            TypeError::BadReference {
                ty: TypeIndex::Module(ty),
                ..
            }
            | TypeError::BadSupertype {
                ty: TypeIndex::Module(ty),
                ..
            } => Some(*ty),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{HeapType, RefType, ValType};

    fn module(index: u32) -> TypeIndex {
        TypeIndex::Module(ModuleTypeIndex::from_u32(index))
    }

    fn ref_to(index: TypeIndex) -> ValType {
        ValType::Ref(RefType {
            nullable: true,
            heap_type: HeapType::Concrete(index),
        })
    }

    fn open_func(supertype: Option<TypeIndex>, params: Vec<ValType>) -> SubType {
        SubType {
            is_final: false,
            supertype,
            ..SubType::func(FuncType::new(params, []))
        }
    }

    #[test]
    fn references_past_the_own_rec_group_are_rejected() {
        let error = ModuleTypes::from_rec_groups([
            vec![SubType::func(FuncType::new([ref_to(module(1))], []))],
            vec![SubType::func(FuncType::default())],
        ])
        .unwrap_err();
        assert_eq!(
            error,
            TypeError::BadReference {
                ty: module(0),
                referenced: module(1)
            }
        );
    }

    #[test]
    fn supertypes_must_be_earlier() {
        let error = ModuleTypes::from_rec_groups([vec![
            open_func(Some(module(1)), vec![]),
            open_func(None, vec![]),
        ]])
        .unwrap_err();
        assert!(matches!(error, TypeError::BadSupertype { .. }), "{error}");
    }

    #[test]
    fn equal_groups_share_a_canonical_index() {
        let types = ModuleTypes::from_rec_groups([
            vec![SubType::func(FuncType::default())],
            vec![SubType::func(FuncType::new([ValType::I32], []))],
            vec![SubType::func(FuncType::default())],
            vec![SubType::func(FuncType::new([ref_to(module(0))], []))],
            vec![SubType::func(FuncType::new([ref_to(module(2))], []))],
        ])
        .unwrap();
        let canonical = |index| {
            types
                .canonical_index(ModuleTypeIndex::from_u32(index))
                .unwrap()
        };
        assert_eq!(canonical(2), ModuleTypeIndex::from_u32(0));
        assert_ne!(canonical(1), canonical(0));
        // Types referring to equal types are equal.
        assert_eq!(canonical(4), canonical(3));
        assert!(types.is_concrete_subtype(module(4), module(3)));
    }

    #[test]
    fn declared_supertype_chains_are_followed() {
        let types = ModuleTypes::from_rec_groups([
            vec![open_func(None, vec![])],
            vec![open_func(Some(module(0)), vec![])],
            vec![open_func(Some(module(1)), vec![])],
        ])
        .unwrap();
        assert!(types.is_concrete_subtype(module(2), module(0)));
        assert!(!types.is_concrete_subtype(module(0), module(2)));
        assert!(!types.is_concrete_subtype(module(0), module(9)));
    }

    #[test]
    fn descriptor_clauses_take_part_in_type_identity() {
        use crate::types::{CompositeInnerType, CompositeType, StructType};
        let struct_type = |descriptor, describes| SubType {
            is_final: true,
            supertype: None,
            descriptor,
            describes,
            composite: CompositeType {
                shared: false,
                inner: CompositeInnerType::Struct(StructType::default()),
            },
        };
        let types = ModuleTypes::from_rec_groups([
            vec![
                struct_type(Some(module(1)), None),
                struct_type(None, Some(module(0))),
            ],
            vec![struct_type(None, None), struct_type(None, None)],
            vec![
                struct_type(Some(module(5)), None),
                struct_type(None, Some(module(4))),
            ],
        ])
        .unwrap();
        let canonical = |index| types.canonical_index(ModuleTypeIndex::from_u32(index));
        assert_ne!(canonical(2), canonical(0));
        assert_eq!(canonical(4), canonical(0));
        assert_eq!(canonical(5), canonical(1));
    }

    #[test]
    fn exact_types_match_only_their_own_type() {
        let types = ModuleTypes::from_rec_groups([
            vec![open_func(None, vec![])],
            vec![open_func(Some(module(0)), vec![])],
            // Equal to type 0: the same type, exactly.
            vec![open_func(None, vec![])],
        ])
        .unwrap();
        let heap = |index| HeapType::Concrete(module(index));
        let exact = |index| HeapType::Exact(module(index));
        assert!(exact(1).is_subtype_of(&heap(1), &types));
        assert!(exact(1).is_subtype_of(&heap(0), &types));
        assert!(!heap(1).is_subtype_of(&exact(1), &types));
        assert!(!exact(1).is_subtype_of(&exact(0), &types));
        assert!(exact(0).is_subtype_of(&exact(2), &types));
        let nofunc = HeapType::unshared(crate::types::AbstractHeapType::NoFunc);
        assert!(nofunc.is_subtype_of(&exact(1), &types));
        assert_eq!(exact(1).to_string(), "(exact 1)");
    }

    #[test]
    fn serde_round_trip_checks_invariants() {
        let types = ModuleTypes::from_rec_groups([
            vec![
                open_func(None, vec![]),
                open_func(Some(module(0)), vec![ref_to(module(1))]),
            ],
            vec![SubType::func(FuncType::default())],
        ])
        .unwrap();
        let groups: Vec<Vec<SubType>> = types.clone().into();
        assert_eq!(groups.len(), 2);
        assert_eq!(ModuleTypes::try_from(groups).unwrap(), types);
        let corrupt = vec![vec![SubType::func(FuncType::new([ref_to(module(5))], []))]];
        assert!(ModuleTypes::try_from(corrupt).is_err());
    }

    #[test]
    fn rec_group_of_finds_the_group() {
        let types = ModuleTypes::from_rec_groups([
            vec![SubType::func(FuncType::default())],
            vec![],
            vec![open_func(None, vec![]), open_func(None, vec![ValType::I64])],
        ])
        .unwrap();
        let group_of = |index| types.rec_group_of(ModuleTypeIndex::from_u32(index));
        assert_eq!(group_of(0), Some(RecGroupIndex::from_u32(0)));
        assert_eq!(group_of(2), Some(RecGroupIndex::from_u32(2)));
        assert_eq!(group_of(3), None);
        assert_eq!(types.rec_group_count(), 3);
    }
}
