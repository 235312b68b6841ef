//! Which values the collector must find: every value and local of a
//! reference type whose references may be GC objects (the `any` and `extern`
//! hierarchies, see `crate::gc_layout`) is declared to Cranelift as needing
//! a stack map. Cranelift then spills such values live across a call to
//! stack slots and records those slots at the call's return address; the
//! collector reads (and, were it to move objects, rewrites) them there.
//!
//! Function and exception references are host addresses the collector
//! does not manage, so they need no stack map.
//!
//! Invariant: after every translated operator, each value on the operand
//! stack has been classified (the validator knows its type); the values
//! below the part of the stack an operator touched were classified after an
//! earlier operator.

use super::Translator;
use crate::types::{AbstractHeapType, CompositeKind, HeapType, TypeIndex, ValType};
use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::{FuncValidator, ValidatorResources, WasmModuleResources};

impl Translator<'_> {
    /// Whether values of `ty` may be GC objects the collector must see.
    pub(super) fn is_gc_managed(&self, ty: ValType) -> bool {
        let ValType::Ref(ref_type) = ty else {
            return false;
        };
        match ref_type.heap_type {
            HeapType::Abstract { ty, .. } => matches!(
                ty,
                AbstractHeapType::Any
                    | AbstractHeapType::Eq
                    | AbstractHeapType::I31
                    | AbstractHeapType::Struct
                    | AbstractHeapType::Array
                    | AbstractHeapType::None
                    | AbstractHeapType::Extern
                    | AbstractHeapType::NoExtern
            ),
            HeapType::Concrete(TypeIndex::Module(index))
            | HeapType::Exact(TypeIndex::Module(index)) => {
                self.env.info().types.sub_type(index).is_some_and(|ty| {
                    matches!(
                        ty.composite.shape().kind,
                        CompositeKind::Struct | CompositeKind::Array
                    )
                })
            }
            HeapType::Concrete(_) | HeapType::Exact(_) => false,
        }
    }

    /// Declares local `var` of type `ty` as needing a stack map if it holds
    /// managed references.
    pub(super) fn declare_local_stack_map(
        &self,
        builder: &mut FunctionBuilder<'_>,
        var: Variable,
        ty: ValType,
    ) {
        if self.is_gc_managed(ty) {
            builder.declare_var_needs_stack_map(var);
        }
    }

    /// Classifies the operand stack values pushed since the last call: each
    /// one of a managed reference type is declared as needing a stack map.
    pub(super) fn declare_operand_stack_maps(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        validator: &FuncValidator<ValidatorResources>,
    ) {
        let unchanged = self
            .classified
            .iter()
            .zip(&self.stack)
            .take_while(|(classified, current)| classified == current)
            .count();
        self.classified.truncate(unchanged);
        let height = self.stack.len();
        for position in unchanged..height {
            let value = self.stack[position];
            let depth = height - 1 - position;
            let managed = validator
                .get_operand_type(depth)
                .flatten()
                .is_some_and(|ty| is_gc_managed_operand(ty, validator.resources()));
            if managed {
                builder.declare_value_needs_stack_map(value);
            }
            self.classified.push(value);
        }
    }
}

/// [`Translator::is_gc_managed`] for an operand type as the validator
/// reports it: concrete types may be named by the validator's own type ids.
fn is_gc_managed_operand(ty: wasmparser::ValType, resources: &ValidatorResources) -> bool {
    use wasmparser::{AbstractHeapType as A, CompositeInnerType, HeapType as H, UnpackedIndex};
    let wasmparser::ValType::Ref(ref_type) = ty else {
        return false;
    };
    match ref_type.heap_type() {
        H::Abstract { ty, .. } => matches!(
            ty,
            A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None | A::Extern | A::NoExtern
        ),
        H::Concrete(index) | H::Exact(index) => {
            let sub_type = match index {
                UnpackedIndex::Module(index) => resources.sub_type_at(index),
                UnpackedIndex::Id(id) => Some(resources.sub_type_at_id(id)),
                UnpackedIndex::RecGroup(_) => None,
            };
            sub_type.is_some_and(|ty| {
                matches!(
                    ty.composite_type.inner,
                    CompositeInnerType::Struct(_) | CompositeInnerType::Array(_)
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::MemoryStyle;
    use crate::translate::testing::{translate, tunables};
    use cranelift_codegen::ir::Function;

    /// How many stack map entries the calls of `func` carry.
    fn stack_map_entries(func: &Function) -> usize {
        func.layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .filter(|&inst| func.dfg.insts[inst].opcode().is_call())
            .filter_map(|inst| func.dfg.user_stack_map_entries(inst))
            .map(<[_]>::len)
            .sum()
    }

    #[test]
    fn gc_references_live_across_calls_get_stack_maps() {
        let funcs = translate(
            r#"(module
                 (type $s (struct (field i32)))
                 (func $callee)
                 (func (param (ref $s)) (result i32)
                   (call $callee)
                   (struct.get $s 0 (local.get 0))))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(stack_map_entries(&funcs[1]), 1);
    }

    #[test]
    fn operand_stack_references_get_stack_maps() {
        let funcs = translate(
            r#"(module
                 (type $s (struct (field i32)))
                 (func $callee)
                 (func (result i32)
                   (struct.new $s (i32.const 1))
                   (call $callee)
                   (struct.get $s 0)))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert!(stack_map_entries(&funcs[1]) >= 1);
    }

    #[test]
    fn function_references_get_no_stack_maps() {
        let funcs = translate(
            r#"(module
                 (func $callee)
                 (func (param funcref) (result funcref)
                   (call $callee)
                   (local.get 0)))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(stack_map_entries(&funcs[1]), 0);
    }
}
