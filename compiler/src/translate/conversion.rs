//! Conversions between numeric types: wrapping, extension, truncation, conversion, reinterpretation.

use super::Translator;
use crate::error::CompileError;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a conversion; `false` when it is not.
    pub(super) fn translate_conversion(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::I32WrapI64 => self.unary(builder, |b, x| b.ins().ireduce(types::I32, x)),
            O::I64ExtendI32S => self.unary(builder, |b, x| b.ins().sextend(types::I64, x)),
            O::I64ExtendI32U => self.unary(builder, |b, x| b.ins().uextend(types::I64, x)),
            O::I32TruncF32S | O::I32TruncF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint(types::I32, x))
            }
            O::I32TruncF32U | O::I32TruncF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint(types::I32, x))
            }
            O::I64TruncF32S | O::I64TruncF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint(types::I64, x))
            }
            O::I64TruncF32U | O::I64TruncF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint(types::I64, x))
            }
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint_sat(types::I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint_sat(types::I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint_sat(types::I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint_sat(types::I64, x))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unary(builder, |b, x| b.ins().fcvt_from_sint(types::F32, x))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unary(builder, |b, x| b.ins().fcvt_from_uint(types::F32, x))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unary(builder, |b, x| b.ins().fcvt_from_sint(types::F64, x))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unary(builder, |b, x| b.ins().fcvt_from_uint(types::F64, x))
            }
            O::F32DemoteF64 => self.unary(builder, |b, x| b.ins().fdemote(types::F32, x)),
            O::F64PromoteF32 => self.unary(builder, |b, x| b.ins().fpromote(types::F64, x)),
            O::I32ReinterpretF32 => self.bitcast(builder, types::I32),
            O::I64ReinterpretF64 => self.bitcast(builder, types::I64),
            O::F32ReinterpretI32 => self.bitcast(builder, types::F32),
            O::F64ReinterpretI64 => self.bitcast(builder, types::F64),
            O::I32Extend8S => self.sign_extend(builder, types::I8, types::I32),
            O::I32Extend16S => self.sign_extend(builder, types::I16, types::I32),
            O::I64Extend8S => self.sign_extend(builder, types::I8, types::I64),
            O::I64Extend16S => self.sign_extend(builder, types::I16, types::I64),
            O::I64Extend32S => self.sign_extend(builder, types::I32, types::I64),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn bitcast(&mut self, builder: &mut FunctionBuilder<'_>, to: Type) {
        self.unary(builder, |b, x| b.ins().bitcast(to, MemFlagsData::new(), x));
    }

    fn sign_extend(&mut self, builder: &mut FunctionBuilder<'_>, from: Type, to: Type) {
        self.unary(builder, |b, x| {
            let narrow = b.ins().ireduce(from, x);
            b.ins().sextend(to, narrow)
        });
    }
}
