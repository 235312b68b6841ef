//! Epoch interruption: code compiled with `Tunables::epoch_interruption`
//! checks at every function entry and loop header, so no loop and no
//! recursion escapes it, and before every bulk operation that is not small
//! (see `fuel.rs`), whether the store's epoch deadline has passed.
//! When it has, a cold call of the `new_epoch` builtin (through the
//! engine's `preserve_all` trampoline, so the check costs the hot path no
//! spilled registers) asks the store what to do: trap with
//! `TrapKind::Interrupt`, or run the embedder's callback, which may move the
//! deadline on (execution resumes) or fail (the error unwinds like a trap).
//!
//! A check is two loads, a test and a branch not taken, and keeps no
//! register of its own live between checks: the store's limits through the
//! vmctx (a parameter of every function; in a loop that otherwise needs no
//! vmctx, the allocator may spill it and the check reloads it), then the
//! limits' `epoch_deadline_passed` word, which the engine raises when its
//! epoch reaches the store's deadline (runtime `vm/epoch_deadlines.rs`). Comparing the epoch with the
//! deadline here instead needs two values at once, and caching the
//! counter's address or the deadline across the function holds a register
//! everywhere: a hot loop pays for either with spills (a dispatch loop
//! measured 1.3x slower with one cached pointer; benches/README.md). A
//! `sequence_point` opens each check: it emits no code, but it is a barrier
//! to Cranelift's redundant-load elimination, which would otherwise be free
//! to reuse the loads of a dominating check (the word is written by other
//! threads, which Cranelift does not know) and keep them live across the
//! loop. Nothing is cached, so calls, the callback and unwinding need no
//! reload.

use super::Translator;
use crate::func_environ::FuncEnvironment;
use crate::trampolines::preserve_all_signature;
use crate::vmctx::{VMOffsets, field};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// At function entry: checks, when the function is instrumented.
    pub(super) fn epoch_function_entry(&mut self, builder: &mut FunctionBuilder<'_>) {
        self.epoch_checks = self.env.tunables().epoch_interruption;
        self.epoch_check(builder);
    }

    /// After `op`: checks at a loop header.
    pub(super) fn epoch_after_operator(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) {
        if self.reachable && matches!(op, Operator::Loop { .. }) {
            self.epoch_check(builder);
        }
    }

    /// Tests whether the store's deadline has passed; calls `new_epoch`
    /// when it has. Nothing is emitted unless the function is instrumented.
    pub(super) fn epoch_check(&mut self, builder: &mut FunctionBuilder<'_>) {
        if !self.epoch_checks {
            return;
        }
        builder.ins().sequence_point();
        // Not `load_vmctx_pointer`: a load that may move would be shared
        // with other checks and hoisted out of loops, and kept live.
        let limits = builder.ins().load(
            types::I64,
            MemFlagsData::trusted(),
            self.env.vmctx(),
            VMOffsets::RUNTIME_LIMITS as i32,
        );
        let flags = FuncEnvironment::limits_flags(builder);
        let passed = builder.ins().load(
            types::I64,
            flags,
            limits,
            field::LIMITS_EPOCH_DEADLINE_PASSED,
        );
        let new_epoch = builder.create_block();
        let resume = builder.create_block();
        builder.set_cold_block(new_epoch);
        builder.ins().brif(passed, new_epoch, &[], resume, &[]);
        builder.seal_block(new_epoch);
        builder.switch_to_block(new_epoch);
        // The callback may read or add fuel: the count goes through the store.
        self.fuel_store(builder);
        let vmctx = self.env.vmctx();
        // Through the engine's `preserve_all` trampoline: the call clobbers
        // no register, so values live across the check stay in registers on
        // the hot path as well; the trampoline records the exit frame.
        let trampoline =
            builder
                .ins()
                .load(types::I64, flags, limits, field::LIMITS_EPOCH_TRAMPOLINE);
        let signature = builder.import_signature(preserve_all_signature());
        builder.ins().call_indirect(signature, trampoline, &[vmctx]);
        self.fuel_reload(builder);
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
