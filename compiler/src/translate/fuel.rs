//! Fuel: code compiled with `Tunables::consume_fuel` charges every operator
//! its cost and traps (`TrapKind::OutOfFuel`) once the store's fuel is gone.
//!
//! Cost model (Wasmtime's per-operator costs): every operator costs 1,
//! except `nop`, `drop`, `block`, `loop`, `unreachable`, `return`, `else`
//! and `end`, which cost 0. Operators in unreachable code are never run and
//! cost nothing. The bulk operators cost 1 more per unit of work they are
//! asked for, charged before they run (so a budget bounds their length,
//! and an operation the fuel left cannot pay for traps out of fuel before
//! touching anything): `memory.copy`, `memory.fill` and `memory.init` per
//! byte, `table.copy`, `table.fill`, `table.init` and `table.grow` per
//! element; `memory.grow` nothing per page. A bulk operator whose size is
//! not a constant of at most 128 units is also a check point for fuel and
//! epochs, as a loop header is (`bulk_operation_checkpoint`).
//!
//! The count lives in the store's `VMRuntimeLimits::fuel_consumed`
//! (negative while fuel is left). Within a function it is kept in an SSA
//! variable: the costs of a straight run of operators are added at compile
//! time and added to the variable once, before the operator that ends the
//! run (a branch, block boundary or call). Before a call, a return or an
//! `unreachable` the variable is written back, so callees, host functions
//! and the embedder see the true count, also after a guest's explicit trap
//! (a trap in the middle of a run, such as an out-of-bounds access, leaves
//! that run's cost uncharged, as in Wasmtime); after a call it is read
//! again (a host function may have added fuel). The count is checked at
//! function entry and at every loop header, so no loop and no recursion
//! runs unchecked; between checks a straight run may overshoot, so a store can end slightly below zero fuel.
//! The result is deterministic: the same code, input and fuel consume the
//! same fuel and trap at the same operator, in both memory styles and
//! precompiled or not.

use super::Translator;
use crate::func_environ::FuncEnvironment;
use crate::trap::TrapKind;
use crate::vmctx::{VMOffsets, field};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, InstructionData, Opcode, Value, types};
use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::Operator;

/// The fuel state of the function being translated.
pub(super) struct Fuel {
    /// The store's `fuel_consumed`, as of the last operator flushed.
    consumed: Variable,
    /// Cost of the operators since the last flush.
    pending: i64,
    /// The store's `VMRuntimeLimits`.
    limits: Value,
}

/// Bulk operations of a constant size that costs at most this much are not
/// check points (Wasmtime's threshold: a small copy is straight-line code).
const SMALL_BULK_OPERATION: i64 = 128;

/// What an operator costs (module docs).
fn cost(op: &Operator<'_>) -> i64 {
    use Operator as O;
    match op {
        O::Nop
        | O::Drop
        | O::Block { .. }
        | O::Loop { .. }
        | O::Unreachable
        | O::Return
        | O::Else
        | O::End => 0,
        _ => 1,
    }
}

/// Whether `op` ends a straight run: it branches, opens or closes a block,
/// or calls, so the pending cost must be in the variable before it.
fn ends_run(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Block { .. }
            | O::Loop { .. }
            | O::If { .. }
            | O::Else
            | O::End
            | O::Br { .. }
            | O::BrIf { .. }
            | O::BrTable { .. }
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. }
            | O::BrOnCast { .. }
            | O::BrOnCastFail { .. }
            | O::Return
            | O::TryTable { .. }
            | O::Try { .. }
            | O::Catch { .. }
            | O::CatchAll
            | O::Delegate { .. }
    ) || is_call(op)
}

/// Whether `op` runs other code (the count must be in the store around it).
/// A throw counts: its handler, in this function or another, reads the
/// count from the store (exceptions.rs).
pub(super) fn is_call(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::Throw { .. }
            | O::ThrowRef
            | O::Rethrow { .. }
    )
}

