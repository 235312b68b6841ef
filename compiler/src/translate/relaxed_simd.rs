//! Relaxed SIMD instructions (Wasm 3.0).
//!
//! A relaxed instruction may give one of several results where hardware
//! differs (NaN, out-of-range, overflowing or non-mask inputs); everywhere
//! else its result is fixed. Remap picks one choice per instruction when it
//! compiles, so one compiled function always gives the same result for the
//! same inputs.
//!
//! By default (native mode) an instruction lowers to what the x86-64 CPU
//! computes fastest. With [`Tunables::relaxed_simd_deterministic`] it gets the
//! result of the Wasm deterministic profile on every host, which is that of
//! the strict instruction in the last column (the choice of the reference
//! interpreter and of Wasmtime's `relaxed_simd_deterministic`):
//!
//! | instruction | native on x86-64 | deterministic |
//! |---|---|---|
//! | `i8x16.relaxed_swizzle` | `pshufb`: an index 16..=127 picks lane `index % 16`, 128..=255 gives 0 | `i8x16.swizzle`: an index >= 16 gives 0 |
//! | `i32x4.relaxed_trunc_f32x4_s` | `cvttps2dq`: NaN and out-of-range lanes give `i32::MIN` | `i32x4.trunc_sat_f32x4_s`: NaN gives 0, out of range saturates |
//! | `i32x4.relaxed_trunc_f64x2_s_zero` | `cvttpd2dq`: as `cvttps2dq` | `i32x4.trunc_sat_f64x2_s_zero` |
//! | `i32x4.relaxed_trunc_f32x4_u`, `..._f64x2_u_zero` | the saturating conversion (SSE has no unsigned conversion to use instead) | `i32x4.trunc_sat_f32x4_u`, `..._f64x2_u_zero` |
//! | `f32x4`/`f64x2.relaxed_madd` | fused (`vfmadd`, one rounding) with AVX and FMA; without them `mul` then `add` (two roundings) | fused: `vfmadd`, or without FMA a runtime builtin that rounds once in software |
//! | `f32x4`/`f64x2.relaxed_nmadd` | `-a * b + c` as `relaxed_madd` (`vfnmadd`) | fused |
//! | `i8x16`/`i32x4`/`i64x2.relaxed_laneselect` | `pblendvb`/`blendvps`/`blendvpd` (SSE4.1): the top bit of each mask lane picks the lane | `v128.bitselect`: each mask bit picks a bit |
//! | `i16x8.relaxed_laneselect` | `v128.bitselect` (x86 has no 16-bit blend) | `v128.bitselect` |
//! | `f32x4`/`f64x2.relaxed_min`, `relaxed_max` | `minps`/`maxps` (`minpd`/`maxpd`), i.e. `pmin`/`pmax`: a NaN operand or a `-0`/`+0` pair gives the first operand | `f32x4.min`/`max`: NaN if an operand is NaN, `-0 < +0` |
//! | `i16x8.relaxed_q15mulr_s` | `pmulhrsw`: `-32768 * -32768` gives `-32768` | `i16x8.q15mulr_sat_s`: gives `32767` |
//! | `i16x8.relaxed_dot_i8x16_i7x16_s` | `pmaddubsw`: the second operand's bytes are unsigned, pair sums saturate | both operands signed, pair sums wrap |
//! | `i32x4.relaxed_dot_i8x16_i7x16_add_s` | `pmaddubsw`, then pairs of its (saturated) i16 sums added into i32, plus `c` | the exact sum of four signed products, plus `c` (wrapping) |
//!
//! Native results depend on the CPU features of the machine that compiled
//! the code (a precompiled module records them and only loads where they
//! exist): `relaxed_madd`/`nmadd` round twice without AVX and FMA,
//! `relaxed_laneselect` selects bitwise without SSE4.1, and without SSSE3
//! swizzle, Q15 multiplication and the dot products take their
//! deterministic results. On every CPU with SSSE3, SSE4.1, AVX and FMA
//! (Intel since Haswell, AMD since Piledriver) they are the same.
//! Deterministic results are the same on every host. Both modes agree
//! wherever the proposal fixes the result; NaN bit patterns are outside the
//! choice, as for every float instruction.
//!
//! The deterministic choices follow the reference interpreter where the
//! specification's prose differs: its notes call the deterministic
//! `relaxed_madd` unfused and its 16-bit dot product sums saturating, while
//! the interpreter (and Wasmtime) fuse and wrap.
//!
//! [`Tunables::relaxed_simd_deterministic`]: crate::Tunables::relaxed_simd_deterministic

