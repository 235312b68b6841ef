//! Builtins: runtime functions that compiled code calls through the vmctx's
//! builtin array (ABI.md "Builtins").
//!
//! [`foreach_builtin!`](crate::foreach_builtin) is the one place where the
//! builtins are declared: their order (= index in the array), names and
//! signatures. The [`Builtin`] enum and its Cranelift signatures are generated
//! from it here, and the runtime generates its builtin array from it, so the
//! two cannot disagree on order, count or signature.

use cranelift_codegen::ir::{AbiParam, Signature, Type, types};
use cranelift_codegen::isa::CallConv;

/// Invokes `$mac!` with the list of every builtin, in array order.
///
/// Each entry reads
/// `Variant = name(vmctx, param: type, ...) -> result;` (the result is
/// optional), where `Variant` is the [`Builtin`] variant, `name` the runtime
/// function, and every type a `u32` or `u64` passed by value (memory and
/// table indices, lengths and sizes are `u64` for both index types: 32-bit
/// callers zero-extend); `vmctx` is the
/// calling instance's vmctx pointer (`*mut u8` in the runtime). Doc comments
/// on an entry become the variant's docs.
///
/// Changing a signature here changes the compiler's call and, through the
/// runtime's type-checked builtin array, requires the runtime function to
/// change with it.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: the old size in pages, or `u64::MAX` when refused.
            MemoryGrow = memory_grow(vmctx, memory: u32, delta_pages: u64) -> u64;
            /// `memory.fill`; traps when out of bounds.
            MemoryFill = memory_fill(vmctx, memory: u32, dst: u64, byte: u32, len: u64);
            /// `memory.copy`; traps when out of bounds.
            MemoryCopy = memory_copy(vmctx, dst_memory: u32, dst: u64, src_memory: u32, src: u64, len: u64);
            /// `memory.init`; traps when out of bounds.
            MemoryInit = memory_init(vmctx, memory: u32, data: u32, dst: u64, src: u32, len: u32);
            /// `data.drop`.
            DataDrop = data_drop(vmctx, data: u32);
            /// `table.grow`: the old size, or `u64::MAX` when refused.
            TableGrow = table_grow(vmctx, table: u32, delta: u64, init: u64) -> u64;
            /// `table.fill`; traps when out of bounds.
            TableFill = table_fill(vmctx, table: u32, dst: u64, value: u64, len: u64);
            /// `table.copy`; traps when out of bounds.
            TableCopy = table_copy(vmctx, dst_table: u32, src_table: u32, dst: u64, src: u64, len: u64);
            /// `table.init`; traps when out of bounds.
            TableInit = table_init(vmctx, table: u32, element: u32, dst: u64, src: u32, len: u32);
            /// `elem.drop`.
            ElemDrop = elem_drop(vmctx, element: u32);
            /// Whether engine type `actual` is a subtype of engine type
            /// `expected` (1) or not (0): the slow path of a signature check
            /// whose expected type is not final.
            IsSubtype = is_subtype(vmctx, actual: u32, expected: u32) -> u32;
            /// The epoch deadline passed: traps (interrupt) or runs the
            /// store's callback, which may move the deadline on or fail.
            NewEpoch = new_epoch(vmctx);
            /// Fused `a * b + c` of each f32 lane, for deterministic
            /// `f32x4.relaxed_madd` on a CPU without FMA: `lanes` is the
            /// address of `a`, `b` and `c` (16 bytes each, in that order);
            /// the result replaces `a`.
            FmaF32x4 = fma_f32x4(vmctx, lanes: u64);
            /// Fused `a * b + c` of each f64 lane, as [`Builtin::FmaF32x4`].
            FmaF64x2 = fma_f64x2(vmctx, lanes: u64);
            /// `throw`: makes an exception of module tag `tag` whose payload
            /// is the `ValRaw` slots at address `payload`, and unwinds to
            /// its handler. Never returns; compiled code calls it with
            /// `try_call` so that handlers of the throwing frame apply.
            Throw = throw(vmctx, tag: u32, payload: u64);
            /// `throw_ref`: unwinds the non-null exception `exception` to its
            /// handler, as [`Builtin::Throw`].
            ThrowRef = throw_ref(vmctx, exception: u64);
            /// `memory.atomic.notify`: wakes up to `count` waiters on the
            /// aligned Wasm address `address` (index plus offset) of memory
            /// `memory` and returns how many woke (always 0 for a memory
            /// that is not shared); traps when out of bounds.
            MemoryAtomicNotify = memory_atomic_notify(vmctx, memory: u32, address: u64, count: u32) -> u32;
            /// `memory.atomic.wait32`: 0 when woken, 1 when the i32 at
            /// `address` is not `expected`, 2 when `timeout` nanoseconds
            /// passed (negative as i64: no timeout); traps when out of
            /// bounds or when the memory is not shared.
            MemoryAtomicWait32 = memory_atomic_wait32(vmctx, memory: u32, address: u64, expected: u32, timeout: u64) -> u32;
            /// `memory.atomic.wait64`: as [`Builtin::MemoryAtomicWait32`]
            /// for the i64 at `address`.
            MemoryAtomicWait64 = memory_atomic_wait64(vmctx, memory: u32, address: u64, expected: u64, timeout: u64) -> u32;
            /// Allocates a zeroed GC object of module type `type_index` (a
            /// struct, or an array of `len` elements) and returns its
            /// reference; traps when the heap limit cannot hold it.
            GcAlloc = gc_alloc(vmctx, type_index: u32, len: u32) -> u64;
            /// `array.fill` of `len` elements from `index` with the value
            /// whose bits are `value_lo` and `value_hi` (the upper half of a
            /// v128); traps on null or out of bounds.
            ArrayFill = array_fill(vmctx, array: u64, index: u32, value_lo: u64, value_hi: u64, len: u32);
            /// `array.copy`; traps on null or out of bounds.
            ArrayCopy = array_copy(vmctx, dst: u64, dst_index: u32, src: u64, src_index: u32, len: u32);
            /// `array.new_data`: a new array of module type `type_index`
            /// from `len` elements of data segment `data` at byte `offset`.
            ArrayNewData = array_new_data(vmctx, type_index: u32, data: u32, offset: u32, len: u32) -> u64;
            /// `array.new_elem`: a new array of module type `type_index`
            /// from `len` references of element segment `element` from `offset`.
            ArrayNewElem = array_new_elem(vmctx, type_index: u32, element: u32, offset: u32, len: u32) -> u64;
            /// `array.init_data`; traps on null or out of bounds.
            ArrayInitData = array_init_data(vmctx, array: u64, index: u32, data: u32, offset: u32, len: u32);
            /// `array.init_elem`; traps on null or out of bounds.
            ArrayInitElem = array_init_elem(vmctx, array: u64, index: u32, element: u32, offset: u32, len: u32);
        }
    };
}

