//! Conversions from wasmparser's types to the type model.
//!
//! wasmparser also parses proposals the model does not hold (stack
//! switching's continuations): those become [`CompileError::Unsupported`],
//! never a panic.
//! Type indices must be module indices, which is what wasmparser's readers
//! produce (only its validator's internal, canonicalized types hold others).

use super::{
    AbstractHeapType, ArrayType, CompositeInnerType, CompositeType, FieldType, FuncType, HeapType,
    ModuleTypeIndex, RefType, StorageType, StructType, SubType, TypeIndex, ValType,
};
use crate::error::CompileError;
use wasmparser::UnpackedIndex;

fn unsupported(feature: &str, offset: usize, message: String) -> CompileError {
    CompileError::Unsupported {
        feature: feature.into(),
        offset,
        message,
    }
}

impl TypeIndex {
    /// Converts a type index read from a module; `offset` locates it for
    /// errors.
    pub fn from_wasmparser(index: UnpackedIndex, offset: usize) -> Result<TypeIndex, CompileError> {
        match index {
            UnpackedIndex::Module(index) if index < u32::MAX => {
                Ok(TypeIndex::Module(ModuleTypeIndex::from_u32(index)))
            }
            other => Err(CompileError::Invalid {
                offset,
                message: format!("expected a module type index, found {other}"),
            }),
        }
    }
}

impl HeapType {
    /// Converts a heap type read from a module.
    pub fn from_wasmparser(
        ty: wasmparser::HeapType,
        offset: usize,
    ) -> Result<HeapType, CompileError> {
        use wasmparser::AbstractHeapType as Wp;
        match ty {
            wasmparser::HeapType::Abstract { shared, ty } => {
                let ty = match ty {
                    Wp::Func => AbstractHeapType::Func,
                    Wp::NoFunc => AbstractHeapType::NoFunc,
                    Wp::Extern => AbstractHeapType::Extern,
                    Wp::NoExtern => AbstractHeapType::NoExtern,
                    Wp::Any => AbstractHeapType::Any,
                    Wp::Eq => AbstractHeapType::Eq,
                    Wp::I31 => AbstractHeapType::I31,
                    Wp::Struct => AbstractHeapType::Struct,
                    Wp::Array => AbstractHeapType::Array,
                    Wp::None => AbstractHeapType::None,
                    Wp::Exn => AbstractHeapType::Exn,
                    Wp::NoExn => AbstractHeapType::NoExn,
                    Wp::Cont | Wp::NoCont => {
                        return Err(unsupported(
                            "stack-switching",
                            offset,
                            format!("continuation heap type {ty:?}"),
                        ));
                    }
                };
                Ok(HeapType::Abstract { shared, ty })
            }
            wasmparser::HeapType::Concrete(index) => Ok(HeapType::Concrete(
                TypeIndex::from_wasmparser(index, offset)?,
            )),
            wasmparser::HeapType::Exact(index) => {
                Ok(HeapType::Exact(TypeIndex::from_wasmparser(index, offset)?))
            }
        }
    }
}

impl RefType {
    /// Converts a reference type read from a module.
    pub fn from_wasmparser(
        ty: wasmparser::RefType,
        offset: usize,
    ) -> Result<RefType, CompileError> {
        Ok(RefType {
            nullable: ty.is_nullable(),
            heap_type: HeapType::from_wasmparser(ty.heap_type(), offset)?,
        })
    }
}

impl ValType {
    /// Converts a value type read from a module.
    pub fn from_wasmparser(
        ty: wasmparser::ValType,
        offset: usize,
    ) -> Result<ValType, CompileError> {
        Ok(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(ty) => ValType::Ref(RefType::from_wasmparser(ty, offset)?),
        })
    }
}

impl FieldType {
    fn from_wasmparser(
        ty: wasmparser::FieldType,
        offset: usize,
    ) -> Result<FieldType, CompileError> {
        let storage = match ty.element_type {
            wasmparser::StorageType::I8 => StorageType::I8,
            wasmparser::StorageType::I16 => StorageType::I16,
            wasmparser::StorageType::Val(ty) => {
                StorageType::Val(ValType::from_wasmparser(ty, offset)?)
            }
        };
        Ok(FieldType {
            storage,
            mutable: ty.mutable,
        })
    }
}

impl SubType {
    /// Converts a type definition read from a module's type section.
    pub fn from_wasmparser(
        ty: &wasmparser::SubType,
        offset: usize,
    ) -> Result<SubType, CompileError> {
        let supertype = match ty.supertype_idxs.as_slice() {
            [] => None,
            [supertype] => Some(TypeIndex::from_wasmparser(supertype.unpack(), offset)?),
            _ => {
                return Err(CompileError::Invalid {
                    offset,
                    message: "a type may declare at most one supertype".into(),
                });
            }
        };
        let composite = &ty.composite_type;
        let clause = |index: Option<wasmparser::PackedIndex>| {
            index
                .map(|index| TypeIndex::from_wasmparser(index.unpack(), offset))
                .transpose()
        };
        let descriptor = clause(composite.descriptor_idx)?;
        let describes = clause(composite.describes_idx)?;
        let val_types = |types: &[wasmparser::ValType]| {
            types
                .iter()
                .map(|ty| ValType::from_wasmparser(*ty, offset))
                .collect::<Result<Vec<_>, _>>()
        };
        let inner = match &composite.inner {
            wasmparser::CompositeInnerType::Func(ty) => CompositeInnerType::Func(FuncType::new(
                val_types(ty.params())?,
                val_types(ty.results())?,
            )),
            wasmparser::CompositeInnerType::Struct(ty) => CompositeInnerType::Struct(StructType {
                fields: ty
                    .fields
                    .iter()
                    .map(|field| FieldType::from_wasmparser(*field, offset))
                    .collect::<Result<_, _>>()?,
            }),
            wasmparser::CompositeInnerType::Array(ty) => CompositeInnerType::Array(ArrayType {
                element: FieldType::from_wasmparser(ty.0, offset)?,
            }),
            wasmparser::CompositeInnerType::Cont(_) => {
                return Err(unsupported(
                    "stack-switching",
                    offset,
                    "continuation type".into(),
                ));
            }
        };
        Ok(SubType {
            is_final: ty.is_final,
            supertype,
            descriptor,
            describes,
            composite: CompositeType {
                shared: composite.shared,
                inner,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_types_convert() {
        let ty = ValType::from_wasmparser(wasmparser::ValType::Ref(wasmparser::RefType::I31), 0);
        assert_eq!(
            ty.unwrap(),
            ValType::Ref(RefType {
                nullable: false,
                heap_type: HeapType::unshared(AbstractHeapType::I31),
            })
        );
        let ty = ValType::from_wasmparser(wasmparser::ValType::EXTERNREF, 0);
        assert_eq!(ty.unwrap(), ValType::EXTERNREF);
    }

    #[test]
    fn continuations_are_unsupported_not_a_panic() {
        let heap_type = wasmparser::HeapType::Abstract {
            shared: false,
            ty: wasmparser::AbstractHeapType::Cont,
        };
        let error = HeapType::from_wasmparser(heap_type, 9).unwrap_err();
        assert!(
            matches!(error, CompileError::Unsupported { offset: 9, .. }),
            "{error}"
        );
    }

    #[test]
    fn rec_group_relative_indices_are_rejected() {
        let error = TypeIndex::from_wasmparser(UnpackedIndex::RecGroup(0), 4).unwrap_err();
        assert!(
            matches!(error, CompileError::Invalid { offset: 4, .. }),
            "{error}"
        );
    }
}
