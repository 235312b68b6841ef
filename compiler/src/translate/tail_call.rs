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

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate, tunables};
    use crate::MemoryStyle;
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn tail_calls_replace_the_frame_instead_of_returning() {
        let funcs = translate(
            r#"(module (type $t (func (result i32)))
                (import "m" "f" (func $imported (result i32)))
                (table 1 funcref)
                (func $direct (result i32) (return_call $direct))
                (func (result i32) (return_call $imported))
                (func (result i32) (return_call_indirect (type $t) (i32.const 0)))
                (func (param (ref $t)) (result i32) (return_call_ref $t (local.get 0))))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(count(&funcs[0], Opcode::ReturnCall), 1);
        for func in &funcs[1..] {
            assert_eq!(count(func, Opcode::ReturnCallIndirect), 1);
            assert_eq!(
                count(func, Opcode::Call) + count(func, Opcode::CallIndirect),
                0
            );
        }
    }
}
