//! Control operators: blocks, loops, `if`/`else`, branches, `return`, `unreachable`.

use super::{Frame, FrameKind, Translator, block_args};
use crate::error::CompileError;
use crate::signature::value_type;
use crate::trap::TrapKind;
use crate::types::ValType;
use cranelift_codegen::ir::{self, InstBuilder, JumpTableData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{BlockType, Operator};

impl Translator<'_> {
    /// Translates `op` if it is a control operator; `false` when it is not.
    pub(super) fn translate_control(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::Nop => {}
            O::Unreachable => self.trap(builder, TrapKind::UnreachableCodeReached),
            O::Block { blockty } => {
                let (params, results) = self.block_type(blockty, offset)?;
                let next = Self::new_block_with_params(builder, &results);
                self.control.push(Frame {
                    kind: FrameKind::Block,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: self.stack.len() - params.len(),
                    branched_to_next: false,
                });
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty, offset)?;
                let header = Self::new_block_with_params(builder, &params);
                let next = Self::new_block_with_params(builder, &results);
                let args = block_args(self.peek_n(params.len()));
                builder.ins().jump(header, &args);
                let height = self.stack.len() - params.len();
                self.switch_to(builder, header, height);
                self.control.push(Frame {
                    kind: FrameKind::Loop { header },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: height,
                    branched_to_next: false,
                });
            }
            O::If { blockty } => {
                let condition = self.pop();
                let (params, results) = self.block_type(blockty, offset)?;
                let then_block = Self::new_block_with_params(builder, &params);
                let else_block = Self::new_block_with_params(builder, &params);
                let next = Self::new_block_with_params(builder, &results);
                let args = block_args(self.peek_n(params.len()));
                builder
                    .ins()
                    .brif(condition, then_block, &args, else_block, &args);
                builder.seal_block(then_block);
                builder.seal_block(else_block);
                let height = self.stack.len() - params.len();
                self.switch_to(builder, then_block, height);
                self.control.push(Frame {
                    kind: FrameKind::If {
                        else_block,
                        has_else: false,
                    },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: height,
                    branched_to_next: false,
                });
            }
            O::Else => self.translate_else(builder),
            O::End => self.translate_end(builder),
            O::Br { relative_depth } => {
                self.branch(builder, relative_depth);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let condition = self.pop();
                self.branch_if(builder, relative_depth, condition, true);
            }
            O::BrTable { ref targets } => {
                let index = self.pop();
                let default = targets.default();
                let arity = self.frame_mut(default).branch_arity();
                let args = block_args(self.peek_n(arity));
                let mut calls = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    let depth = depth?;
                    let target = self.branch_target_marking(depth);
                    calls.push(builder.func.dfg.block_call(target, &args));
                }
                let default_target = self.branch_target_marking(default);
                let default_call = builder.func.dfg.block_call(default_target, &args);
                let table = builder.create_jump_table(JumpTableData::new(default_call, &calls));
                builder.ins().br_table(index, table);
                self.reachable = false;
            }
            O::Return => {
                let depth = self.control.len() as u32 - 1;
                self.branch(builder, depth);
                self.reachable = false;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The parameter and result types of a block of type `ty`.
    pub(super) fn block_type(
        &self,
        ty: BlockType,
        offset: usize,
    ) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        Ok(match ty {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(val_type) => {
                let ty = ValType::from_wasmparser(val_type, offset)?;
                (Vec::new(), vec![value_type(ty)])
            }
            BlockType::FuncType(index) => {
                let ty = self.env.signature_type(index)?;
                (
                    ty.params().iter().map(|&t| value_type(t)).collect(),
                    ty.results().iter().map(|&t| value_type(t)).collect(),
                )
            }
        })
    }

    pub(super) fn new_block_with_params(
        builder: &mut FunctionBuilder<'_>,
        params: &[Type],
    ) -> ir::Block {
        let block = builder.create_block();
        for &ty in params {
            builder.append_block_param(block, ty);
        }
        block
    }

    /// Starts translating `block`, whose parameters replace the top of the
    /// operand stack above `height`.
    pub(super) fn switch_to(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        block: ir::Block,
        height: usize,
    ) {
        builder.switch_to_block(block);
        self.stack.truncate(height);
        self.stack.extend_from_slice(builder.block_params(block));
        self.reachable = true;
    }

    pub(super) fn translate_else(&mut self, builder: &mut FunctionBuilder<'_>) {
        let reachable = self.reachable;
        let frame = self.control.last_mut().expect("validated control stack");
        let FrameKind::If { else_block, .. } = frame.kind else {
            // `else` of an `if` opened in unreachable code.
            return;
        };
        frame.kind = FrameKind::If {
            else_block,
            has_else: true,
        };
        let (next, num_results, height) = (frame.next, frame.num_results, frame.stack_height);
        if reachable {
            let args = block_args(self.peek_n(num_results));
            builder.ins().jump(next, &args);
            self.control.last_mut().expect("frame").branched_to_next = true;
        }
        self.switch_to(builder, else_block, height);
    }

    pub(super) fn translate_end(&mut self, builder: &mut FunctionBuilder<'_>) {
        let frame = self.control.pop().expect("validated control stack");
        if frame.kind == FrameKind::Dead {
            return;
        }
        let mut next_reachable = frame.branched_to_next;
        if self.reachable {
            let args = block_args(self.peek_n(frame.num_results));
            builder.ins().jump(frame.next, &args);
            next_reachable = true;
        }
        // The frame's handlers go out of scope; a legacy `try` emits its
        // dispatch to its catch clauses.
        self.end_handler_scopes();
        if frame.kind == FrameKind::LegacyTry {
            self.finish_legacy_try(builder);
        }
        if let FrameKind::If {
            else_block,
            has_else: false,
        } = frame.kind
        {
            // An `if` without `else`: the implicit else passes its
            // parameters through as results.
            builder.switch_to_block(else_block);
            let params = builder.block_params(else_block).to_vec();
            builder.ins().jump(frame.next, &block_args(&params));
            next_reachable = true;
        }
        if let FrameKind::Loop { header } = frame.kind {
            builder.seal_block(header);
        }
        builder.seal_block(frame.next);
        if self.control.is_empty() {
            // End of the function body.
            builder.switch_to_block(frame.next);
            let results = builder.block_params(frame.next).to_vec();
            self.fuel_store(builder);
            builder.ins().return_(&results);
            self.reachable = false;
            return;
        }
        if next_reachable {
            self.switch_to(builder, frame.next, frame.stack_height);
        } else {
            self.stack.truncate(frame.stack_height);
            self.reachable = false;
        }
    }

    pub(super) fn frame_mut(&mut self, depth: u32) -> &mut Frame {
        let index = self.control.len() - 1 - depth as usize;
        &mut self.control[index]
    }

    pub(super) fn branch_target_marking(&mut self, depth: u32) -> ir::Block {
        let frame = self.frame_mut(depth);
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.branched_to_next = true;
        }
        frame.branch_target()
    }

    /// The block a branch to `depth` jumps to and how many values it
    /// carries; marks the frame's end as reached.
    pub(super) fn branch_target_and_arity(&mut self, depth: u32) -> (ir::Block, usize) {
        let arity = self.frame_mut(depth).branch_arity();
        (self.branch_target_marking(depth), arity)
    }

    /// A conditional branch to the label `depth` out, taken when
    /// `condition` is non-zero (`taken_when_true`) or zero (otherwise),
    /// carrying the label's values from the top of the stack (which stay
    /// there for the fall-through path).
    pub(super) fn branch_if(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        depth: u32,
        condition: Value,
        taken_when_true: bool,
    ) {
        let (target, arity) = self.branch_target_and_arity(depth);
        let args = block_args(self.peek_n(arity));
        let fallthrough = builder.create_block();
        if taken_when_true {
            builder
                .ins()
                .brif(condition, target, &args, fallthrough, &[]);
        } else {
            builder
                .ins()
                .brif(condition, fallthrough, &[], target, &args);
        }
        builder.seal_block(fallthrough);
        builder.switch_to_block(fallthrough);
    }

    fn branch(&mut self, builder: &mut FunctionBuilder<'_>, depth: u32) {
        let (target, arity) = self.branch_target_and_arity(depth);
        let args = block_args(self.peek_n(arity));
        builder.ins().jump(target, &args);
    }
}
