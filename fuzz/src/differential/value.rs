//! What every runtime's behaviour is reduced to before comparison.

use std::fmt;

/// A Wasm value as compared across runtimes: references by null-ness only
/// (functions from different runtimes cannot be compared otherwise).
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`'s bits.
    F32(u32),
    /// An `f64`'s bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A reference; `true` when null.
    Ref { null: bool },
}

fn f32_canonical(bits: u32) -> u32 {
    if f32::from_bits(bits).is_nan() {
        0x7fc0_0000
    } else {
        bits
    }
}

fn f64_canonical(bits: u64) -> u64 {
    if f64::from_bits(bits).is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        bits
    }
}

fn v128_f32x4_canonical(bits: u128) -> u128 {
    (0..4).fold(0, |acc, lane| {
        let value = f32_canonical((bits >> (32 * lane)) as u32);
        acc | u128::from(value) << (32 * lane)
    })
}

fn v128_f64x2_canonical(bits: u128) -> u128 {
    (0..2).fold(0, |acc, lane| {
        let value = f64_canonical((bits >> (64 * lane)) as u64);
        acc | u128::from(value) << (64 * lane)
    })
}

/// Equal, with every NaN equal to every other NaN: a `v128` matches when
/// its lanes do as four `f32`s or as two `f64`s.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (*self, *other) {
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => f32_canonical(a) == f32_canonical(b),
            (Value::F64(a), Value::F64(b)) => f64_canonical(a) == f64_canonical(b),
            (Value::V128(a), Value::V128(b)) => {
                a == b
                    || v128_f32x4_canonical(a) == v128_f32x4_canonical(b)
                    || v128_f64x2_canonical(a) == v128_f64x2_canonical(b)
            }
            (Value::Ref { null: a }, Value::Ref { null: b }) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(v) => write!(f, "f32:{:#010x}({})", v, f32::from_bits(v)),
            Value::F64(v) => write!(f, "f64:{:#018x}({})", v, f64::from_bits(v)),
            Value::V128(v) => write!(f, "v128:{v:#034x}"),
            Value::Ref { null: true } => f.write_str("ref:null"),
            Value::Ref { null: false } => f.write_str("ref:non-null"),
        }
    }
}

/// Why a call or an instantiation trapped, in the classes all three
/// runtimes can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapClass {
    /// The `unreachable` instruction (also wasm-smith's loop bound).
    Unreachable,
    /// A memory access out of bounds.
    MemoryOutOfBounds,
    /// A table access, or a `call_indirect` index, out of bounds.
    TableOutOfBounds,
    /// `call_indirect` of a null element.
    IndirectCallToNull,
    /// `call_indirect` of a function of another type.
    BadSignature,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// Division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// `ref.as_non_null`, `call_ref` or `br_on_non_null`'s null checks.
    NullReference,
    /// `ref.cast` of a value of another type.
    CastFailure,
    /// The store's fuel ran out (Remap and Wasmtime only).
    OutOfFuel,
    /// The stack limit was reached: runtimes differ in depth, so a case
    /// stops being compared here.
    StackOverflow,
    /// A GC allocation did not fit the store's GC heap: runtimes differ in
    /// heap limits and object sizes, so a case stops being compared here.
    GcHeapExhausted,
    /// Anything else, by name.
    Other,
}

/// The outcome of one step of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Returned these results.
    Returned(Vec<Value>),
    /// Trapped.
    Trapped(TrapClass),
    /// A host-side memory grow: the old size in pages, or refused.
    Grew(Option<u64>),
    /// A host-side write or global set: whether it was accepted.
    Done(bool),
    /// A Wasm exception reached the host uncaught.
    Uncaught,
    /// An error that is not a trap (the message is in the report only).
    Failed,
}

/// The exported state after a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Per exported memory (in export order): its size in bytes and a hash
    /// of its contents.
    pub memories: Vec<(u64, u64)>,
    /// Per exported global, its value.
    pub globals: Vec<Value>,
    /// Per exported table: its size and which elements are null.
    pub tables: Vec<(u64, Vec<bool>)>,
}

/// What a runtime did in one step, and the state it left.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The step's outcome.
    pub outcome: Outcome,
    /// The state after it (`None` after an instantiation that failed).
    pub snapshot: Option<Snapshot>,
}

/// FNV-1a over the memory in 8-byte words: fast, and any difference in the
/// contents almost surely changes it.
pub fn hash_bytes(data: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ data.len() as u64;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        hash = (hash ^ word).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &byte in chunks.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nans_compare_equal_and_numbers_do_not() {
        assert_eq!(Value::F32(0x7fc0_0001), Value::F32(0xffc0_0000));
        assert_ne!(Value::F32(0), Value::F32(0x8000_0000));
        assert_eq!(
            Value::V128(0x7fc0_0000_0000_0000_7fc0_0001_0000_0001),
            Value::V128(0xffc0_0000_0000_0000_7fc0_0000_0000_0001)
        );
        assert_ne!(Value::V128(1), Value::V128(2));
        assert_ne!(Value::I32(1), Value::I64(1));
    }

    #[test]
    fn the_hash_sees_every_byte() {
        let mut data = vec![0u8; 1000];
        let before = hash_bytes(&data);
        data[999] = 1;
        assert_ne!(before, hash_bytes(&data));
        assert_ne!(hash_bytes(&[]), hash_bytes(&[0]));
    }
}
