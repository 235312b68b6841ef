//! Trap kinds, their spec-suite messages, and their Cranelift trap codes.

use cranelift_codegen::ir::TrapCode;
use serde::{Deserialize, Serialize};

/// Why Wasm code trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TrapKind {
    /// The Wasm stack limit was reached (deep or infinite recursion).
    StackOverflow = 1,
    /// A memory access (or bulk memory operation) was out of bounds.
    MemoryOutOfBounds = 2,
    /// A table access (or bulk table operation) was out of bounds.
    TableOutOfBounds = 3,
    /// `call_indirect` with an index past the end of the table.
    IndirectCallOutOfBounds = 4,
    /// `call_indirect` reached a null table element.
    IndirectCallToNull = 5,
    /// `call_indirect` found a function of another type.
    BadSignature = 6,
    /// Signed division overflow or a float-to-int conversion out of range.
    IntegerOverflow = 7,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 8,
    /// Float-to-int conversion of NaN.
    BadConversionToInteger = 9,
    /// The `unreachable` instruction.
    UnreachableCodeReached = 10,
    /// `ref.as_non_null` of a null reference.
    NullReference = 11,
    /// `call_ref` or `return_call_ref` of a null function reference.
    CallToNull = 12,
    /// `ref.cast` of a value that does not have the target type.
    CastFailure = 13,
    /// Code compiled to consume fuel ran out of it.
    OutOfFuel = 14,
    /// The store's epoch deadline passed and the store chose to interrupt.
    Interrupt = 15,
    /// An atomic access at an address that is not a multiple of its size.
    UnalignedAtomic = 16,
    /// `memory.atomic.wait32`/`wait64` on a memory that is not shared.
    WaitOnUnsharedMemory = 17,
    /// `struct.get`/`struct.set` of a null reference.
    NullStructReference = 18,
    /// An array access through a null reference.
    NullArrayReference = 19,
    /// `i31.get_s`/`i31.get_u` of a null reference.
    NullI31Reference = 20,
    /// An array index or range outside the array.
    ArrayOutOfBounds = 21,
    /// An allocation the GC heap's limit cannot hold.
    GcHeapExhausted = 22,
    /// A null descriptor given to `struct.new_desc`, `ref.cast_desc_eq` or
    /// `br_on_cast_desc_eq(_fail)`.
    NullDescriptorReference = 23,
    /// `ref.cast_desc_eq` of a value without the given descriptor.
    DescriptorCastFailure = 24,
}

impl TrapKind {
    /// Every kind, in discriminant order.
    pub const ALL: [TrapKind; 24] = [
        TrapKind::StackOverflow,
        TrapKind::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds,
        TrapKind::IndirectCallOutOfBounds,
        TrapKind::IndirectCallToNull,
        TrapKind::BadSignature,
        TrapKind::IntegerOverflow,
        TrapKind::IntegerDivisionByZero,
        TrapKind::BadConversionToInteger,
        TrapKind::UnreachableCodeReached,
        TrapKind::NullReference,
        TrapKind::CallToNull,
        TrapKind::CastFailure,
        TrapKind::OutOfFuel,
        TrapKind::Interrupt,
        TrapKind::UnalignedAtomic,
        TrapKind::WaitOnUnsharedMemory,
        TrapKind::NullStructReference,
        TrapKind::NullArrayReference,
        TrapKind::NullI31Reference,
        TrapKind::ArrayOutOfBounds,
        TrapKind::GcHeapExhausted,
        TrapKind::NullDescriptorReference,
        TrapKind::DescriptorCastFailure,
    ];

    /// The message the spec test suite expects for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::IndirectCallOutOfBounds => "undefined element",
            TrapKind::IndirectCallToNull => "uninitialized element",
            TrapKind::BadSignature => "indirect call type mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::UnreachableCodeReached => "unreachable",
            TrapKind::NullReference => "null reference",
            TrapKind::CallToNull => "null function reference",
            TrapKind::CastFailure => "cast failure",
            TrapKind::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapKind::Interrupt => "interrupt",
            TrapKind::UnalignedAtomic => "unaligned atomic",
            TrapKind::WaitOnUnsharedMemory => "atomic wait on non-shared memory",
            TrapKind::NullStructReference => "null structure reference",
            TrapKind::NullArrayReference => "null array reference",
            TrapKind::NullI31Reference => "null i31 reference",
            TrapKind::ArrayOutOfBounds => "out of bounds array access",
            TrapKind::GcHeapExhausted => "GC heap exhausted: allocation exceeds the heap limit",
            TrapKind::NullDescriptorReference => "null descriptor reference",
            TrapKind::DescriptorCastFailure => "descriptor cast failure",
        }
    }

    /// The Cranelift trap code compiled code uses for this kind. Kinds that
    /// Cranelift itself raises use its reserved codes; the rest are user codes
    /// equal to the discriminant.
    pub fn trap_code(self) -> TrapCode {
        match self {
            TrapKind::StackOverflow => TrapCode::STACK_OVERFLOW,
            TrapKind::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
            TrapKind::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
            TrapKind::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
            TrapKind::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
            other => TrapCode::unwrap_user(other as u8),
        }
    }

    /// The kind a Cranelift trap code stands for, if it is one of ours.
    pub fn from_trap_code(code: TrapCode) -> Option<TrapKind> {
        TrapKind::ALL
            .into_iter()
            .find(|kind| kind.trap_code() == code)
    }
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip_and_are_distinct() {
        for kind in TrapKind::ALL {
            assert_eq!(TrapKind::from_trap_code(kind.trap_code()), Some(kind));
        }
        let mut codes: Vec<u8> = TrapKind::ALL
            .iter()
            .map(|kind| kind.trap_code().as_raw().get())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TrapKind::ALL.len());
    }

    #[test]
    fn cranelift_reserved_codes_map_to_kinds() {
        for code in TrapCode::non_user_traps() {
            assert!(TrapKind::from_trap_code(*code).is_some(), "{code}");
        }
        assert_eq!(TrapKind::from_trap_code(TrapCode::unwrap_user(200)), None);
    }

    #[test]
    fn messages_match_the_spec_suite() {
        assert_eq!(
            TrapKind::IndirectCallToNull.to_string(),
            "uninitialized element"
        );
        assert_eq!(
            TrapKind::BadSignature.message(),
            "indirect call type mismatch"
        );
        assert_eq!(TrapKind::StackOverflow.message(), "call stack exhausted");
    }
}
