//! Vector (SIMD) instructions.
//!
//! Every v128 value lives on the operand stack, in locals and in block
//! parameters as `I8X16`. Each instruction bitcasts its operands to the lane
//! type it works on and its result back to `I8X16`; the bitcasts cost
//! nothing (the value stays in the same vector register).

use super::Translator;
use super::memory::{Extend, memory_index};
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, Operator};

/// The signed dot product of `x` and `y`: each lane of the result (twice
/// as wide, half as many) is the wrapping sum of the products of two
/// adjacent signed lanes.
pub(super) fn signed_dot(builder: &mut FunctionBuilder<'_>, x: Value, y: Value) -> Value {
    let x_low = builder.ins().swiden_low(x);
    let y_low = builder.ins().swiden_low(y);
    let low = builder.ins().imul(x_low, y_low);
    let x_high = builder.ins().swiden_high(x);
    let y_high = builder.ins().swiden_high(y);
    let high = builder.ins().imul(x_high, y_high);
    builder.ins().iadd_pairwise(low, high)
}

/// Flags for bitcasts between vector types: lanes are little endian.
fn lane_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

fn cast(builder: &mut FunctionBuilder<'_>, value: Value, ty: Type) -> Value {
    if builder.func.dfg.value_type(value) == ty {
        value
    } else {
        builder.ins().bitcast(ty, lane_flags(), value)
    }
}

