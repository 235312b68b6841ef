//! Checks of raw results against the script's expectations: float and vector
//! patterns (exact bits, canonical NaN, arithmetic NaN) and error messages.

use wast::core::{NanPattern, V128Pattern};
use wast::token::{F32, F64};

const F32_SIGN: u32 = 1 << 31;
const F32_QUIET: u32 = 1 << 22;
const F32_INFINITY: u32 = 0x7f80_0000;
const F64_SIGN: u64 = 1 << 63;
const F64_QUIET: u64 = 1 << 51;
const F64_INFINITY: u64 = 0x7ff0_0000_0000_0000;

/// Whether the bits of an `f32` result satisfy a pattern. A value pattern
/// compares bits exactly (NaN payloads included).
pub fn f32_matches(pattern: &NanPattern<F32>, bits: u32) -> bool {
    let magnitude = bits & !F32_SIGN;
    match pattern {
        NanPattern::Value(expected) => expected.bits == bits,
        NanPattern::CanonicalNan => magnitude == F32_INFINITY | F32_QUIET,
        NanPattern::ArithmeticNan => magnitude > F32_INFINITY && bits & F32_QUIET != 0,
    }
}

/// Whether the bits of an `f64` result satisfy a pattern.
pub fn f64_matches(pattern: &NanPattern<F64>, bits: u64) -> bool {
    let magnitude = bits & !F64_SIGN;
    match pattern {
        NanPattern::Value(expected) => expected.bits == bits,
        NanPattern::CanonicalNan => magnitude == F64_INFINITY | F64_QUIET,
        NanPattern::ArithmeticNan => magnitude > F64_INFINITY && bits & F64_QUIET != 0,
    }
}

/// Whether a `v128` result (little-endian lanes) satisfies a pattern.
pub fn v128_matches(pattern: &V128Pattern, bits: u128) -> bool {
    let bytes = bits.to_le_bytes();
    match pattern {
        V128Pattern::I8x16(lanes) => lanes
            .iter()
            .zip(bytes)
            .all(|(lane, byte)| *lane as u8 == byte),
        V128Pattern::I16x8(lanes) => lanes
            .iter()
            .zip(bytes.chunks_exact(2))
            .all(|(lane, chunk)| lane.to_le_bytes() == chunk),
        V128Pattern::I32x4(lanes) => lanes
            .iter()
            .zip(bytes.chunks_exact(4))
            .all(|(lane, chunk)| lane.to_le_bytes() == chunk),
        V128Pattern::I64x2(lanes) => lanes
            .iter()
            .zip(bytes.chunks_exact(8))
            .all(|(lane, chunk)| lane.to_le_bytes() == chunk),
        V128Pattern::F32x4(lanes) => {
            lanes
                .iter()
                .zip(bytes.chunks_exact(4))
                .all(|(lane, chunk)| {
                    let lane_bits = u32::from_le_bytes(chunk.try_into().expect("4-byte lane"));
                    f32_matches(lane, lane_bits)
                })
        }
        V128Pattern::F64x2(lanes) => {
            lanes
                .iter()
                .zip(bytes.chunks_exact(8))
                .all(|(lane, chunk)| {
                    let lane_bits = u64::from_le_bytes(chunk.try_into().expect("8-byte lane"));
                    f64_matches(lane, lane_bits)
                })
        }
    }
}

/// Describes an `f32` pattern the way the report shows it.
pub fn describe_f32(pattern: &NanPattern<F32>) -> String {
    match pattern {
        NanPattern::Value(value) => describe_f32_bits(value.bits),
        NanPattern::CanonicalNan => "f32:nan:canonical".to_owned(),
        NanPattern::ArithmeticNan => "f32:nan:arithmetic".to_owned(),
    }
}

/// Describes an `f64` pattern the way the report shows it.
pub fn describe_f64(pattern: &NanPattern<F64>) -> String {
    match pattern {
        NanPattern::Value(value) => describe_f64_bits(value.bits),
        NanPattern::CanonicalNan => "f64:nan:canonical".to_owned(),
        NanPattern::ArithmeticNan => "f64:nan:arithmetic".to_owned(),
    }
}

/// Describes `f32` bits as value and bit pattern (NaN payloads differ only in bits).
pub fn describe_f32_bits(bits: u32) -> String {
    format!("f32:{:?} (0x{bits:08x})", f32::from_bits(bits))
}

/// Describes `f64` bits as value and bit pattern.
pub fn describe_f64_bits(bits: u64) -> String {
    format!("f64:{:?} (0x{bits:016x})", f64::from_bits(bits))
}

