//! Numeric operators: constants, comparisons and arithmetic on i32, i64, f32 and f64.

use super::Translator;
use crate::error::CompileError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{InstBuilder, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a numeric operator; `false` when it is not.
    pub(super) fn translate_numeric(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::I32Const { value } => {
                let value = builder.ins().iconst(types::I32, i64::from(value));
                self.push(value);
            }
            O::I64Const { value } => {
                let value = builder.ins().iconst(types::I64, value);
                self.push(value);
            }
            O::F32Const { value } => {
                let value = builder.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(value);
            }
            O::F64Const { value } => {
                let value = builder.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(value);
            }

            O::I32Eqz | O::I64Eqz => {
                let value = self.pop();
                let result = builder.ins().icmp_imm_u(IntCC::Equal, value, 0);
                let result = Self::bool_to_i32(builder, result);
                self.push(result);
            }
            O::I32Eq | O::I64Eq => self.icmp(builder, IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(builder, IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(builder, IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(builder, IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(builder, IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(builder, IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(builder, IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(builder, IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(builder, IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(builder, IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => self.fcmp(builder, FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(builder, FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(builder, FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(builder, FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(builder, FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(builder, FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => self.unary(builder, |b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unary(builder, |b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unary(builder, |b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.binary(builder, |b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binary(builder, |b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binary(builder, |b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binary(builder, |b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.binary(builder, |b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.binary(builder, |b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.binary(builder, |b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.binary(builder, |b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binary(builder, |b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binary(builder, |b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.binary(builder, |b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binary(builder, |b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binary(builder, |b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binary(builder, |b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binary(builder, |b, x, y| b.ins().rotr(x, y)),

            O::F32Abs | O::F64Abs => self.unary(builder, |b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.unary(builder, |b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.unary(builder, |b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unary(builder, |b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unary(builder, |b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unary(builder, |b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.unary(builder, |b, x| b.ins().sqrt(x)),
            O::F32Add | O::F64Add => self.binary(builder, |b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binary(builder, |b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binary(builder, |b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binary(builder, |b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binary(builder, |b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binary(builder, |b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => {
                self.binary(builder, |b, x, y| b.ins().fcopysign(x, y))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn icmp(&mut self, builder: &mut FunctionBuilder<'_>, cc: IntCC) {
        let (a, b) = self.pop2();
        let result = builder.ins().icmp(cc, a, b);
        let result = Self::bool_to_i32(builder, result);
        self.push(result);
    }

    fn fcmp(&mut self, builder: &mut FunctionBuilder<'_>, cc: FloatCC) {
        let (a, b) = self.pop2();
        let result = builder.ins().fcmp(cc, a, b);
        let result = Self::bool_to_i32(builder, result);
        self.push(result);
    }

    pub(super) fn unary(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) {
        let a = self.pop();
        let result = op(builder, a);
        self.push(result);
    }

    pub(super) fn binary(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (a, b) = self.pop2();
        let result = op(builder, a, b);
        self.push(result);
    }
}
