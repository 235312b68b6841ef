//! Exception handling (Wasm 3.0): `throw`, `throw_ref`, `try_table`, and
//! the `try_call`s that let a thrown exception reach a handler.
//!
//! While a `try_table`'s body is translated its catch clauses form a
//! [`HandlerScope`]. Every call made while some scope is in scope is emitted
//! as a `try_call` (or `try_call_indirect`) whose exception table lists the
//! handlers innermost first, with this function's vmctx as the context the
//! runtime resolves tag indices in; Cranelift reports each call site's
//! handlers, which become the module's exception table. A handler is a
//! landing block that receives the exception (an `exnref`, the first
//! exception payload register), unpacks the tag's payload for `catch` and
//! `catch_ref`, and branches to the clause's label.
//!
//! `throw` and `throw_ref` call a runtime builtin that never returns: it
//! finds the handler by walking the frames and resumes there. They too are
//! `try_call`s, so handlers of the throwing frame itself apply.
//!
//! Invariants: a handler list ends at the first catch-all, since nothing
//! after it can match; a throw writes the fuel count back like a call, and
//! a handler reads it and the epoch deadline again.

use super::call::Callee;
use super::{Frame, FrameKind, Translator, block_args};
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::signature::value_type;
use crate::trap::TrapKind;
use crate::types::FuncType;
use crate::vmctx::field;
use cranelift_codegen::ir::{
    self, BlockArg, ExceptionTableData, ExceptionTableItem, ExceptionTag, InstBuilder,
    MemFlagsData, StackSlotData, StackSlotKind, Value, types,
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{Catch, Operator};

/// One catch clause in scope: the tag it catches (`None` for all) and the
/// landing block that takes the exception as its one parameter.
#[derive(Debug, Clone, Copy)]
pub(super) struct HandlerClause {
    pub tag: Option<u32>,
    pub landing: ir::Block,
}

/// The catch clauses of one construct, in the order they are tried.
#[derive(Debug)]
pub(super) struct HandlerScope {
    /// Index in the control stack of the frame that opened the scope; the
    /// scope ends with that frame's body.
    pub owner: usize,
    pub clauses: Vec<HandlerClause>,
}

impl Translator<'_> {
    /// Translates `op` if it is an exception operator; `false` when it is not.
    pub(super) fn translate_exceptions(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::Throw { tag_index } => self.translate_throw(builder, tag_index)?,
            O::ThrowRef => {
                let exception = self.pop();
                self.throw_ref(builder, exception, usize::MAX);
            }
            O::TryTable { ref try_table } => {
                let (params, results) = self.block_type(try_table.ty, offset)?;
                let body = Self::new_block_with_params(builder, &params);
                let next = Self::new_block_with_params(builder, &results);
                let args = block_args(self.peek_n(params.len()));
                builder.ins().jump(body, &args);
                builder.seal_block(body);
                // Catch labels count from outside the `try_table`.
                let mut clauses = Vec::with_capacity(try_table.catches.len());
                for catch in &try_table.catches {
                    clauses.push(self.landing_for(builder, *catch)?);
                }
                let height = self.stack.len() - params.len();
                self.switch_to(builder, body, height);
                self.handler_scopes.push(HandlerScope {
                    owner: self.control.len(),
                    clauses,
                });
                self.control.push(Frame {
                    kind: FrameKind::TryTable,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: height,
                    branched_to_next: false,
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The payload types of tag `tag_index`.
    pub(super) fn tag_type(&self, tag_index: u32) -> Result<&FuncType, CompileError> {
        self.env
            .info()
            .tag_type(tag_index)
            .ok_or_else(|| CompileError::Invalid {
                offset: 0,
                message: format!("tag {tag_index} has no function type"),
            })
    }

    /// `throw`: the payload goes to the runtime in a stack buffer of
    /// `ValRaw` slots.
    fn translate_throw(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        tag_index: u32,
    ) -> Result<(), CompileError> {
        let count = self.tag_type(tag_index)?.params().len();
        let values = self.stack.split_off(self.stack.len() - count);
        let slot_size = field::VAL_RAW_SIZE as u32;
        let slot = builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (count as u32 * slot_size).max(slot_size),
            4,
        ));
        for (index, &value) in values.iter().enumerate() {
            builder
                .ins()
                .stack_store(types::I64, value, slot, index as i32 * field::VAL_RAW_SIZE);
        }
        let payload = builder.ins().stack_addr(types::I64, slot, 0);
        let tag = builder.ins().iconst(types::I32, i64::from(tag_index));
        self.call_throwing_builtin(builder, Builtin::Throw, &[tag, payload], usize::MAX);
        Ok(())
    }

    /// `throw_ref` of `exception` (traps on null), with the handlers of
    /// scopes owned by frames up to control index `owner_limit`.
    pub(super) fn throw_ref(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        exception: Value,
        owner_limit: usize,
    ) {
        builder
            .ins()
            .trapz(exception, TrapKind::NullReference.trap_code());
        self.call_throwing_builtin(builder, Builtin::ThrowRef, &[exception], owner_limit);
    }

    /// Calls a builtin that unwinds and never returns, as a `try_call` when
    /// handlers are in scope; the code after it is unreachable.
    fn call_throwing_builtin(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        args: &[Value],
        owner_limit: usize,
    ) {
        let (signature, code) = self.env.builtin_callee(builder, builtin);
        let mut call_args = vec![self.env.vmctx()];
        call_args.extend_from_slice(args);
        match self.exception_table(builder, signature, owner_limit) {
            Some((table, continuation)) => {
                builder.ins().try_call_indirect(code, &call_args, table);
                builder.switch_to_block(continuation);
                builder.seal_block(continuation);
            }
            None => {
                builder.ins().call_indirect(signature, code, &call_args);
            }
        }
        self.trap(builder, TrapKind::UnreachableCodeReached);
    }

    /// Emits a call of `callee` with `args`, as a `try_call` when handlers
    /// are in scope, and returns its results.
    pub(super) fn emit_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        callee: Callee,
        args: &[Value],
    ) -> Vec<Value> {
        let signature = match callee {
            Callee::Direct(func_ref) => builder.func.dfg.ext_funcs[func_ref].signature,
            Callee::Indirect { signature, .. } => signature,
        };
        let Some((table, continuation)) = self.exception_table(builder, signature, usize::MAX)
        else {
            let call = match callee {
                Callee::Direct(func_ref) => builder.ins().call(func_ref, args),
                Callee::Indirect { signature, code } => {
                    builder.ins().call_indirect(signature, code, args)
                }
            };
            return builder.inst_results(call).to_vec();
        };
        match callee {
            Callee::Direct(func_ref) => builder.ins().try_call(func_ref, args, table),
            Callee::Indirect { code, .. } => builder.ins().try_call_indirect(code, args, table),
        };
        builder.switch_to_block(continuation);
        builder.seal_block(continuation);
        builder.block_params(continuation).to_vec()
    }

    /// The exception table of a call with `signature` made now, listing
    /// the handlers of scopes owned by frames up to control index
    /// `owner_limit`, and the block the call returns to (whose parameters
    /// are its results); `None` when no handler applies.
    fn exception_table(
        &self,
        builder: &mut FunctionBuilder<'_>,
        signature: ir::SigRef,
        owner_limit: usize,
    ) -> Option<(ir::ExceptionTable, ir::Block)> {
        let clauses: Vec<HandlerClause> = self
            .handler_scopes
            .iter()
            .rev()
            .filter(|scope| scope.owner <= owner_limit)
            .flat_map(|scope| scope.clauses.iter().copied())
            .collect();
        if clauses.is_empty() {
            return None;
        }
        let mut items = vec![ExceptionTableItem::Context(self.env.vmctx())];
        for clause in clauses {
            let call = builder
                .func
                .dfg
                .block_call(clause.landing, &[BlockArg::TryCallExn(0)]);
            match clause.tag {
                Some(tag) => items.push(ExceptionTableItem::Tag(ExceptionTag::from_u32(tag), call)),
                None => {
                    items.push(ExceptionTableItem::Default(call));
                    break;
                }
            }
        }
        let continuation = builder.create_block();
        let result_types: Vec<ir::Type> = builder.func.dfg.signatures[signature]
            .returns
            .iter()
            .map(|param| param.value_type)
            .collect();
        let mut results = Vec::with_capacity(result_types.len());
        for (index, ty) in result_types.into_iter().enumerate() {
            builder.append_block_param(continuation, ty);
            results.push(BlockArg::TryCallRet(index as u32));
        }
        let normal_return = builder.func.dfg.block_call(continuation, &results);
        let table = builder
            .func
            .dfg
            .exception_tables
            .push(ExceptionTableData::new(signature, normal_return, items));
        Some((table, continuation))
    }

    /// Ends the handler scopes of frames no longer on the control stack.
    pub(super) fn end_handler_scopes(&mut self) {
        self.end_handler_scopes_from(self.control.len());
    }

    /// Ends the handler scopes of the frames at control index `first` and
    /// above.
    pub(super) fn end_handler_scopes_from(&mut self, first: usize) {
        while self
            .handler_scopes
            .last()
            .is_some_and(|scope| scope.owner >= first)
        {
            self.handler_scopes.pop();
        }
    }

    /// A landing block for `try_table` clause `catch`: unpacks the payload
    /// and branches to the clause's label (relative to the frames open now).
    fn landing_for(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        catch: Catch,
    ) -> Result<HandlerClause, CompileError> {
        let (tag, label, with_ref) = match catch {
            Catch::One { tag, label } => (Some(tag), label, false),
            Catch::OneRef { tag, label } => (Some(tag), label, true),
            Catch::All { label } => (None, label, false),
            Catch::AllRef { label } => (None, label, true),
        };
        let landing = builder.create_block();
        builder.set_cold_block(landing);
        let exception = builder.append_block_param(landing, types::I64);
        builder.switch_to_block(landing);
        self.reload_after_unwind(builder);
        let mut values = match tag {
            Some(tag) => self.unpack_payload(builder, exception, tag)?,
            None => Vec::new(),
        };
        if with_ref {
            values.push(exception);
        }
        let target = self.branch_target_marking(label);
        builder.ins().jump(target, &block_args(&values));
        Ok(HandlerClause { tag, landing })
    }

    /// At a handler: the frames unwound may have charged fuel, so the
    /// variable caching the count is read again.
    pub(super) fn reload_after_unwind(&mut self, builder: &mut FunctionBuilder<'_>) {
        self.fuel_reload(builder);
    }

    /// Loads the payload of `exception`, an exception of tag `tag_index`.
    pub(super) fn unpack_payload(
        &self,
        builder: &mut FunctionBuilder<'_>,
        exception: Value,
        tag_index: u32,
    ) -> Result<Vec<Value>, CompileError> {
        let params = self.tag_type(tag_index)?.params().to_vec();
        // An exception never changes once thrown.
        let flags = MemFlagsData::trusted().with_readonly();
        let payload = builder
            .ins()
            .load(types::I64, flags, exception, field::EXCEPTION_PAYLOAD);
        Ok(params
            .iter()
            .enumerate()
            .map(|(index, &ty)| {
                builder.ins().load(
                    value_type(ty),
                    flags,
                    payload,
                    index as i32 * field::VAL_RAW_SIZE,
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate, tunables};
    use crate::MemoryStyle;
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn calls_inside_try_table_become_try_calls() {
        let funcs = translate(
            r#"(module (tag $e (param i32)) (func $f)
                (func (result i32)
                    (call $f)
                    (block $h (result i32)
                        (try_table (catch $e $h) (call $f))
                        (i32.const 0))
                    (call $f)))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(count(&funcs[1], Opcode::TryCall), 1);
        assert_eq!(count(&funcs[1], Opcode::Call), 2);
    }

    #[test]
    fn a_throw_inside_try_table_is_a_try_call_to_the_runtime() {
        let funcs = translate(
            r#"(module (tag $e)
                (func (block $h (try_table (catch_all $h) (throw $e)))))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(count(&funcs[0], Opcode::TryCallIndirect), 1);
    }
}
