//! Typed function references: `ref.as_non_null`, `br_on_null`,
//! `br_on_non_null` (`call_ref` is a call: call.rs and tail_call.rs).
//!
//! A reference is a pointer and null is zero (ABI.md), so each of these is a
//! comparison with zero; validation has already checked every type.

use super::{Translator, block_args};
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
                let reference = self.pop();
                let (target, arity) = self.branch_target_and_arity(relative_depth);
                let args = block_args(self.peek_n(arity));
                let fallthrough = builder.create_block();
                // `brif` branches on non-zero: a non-null reference falls
                // through and stays on the stack.
                builder
                    .ins()
                    .brif(reference, fallthrough, &[], target, &args);
                builder.seal_block(fallthrough);
                builder.switch_to_block(fallthrough);
                self.push(reference);
            }
            O::BrOnNonNull { relative_depth } => {
                let (target, arity) = self.branch_target_and_arity(relative_depth);
                // The reference is the last value the label takes.
                let args = block_args(self.peek_n(arity));
                let reference = self.pop();
                let fallthrough = builder.create_block();
                builder
                    .ins()
                    .brif(reference, target, &args, fallthrough, &[]);
                builder.seal_block(fallthrough);
                builder.switch_to_block(fallthrough);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
