//! Legacy exception handling: `try`, `catch`, `catch_all`, `delegate` and
//! `rethrow`, as toolchains still emit them.
//!
//! They are built on the same machinery as `try_table` (exceptions.rs).
//! The catch clauses of a `try` are only known after its body, whose calls
//! are already emitted by then, so the body has a single catch-all handler,
//! its *landing* block. When the `try` ends, the landing rethrows the
//! exception (`throw_ref`) with the now known clauses in scope, ahead of the
//! enclosing handlers: the runtime matches the tags exactly as for a
//! `try_table`, and a clause block receives the exception. `delegate`
//! rethrows from the landing with only the handlers in scope at its target
//! label. A clause block keeps the exception it received for `rethrow`.
//!
//! Invariant: `Translator::legacy_tries` has one entry per `LegacyTry`
//! frame on the control stack, in the same order.

use super::exceptions::{HandlerClause, HandlerScope};
use super::{Frame, FrameKind, Translator, block_args};
use crate::error::CompileError;
use cranelift_codegen::ir::{self, InstBuilder, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

/// The state of one legacy `try` being translated.
#[derive(Debug)]
pub(super) struct LegacyTry {
    /// The body's catch-all handler block; its parameter is the exception.
    landing: ir::Block,
    /// Catch clauses seen so far, in order.
    clauses: Vec<HandlerClause>,
    /// The exception the clause being translated caught (for `rethrow`).
    caught: Option<Value>,
    /// Control index of the frame a `delegate` sends exceptions to.
    delegate_to: Option<usize>,
}

impl Translator<'_> {
    /// Translates `op` if it is a legacy exception operator; `false` when it
    /// is not.
    pub(super) fn translate_legacy_exceptions(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::Try { blockty } => {
                let (params, results) = self.block_type(blockty, offset)?;
                let body = Self::new_block_with_params(builder, &params);
                let next = Self::new_block_with_params(builder, &results);
                let args = block_args(self.peek_n(params.len()));
                builder.ins().jump(body, &args);
                builder.seal_block(body);
                let landing = builder.create_block();
                builder.set_cold_block(landing);
                builder.append_block_param(landing, types::I64);
                let height = self.stack.len() - params.len();
                self.switch_to(builder, body, height);
                self.handler_scopes.push(HandlerScope {
                    owner: self.control.len(),
                    clauses: vec![HandlerClause { tag: None, landing }],
                });
                self.legacy_tries.push(LegacyTry {
                    landing,
                    clauses: Vec::new(),
                    caught: None,
                    delegate_to: None,
                });
                self.control.push(Frame {
                    kind: FrameKind::LegacyTry,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: height,
                    branched_to_next: false,
                });
            }
            O::Catch { tag_index } => self.translate_legacy_catch(builder, Some(tag_index)),
            O::CatchAll => self.translate_legacy_catch(builder, None),
            O::Delegate { relative_depth } => self.translate_delegate(builder, relative_depth),
            O::Rethrow { relative_depth } => {
                let target = self.control.len() - 1 - relative_depth as usize;
                let index = self.control[..=target]
                    .iter()
                    .filter(|frame| frame.kind == FrameKind::LegacyTry)
                    .count()
                    - 1;
                let caught =
                    self.legacy_tries[index]
                        .caught
                        .ok_or_else(|| CompileError::Invalid {
                            offset,
                            message: "rethrow outside a catch clause".into(),
                        })?;
                self.throw_ref(builder, caught, usize::MAX);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `catch` (of `tag`) or `catch_all` (`None`): ends the body or the
    /// previous clause and starts a clause that receives the exception.
    pub(super) fn translate_legacy_catch(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        tag: Option<u32>,
    ) {
        let Some(frame) = self.control.last_mut() else {
            return;
        };
        if frame.kind != FrameKind::LegacyTry {
            // A `try` opened in unreachable code.
            return;
        }
        let (next, num_results, height) = (frame.next, frame.num_results, frame.stack_height);
        if self.reachable {
            let args = block_args(self.peek_n(num_results));
            builder.ins().jump(next, &args);
            self.control.last_mut().expect("frame").branched_to_next = true;
        }
        // The body's handler no longer applies inside the clauses.
        self.end_handler_scopes_from(self.control.len() - 1);
        let clause = builder.create_block();
        builder.set_cold_block(clause);
        let exception = builder.append_block_param(clause, types::I64);
        builder.switch_to_block(clause);
        self.reload_after_unwind(builder);
        self.stack.truncate(height);
        self.reachable = true;
        if let Some(tag) = tag {
            // Validation checked the tag, so its type exists.
            let payload = self
                .unpack_payload(builder, exception, tag)
                .expect("validated tag");
            self.stack.extend(payload);
        }
        let state = self.legacy_tries.last_mut().expect("a try per frame");
        state.clauses.push(HandlerClause {
            tag,
            landing: clause,
        });
        state.caught = Some(exception);
    }

    /// `delegate`: ends the `try`, sending exceptions of its body to the
    /// handlers in scope at the label `relative_depth` outside it.
    pub(super) fn translate_delegate(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        relative_depth: u32,
    ) {
        if self.control.last().map(|frame| frame.kind) == Some(FrameKind::LegacyTry) {
            // Labels count from outside the `try`, whose frame is the last.
            let outside = self.control.len() - 1;
            let target = (outside - 1).saturating_sub(relative_depth as usize);
            self.legacy_tries
                .last_mut()
                .expect("a try per frame")
                .delegate_to = Some(target);
        }
        self.translate_end(builder);
    }

    /// Emits the landing of the `try` whose frame was just popped: it
    /// rethrows the exception to the catch clauses and then the enclosing
    /// handlers, or to the delegate target's handlers.
    pub(super) fn finish_legacy_try(&mut self, builder: &mut FunctionBuilder<'_>) {
        let state = self.legacy_tries.pop().expect("a try per frame");
        builder.switch_to_block(state.landing);
        let exception = builder.block_params(state.landing)[0];
        match state.delegate_to {
            Some(target) => self.throw_ref(builder, exception, target),
            None => {
                self.handler_scopes.push(HandlerScope {
                    owner: self.control.len(),
                    clauses: state.clauses,
                });
                self.throw_ref(builder, exception, usize::MAX);
                self.handler_scopes.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate, tunables};
    use crate::MemoryStyle;
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn a_try_body_call_lands_in_one_catch_all_that_rethrows() {
        let funcs = translate(
            r#"(module (tag $e (param i32)) (func $f)
                (func (result i32)
                    try (result i32)
                        call $f
                        i32.const 1
                    catch $e
                    catch_all
                        i32.const 2
                    end))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        // The body's call and the landing's rethrow.
        assert_eq!(count(&funcs[1], Opcode::TryCall), 1);
        assert_eq!(count(&funcs[1], Opcode::TryCallIndirect), 1);
    }
}