/// The Cranelift type a builtin parameter or result of this Rust type has.
trait BuiltinAbiType {
    const CLIF: Type;
}

impl BuiltinAbiType for u32 {
    const CLIF: Type = types::I32;
}

impl BuiltinAbiType for u64 {
    const CLIF: Type = types::I64;
}

/// Generates [`Builtin`] from the [`foreach_builtin!`] list.
macro_rules! declare_builtin_enum {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:ident(vmctx $(, $param:ident: $param_ty:ident)*) $(-> $result:ident)?;
    )*) => {
        /// A runtime function callable from compiled code. The discriminant
        /// is the function's index in the builtin array.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $( $(#[$doc])* $variant, )*
        }

        impl Builtin {
            /// Number of builtins, i.e. the length of the builtin array.
            pub const COUNT: usize = [$(stringify!($name)),*].len();

            /// Every builtin in array order.
            pub const ALL: [Builtin; Self::COUNT] = [$(Builtin::$variant),*];

            /// Name for diagnostics (the runtime function's name).
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => stringify!($name),)*
                }
            }

            /// Parameter types after the leading vmctx pointer.
            pub fn params(self) -> &'static [Type] {
                match self {
                    $(Builtin::$variant => {
                        const PARAMS: &[Type] = &[$(<$param_ty as BuiltinAbiType>::CLIF),*];
                        PARAMS
                    })*
                }
            }

            /// Result types.
            pub fn results(self) -> &'static [Type] {
                match self {
                    $(Builtin::$variant => {
                        const RESULTS: &[Type] = &[$(<$result as BuiltinAbiType>::CLIF)?];
                        RESULTS
                    })*
                }
            }
        }
    };
}