/// Describes a `v128` pattern.
pub fn describe_v128(pattern: &V128Pattern) -> String {
    match pattern {
        V128Pattern::I8x16(lanes) => format!("v128:i8x16{lanes:?}"),
        V128Pattern::I16x8(lanes) => format!("v128:i16x8{lanes:?}"),
        V128Pattern::I32x4(lanes) => format!("v128:i32x4{lanes:?}"),
        V128Pattern::I64x2(lanes) => format!("v128:i64x2{lanes:?}"),
        V128Pattern::F32x4(lanes) => {
            let lanes: Vec<_> = lanes.iter().map(describe_f32).collect();
            format!("v128:f32x4[{}]", lanes.join(", "))
        }
        V128Pattern::F64x2(lanes) => {
            let lanes: Vec<_> = lanes.iter().map(describe_f64).collect();
            format!("v128:f64x2[{}]", lanes.join(", "))
        }
    }
}

/// Whether an error message satisfies the message a script expects. The
/// suite's wording is matched exactly or by prefix either way, because scripts
/// append details (`"uninitialized element 2"`) and engines may too.
pub fn message_matches(actual: &str, expected: &str) -> bool {
    !actual.is_empty() && (actual.starts_with(expected) || expected.starts_with(actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_value(bits: u32) -> NanPattern<F32> {
        NanPattern::Value(F32 { bits })
    }

    #[test]
    fn f32_values_compare_bits_exactly() {
        assert!(f32_matches(&f32_value(1.5f32.to_bits()), 1.5f32.to_bits()));
        assert!(!f32_matches(
            &f32_value(0.0f32.to_bits()),
            (-0.0f32).to_bits()
        ));
        assert!(!f32_matches(&f32_value(0x7fc0_0001), 0x7fc0_0000));
    }

    #[test]
    fn f32_nan_patterns() {
        let canonical = NanPattern::CanonicalNan;
        let arithmetic = NanPattern::ArithmeticNan;
        assert!(f32_matches(&canonical, 0x7fc0_0000));
        assert!(f32_matches(&canonical, 0xffc0_0000));
        assert!(!f32_matches(&canonical, 0x7fc0_0001));
        assert!(f32_matches(&arithmetic, 0x7fc0_0001));
        assert!(f32_matches(&arithmetic, 0xffc0_0000));
        assert!(!f32_matches(&arithmetic, 0x7f80_0001), "signalling NaN");
        assert!(!f32_matches(&arithmetic, F32_INFINITY));
        assert!(!f32_matches(&arithmetic, 1.0f32.to_bits()));
    }

    #[test]
    fn f64_nan_patterns() {
        let canonical = NanPattern::CanonicalNan;
        let arithmetic = NanPattern::ArithmeticNan;
        assert!(f64_matches(&canonical, 0x7ff8_0000_0000_0000));
        assert!(f64_matches(&canonical, 0xfff8_0000_0000_0000));
        assert!(!f64_matches(&canonical, 0x7ff8_0000_0000_0001));
        assert!(f64_matches(&arithmetic, 0x7ff8_0000_0000_0001));
        assert!(!f64_matches(&arithmetic, 0x7ff0_0000_0000_0001));
        assert!(!f64_matches(&arithmetic, F64_INFINITY));
        assert!(f64_matches(&NanPattern::Value(F64 { bits: 7 }), 7));
    }

    #[test]
    fn v128_lanes_are_little_endian() {
        let bits =
            u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(v128_matches(&V128Pattern::I32x4([1, 2, 3, -1]), bits));
        assert!(!v128_matches(&V128Pattern::I32x4([1, 2, 3, 4]), bits));
        assert!(v128_matches(
            &V128Pattern::I64x2([0x2_0000_0001, -0xffff_fffd]),
            bits
        ));
        let nan_lanes = u128::from(0x7fc0_0000u32) | (u128::from(1.0f32.to_bits()) << 32);
        let pattern = V128Pattern::F32x4([
            NanPattern::CanonicalNan,
            f32_value(1.0f32.to_bits()),
            f32_value(0),
            f32_value(0),
        ]);
        assert!(v128_matches(&pattern, nan_lanes));
        assert_eq!(
            describe_v128(&pattern),
            "v128:f32x4[f32:nan:canonical, f32:1.0 (0x3f800000), f32:0.0 (0x00000000), f32:0.0 (0x00000000)]"
        );
    }

    #[test]
    fn messages_match_exactly_or_by_prefix() {
        assert!(message_matches("integer overflow", "integer overflow"));
        assert!(message_matches(
            "uninitialized element",
            "uninitialized element 2"
        ));
        assert!(message_matches(
            "unknown import: `m::f` has not been defined",
            "unknown import"
        ));
        assert!(!message_matches(
            "undefined element",
            "uninitialized element"
        ));
        assert!(!message_matches("", "unreachable"));
    }
}
