//! Tail calls: `return_call`, `return_call_indirect`, `return_call_ref`.
//!
//! Every Wasm function and host trampoline uses Cranelift's `tail` calling
//! convention, so a tail call is Cranelift's `return_call`: the callee
//! takes over the caller's frame and returns to the caller's caller. A
//! chain of tail calls therefore runs in constant stack, and a backtrace
//! taken inside the callee no longer shows the frames it replaced. The
//! callee is resolved exactly as for an ordinary call (call.rs), with the
//! same traps before the jump.

use super::Translator;
use super::call::{Callee, ResolvedCall};
use crate::error::CompileError;
use cranelift_codegen::ir::InstBuilder;
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a tail call; `false` when it is not.
    pub(super) fn translate_tail_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        let call = match *op {
            O::ReturnCall { function_index } => {
                self.resolve_direct_call(builder, function_index)?
            }
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.resolve_indirect_call(builder, type_index, table_index)?,
            O::ReturnCallRef { type_index } => self.resolve_ref_call(builder, type_index)?,
            _ => return Ok(false),
        };
        self.emit_tail_call(builder, call);
        Ok(true)
    }

    fn emit_tail_call(&mut self, builder: &mut FunctionBuilder<'_>, call: ResolvedCall) {
        match call.callee {
            Callee::Direct(func_ref) => builder.ins().return_call(func_ref, &call.args),
            Callee::Indirect { signature, code } => builder
                .ins()
                .return_call_indirect(signature, code, &call.args),
        };
        self.reachable = false;
    }
}
