//! Variable and parametric operators: locals, globals, `drop` and `select`.

use super::Translator;
use crate::error::CompileError;
use cranelift_codegen::ir::InstBuilder;
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a local, global or parametric operator; `false` when it is not.
    pub(super) fn translate_locals(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let (a, b, condition) = self.pop3();
                let value = builder.ins().select(condition, a, b);
                self.push(value);
            }
            O::LocalGet { local_index } => {
                let value = builder.use_var(self.locals[local_index as usize]);
                self.push(value);
            }
            O::LocalSet { local_index } => {
                let value = self.pop();
                builder.def_var(self.locals[local_index as usize], value);
            }
            O::LocalTee { local_index } => {
                let value = *self.stack.last().expect("validated operand stack");
                builder.def_var(self.locals[local_index as usize], value);
            }
            O::GlobalGet { global_index } => {
                let (pointer, ty, flags) = self.env.global_access(builder, global_index);
                let value = builder.ins().load(ty, flags, pointer, 0);
                self.push(value);
            }
            O::GlobalSet { global_index } => {
                let value = self.pop();
                let (pointer, _, flags) = self.env.global_access(builder, global_index);
                builder.ins().store(flags, value, pointer, 0);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
