//! Typed function references: `ref.as_non_null`, `br_on_null`,
//! `br_on_non_null` (`call_ref` is a call: call.rs and tail_call.rs).
//!
//! A reference is a pointer and null is zero (ABI.md), so each of these is a
//! comparison with zero; validation has already checked every type.

use super::Translator;
use crate::error::CompileError;
use crate::trap::TrapKind;
use cranelift_codegen::ir::InstBuilder;
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a typed-reference operator; `false` when
    /// it is not.
    pub(super) fn translate_function_references(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::RefAsNonNull => {
                let value = *self.stack.last().expect("validated operand stack");
                builder
                    .ins()
                    .trapz(value, TrapKind::NullReference.trap_code());
            }
            O::BrOnNull { relative_depth } => {
                // Taken on null (zero); a non-null reference falls through
                // and stays on the stack.
                let reference = self.pop();
                self.branch_if(builder, relative_depth, reference, false);
                self.push(reference);
            }
            O::BrOnNonNull { relative_depth } => {
                // The reference is the last value the label takes; the
                // fall-through path (null) drops it.
                let reference = *self.stack.last().expect("validated operand stack");
                self.branch_if(builder, relative_depth, reference, true);
                self.pop();
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