impl Translator<'_> {
    /// At function entry: reads the store's count and checks it.
    pub(super) fn fuel_function_entry(&mut self, builder: &mut FunctionBuilder<'_>) {
        if !self.env.tunables().consume_fuel {
            return;
        }
        let limits = self
            .env
            .load_vmctx_pointer(builder, VMOffsets::RUNTIME_LIMITS);
        let consumed = builder.declare_var(types::I64);
        self.fuel = Some(Fuel {
            consumed,
            pending: 0,
            limits,
        });
        self.fuel_reload(builder);
        self.fuel_check(builder);
    }

    /// Before `op`: charges its cost, and flushes the run it ends (writing
    /// the count back before a call).
    pub(super) fn fuel_before_operator(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) {
        let Some(fuel) = &mut self.fuel else {
            return;
        };
        fuel.pending += cost(op);
        if ends_run(op) {
            self.fuel_flush(builder);
        }
        // `unreachable` leaves the function by trapping: the run that ends
        // there is charged to the store as a call's would be (as in
        // Wasmtime), so a guest that traps pays for what it ran.
        if is_call(op) || matches!(op, Operator::Unreachable) {
            self.fuel_store(builder);
        }
    }

    /// After `op`: reads the count again after a call (the callee charged
    /// it), checks it at a loop header.
    pub(super) fn fuel_after_operator(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) {
        if self.fuel.is_none() || !self.reachable {
            return;
        }
        match op {
            Operator::Loop { .. } => self.fuel_check(builder),
            op if is_call(op) => self.fuel_reload(builder),
            _ => {}
        }
    }

    /// Before a bulk operator runs, once its size `units` (an i32 or i64
    /// operand) is known: charges 1 per unit and, unless the size is a small
    /// constant, checks fuel and the epoch, as at a loop header.
    pub(super) fn bulk_operation_checkpoint(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        units: Value,
    ) {
        if self.fuel.is_none() && !self.epoch_checks {
            return;
        }
        let constant = constant_units(builder, units);
        if let Some(fuel) = &mut self.fuel {
            match constant {
                Some(units) => fuel.pending = fuel.pending.saturating_add(units),
                None => {
                    let cost = units_as_cost(builder, units);
                    self.fuel_flush(builder);
                    self.fuel_add(builder, cost);
                }
            }
        }
        if constant.is_some_and(|units| units <= SMALL_BULK_OPERATION) {
            return;
        }
        self.fuel_flush(builder);
        self.fuel_check(builder);
        self.epoch_check(builder);
    }

    /// Adds a cost computed at run time to the variable.
    fn fuel_add(&mut self, builder: &mut FunctionBuilder<'_>, cost: Value) {
        let Some(fuel) = &self.fuel else {
            return;
        };
        let consumed = builder.use_var(fuel.consumed);
        let consumed = builder.ins().iadd(consumed, cost);
        builder.def_var(fuel.consumed, consumed);
    }

    /// Adds the pending cost to the variable.
    fn fuel_flush(&mut self, builder: &mut FunctionBuilder<'_>) {
        let Some(fuel) = &mut self.fuel else {
            return;
        };
        if fuel.pending == 0 {
            return;
        }
        let consumed = builder.use_var(fuel.consumed);
        let consumed = builder.ins().iadd_imm_s(consumed, fuel.pending);
        builder.def_var(fuel.consumed, consumed);
        fuel.pending = 0;
    }

    /// Writes the count back to the store (before calls, returns and
    /// anything that may leave the function).
    pub(super) fn fuel_store(&mut self, builder: &mut FunctionBuilder<'_>) {
        self.fuel_flush(builder);
        let Some(fuel) = &self.fuel else {
            return;
        };
        let consumed = builder.use_var(fuel.consumed);
        let flags = FuncEnvironment::limits_flags(builder);
        builder
            .ins()
            .store(flags, consumed, fuel.limits, field::LIMITS_FUEL_CONSUMED);
    }

    /// Reads the count from the store.
    pub(super) fn fuel_reload(&mut self, builder: &mut FunctionBuilder<'_>) {
        let Some(fuel) = &self.fuel else {
            return;
        };
        let flags = FuncEnvironment::limits_flags(builder);
        let consumed =
            builder
                .ins()
                .load(types::I64, flags, fuel.limits, field::LIMITS_FUEL_CONSUMED);
        builder.def_var(fuel.consumed, consumed);
    }

    /// Traps when no fuel is left, after writing the count back so the
    /// store reports what was consumed.
    fn fuel_check(&mut self, builder: &mut FunctionBuilder<'_>) {
        let Some(fuel) = &self.fuel else {
            return;
        };
        let consumed = builder.use_var(fuel.consumed);
        let exhausted = builder
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, consumed, 0);
        let out_of_fuel = builder.create_block();
        let resume = builder.create_block();
        builder.set_cold_block(out_of_fuel);
        builder.ins().brif(exhausted, out_of_fuel, &[], resume, &[]);
        builder.seal_block(out_of_fuel);
        builder.switch_to_block(out_of_fuel);
        self.fuel_store(builder);
        builder.ins().trap(TrapKind::OutOfFuel.trap_code());
        builder.seal_block(resume);
        builder.switch_to_block(resume);
    }
}

