//! Reference operators: `ref.null`, `ref.is_null`, `ref.func`.

use super::Translator;
use crate::error::CompileError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a reference operator; `false` when it is not.
    pub(super) fn translate_reference(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::RefNull { .. } => {
                let null = builder.ins().iconst(types::I64, 0);
                self.push(null);
            }
            O::RefIsNull => {
                let value = self.pop();
                let is_null = builder.ins().icmp_imm_u(IntCC::Equal, value, 0);
                let is_null = Self::bool_to_i32(builder, is_null);
                self.push(is_null);
            }
            O::RefFunc { function_index } => {
                let value = self.env.func_ref_address(builder, function_index);
                self.push(value);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