foreach_builtin!(declare_builtin_enum);

impl Builtin {
    /// Index in the builtin array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the builtin never returns but unwinds to an exception
    /// handler (or to the host).
    pub fn throws(self) -> bool {
        matches!(self, Builtin::Throw | Builtin::ThrowRef)
    }

    /// The Cranelift signature (System V, vmctx first). A throwing builtin
    /// is declared `preserve_all`, which passes arguments as System V does
    /// but, at a `try_call`, treats every register as clobbered: the
    /// unwinder restores no register when it resumes at a handler.
    pub fn signature(self) -> Signature {
        let call_conv = if self.throws() {
            CallConv::PreserveAll
        } else {
            CallConv::SystemV
        };
        let mut signature = Signature::new(call_conv);
        signature.params.push(AbiParam::new(types::I64));
        signature
            .params
            .extend(self.params().iter().map(|&ty| AbiParam::new(ty)));
        signature
            .returns
            .extend(self.results().iter().map(|&ty| AbiParam::new(ty)));
        signature
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_order_matches_discriminants() {
        for (index, builtin) in Builtin::ALL.iter().enumerate() {
            assert_eq!(builtin.index(), index);
        }
    }

    #[test]
    fn signatures_take_vmctx_first() {
        for builtin in Builtin::ALL {
            let signature = builtin.signature();
            assert_eq!(signature.params[0].value_type, types::I64);
            assert_eq!(signature.params.len(), builtin.params().len() + 1);
            let expected = if builtin.throws() {
                CallConv::PreserveAll
            } else {
                CallConv::SystemV
            };
            assert_eq!(signature.call_conv, expected);
        }
        assert_eq!(Builtin::MemoryGrow.signature().returns.len(), 1);
        assert!(Builtin::DataDrop.signature().returns.is_empty());
    }

    #[test]
    fn declared_signatures_become_cranelift_types() {
        use types::{I32, I64};
        assert_eq!(Builtin::MemoryGrow.params(), [I32, I64]);
        assert_eq!(Builtin::MemoryGrow.results(), [I64]);
        assert_eq!(Builtin::TableGrow.params(), [I32, I64, I64]);
        assert_eq!(Builtin::TableGrow.results(), [I64]);
        assert_eq!(Builtin::MemoryInit.params(), [I32, I32, I64, I32, I32]);
        assert!(Builtin::ElemDrop.results().is_empty());
        assert_eq!(Builtin::MemoryCopy.name(), "memory_copy");
        assert_eq!(Builtin::IsSubtype.params(), [I32, I32]);
        assert_eq!(Builtin::IsSubtype.results(), [I32]);
        assert_eq!(Builtin::FmaF64x2.params(), [I64]);
        assert_eq!(Builtin::Throw.params(), [I32, I64]);
        assert_eq!(Builtin::MemoryAtomicWait64.params(), [I32, I64, I64, I64]);
        assert_eq!(Builtin::COUNT, 26);
        assert_eq!(Builtin::GcAlloc.params(), [I32, I32]);
        assert_eq!(Builtin::GcAlloc.results(), [I64]);
    }
}