use super::Translator;
use super::simd::signed_dot;
use crate::builtins::Builtin;
use crate::error::CompileError;
use cranelift_codegen::ir::types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64, I64X2};
use cranelift_codegen::ir::{InstBuilder, StackSlotData, StackSlotKind, Type, Value};
use cranelift_frontend::FunctionBuilder;
use target_lexicon::Architecture;
use wasmparser::Operator;

/// Bytes of the stack slot that passes `a`, `b` and `c` to a fused
/// multiply-add builtin.
const FMA_SLOT_BYTES: u32 = 3 * 16;
/// log2 of that slot's alignment: one vector.
const FMA_SLOT_ALIGN_SHIFT: u8 = 4;

impl Translator<'_> {
    /// Whether relaxed instructions may take the results of x86's own
    /// instructions (native mode on an x86-64 target).
    fn x86_relaxed(&self) -> bool {
        !self.env.tunables().relaxed_simd_deterministic
            && self.isa.triple().architecture == Architecture::X86_64
    }

    /// Translates a relaxed SIMD instruction; `Ok(false)` if `op` is not one.
    /// An instruction whose result is that of a strict one is translated as
    /// that instruction.
    pub(super) fn translate_relaxed_simd(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        let x86 = self.x86_relaxed();
        let isa = self.isa;
        let strict = match *op {
            O::I8x16RelaxedSwizzle if x86 && isa.has_x86_pshufb_lowering() => {
                self.vector_binary(builder, I8X16, |b, x, y| b.ins().x86_pshufb(x, y));
                return Ok(true);
            }
            O::I8x16RelaxedSwizzle => O::I8x16Swizzle,
            O::I32x4RelaxedTruncF32x4S if x86 => {
                self.vector_unary(builder, F32X4, |b, x| b.ins().x86_cvtt2dq(I32X4, x));
                return Ok(true);
            }
            O::I32x4RelaxedTruncF32x4S => O::I32x4TruncSatF32x4S,
            O::I32x4RelaxedTruncF32x4U => O::I32x4TruncSatF32x4U,
            O::I32x4RelaxedTruncF64x2SZero if x86 => {
                // Cranelift matches this narrowing of a conversion to one
                // `cvttpd2dq`.
                self.vector_unary(builder, F64X2, |b, x| {
                    let converted = b.ins().x86_cvtt2dq(I64X2, x);
                    let zero = Self::zero_vector(b, I64X2);
                    b.ins().snarrow(converted, zero)
                });
                return Ok(true);
            }
            O::I32x4RelaxedTruncF64x2SZero => O::I32x4TruncSatF64x2SZero,
            O::I32x4RelaxedTruncF64x2UZero => O::I32x4TruncSatF64x2UZero,
            O::F32x4RelaxedMadd => return self.relaxed_madd(builder, F32X4, false),
            O::F32x4RelaxedNmadd => return self.relaxed_madd(builder, F32X4, true),
            O::F64x2RelaxedMadd => return self.relaxed_madd(builder, F64X2, false),
            O::F64x2RelaxedNmadd => return self.relaxed_madd(builder, F64X2, true),
            O::I8x16RelaxedLaneselect if x86 && isa.has_blendv_lowering(I8X16) => {
                return self.blend(builder, I8X16);
            }
            O::I32x4RelaxedLaneselect if x86 && isa.has_blendv_lowering(I32X4) => {
                return self.blend(builder, I32X4);
            }
            O::I64x2RelaxedLaneselect if x86 && isa.has_blendv_lowering(I64X2) => {
                return self.blend(builder, I64X2);
            }
            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => O::V128Bitselect,
            // `pmin`/`pmax` lower to one `minps`/`maxps` on x86.
            O::F32x4RelaxedMin if x86 => O::F32x4PMin,
            O::F32x4RelaxedMin => O::F32x4Min,
            O::F32x4RelaxedMax if x86 => O::F32x4PMax,
            O::F32x4RelaxedMax => O::F32x4Max,
            O::F64x2RelaxedMin if x86 => O::F64x2PMin,
            O::F64x2RelaxedMin => O::F64x2Min,
            O::F64x2RelaxedMax if x86 => O::F64x2PMax,
            O::F64x2RelaxedMax => O::F64x2Max,
            O::I16x8RelaxedQ15mulrS if x86 && isa.has_x86_pmulhrsw_lowering() => {
                self.vector_binary(builder, I16X8, |b, x, y| b.ins().x86_pmulhrsw(x, y));
                return Ok(true);
            }
            O::I16x8RelaxedQ15mulrS => O::I16x8Q15MulrSatS,
            O::I16x8RelaxedDotI8x16I7x16S if x86 && isa.has_x86_pmaddubsw_lowering() => {
                self.vector_binary(builder, I8X16, |b, x, y| b.ins().x86_pmaddubsw(x, y));
                return Ok(true);
            }
            O::I16x8RelaxedDotI8x16I7x16S => {
                self.vector_binary(builder, I8X16, signed_dot);
                return Ok(true);
            }
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let pmaddubsw = x86 && isa.has_x86_pmaddubsw_lowering();
                self.relaxed_dot_add(builder, pmaddubsw);
                return Ok(true);
            }
            _ => return Ok(false),
        };
        self.translate_simd(builder, &strict)
    }

    /// `relaxed_madd` (`a * b + c`) or `relaxed_nmadd` (`-a * b + c`) of
    /// lane type `ty`: fused where the CPU has FMA, else fused by a builtin
    /// in deterministic mode and unfused in native mode.
    fn relaxed_madd(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        negate: bool,
    ) -> Result<bool, CompileError> {
        let c = self.pop_vector(builder, ty);
        let (a, b) = self.pop_vector2(builder, ty);
        let a = if negate { builder.ins().fneg(a) } else { a };
        let result = if self.isa.has_native_fma() {
            builder.ins().fma(a, b, c)
        } else if self.env.tunables().relaxed_simd_deterministic {
            self.fma_builtin(builder, ty, [a, b, c])
        } else {
            let product = builder.ins().fmul(a, b);
            builder.ins().fadd(product, c)
        };
        self.push_vector(builder, result);
        Ok(true)
    }

    /// The fused multiply-add of `operands` (`a`, `b`, `c`) computed by the
    /// runtime: Cranelift would otherwise call a C library function, which
    /// compiled code cannot link to. The vectors go through a stack slot, so
    /// the builtin needs no vector arguments.
    fn fma_builtin(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        ty: Type,
        operands: [Value; 3],
    ) -> Value {
        let slot = builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            FMA_SLOT_BYTES,
            FMA_SLOT_ALIGN_SHIFT,
        ));
        for (index, operand) in operands.into_iter().enumerate() {
            builder
                .ins()
                .stack_store(I64, operand, slot, 16 * index as i32);
        }
        let lanes = builder.ins().stack_addr(I64, slot, 0);
        let builtin = if ty == F32X4 {
            Builtin::FmaF32x4
        } else {
            Builtin::FmaF64x2
        };
        self.env.call_builtin(builder, builtin, &[lanes]);
        builder.ins().stack_load(I64, ty, slot, 0)
    }

    /// `relaxed_laneselect` with x86's `blendv`: the top bit of each lane of
    /// the mask picks that lane of the first operand, else of the second.
    fn blend(&mut self, builder: &mut FunctionBuilder<'_>, ty: Type) -> Result<bool, CompileError> {
        let mask = self.pop_vector(builder, ty);
        let (a, b) = self.pop_vector2(builder, ty);
        let result = builder.ins().blendv(mask, a, b);
        self.push_vector(builder, result);
        Ok(true)
    }

    /// `i32x4.relaxed_dot_i8x16_i7x16_add_s`: with `pmaddubsw`, its i16 pair
    /// sums added pairwise into i32; otherwise the exact sum of four signed
    /// products per lane. Then `c` is added.
    fn relaxed_dot_add(&mut self, builder: &mut FunctionBuilder<'_>, pmaddubsw: bool) {
        let c = self.pop_vector(builder, I32X4);
        let (a, b) = self.pop_vector2(builder, I8X16);
        let dot = if pmaddubsw {
            let pairs = builder.ins().x86_pmaddubsw(a, b);
            let low = builder.ins().swiden_low(pairs);
            let high = builder.ins().swiden_high(pairs);
            builder.ins().iadd_pairwise(low, high)
        } else {
            // i16 lanes hold every i8 product, but not every sum of two, so
            // sum pairs of products in i32.
            let a_low = builder.ins().swiden_low(a);
            let b_low = builder.ins().swiden_low(b);
            let low = signed_dot(builder, a_low, b_low);
            let a_high = builder.ins().swiden_high(a);
            let b_high = builder.ins().swiden_high(b);
            let high = signed_dot(builder, a_high, b_high);
            builder.ins().iadd_pairwise(low, high)
        };
        let result = builder.ins().iadd(dot, c);
        self.push_vector(builder, result);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate_for, tunables};
    use crate::{MemoryStyle, Tunables};
    use cranelift_codegen::ir::{Function, Opcode};
    use cranelift_codegen::isa::{self, OwnedTargetIsa};
    use cranelift_codegen::settings::{self, Configurable};

    /// An x86-64 target with exactly the CPU features `features` beyond
    /// SSE2, whatever the host has.
    fn x86_64(features: &[&str]) -> OwnedTargetIsa {
        let mut builder = isa::lookup_by_name("x86_64").expect("x86-64 backend");
        for feature in features {
            builder.enable(feature).expect("an x86 feature");
        }
        // Builtin calls record the frame pointer, as with Remap's own flags.
        let mut flags = settings::builder();
        flags.enable("preserve_frame_pointers").expect("a flag");
        builder
            .finish(settings::Flags::new(flags))
            .expect("a valid ISA")
    }

    const ALL_FEATURES: &[&str] = &["has_ssse3", "has_sse41", "has_avx", "has_fma"];

    /// The function computing `instruction` on `arity` v128 parameters,
    /// translated for `isa` in native or deterministic mode.
    fn translate(
        instruction: &str,
        arity: usize,
        isa: &OwnedTargetIsa,
        deterministic: bool,
    ) -> Function {
        let params = "(param v128) ".repeat(arity);
        let args: String = (0..arity).map(|i| format!("(local.get {i}) ")).collect();
        let wat = format!("(module (func {params}(result v128) ({instruction} {args})))");
        let tunables = Tunables {
            relaxed_simd_deterministic: deterministic,
            ..tunables(MemoryStyle::Static, None, true)
        };
        translate_for(&wat, &tunables, &**isa).remove(0)
    }

    #[test]
    fn native_mode_uses_x86_instructions_and_deterministic_mode_the_strict_ones() {
        let isa = x86_64(ALL_FEATURES);
        let cases = [
            (
                "i8x16.relaxed_swizzle",
                2,
                Opcode::X86Pshufb,
                Opcode::Swizzle,
            ),
            (
                "i32x4.relaxed_trunc_f32x4_s",
                1,
                Opcode::X86Cvtt2dq,
                Opcode::FcvtToSintSat,
            ),
            (
                "i32x4.relaxed_trunc_f64x2_s_zero",
                1,
                Opcode::X86Cvtt2dq,
                Opcode::FcvtToSintSat,
            ),
            (
                "i32x4.relaxed_laneselect",
                3,
                Opcode::Blendv,
                Opcode::Bitselect,
            ),
            (
                "i64x2.relaxed_laneselect",
                3,
                Opcode::Blendv,
                Opcode::Bitselect,
            ),
            ("f32x4.relaxed_min", 2, Opcode::Fcmp, Opcode::Fmin),
            ("f64x2.relaxed_max", 2, Opcode::Fcmp, Opcode::Fmax),
            (
                "i16x8.relaxed_q15mulr_s",
                2,
                Opcode::X86Pmulhrsw,
                Opcode::SqmulRoundSat,
            ),
            (
                "i16x8.relaxed_dot_i8x16_i7x16_s",
                2,
                Opcode::X86Pmaddubsw,
                Opcode::Imul,
            ),
            (
                "i32x4.relaxed_dot_i8x16_i7x16_add_s",
                3,
                Opcode::X86Pmaddubsw,
                Opcode::Imul,
            ),
        ];
        for (instruction, arity, native, deterministic) in cases {
            let native_ir = translate(instruction, arity, &isa, false);
            let deterministic_ir = translate(instruction, arity, &isa, true);
            assert_eq!(count(&native_ir, native), 1, "{instruction} native");
            assert_eq!(count(&native_ir, deterministic), 0, "{instruction} native");
            assert!(count(&deterministic_ir, deterministic) > 0, "{instruction}");
            assert_eq!(count(&deterministic_ir, native), 0, "{instruction}");
        }
        // The unsigned conversions and the 16-bit lane select have no x86
        // form: both modes give the strict result.
        for (instruction, arity, strict) in [
            ("i32x4.relaxed_trunc_f32x4_u", 1, Opcode::FcvtToUintSat),
            ("i32x4.relaxed_trunc_f64x2_u_zero", 1, Opcode::FcvtToUintSat),
            ("i16x8.relaxed_laneselect", 3, Opcode::Bitselect),
        ] {
            for deterministic in [false, true] {
                let ir = translate(instruction, arity, &isa, deterministic);
                assert_eq!(count(&ir, strict), 1, "{instruction} {deterministic}");
            }
        }
    }

    #[test]
    fn without_ssse3_and_sse41_native_mode_falls_back_to_the_strict_instructions() {
        let isa = x86_64(&[]);
        for (instruction, arity, strict) in [
            ("i8x16.relaxed_swizzle", 2, Opcode::Swizzle),
            ("i8x16.relaxed_laneselect", 3, Opcode::Bitselect),
            ("i16x8.relaxed_q15mulr_s", 2, Opcode::SqmulRoundSat),
            ("i16x8.relaxed_dot_i8x16_i7x16_s", 2, Opcode::Imul),
        ] {
            let ir = translate(instruction, arity, &isa, false);
            assert!(count(&ir, strict) > 0, "{instruction}");
        }
    }

    #[test]
    fn multiply_add_is_fused_except_natively_without_fma() {
        for instruction in ["f32x4.relaxed_madd", "f64x2.relaxed_nmadd"] {
            let with_fma = x86_64(ALL_FEATURES);
            for deterministic in [false, true] {
                let ir = translate(instruction, 3, &with_fma, deterministic);
                assert_eq!(count(&ir, Opcode::Fma), 1, "{instruction}");
            }
            let without_fma = x86_64(&["has_ssse3", "has_sse41", "has_avx"]);
            let native = translate(instruction, 3, &without_fma, false);
            assert_eq!(count(&native, Opcode::Fma), 0, "{instruction}");
            assert_eq!(count(&native, Opcode::Fmul), 1, "{instruction}");
            assert_eq!(count(&native, Opcode::Fadd), 1, "{instruction}");
            // Cranelift's own fallback would be a libcall: the builtin is
            // called instead, with the three vectors in a stack slot.
            let deterministic = translate(instruction, 3, &without_fma, true);
            assert_eq!(count(&deterministic, Opcode::Fma), 0, "{instruction}");
            assert_eq!(
                count(&deterministic, Opcode::CallIndirect),
                1,
                "{instruction}"
            );
            assert!(
                count(&deterministic, Opcode::StackAddr) > 0,
                "{instruction}"
            );
        }
    }
}
