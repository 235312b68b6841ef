//! The threads proposal's atomic operators: atomic loads and stores,
//! read-modify-write, compare-exchange, `atomic.fence`, and
//! `memory.atomic.wait32`/`wait64`/`memory.atomic.notify`.
//!
//! Every access first checks alignment: the effective address `index +
//! offset` must be a multiple of the access size, else the access traps with
//! "unaligned atomic" (before the bounds check, as Wasmtime does, so an
//! access that is both unaligned and out of bounds reports the former). The
//! sum is formed in 64 bits; for a 64-bit memory it may wrap, which keeps its
//! low bits, and the bounds check that follows catches the wrap. The access
//! then goes through `bounds_checks::memory_address` like a plain one, and is
//! a Cranelift `atomic_load`/`atomic_store`/`atomic_rmw`/`atomic_cas` of the
//! access width (sequentially consistent); narrow results are zero-extended.
//!
//! Atomics are valid on memories that are not shared too (they are then
//! merely ordered accesses). Wait and notify are builtins: compiled code
//! checks alignment and forms the effective address (an overflow of a 64-bit
//! memory's sum traps as out of bounds), the runtime checks the bound and
//! whether the memory is shared.

use super::Translator;
use super::memory::memory_index;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::trap::TrapKind;
use crate::types::IndexType;
use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, TrapCode, Type, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, Operator};

