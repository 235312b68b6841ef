//! Builtins: runtime functions that compiled code calls through the vmctx's
//! builtin array (ABI.md "Builtins").

use cranelift_codegen::ir::{AbiParam, Signature, Type, types};
use cranelift_codegen::isa::CallConv;

/// A runtime function callable from compiled code. The discriminant is the
/// function's index in the builtin array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Builtin {
    /// `(vmctx, mem: u32, delta_pages: u64) -> u64` old size in pages or `u64::MAX`.
    MemoryGrow = 0,
    /// `(vmctx, mem: u32, dst: u64, byte: u32, len: u64)`.
    MemoryFill = 1,
    /// `(vmctx, dst_mem: u32, dst: u64, src_mem: u32, src: u64, len: u64)`.
    MemoryCopy = 2,
    /// `(vmctx, mem: u32, data: u32, dst: u64, src: u32, len: u32)`.
    MemoryInit = 3,
    /// `(vmctx, data: u32)`.
    DataDrop = 4,
    /// `(vmctx, table: u32, delta: u32, init: u64) -> u32` old size or `u32::MAX`.
    TableGrow = 5,
    /// `(vmctx, table: u32, dst: u32, value: u64, len: u32)`.
    TableFill = 6,
    /// `(vmctx, dst_table: u32, src_table: u32, dst: u32, src: u32, len: u32)`.
    TableCopy = 7,
    /// `(vmctx, table: u32, elem: u32, dst: u32, src: u32, len: u32)`.
    TableInit = 8,
    /// `(vmctx, elem: u32)`.
    ElemDrop = 9,
}

impl Builtin {
    /// Number of builtins, i.e. the length of the builtin array.
    pub const COUNT: usize = 10;

    /// Every builtin in array order.
    pub const ALL: [Builtin; Self::COUNT] = [
        Builtin::MemoryGrow,
        Builtin::MemoryFill,
        Builtin::MemoryCopy,
        Builtin::MemoryInit,
        Builtin::DataDrop,
        Builtin::TableGrow,
        Builtin::TableFill,
        Builtin::TableCopy,
        Builtin::TableInit,
        Builtin::ElemDrop,
    ];

    /// Index in the builtin array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Name for diagnostics.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::MemoryGrow => "memory_grow",
            Builtin::MemoryFill => "memory_fill",
            Builtin::MemoryCopy => "memory_copy",
            Builtin::MemoryInit => "memory_init",
            Builtin::DataDrop => "data_drop",
            Builtin::TableGrow => "table_grow",
            Builtin::TableFill => "table_fill",
            Builtin::TableCopy => "table_copy",
            Builtin::TableInit => "table_init",
            Builtin::ElemDrop => "elem_drop",
        }
    }

    /// Parameter types after the leading vmctx pointer.
    pub fn params(self) -> &'static [Type] {
        use types::{I32, I64};
        match self {
            Builtin::MemoryGrow => &[I32, I64],
            Builtin::MemoryFill => &[I32, I64, I32, I64],
            Builtin::MemoryCopy => &[I32, I64, I32, I64, I64],
            Builtin::MemoryInit => &[I32, I32, I64, I32, I32],
            Builtin::DataDrop => &[I32],
            Builtin::TableGrow => &[I32, I32, I64],
            Builtin::TableFill => &[I32, I32, I64, I32],
            Builtin::TableCopy => &[I32, I32, I32, I32, I32],
            Builtin::TableInit => &[I32, I32, I32, I32, I32],
            Builtin::ElemDrop => &[I32],
        }
    }

    /// Result types.
    pub fn results(self) -> &'static [Type] {
        match self {
            Builtin::MemoryGrow => &[types::I64],
            Builtin::TableGrow => &[types::I32],
            _ => &[],
        }
    }

    /// The Cranelift signature (System V, vmctx first).
    pub fn signature(self) -> Signature {
        let mut signature = Signature::new(CallConv::SystemV);
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
            assert_eq!(signature.call_conv, CallConv::SystemV);
        }
        assert_eq!(Builtin::MemoryGrow.signature().returns.len(), 1);
        assert!(Builtin::DataDrop.signature().returns.is_empty());
    }
}
