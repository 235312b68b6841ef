//! Epoch interruption: code compiled with `Tunables::epoch_interruption`
//! compares the engine's epoch counter with the store's deadline at every
//! function entry and loop header, so no loop and no recursion escapes it,
//! and before every bulk operation that is not small (see `fuel.rs`).
//! When the deadline has passed, a cold call of the `new_epoch` builtin (through
//! the engine's `preserve_all` trampoline, so the check costs the hot path no
//! spilled registers) asks the store what to do: trap with `TrapKind::Interrupt`, or run the
//! embedder's callback, which may move the deadline on (execution resumes)
//! or fail (the error unwinds like a trap).
//!
//! The counter is read with a plain load at each check (the engine
//! increments it atomically from any thread; a load of an aligned u64 is
//! atomic on the targets Remap supports, and seeing an increment a little
//! late only delays the interrupt to the next check); its address is loaded
//! once per function. The deadline is kept in a variable, read at entry and
//! again after every call and after the callback, the only code that can
//! move it while this function runs. So a check is one load, one compare
//! and a branch not taken.

use super::Translator;
use super::fuel::is_call;
use crate::func_environ::FuncEnvironment;
use crate::trampolines::preserve_all_signature;
use crate::vmctx::field;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::Operator;

/// The epoch state of the function being translated.
pub(super) struct Epoch {
    /// The engine's counter, whose address never changes.
    counter_address: Value,
    /// The store's deadline as of the last read: at entry, after every call
    /// (the callee may have moved it) and after the deadline callback.
    deadline: Variable,
    /// The store's `VMRuntimeLimits`.
    limits: Value,
}

impl Translator<'_> {
    /// At function entry: reads the counter's address and the deadline,
    /// then checks.
    pub(super) fn epoch_function_entry(&mut self, builder: &mut FunctionBuilder<'_>) {
        let Some(limits) = self.runtime_limits else {
            return;
        };
        if !self.env.tunables().epoch_interruption {
            return;
        }
        let flags = FuncEnvironment::limits_flags(builder);
        let counter_address =
            builder
                .ins()
                .load(types::I64, flags, limits, field::LIMITS_EPOCH_COUNTER);
        let deadline = builder.declare_var(types::I64);
        self.epoch = Some(Epoch {
            counter_address,
            deadline,
            limits,
        });
        self.epoch_reload_deadline(builder);
        self.epoch_check(builder);
    }

    /// After `op`: checks at a loop header; reads the deadline again after
    /// a call.
    pub(super) fn epoch_after_operator(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) {
        if self.epoch.is_none() || !self.reachable {
            return;
        }
        match op {
            Operator::Loop { .. } => self.epoch_check(builder),
            op if is_call(op) => self.epoch_reload_deadline(builder),
            _ => {}
        }
    }

    pub(super) fn epoch_reload_deadline(&mut self, builder: &mut FunctionBuilder<'_>) {
        let Some(epoch) = &self.epoch else {
            return;
        };
        let flags = FuncEnvironment::limits_flags(builder);
        let deadline = builder.ins().load(
            types::I64,
            flags,
            epoch.limits,
            field::LIMITS_EPOCH_DEADLINE,
        );
        builder.def_var(epoch.deadline, deadline);
    }

    /// Compares the epoch with the deadline; calls `new_epoch` when it has
    /// passed. Nothing is emitted unless the function is instrumented.
    pub(super) fn epoch_check(&mut self, builder: &mut FunctionBuilder<'_>) {
        let Some(epoch) = &self.epoch else {
            return;
        };
        let (limits, counter_address) = (epoch.limits, epoch.counter_address);
        // The counter is the engine's, outside every alias region.
        let current = builder
            .ins()
            .load(types::I64, MemFlagsData::trusted(), counter_address, 0);
        let deadline = builder.use_var(epoch.deadline);
        let passed = builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, current, deadline);
        let new_epoch = builder.create_block();
        let resume = builder.create_block();
        builder.set_cold_block(new_epoch);
        builder.ins().brif(passed, new_epoch, &[], resume, &[]);
        builder.seal_block(new_epoch);
        builder.switch_to_block(new_epoch);
        // The callback may read or add fuel: the count goes through the store.
        self.fuel_store(builder);
        // Through the engine's `preserve_all` trampoline: the call clobbers
        // no register, so values live across the check stay in registers on
        // the hot path as well; the trampoline records the exit frame.
        let flags = FuncEnvironment::limits_flags(builder);
        let trampoline =
            builder
                .ins()
                .load(types::I64, flags, limits, field::LIMITS_EPOCH_TRAMPOLINE);
        let signature = builder.import_signature(preserve_all_signature());
        let vmctx = self.env.vmctx();
        builder.ins().call_indirect(signature, trampoline, &[vmctx]);
        self.fuel_reload(builder);
        self.epoch_reload_deadline(builder);
        builder.ins().jump(resume, &[]);
        builder.seal_block(resume);
        builder.switch_to_block(resume);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate, tunables};
    use crate::{MemoryStyle, Tunables};
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn the_epoch_is_checked_at_entry_and_loop_headers() {
        const LOOPS: &str = r#"(module
            (func (loop $a (br $a)))
            (func (loop $a (loop $b (br $b)))))"#;
        let interruptible = Tunables {
            epoch_interruption: true,
            ..tunables(MemoryStyle::Static, None, true)
        };
        let funcs = translate(LOOPS, &interruptible);
        // Each check is one cold call of `new_epoch`.
        assert_eq!(count(&funcs[0], Opcode::CallIndirect), 2);
        assert_eq!(count(&funcs[1], Opcode::CallIndirect), 3);
        let plain = translate(LOOPS, &tunables(MemoryStyle::Static, None, true));
        assert!(
            plain
                .iter()
                .all(|func| count(func, Opcode::CallIndirect) == 0)
        );
    }
}