impl Translator<'_> {
    /// Translates `op` if it is an atomic operator; `false` when it is not.
    pub(super) fn translate_atomics(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        use types::{I8, I16, I32, I64};
        match *op {
            O::AtomicFence { .. } => {
                builder.ins().fence();
            }
            O::I32AtomicLoad { memarg } => self.atomic_load(builder, &memarg, I32, I32),
            O::I32AtomicLoad8U { memarg } => self.atomic_load(builder, &memarg, I32, I8),
            O::I32AtomicLoad16U { memarg } => self.atomic_load(builder, &memarg, I32, I16),
            O::I64AtomicLoad { memarg } => self.atomic_load(builder, &memarg, I64, I64),
            O::I64AtomicLoad8U { memarg } => self.atomic_load(builder, &memarg, I64, I8),
            O::I64AtomicLoad16U { memarg } => self.atomic_load(builder, &memarg, I64, I16),
            O::I64AtomicLoad32U { memarg } => self.atomic_load(builder, &memarg, I64, I32),
            O::I32AtomicStore { memarg } | O::I64AtomicStore { memarg } => {
                let width = builder
                    .func
                    .dfg
                    .value_type(*self.stack.last().expect("value"));
                self.atomic_store(builder, &memarg, width);
            }
            O::I32AtomicStore8 { memarg } | O::I64AtomicStore8 { memarg } => {
                self.atomic_store(builder, &memarg, I8)
            }
            O::I32AtomicStore16 { memarg } | O::I64AtomicStore16 { memarg } => {
                self.atomic_store(builder, &memarg, I16)
            }
            O::I64AtomicStore32 { memarg } => self.atomic_store(builder, &memarg, I32),
            O::MemoryAtomicNotify { memarg } => {
                let count = self.pop();
                let index = self.pop();
                let address = self.atomic_effective_address(builder, &memarg, 4, index);
                let mem = builder.ins().iconst(I32, i64::from(memory_index(&memarg)));
                let woken = self.env.call_builtin(
                    builder,
                    Builtin::MemoryAtomicNotify,
                    &[mem, address, count],
                );
                self.push(woken[0]);
            }
            O::MemoryAtomicWait32 { memarg } => self.atomic_wait(builder, &memarg, I32),
            O::MemoryAtomicWait64 { memarg } => self.atomic_wait(builder, &memarg, I64),
            _ => return self.translate_atomic_rmw(builder, op),
        }
        Ok(true)
    }

    /// Translates `op` if it is a read-modify-write or compare-exchange.
    fn translate_atomic_rmw(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use AtomicRmwOp::{Add, And, Or, Sub, Xchg, Xor};
        use Operator as O;
        use types::{I8, I16, I32, I64};
        let (memarg, rmw, ty, width) = match *op {
            O::I32AtomicRmwAdd { memarg } => (memarg, Some(Add), I32, I32),
            O::I64AtomicRmwAdd { memarg } => (memarg, Some(Add), I64, I64),
            O::I32AtomicRmw8AddU { memarg } => (memarg, Some(Add), I32, I8),
            O::I32AtomicRmw16AddU { memarg } => (memarg, Some(Add), I32, I16),
            O::I64AtomicRmw8AddU { memarg } => (memarg, Some(Add), I64, I8),
            O::I64AtomicRmw16AddU { memarg } => (memarg, Some(Add), I64, I16),
            O::I64AtomicRmw32AddU { memarg } => (memarg, Some(Add), I64, I32),
            O::I32AtomicRmwSub { memarg } => (memarg, Some(Sub), I32, I32),
            O::I64AtomicRmwSub { memarg } => (memarg, Some(Sub), I64, I64),
            O::I32AtomicRmw8SubU { memarg } => (memarg, Some(Sub), I32, I8),
            O::I32AtomicRmw16SubU { memarg } => (memarg, Some(Sub), I32, I16),
            O::I64AtomicRmw8SubU { memarg } => (memarg, Some(Sub), I64, I8),
            O::I64AtomicRmw16SubU { memarg } => (memarg, Some(Sub), I64, I16),
            O::I64AtomicRmw32SubU { memarg } => (memarg, Some(Sub), I64, I32),
            O::I32AtomicRmwAnd { memarg } => (memarg, Some(And), I32, I32),
            O::I64AtomicRmwAnd { memarg } => (memarg, Some(And), I64, I64),
            O::I32AtomicRmw8AndU { memarg } => (memarg, Some(And), I32, I8),
            O::I32AtomicRmw16AndU { memarg } => (memarg, Some(And), I32, I16),
            O::I64AtomicRmw8AndU { memarg } => (memarg, Some(And), I64, I8),
            O::I64AtomicRmw16AndU { memarg } => (memarg, Some(And), I64, I16),
            O::I64AtomicRmw32AndU { memarg } => (memarg, Some(And), I64, I32),
            O::I32AtomicRmwOr { memarg } => (memarg, Some(Or), I32, I32),
            O::I64AtomicRmwOr { memarg } => (memarg, Some(Or), I64, I64),
            O::I32AtomicRmw8OrU { memarg } => (memarg, Some(Or), I32, I8),
            O::I32AtomicRmw16OrU { memarg } => (memarg, Some(Or), I32, I16),
            O::I64AtomicRmw8OrU { memarg } => (memarg, Some(Or), I64, I8),
            O::I64AtomicRmw16OrU { memarg } => (memarg, Some(Or), I64, I16),
            O::I64AtomicRmw32OrU { memarg } => (memarg, Some(Or), I64, I32),
            O::I32AtomicRmwXor { memarg } => (memarg, Some(Xor), I32, I32),
            O::I64AtomicRmwXor { memarg } => (memarg, Some(Xor), I64, I64),
            O::I32AtomicRmw8XorU { memarg } => (memarg, Some(Xor), I32, I8),
            O::I32AtomicRmw16XorU { memarg } => (memarg, Some(Xor), I32, I16),
            O::I64AtomicRmw8XorU { memarg } => (memarg, Some(Xor), I64, I8),
            O::I64AtomicRmw16XorU { memarg } => (memarg, Some(Xor), I64, I16),
            O::I64AtomicRmw32XorU { memarg } => (memarg, Some(Xor), I64, I32),
            O::I32AtomicRmwXchg { memarg } => (memarg, Some(Xchg), I32, I32),
            O::I64AtomicRmwXchg { memarg } => (memarg, Some(Xchg), I64, I64),
            O::I32AtomicRmw8XchgU { memarg } => (memarg, Some(Xchg), I32, I8),
            O::I32AtomicRmw16XchgU { memarg } => (memarg, Some(Xchg), I32, I16),
            O::I64AtomicRmw8XchgU { memarg } => (memarg, Some(Xchg), I64, I8),
            O::I64AtomicRmw16XchgU { memarg } => (memarg, Some(Xchg), I64, I16),
            O::I64AtomicRmw32XchgU { memarg } => (memarg, Some(Xchg), I64, I32),
            O::I32AtomicRmwCmpxchg { memarg } => (memarg, None, I32, I32),
            O::I64AtomicRmwCmpxchg { memarg } => (memarg, None, I64, I64),
            O::I32AtomicRmw8CmpxchgU { memarg } => (memarg, None, I32, I8),
            O::I32AtomicRmw16CmpxchgU { memarg } => (memarg, None, I32, I16),
            O::I64AtomicRmw8CmpxchgU { memarg } => (memarg, None, I64, I8),
            O::I64AtomicRmw16CmpxchgU { memarg } => (memarg, None, I64, I16),
            O::I64AtomicRmw32CmpxchgU { memarg } => (memarg, None, I64, I32),
            _ => return Ok(false),
        };
        match rmw {
            Some(rmw) => self.atomic_rmw(builder, &memarg, rmw, ty, width),
            None => self.atomic_cmpxchg(builder, &memarg, ty, width),
        }
        Ok(true)
    }

    /// Traps with "unaligned atomic" unless `index + memarg.offset` is a
    /// multiple of `size`.
    fn check_atomic_alignment(
        &self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        size: u32,
        index: Value,
    ) {
        if size == 1 {
            return;
        }
        let index = self.index_as_u64(builder, memarg, index);
        // Only the low bits matter, which a wrapping add keeps.
        let address = builder.ins().iadd_imm_u(index, memarg.offset as i64);
        let misaligned = builder.ins().band_imm_u(address, i64::from(size - 1));
        builder
            .ins()
            .trapnz(misaligned, TrapKind::UnalignedAtomic.trap_code());
    }

    /// `index` as a u64: a 32-bit memory's index zero-extended.
    fn index_as_u64(
        &self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        index: Value,
    ) -> Value {
        match self.env.heap(memory_index(memarg)).index_type {
            IndexType::I32 => builder.ins().uextend(types::I64, index),
            IndexType::I64 => index,
        }
    }

    /// The checked native address of a `size`-byte atomic access at `index`.
    fn atomic_address(
        &self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        size: u32,
        index: Value,
    ) -> Value {
        self.check_atomic_alignment(builder, memarg, size, index);
        self.memory_address(builder, memarg, size, index)
    }

    /// The aligned Wasm address `index + offset` as a u64, for the wait and
    /// notify builtins, which check it against the bound themselves. A sum
    /// past `u64::MAX` (64-bit memories only) is out of bounds.
    fn atomic_effective_address(
        &self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        size: u32,
        index: Value,
    ) -> Value {
        self.check_atomic_alignment(builder, memarg, size, index);
        let index = self.index_as_u64(builder, memarg, index);
        let offset = builder.ins().iconst(types::I64, memarg.offset as i64);
        builder
            .ins()
            .uadd_overflow_trap(index, offset, TrapCode::HEAP_OUT_OF_BOUNDS)
    }

    /// Pops an index and pushes the `width`-wide value there, zero-extended to `ty`.
    fn atomic_load(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        width: Type,
    ) {
        let index = self.pop();
        let address = self.atomic_address(builder, memarg, width.bytes(), index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let value = builder.ins().atomic_load(width, flags, address);
        self.push(zero_extend(builder, value, ty));
    }

    /// Pops a value and an index and stores the value's low `width` bits there.
    fn atomic_store(&mut self, builder: &mut FunctionBuilder<'_>, memarg: &MemArg, width: Type) {
        let (index, value) = self.pop2();
        let address = self.atomic_address(builder, memarg, width.bytes(), index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let value = truncate(builder, value, width);
        builder.ins().atomic_store(flags, value, address);
    }

    /// Pops an operand and an index, applies `rmw` to the `width`-wide
    /// value there and pushes the old value, zero-extended to `ty`.
    fn atomic_rmw(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        rmw: AtomicRmwOp,
        ty: Type,
        width: Type,
    ) {
        let (index, operand) = self.pop2();
        let address = self.atomic_address(builder, memarg, width.bytes(), index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let operand = truncate(builder, operand, width);
        let old = builder
            .ins()
            .atomic_rmw(width, flags, rmw, address, operand);
        self.push(zero_extend(builder, old, ty));
    }

    /// Pops a replacement, an expected value and an index; stores the
    /// replacement's low `width` bits there if the value there equals the
    /// expected value's low bits, and pushes the old value, zero-extended.
    fn atomic_cmpxchg(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        width: Type,
    ) {
        let (index, expected, replacement) = self.pop3();
        let address = self.atomic_address(builder, memarg, width.bytes(), index);
        let flags = FuncEnvironment::heap_flags(builder, memory_index(memarg));
        let expected = truncate(builder, expected, width);
        let replacement = truncate(builder, replacement, width);
        let old = builder
            .ins()
            .atomic_cas(flags, address, expected, replacement);
        self.push(zero_extend(builder, old, ty));
    }

    /// `memory.atomic.wait32` (`ty` I32) or `wait64` (I64): pops the timeout,
    /// the expected value and the index, pushes the builtin's result.
    fn atomic_wait(&mut self, builder: &mut FunctionBuilder<'_>, memarg: &MemArg, ty: Type) {
        let (index, expected, timeout) = self.pop3();
        let address = self.atomic_effective_address(builder, memarg, ty.bytes(), index);
        let mem = builder
            .ins()
            .iconst(types::I32, i64::from(memory_index(memarg)));
        let builtin = if ty == types::I32 {
            Builtin::MemoryAtomicWait32
        } else {
            Builtin::MemoryAtomicWait64
        };
        let result = self
            .env
            .call_builtin(builder, builtin, &[mem, address, expected, timeout]);
        self.push(result[0]);
    }
}

/// `value` (of the operator's type) narrowed to `width`.
fn truncate(builder: &mut FunctionBuilder<'_>, value: Value, width: Type) -> Value {
    if builder.func.dfg.value_type(value) == width {
        value
    } else {
        builder.ins().ireduce(width, value)
    }
}

/// `value` (of an access's width) zero-extended to `ty`.
fn zero_extend(builder: &mut FunctionBuilder<'_>, value: Value, ty: Type) -> Value {
    if builder.func.dfg.value_type(value) == ty {
        value
    } else {
        builder.ins().uextend(ty, value)
    }
}

#[cfg(test)]
mod tests {
    use crate::MemoryStyle;
    use crate::translate::testing::{count, translate, tunables};
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn an_atomic_access_checks_alignment_then_bounds() {
        const RMW: &str = r#"(module (memory 1 1 shared)
            (func (param i32) (result i32) (i32.atomic.rmw.add offset=4 (local.get 0) (i32.const 1))))"#;
        let funcs = translate(RMW, &tunables(MemoryStyle::Dynamic, Some(0), false));
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 2, "alignment and bound");
        assert_eq!(count(&funcs[0], Opcode::AtomicRmw), 1);
        assert_eq!(
            count(&funcs[0], Opcode::AtomicLoad),
            1,
            "a shared memory's length is loaded atomically"
        );
    }

    #[test]
    fn a_byte_access_needs_no_alignment_check() {
        const LOAD8: &str = r#"(module (memory 1 1 shared)
            (func (param i32) (result i64) (i64.atomic.load8_u (local.get 0))))"#;
        let funcs = translate(LOAD8, &tunables(MemoryStyle::Static, None, true));
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 0);
        assert_eq!(count(&funcs[0], Opcode::AtomicLoad), 1);
        assert_eq!(count(&funcs[0], Opcode::Uextend), 2, "index and result");
    }

    #[test]
    fn narrow_compare_exchange_truncates_both_operands() {
        const CMPXCHG: &str = r#"(module (memory 1 1 shared)
            (func (param i32 i64 i64) (result i64)
                (i64.atomic.rmw16.cmpxchg_u (local.get 0) (local.get 1) (local.get 2))))"#;
        let funcs = translate(CMPXCHG, &tunables(MemoryStyle::Static, None, true));
        assert_eq!(count(&funcs[0], Opcode::Ireduce), 2);
        assert_eq!(count(&funcs[0], Opcode::AtomicCas), 1);
    }

    #[test]
    fn wait_and_notify_call_builtins() {
        const WAIT: &str = r#"(module (memory 1 1 shared)
            (func (param i32) (result i32)
                (i32.add (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const -1))
                         (memory.atomic.notify (local.get 0) (i32.const 1))))
            (func atomic.fence))"#;
        let funcs = translate(WAIT, &tunables(MemoryStyle::Static, None, true));
        assert_eq!(count(&funcs[0], Opcode::CallIndirect), 2);
        assert_eq!(count(&funcs[1], Opcode::Fence), 1);
    }
}
