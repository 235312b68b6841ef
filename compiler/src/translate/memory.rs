//! Linear-memory operators: loads, stores and the bulk memory operators.
//!
//! Addresses have their memory's index type (i32, or i64 for memory64);
//! every access goes through `bounds_checks::memory_address`. Bulk operators
//! and `memory.grow` call builtins that take u64 addresses, lengths and
//! deltas, so 32-bit operands are zero-extended and a u64 result is narrowed
//! back to the memory's index type; `memory.size` is the bound in bytes
//! shifted by log2 of the page size.

use super::Translator;
use crate::bounds_checks;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::types::IndexType;
use cranelift_codegen::ir::{InstBuilder, InstructionData, Opcode, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, MemArgTarget, Operator};

impl Translator<'_> {
    /// Translates `op` if it is a (scalar) memory operator; `false` when it is not.
    pub(super) fn translate_memory(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::I32Load { memarg } => self.load(builder, &memarg, types::I32, 4, Extend::None),
            O::I64Load { memarg } => self.load(builder, &memarg, types::I64, 8, Extend::None),
            O::F32Load { memarg } => self.load(builder, &memarg, types::F32, 4, Extend::None),
            O::F64Load { memarg } => self.load(builder, &memarg, types::F64, 8, Extend::None),
            O::I32Load8S { memarg } => self.load(builder, &memarg, types::I32, 1, Extend::Signed),
            O::I32Load8U { memarg } => self.load(builder, &memarg, types::I32, 1, Extend::Unsigned),
            O::I32Load16S { memarg } => self.load(builder, &memarg, types::I32, 2, Extend::Signed),
            O::I32Load16U { memarg } => {
                self.load(builder, &memarg, types::I32, 2, Extend::Unsigned)
            }
            O::I64Load8S { memarg } => self.load(builder, &memarg, types::I64, 1, Extend::Signed),
            O::I64Load8U { memarg } => self.load(builder, &memarg, types::I64, 1, Extend::Unsigned),
            O::I64Load16S { memarg } => self.load(builder, &memarg, types::I64, 2, Extend::Signed),
            O::I64Load16U { memarg } => {
                self.load(builder, &memarg, types::I64, 2, Extend::Unsigned)
            }
            O::I64Load32S { memarg } => self.load(builder, &memarg, types::I64, 4, Extend::Signed),
            O::I64Load32U { memarg } => {
                self.load(builder, &memarg, types::I64, 4, Extend::Unsigned)
            }
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => {
                let size = builder
                    .func
                    .dfg
                    .value_type(*self.stack.last().expect("value"))
                    .bytes();
                self.store(builder, &memarg, size)
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(builder, &memarg, 1),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(builder, &memarg, 2),
            O::I64Store32 { memarg } => self.store(builder, &memarg, 4),
            O::MemorySize { mem } => {
                let heap = self.env.heap(mem);
                let bound = self.env.memory_bound(builder, heap);
                let pages = builder
                    .ins()
                    .ushr_imm_u(bound, i64::from(heap.page_size_log2));
                let pages = narrow_to(builder, pages, heap.index_type);
                self.push(pages);
            }
            O::MemoryGrow { mem } => {
                let index_type = self.env.heap(mem).index_type;
                let delta = self.pop();
                let delta = widen_to_u64(builder, delta);
                let mem = builder.ins().iconst(types::I32, i64::from(mem));
                let old = self
                    .env
                    .call_builtin(builder, Builtin::MemoryGrow, &[mem, delta])[0];
                // A refused grow returns `u64::MAX`, whose low half is the
                // 32-bit -1.
                let old = narrow_to(builder, old, index_type);
                self.push(old);
            }
            O::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                self.bulk_operation_checkpoint(builder, len);
                let dst = widen_to_u64(builder, dst);
                let mem = builder.ins().iconst(types::I32, i64::from(mem));
                let data = builder.ins().iconst(types::I32, i64::from(data_index));
                self.env
                    .call_builtin(builder, Builtin::MemoryInit, &[mem, data, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let data = builder.ins().iconst(types::I32, i64::from(data_index));
                self.env.call_builtin(builder, Builtin::DataDrop, &[data]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                // Each address has its memory's index type; the length is an
                // i64 only when both memories are 64-bit.
                let (dst, src, len) = self.pop3();
                self.bulk_operation_checkpoint(builder, len);
                let dst = widen_to_u64(builder, dst);
                let src = widen_to_u64(builder, src);
                let len = widen_to_u64(builder, len);
                let dst_mem = builder.ins().iconst(types::I32, i64::from(dst_mem));
                let src_mem = builder.ins().iconst(types::I32, i64::from(src_mem));
                self.env.call_builtin(
                    builder,
                    Builtin::MemoryCopy,
                    &[dst_mem, dst, src_mem, src, len],
                );
            }
            O::MemoryFill { mem } => {
                let (dst, byte, len) = self.pop3();
                self.bulk_operation_checkpoint(builder, len);
                let dst = widen_to_u64(builder, dst);
                let len = widen_to_u64(builder, len);
                let mem = builder.ins().iconst(types::I32, i64::from(mem));
                self.env
                    .call_builtin(builder, Builtin::MemoryFill, &[mem, dst, byte, len]);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The checked native address of a `size`-byte access at `index` +
    /// `memarg.offset`.
    pub(super) fn memory_address(
        &self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        size: u32,
        index: Value,
    ) -> Value {
        let heap = self.env.heap(memory_index(memarg));
        bounds_checks::memory_address(&self.env, builder, heap, index, memarg.offset, size)
    }

    /// Pops an index and pushes the `size`-byte value loaded there as `ty`.
    pub(super) fn load(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        size: u32,
        extend: Extend,
    ) {
        let index = self.pop();
        let address = self.memory_address(builder, memarg, size, index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let value = match (size, extend) {
            (_, Extend::None) => builder.ins().load(ty, flags, address, 0),
            (1, Extend::Signed) => builder.ins().sload8(ty, flags, address, 0),
            (1, Extend::Unsigned) => builder.ins().uload8(ty, flags, address, 0),
            (2, Extend::Signed) => builder.ins().sload16(ty, flags, address, 0),
            (2, Extend::Unsigned) => builder.ins().uload16(ty, flags, address, 0),
            (4, Extend::Signed) => builder.ins().sload32(flags, address, 0),
            (_, Extend::Unsigned) => builder.ins().uload32(flags, address, 0),
            (_, Extend::Signed) => unreachable!("no other extending loads"),
        };
        self.push(value);
    }

    /// Pops a value and an index and stores the value's low `size` bytes there.
    pub(super) fn store(&mut self, builder: &mut FunctionBuilder<'_>, memarg: &MemArg, size: u32) {
        let (index, value) = self.pop2();
        let address = self.memory_address(builder, memarg, size, index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let value_size = builder.func.dfg.value_type(value).bytes();
        if size == value_size {
            builder.ins().store(flags, value, address, 0);
        } else if let Some(constant) = constant_value(builder, value) {
            // A narrow constant stored with a plain `store` becomes an
            // immediate store on x64 (`istore8` of a constant would first
            // materialize it in a register, inside whatever loop this is).
            let (narrow_type, mask) = match size {
                1 => (types::I8, 0xff),
                2 => (types::I16, 0xffff),
                _ => (types::I32, 0xffff_ffff),
            };
            let narrow = builder.ins().iconst(narrow_type, constant & mask);
            builder.ins().store(flags, narrow, address, 0);
        } else {
            match size {
                1 => builder.ins().istore8(flags, value, address, 0),
                2 => builder.ins().istore16(flags, value, address, 0),
                _ => builder.ins().istore32(flags, value, address, 0),
            };
        }
    }
}

/// The immediate of `value` when an `iconst` defines it.
fn constant_value(builder: &FunctionBuilder<'_>, value: Value) -> Option<i64> {
    let inst = builder.func.dfg.value_def(value).inst()?;
    match builder.func.dfg.insts[inst] {
        InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } => Some(imm.bits()),
        _ => None,
    }
}

/// `value` (an index, length or delta of either index type) as the u64 the
/// builtins take: an i32 is zero-extended.
pub(super) fn widen_to_u64(builder: &mut FunctionBuilder<'_>, value: Value) -> Value {
    if builder.func.dfg.value_type(value) == types::I32 {
        builder.ins().uextend(types::I64, value)
    } else {
        value
    }
}

/// A u64 builtin result as a value of `index_type`.
pub(super) fn narrow_to(
    builder: &mut FunctionBuilder<'_>,
    value: Value,
    index_type: IndexType,
) -> Value {
    match index_type {
        IndexType::I32 => builder.ins().ireduce(types::I32, value),
        IndexType::I64 => value,
    }
}

/// The memory a load or store accesses. GC array accesses never get here:
/// the GC feature is disabled, so validation rejects them.
pub(super) fn memory_index(memarg: &MemArg) -> u32 {
    match memarg.target {
        MemArgTarget::Memory(index) => index,
        MemArgTarget::Array(_) => 0,
    }
}

/// How a narrow load widens its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Extend {
    /// The access is as wide as the value.
    None,
    /// Sign-extends.
    Signed,
    /// Zero-extends.
    Unsigned,
}