/// The value of `units` when it is a constant, as an unsigned count
/// clamped to `i64::MAX`.
fn constant_units(builder: &FunctionBuilder<'_>, units: Value) -> Option<i64> {
    let dfg = &builder.func.dfg;
    let instruction = dfg.value_def(units).inst()?;
    let InstructionData::UnaryImm {
        opcode: Opcode::Iconst,
        imm,
    } = dfg.insts[instruction]
    else {
        return None;
    };
    let bits = imm.bits();
    let unsigned = if dfg.value_type(units) == types::I32 {
        u64::from(bits as u32)
    } else {
        bits as u64
    };
    Some(i64::try_from(unsigned).unwrap_or(i64::MAX))
}

/// `units` (i32 or i64, unsigned) as an i64 cost, clamped to `i64::MAX` so
/// that an untrusted 64-bit size cannot make the count go backwards.
fn units_as_cost(builder: &mut FunctionBuilder<'_>, units: Value) -> Value {
    if builder.func.dfg.value_type(units) == types::I32 {
        return builder.ins().uextend(types::I64, units);
    }
    let negative_as_signed = builder.ins().icmp_imm_s(IntCC::SignedLessThan, units, 0);
    let max = builder.ins().iconst(types::I64, i64::MAX);
    builder.ins().select(negative_as_signed, max, units)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate, tunables};
    use crate::{MemoryStyle, Tunables};
    use cranelift_codegen::ir::Opcode;

    const LOOP_AND_CALL: &str = r#"(module
        (func $callee)
        (func (param i32)
            (loop $again
                (call $callee)
                (br_if $again (local.get 0)))))"#;

    fn fueled() -> Tunables {
        Tunables {
            consume_fuel: true,
            ..tunables(MemoryStyle::Static, None, true)
        }
    }

    #[test]
    fn fuel_is_checked_at_entry_and_loop_headers_only_when_enabled() {
        let funcs = translate(LOOP_AND_CALL, &fueled());
        assert_eq!(count(&funcs[0], Opcode::Trap), 1, "entry");
        assert_eq!(count(&funcs[1], Opcode::Trap), 2, "entry and loop");
        let plain = translate(LOOP_AND_CALL, &tunables(MemoryStyle::Static, None, true));
        assert!(plain.iter().all(|func| count(func, Opcode::Trap) == 0));
        assert!(plain.iter().all(|func| count(func, Opcode::Store) == 0));
    }

    #[test]
    fn the_count_is_written_back_around_calls_and_returns() {
        let funcs = translate(LOOP_AND_CALL, &fueled());
        // Before the call, at the return, and in each check's trap path.
        assert_eq!(count(&funcs[1], Opcode::Store), 4);
        // At entry and after the call.
        assert_eq!(
            count(&funcs[1], Opcode::Load) - count(&funcs[0], Opcode::Load),
            1
        );
    }

    #[test]
    fn bulk_operations_are_check_points_unless_small_and_constant() {
        let funcs = translate(
            r#"(module (memory 1)
                (func (param i32) (memory.fill (i32.const 0) (i32.const 0) (local.get 0)))
                (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 128)))
                (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 129))))"#,
            &fueled(),
        );
        assert_eq!(count(&funcs[0], Opcode::Trap), 2, "dynamic size");
        assert_eq!(count(&funcs[1], Opcode::Trap), 1, "small constant");
        assert_eq!(count(&funcs[2], Opcode::Trap), 2, "large constant");
    }
}