impl Translator<'_> {
    pub(super) fn pop_vector(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type) -> Value {
        let value = self.pop();
        cast(builder, value, ty)
    }

    pub(super) fn pop_vector2(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
    ) -> (Value, Value) {
        let b = self.pop_vector(builder, ty);
        let a = self.pop_vector(builder, ty);
        (a, b)
    }

    pub(super) fn push_vector(&mut self, builder: &mut FunctionBuilder<'_>, value: Value) {
        let value = cast(builder, value, I8X16);
        self.push(value);
    }

    pub(super) fn vector_unary(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) {
        let a = self.pop_vector(builder, ty);
        let result = op(builder, a);
        self.push_vector(builder, result);
    }

    pub(super) fn vector_binary(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (a, b) = self.pop_vector2(builder, ty);
        let result = op(builder, a, b);
        self.push_vector(builder, result);
    }

    fn vector_icmp(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type, cc: IntCC) {
        self.vector_binary(builder, ty, |b, x, y| b.ins().icmp(cc, x, y));
    }

    fn vector_fcmp(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type, cc: FloatCC) {
        self.vector_binary(builder, ty, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    fn vector_shift(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        // Cranelift masks the shift amount to the lane width, as Wasm requires.
        let amount = self.pop();
        let a = self.pop_vector(builder, ty);
        let result = op(builder, a, amount);
        self.push_vector(builder, result);
    }

    fn vector_bool(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) {
        let a = self.pop_vector(builder, ty);
        let result = op(builder, a);
        let result = builder.ins().uextend(I32, result);
        self.push(result);
    }

    pub(super) fn zero_vector(builder: &mut FunctionBuilder<'_>, ty: Type) -> Value {
        let handle = builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(vec![0u8; 16]));
        builder.ins().vconst(ty, handle)
    }

    /// Loads a scalar of `ty` (`size` bytes) for a vector instruction.
    fn vector_scalar_load(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
    ) -> Value {
        self.load(builder, memarg, ty, ty.bytes(), Extend::None);
        self.pop()
    }

    fn vector_extending_load(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        op: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, Value) -> Value,
    ) {
        let index = self.pop();
        let address = self.memory_address(builder, memarg, 8, index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let value = op(builder, flags, address);
        self.push_vector(builder, value);
    }

    fn splat_from(&mut self, builder: &mut FunctionBuilder<'_>, vector: Type, scalar: Value) {
        let lane = vector.lane_type();
        let scalar = if builder.func.dfg.value_type(scalar) != lane {
            builder.ins().ireduce(lane, scalar)
        } else {
            scalar
        };
        let result = builder.ins().splat(vector, scalar);
        self.push_vector(builder, result);
    }

    fn extract_lane(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        lane: u8,
        extend: Extend,
    ) {
        let vector = self.pop_vector(builder, ty);
        let value = builder.ins().extractlane(vector, lane);
        let value = match extend {
            Extend::None => value,
            Extend::Signed => builder.ins().sextend(I32, value),
            Extend::Unsigned => builder.ins().uextend(I32, value),
        };
        self.push(value);
    }

    fn replace_lane(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type, lane: u8) {
        let mut scalar = self.pop();
        let vector = self.pop_vector(builder, ty);
        if builder.func.dfg.value_type(scalar) != ty.lane_type() {
            scalar = builder.ins().ireduce(ty.lane_type(), scalar);
        }
        let result = builder.ins().insertlane(vector, scalar, lane);
        self.push_vector(builder, result);
    }

    fn load_lane(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        lane: u8,
    ) {
        let vector = self.pop_vector(builder, ty);
        let scalar = self.vector_scalar_load(builder, memarg, ty.lane_type());
        let result = builder.ins().insertlane(vector, scalar, lane);
        self.push_vector(builder, result);
    }

    fn store_lane(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        lane: u8,
    ) {
        let vector = self.pop_vector(builder, ty);
        let scalar = builder.ins().extractlane(vector, lane);
        self.push(scalar);
        self.store(builder, memarg, ty.lane_type().bytes());
    }

    /// Translates a vector instruction; `Ok(false)` if `op` is not one.
    pub(super) fn translate_simd(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::V128Load { memarg } => {
                self.load(builder, &memarg, I8X16, 16, Extend::None);
            }
            O::V128Store { memarg } => self.store(builder, &memarg, 16),
            O::V128Load8x8S { memarg } => {
                self.vector_extending_load(builder, &memarg, |b, f, a| b.ins().sload8x8(f, a, 0))
            }
            O::V128Load8x8U { memarg } => {
                self.vector_extending_load(builder, &memarg, |b, f, a| b.ins().uload8x8(f, a, 0))
            }
            O::V128Load16x4S { memarg } => {
                self.vector_extending_load(builder, &memarg, |b, f, a| b.ins().sload16x4(f, a, 0))
            }
            O::V128Load16x4U { memarg } => {
                self.vector_extending_load(builder, &memarg, |b, f, a| b.ins().uload16x4(f, a, 0))
            }
            O::V128Load32x2S { memarg } => {
                self.vector_extending_load(builder, &memarg, |b, f, a| b.ins().sload32x2(f, a, 0))
            }
            O::V128Load32x2U { memarg } => {
                self.vector_extending_load(builder, &memarg, |b, f, a| b.ins().uload32x2(f, a, 0))
            }
            O::V128Load8Splat { memarg } => {
                let scalar = self.vector_scalar_load(builder, &memarg, I8);
                self.splat_from(builder, I8X16, scalar);
            }
            O::V128Load16Splat { memarg } => {
                let scalar = self.vector_scalar_load(builder, &memarg, I16);
                self.splat_from(builder, I16X8, scalar);
            }
            O::V128Load32Splat { memarg } => {
                let scalar = self.vector_scalar_load(builder, &memarg, I32);
                self.splat_from(builder, I32X4, scalar);
            }
            O::V128Load64Splat { memarg } => {
                let scalar = self.vector_scalar_load(builder, &memarg, I64);
                self.splat_from(builder, I64X2, scalar);
            }
            O::V128Load32Zero { memarg } => {
                let scalar = self.vector_scalar_load(builder, &memarg, I32);
                let result = builder.ins().scalar_to_vector(I32X4, scalar);
                self.push_vector(builder, result);
            }
            O::V128Load64Zero { memarg } => {
                let scalar = self.vector_scalar_load(builder, &memarg, I64);
                let result = builder.ins().scalar_to_vector(I64X2, scalar);
                self.push_vector(builder, result);
            }
            O::V128Load8Lane { memarg, lane } => self.load_lane(builder, &memarg, I8X16, lane),
            O::V128Load16Lane { memarg, lane } => self.load_lane(builder, &memarg, I16X8, lane),
            O::V128Load32Lane { memarg, lane } => self.load_lane(builder, &memarg, I32X4, lane),
            O::V128Load64Lane { memarg, lane } => self.load_lane(builder, &memarg, I64X2, lane),
            O::V128Store8Lane { memarg, lane } => self.store_lane(builder, &memarg, I8X16, lane),
            O::V128Store16Lane { memarg, lane } => self.store_lane(builder, &memarg, I16X8, lane),
            O::V128Store32Lane { memarg, lane } => self.store_lane(builder, &memarg, I32X4, lane),
            O::V128Store64Lane { memarg, lane } => self.store_lane(builder, &memarg, I64X2, lane),

            O::V128Const { value } => {
                let handle = builder
                    .func
                    .dfg
                    .constants
                    .insert(ConstantData::from(value.bytes().to_vec()));
                let result = builder.ins().vconst(I8X16, handle);
                self.push(result);
            }
            O::I8x16Shuffle { lanes } => {
                let (a, b) = self.pop_vector2(builder, I8X16);
                let mask = builder
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(lanes.to_vec()));
                let result = builder.ins().shuffle(a, b, mask);
                self.push(result);
            }
            O::I8x16Swizzle => self.vector_binary(builder, I8X16, |b, x, y| b.ins().swizzle(x, y)),

            O::I8x16Splat => {
                let scalar = self.pop();
                self.splat_from(builder, I8X16, scalar);
            }
            O::I16x8Splat => {
                let scalar = self.pop();
                self.splat_from(builder, I16X8, scalar);
            }
            O::I32x4Splat => {
                let scalar = self.pop();
                self.splat_from(builder, I32X4, scalar);
            }
            O::I64x2Splat => {
                let scalar = self.pop();
                self.splat_from(builder, I64X2, scalar);
            }
            O::F32x4Splat => {
                let scalar = self.pop();
                self.splat_from(builder, F32X4, scalar);
            }
            O::F64x2Splat => {
                let scalar = self.pop();
                self.splat_from(builder, F64X2, scalar);
            }
            O::I8x16ExtractLaneS { lane } => {
                self.extract_lane(builder, I8X16, lane, Extend::Signed)
            }
            O::I8x16ExtractLaneU { lane } => {
                self.extract_lane(builder, I8X16, lane, Extend::Unsigned)
            }
            O::I16x8ExtractLaneS { lane } => {
                self.extract_lane(builder, I16X8, lane, Extend::Signed)
            }
            O::I16x8ExtractLaneU { lane } => {
                self.extract_lane(builder, I16X8, lane, Extend::Unsigned)
            }
            O::I32x4ExtractLane { lane } => self.extract_lane(builder, I32X4, lane, Extend::None),
            O::I64x2ExtractLane { lane } => self.extract_lane(builder, I64X2, lane, Extend::None),
            O::F32x4ExtractLane { lane } => self.extract_lane(builder, F32X4, lane, Extend::None),
            O::F64x2ExtractLane { lane } => self.extract_lane(builder, F64X2, lane, Extend::None),
            O::I8x16ReplaceLane { lane } => self.replace_lane(builder, I8X16, lane),
            O::I16x8ReplaceLane { lane } => self.replace_lane(builder, I16X8, lane),
            O::I32x4ReplaceLane { lane } => self.replace_lane(builder, I32X4, lane),
            O::I64x2ReplaceLane { lane } => self.replace_lane(builder, I64X2, lane),
            O::F32x4ReplaceLane { lane } => self.replace_lane(builder, F32X4, lane),
            O::F64x2ReplaceLane { lane } => self.replace_lane(builder, F64X2, lane),

            O::I8x16Eq => self.vector_icmp(builder, I8X16, IntCC::Equal),
            O::I8x16Ne => self.vector_icmp(builder, I8X16, IntCC::NotEqual),
            O::I8x16LtS => self.vector_icmp(builder, I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => self.vector_icmp(builder, I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => self.vector_icmp(builder, I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => self.vector_icmp(builder, I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => self.vector_icmp(builder, I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => self.vector_icmp(builder, I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => self.vector_icmp(builder, I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => self.vector_icmp(builder, I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => self.vector_icmp(builder, I16X8, IntCC::Equal),
            O::I16x8Ne => self.vector_icmp(builder, I16X8, IntCC::NotEqual),
            O::I16x8LtS => self.vector_icmp(builder, I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => self.vector_icmp(builder, I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => self.vector_icmp(builder, I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => self.vector_icmp(builder, I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => self.vector_icmp(builder, I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => self.vector_icmp(builder, I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => self.vector_icmp(builder, I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => self.vector_icmp(builder, I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => self.vector_icmp(builder, I32X4, IntCC::Equal),
            O::I32x4Ne => self.vector_icmp(builder, I32X4, IntCC::NotEqual),
            O::I32x4LtS => self.vector_icmp(builder, I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => self.vector_icmp(builder, I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => self.vector_icmp(builder, I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => self.vector_icmp(builder, I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => self.vector_icmp(builder, I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => self.vector_icmp(builder, I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => self.vector_icmp(builder, I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => self.vector_icmp(builder, I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => self.vector_icmp(builder, I64X2, IntCC::Equal),
            O::I64x2Ne => self.vector_icmp(builder, I64X2, IntCC::NotEqual),
            O::I64x2LtS => self.vector_icmp(builder, I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => self.vector_icmp(builder, I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => self.vector_icmp(builder, I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => self.vector_icmp(builder, I64X2, IntCC::SignedGreaterThanOrEqual),
            O::F32x4Eq => self.vector_fcmp(builder, F32X4, FloatCC::Equal),
            O::F32x4Ne => self.vector_fcmp(builder, F32X4, FloatCC::NotEqual),
            O::F32x4Lt => self.vector_fcmp(builder, F32X4, FloatCC::LessThan),
            O::F32x4Gt => self.vector_fcmp(builder, F32X4, FloatCC::GreaterThan),
            O::F32x4Le => self.vector_fcmp(builder, F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => self.vector_fcmp(builder, F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => self.vector_fcmp(builder, F64X2, FloatCC::Equal),
            O::F64x2Ne => self.vector_fcmp(builder, F64X2, FloatCC::NotEqual),
            O::F64x2Lt => self.vector_fcmp(builder, F64X2, FloatCC::LessThan),
            O::F64x2Gt => self.vector_fcmp(builder, F64X2, FloatCC::GreaterThan),
            O::F64x2Le => self.vector_fcmp(builder, F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => self.vector_fcmp(builder, F64X2, FloatCC::GreaterThanOrEqual),

            O::V128Not => self.vector_unary(builder, I8X16, |b, x| b.ins().bnot(x)),
            O::V128And => self.vector_binary(builder, I8X16, |b, x, y| b.ins().band(x, y)),
            O::V128AndNot => self.vector_binary(builder, I8X16, |b, x, y| b.ins().band_not(x, y)),
            O::V128Or => self.vector_binary(builder, I8X16, |b, x, y| b.ins().bor(x, y)),
            O::V128Xor => self.vector_binary(builder, I8X16, |b, x, y| b.ins().bxor(x, y)),
            O::V128Bitselect => {
                let mask = self.pop_vector(builder, I8X16);
                let (a, b) = self.pop_vector2(builder, I8X16);
                let result = builder.ins().bitselect(mask, a, b);
                self.push(result);
            }
            O::V128AnyTrue => self.vector_bool(builder, I8X16, |b, x| b.ins().vany_true(x)),
            O::I8x16AllTrue => self.vector_bool(builder, I8X16, |b, x| b.ins().vall_true(x)),
            O::I16x8AllTrue => self.vector_bool(builder, I16X8, |b, x| b.ins().vall_true(x)),
            O::I32x4AllTrue => self.vector_bool(builder, I32X4, |b, x| b.ins().vall_true(x)),
            O::I64x2AllTrue => self.vector_bool(builder, I64X2, |b, x| b.ins().vall_true(x)),
            O::I8x16Bitmask => self.bitmask(builder, I8X16),
            O::I16x8Bitmask => self.bitmask(builder, I16X8),
            O::I32x4Bitmask => self.bitmask(builder, I32X4),
            O::I64x2Bitmask => self.bitmask(builder, I64X2),

            O::I8x16Abs => self.vector_unary(builder, I8X16, |b, x| b.ins().iabs(x)),
            O::I16x8Abs => self.vector_unary(builder, I16X8, |b, x| b.ins().iabs(x)),
            O::I32x4Abs => self.vector_unary(builder, I32X4, |b, x| b.ins().iabs(x)),
            O::I64x2Abs => self.vector_unary(builder, I64X2, |b, x| b.ins().iabs(x)),
            O::I8x16Neg => self.vector_unary(builder, I8X16, |b, x| b.ins().ineg(x)),
            O::I16x8Neg => self.vector_unary(builder, I16X8, |b, x| b.ins().ineg(x)),
            O::I32x4Neg => self.vector_unary(builder, I32X4, |b, x| b.ins().ineg(x)),
            O::I64x2Neg => self.vector_unary(builder, I64X2, |b, x| b.ins().ineg(x)),
            O::I8x16Popcnt => self.vector_unary(builder, I8X16, |b, x| b.ins().popcnt(x)),
            O::I8x16Add => self.vector_binary(builder, I8X16, |b, x, y| b.ins().iadd(x, y)),
            O::I16x8Add => self.vector_binary(builder, I16X8, |b, x, y| b.ins().iadd(x, y)),
            O::I32x4Add => self.vector_binary(builder, I32X4, |b, x, y| b.ins().iadd(x, y)),
            O::I64x2Add => self.vector_binary(builder, I64X2, |b, x, y| b.ins().iadd(x, y)),
            O::I8x16Sub => self.vector_binary(builder, I8X16, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Sub => self.vector_binary(builder, I16X8, |b, x, y| b.ins().isub(x, y)),
            O::I32x4Sub => self.vector_binary(builder, I32X4, |b, x, y| b.ins().isub(x, y)),
            O::I64x2Sub => self.vector_binary(builder, I64X2, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Mul => self.vector_binary(builder, I16X8, |b, x, y| b.ins().imul(x, y)),
            O::I32x4Mul => self.vector_binary(builder, I32X4, |b, x, y| b.ins().imul(x, y)),
            O::I64x2Mul => self.vector_binary(builder, I64X2, |b, x, y| b.ins().imul(x, y)),
            O::I8x16AddSatS => self.vector_binary(builder, I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I8x16AddSatU => self.vector_binary(builder, I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I16x8AddSatS => self.vector_binary(builder, I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I16x8AddSatU => self.vector_binary(builder, I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I8x16SubSatS => self.vector_binary(builder, I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I8x16SubSatU => self.vector_binary(builder, I8X16, |b, x, y| b.ins().usub_sat(x, y)),
            O::I16x8SubSatS => self.vector_binary(builder, I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I16x8SubSatU => self.vector_binary(builder, I16X8, |b, x, y| b.ins().usub_sat(x, y)),
            O::I8x16MinS => self.vector_binary(builder, I8X16, |b, x, y| b.ins().smin(x, y)),
            O::I8x16MinU => self.vector_binary(builder, I8X16, |b, x, y| b.ins().umin(x, y)),
            O::I8x16MaxS => self.vector_binary(builder, I8X16, |b, x, y| b.ins().smax(x, y)),
            O::I8x16MaxU => self.vector_binary(builder, I8X16, |b, x, y| b.ins().umax(x, y)),
            O::I16x8MinS => self.vector_binary(builder, I16X8, |b, x, y| b.ins().smin(x, y)),
            O::I16x8MinU => self.vector_binary(builder, I16X8, |b, x, y| b.ins().umin(x, y)),
            O::I16x8MaxS => self.vector_binary(builder, I16X8, |b, x, y| b.ins().smax(x, y)),
            O::I16x8MaxU => self.vector_binary(builder, I16X8, |b, x, y| b.ins().umax(x, y)),
            O::I32x4MinS => self.vector_binary(builder, I32X4, |b, x, y| b.ins().smin(x, y)),
            O::I32x4MinU => self.vector_binary(builder, I32X4, |b, x, y| b.ins().umin(x, y)),
            O::I32x4MaxS => self.vector_binary(builder, I32X4, |b, x, y| b.ins().smax(x, y)),
            O::I32x4MaxU => self.vector_binary(builder, I32X4, |b, x, y| b.ins().umax(x, y)),
            O::I8x16AvgrU => self.vector_binary(builder, I8X16, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8AvgrU => self.vector_binary(builder, I16X8, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8Q15MulrSatS => {
                self.vector_binary(builder, I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
            }
            O::I8x16Shl => self.vector_shift(builder, I8X16, |b, x, y| b.ins().ishl(x, y)),
            O::I16x8Shl => self.vector_shift(builder, I16X8, |b, x, y| b.ins().ishl(x, y)),
            O::I32x4Shl => self.vector_shift(builder, I32X4, |b, x, y| b.ins().ishl(x, y)),
            O::I64x2Shl => self.vector_shift(builder, I64X2, |b, x, y| b.ins().ishl(x, y)),
            O::I8x16ShrS => self.vector_shift(builder, I8X16, |b, x, y| b.ins().sshr(x, y)),
            O::I16x8ShrS => self.vector_shift(builder, I16X8, |b, x, y| b.ins().sshr(x, y)),
            O::I32x4ShrS => self.vector_shift(builder, I32X4, |b, x, y| b.ins().sshr(x, y)),
            O::I64x2ShrS => self.vector_shift(builder, I64X2, |b, x, y| b.ins().sshr(x, y)),
            O::I8x16ShrU => self.vector_shift(builder, I8X16, |b, x, y| b.ins().ushr(x, y)),
            O::I16x8ShrU => self.vector_shift(builder, I16X8, |b, x, y| b.ins().ushr(x, y)),
            O::I32x4ShrU => self.vector_shift(builder, I32X4, |b, x, y| b.ins().ushr(x, y)),
            O::I64x2ShrU => self.vector_shift(builder, I64X2, |b, x, y| b.ins().ushr(x, y)),

            O::I8x16NarrowI16x8S => {
                self.vector_binary(builder, I16X8, |b, x, y| b.ins().snarrow(x, y))
            }
            O::I8x16NarrowI16x8U => {
                self.vector_binary(builder, I16X8, |b, x, y| b.ins().unarrow(x, y))
            }
            O::I16x8NarrowI32x4S => {
                self.vector_binary(builder, I32X4, |b, x, y| b.ins().snarrow(x, y))
            }
            O::I16x8NarrowI32x4U => {
                self.vector_binary(builder, I32X4, |b, x, y| b.ins().unarrow(x, y))
            }
            O::I16x8ExtendLowI8x16S => {
                self.vector_unary(builder, I8X16, |b, x| b.ins().swiden_low(x))
            }
            O::I16x8ExtendHighI8x16S => {
                self.vector_unary(builder, I8X16, |b, x| b.ins().swiden_high(x))
            }
            O::I16x8ExtendLowI8x16U => {
                self.vector_unary(builder, I8X16, |b, x| b.ins().uwiden_low(x))
            }
            O::I16x8ExtendHighI8x16U => {
                self.vector_unary(builder, I8X16, |b, x| b.ins().uwiden_high(x))
            }
            O::I32x4ExtendLowI16x8S => {
                self.vector_unary(builder, I16X8, |b, x| b.ins().swiden_low(x))
            }
            O::I32x4ExtendHighI16x8S => {
                self.vector_unary(builder, I16X8, |b, x| b.ins().swiden_high(x))
            }
            O::I32x4ExtendLowI16x8U => {
                self.vector_unary(builder, I16X8, |b, x| b.ins().uwiden_low(x))
            }
            O::I32x4ExtendHighI16x8U => {
                self.vector_unary(builder, I16X8, |b, x| b.ins().uwiden_high(x))
            }
            O::I64x2ExtendLowI32x4S => {
                self.vector_unary(builder, I32X4, |b, x| b.ins().swiden_low(x))
            }
            O::I64x2ExtendHighI32x4S => {
                self.vector_unary(builder, I32X4, |b, x| b.ins().swiden_high(x))
            }
            O::I64x2ExtendLowI32x4U => {
                self.vector_unary(builder, I32X4, |b, x| b.ins().uwiden_low(x))
            }
            O::I64x2ExtendHighI32x4U => {
                self.vector_unary(builder, I32X4, |b, x| b.ins().uwiden_high(x))
            }
            O::I16x8ExtAddPairwiseI8x16S => self.extadd_pairwise(builder, I8X16, true),
            O::I16x8ExtAddPairwiseI8x16U => self.extadd_pairwise(builder, I8X16, false),
            O::I32x4ExtAddPairwiseI16x8S => self.extadd_pairwise(builder, I16X8, true),
            O::I32x4ExtAddPairwiseI16x8U => self.extadd_pairwise(builder, I16X8, false),
            O::I16x8ExtMulLowI8x16S => self.extmul(builder, I8X16, true, false),
            O::I16x8ExtMulHighI8x16S => self.extmul(builder, I8X16, true, true),
            O::I16x8ExtMulLowI8x16U => self.extmul(builder, I8X16, false, false),
            O::I16x8ExtMulHighI8x16U => self.extmul(builder, I8X16, false, true),
            O::I32x4ExtMulLowI16x8S => self.extmul(builder, I16X8, true, false),
            O::I32x4ExtMulHighI16x8S => self.extmul(builder, I16X8, true, true),
            O::I32x4ExtMulLowI16x8U => self.extmul(builder, I16X8, false, false),
            O::I32x4ExtMulHighI16x8U => self.extmul(builder, I16X8, false, true),
            O::I64x2ExtMulLowI32x4S => self.extmul(builder, I32X4, true, false),
            O::I64x2ExtMulHighI32x4S => self.extmul(builder, I32X4, true, true),
            O::I64x2ExtMulLowI32x4U => self.extmul(builder, I32X4, false, false),
            O::I64x2ExtMulHighI32x4U => self.extmul(builder, I32X4, false, true),
            O::I32x4DotI16x8S => self.vector_binary(builder, I16X8, signed_dot),

            O::F32x4Ceil => self.vector_unary(builder, F32X4, |b, x| b.ins().ceil(x)),
            O::F64x2Ceil => self.vector_unary(builder, F64X2, |b, x| b.ins().ceil(x)),
            O::F32x4Floor => self.vector_unary(builder, F32X4, |b, x| b.ins().floor(x)),
            O::F64x2Floor => self.vector_unary(builder, F64X2, |b, x| b.ins().floor(x)),
            O::F32x4Trunc => self.vector_unary(builder, F32X4, |b, x| b.ins().trunc(x)),
            O::F64x2Trunc => self.vector_unary(builder, F64X2, |b, x| b.ins().trunc(x)),
            O::F32x4Nearest => self.vector_unary(builder, F32X4, |b, x| b.ins().nearest(x)),
            O::F64x2Nearest => self.vector_unary(builder, F64X2, |b, x| b.ins().nearest(x)),
            O::F32x4Abs => self.vector_unary(builder, F32X4, |b, x| b.ins().fabs(x)),
            O::F64x2Abs => self.vector_unary(builder, F64X2, |b, x| b.ins().fabs(x)),
            O::F32x4Neg => self.vector_unary(builder, F32X4, |b, x| b.ins().fneg(x)),
            O::F64x2Neg => self.vector_unary(builder, F64X2, |b, x| b.ins().fneg(x)),
            O::F32x4Sqrt => self.vector_unary(builder, F32X4, |b, x| b.ins().sqrt(x)),
            O::F64x2Sqrt => self.vector_unary(builder, F64X2, |b, x| b.ins().sqrt(x)),
            O::F32x4Add => self.vector_binary(builder, F32X4, |b, x, y| b.ins().fadd(x, y)),
            O::F64x2Add => self.vector_binary(builder, F64X2, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub => self.vector_binary(builder, F32X4, |b, x, y| b.ins().fsub(x, y)),
            O::F64x2Sub => self.vector_binary(builder, F64X2, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul => self.vector_binary(builder, F32X4, |b, x, y| b.ins().fmul(x, y)),
            O::F64x2Mul => self.vector_binary(builder, F64X2, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div => self.vector_binary(builder, F32X4, |b, x, y| b.ins().fdiv(x, y)),
            O::F64x2Div => self.vector_binary(builder, F64X2, |b, x, y| b.ins().fdiv(x, y)),
            O::F32x4Min => self.vector_binary(builder, F32X4, |b, x, y| b.ins().fmin(x, y)),
            O::F64x2Min => self.vector_binary(builder, F64X2, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4Max => self.vector_binary(builder, F32X4, |b, x, y| b.ins().fmax(x, y)),
            O::F64x2Max => self.vector_binary(builder, F64X2, |b, x, y| b.ins().fmax(x, y)),
            O::F32x4PMin => self.pseudo_min_max(builder, F32X4, false),
            O::F64x2PMin => self.pseudo_min_max(builder, F64X2, false),
            O::F32x4PMax => self.pseudo_min_max(builder, F32X4, true),
            O::F64x2PMax => self.pseudo_min_max(builder, F64X2, true),

            O::I32x4TruncSatF32x4S => {
                self.vector_unary(builder, F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
            }
            O::I32x4TruncSatF32x4U => {
                self.vector_unary(builder, F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
            }
            O::F32x4ConvertI32x4S => {
                self.vector_unary(builder, I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x))
            }
            O::F32x4ConvertI32x4U => {
                self.vector_unary(builder, I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x))
            }
            O::I32x4TruncSatF64x2SZero => {
                let a = self.pop_vector(builder, F64X2);
                let converted = builder.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = Self::zero_vector(builder, I64X2);
                let result = builder.ins().snarrow(converted, zero);
                self.push_vector(builder, result);
            }
            O::I32x4TruncSatF64x2UZero => {
                let a = self.pop_vector(builder, F64X2);
                let converted = builder.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = Self::zero_vector(builder, I64X2);
                let result = builder.ins().uunarrow(converted, zero);
                self.push_vector(builder, result);
            }
            O::F64x2ConvertLowI32x4S => self.vector_unary(builder, I32X4, |b, x| {
                let wide = b.ins().swiden_low(x);
                b.ins().fcvt_from_sint(F64X2, wide)
            }),
            O::F64x2ConvertLowI32x4U => self.vector_unary(builder, I32X4, |b, x| {
                let wide = b.ins().uwiden_low(x);
                b.ins().fcvt_from_uint(F64X2, wide)
            }),
            O::F32x4DemoteF64x2Zero => {
                self.vector_unary(builder, F64X2, |b, x| b.ins().fvdemote(x))
            }
            O::F64x2PromoteLowF32x4 => {
                self.vector_unary(builder, F32X4, |b, x| b.ins().fvpromote_low(x))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn bitmask(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type) {
        let a = self.pop_vector(builder, ty);
        let result = builder.ins().vhigh_bits(I32, a);
        self.push(result);
    }

    fn extadd_pairwise(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type, signed: bool) {
        self.vector_unary(builder, ty, |b, x| {
            let (low, high) = if signed {
                (b.ins().swiden_low(x), b.ins().swiden_high(x))
            } else {
                (b.ins().uwiden_low(x), b.ins().uwiden_high(x))
            };
            b.ins().iadd_pairwise(low, high)
        });
    }

    fn extmul(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type, signed: bool, high: bool) {
        self.vector_binary(builder, ty, |b, x, y| {
            let widen = |b: &mut FunctionBuilder<'_>, v: Value| match (signed, high) {
                (true, false) => b.ins().swiden_low(v),
                (true, true) => b.ins().swiden_high(v),
                (false, false) => b.ins().uwiden_low(v),
                (false, true) => b.ins().uwiden_high(v),
            };
            let x = widen(b, x);
            let y = widen(b, y);
            b.ins().imul(x, y)
        });
    }

    /// `pmin(a, b) = b < a ? b : a`; `pmax(a, b) = a < b ? b : a`, lane-wise.
    fn pseudo_min_max(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type, max: bool) {
        let (a, b) = self.pop_vector2(builder, ty);
        let take_b = if max {
            builder.ins().fcmp(FloatCC::LessThan, a, b)
        } else {
            builder.ins().fcmp(FloatCC::LessThan, b, a)
        };
        let take_b = cast(builder, take_b, ty);
        let result = builder.ins().bitselect(take_b, b, a);
        self.push_vector(builder, result);
    }
}
