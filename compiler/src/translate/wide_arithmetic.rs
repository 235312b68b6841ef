//! Wide arithmetic: 128-bit addition and subtraction of i64 pairs and the
//! full 128-bit product of two i64s.
//!
//! A 128-bit operand is two i64s on the stack, low half first. Each
//! instruction joins its halves into one Cranelift `i128`, computes there
//! and splits the result again; x86-64 lowers that to `add`/`adc`,
//! `sub`/`sbb` and a single `mul`/`imul` with its 128-bit result in
//! `rdx:rax`. None of them can trap.

use super::Translator;
use crate::error::CompileError;
use cranelift_codegen::ir::types::I128;
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates a wide-arithmetic instruction; `Ok(false)` if `op` is not
    /// one.
    pub(super) fn translate_wide_arithmetic(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        match op {
            Operator::I64Add128 | Operator::I64Sub128 => {
                let (rhs_low, rhs_high) = self.pop2();
                let (lhs_low, lhs_high) = self.pop2();
                let lhs = builder.ins().iconcat(lhs_low, lhs_high);
                let rhs = builder.ins().iconcat(rhs_low, rhs_high);
                let result = if matches!(op, Operator::I64Add128) {
                    builder.ins().iadd(lhs, rhs)
                } else {
                    builder.ins().isub(lhs, rhs)
                };
                self.push_halves(builder, result);
            }
            Operator::I64MulWideS | Operator::I64MulWideU => {
                let (lhs, rhs) = self.pop2();
                let (lhs, rhs) = if matches!(op, Operator::I64MulWideS) {
                    (
                        builder.ins().sextend(I128, lhs),
                        builder.ins().sextend(I128, rhs),
                    )
                } else {
                    (
                        builder.ins().uextend(I128, lhs),
                        builder.ins().uextend(I128, rhs),
                    )
                };
                let product = builder.ins().imul(lhs, rhs);
                self.push_halves(builder, product);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Pushes the low, then the high half of the i128 `value`.
    fn push_halves(&mut self, builder: &mut FunctionBuilder<'_>, value: Value) {
        let (low, high) = builder.ins().isplit(value);
        self.push(low);
        self.push(high);
    }
}
