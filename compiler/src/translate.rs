//! Wasm function bodies to Cranelift IR.
//!
//! A single pass over the operators keeps an operand stack of SSA values and
//! a stack of control frames. Code after an unconditional branch is
//! unreachable: it is still validated but not translated, and only the
//! nesting of its control frames is tracked until a reachable `else` or
//! `end` restores translation.

use crate::MemoryStyle;
use crate::Tunables;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::module_info::{FuncType, ModuleInfo, WasmType};
use crate::signature::{value_type, wasm_signature};
use crate::trap::TrapKind;
use crate::vmctx::{VMOffsets, field};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    self, AliasRegion, AliasRegionData, BlockArg, ExtFuncData, ExternalName, FuncRef,
    GlobalValueData, InstBuilder, JumpTableData, MemFlagsData, SigRef, TrapCode, Type,
    UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_codegen::packed_option::ReservedValue;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use std::borrow::Cow;
use std::collections::HashMap;
use wasmparser::{
    BlockType, FuncValidator, FunctionBody, MemArg, MemArgTarget, Operator, ValidatorResources,
};

mod simd;

/// Alias region ids: accesses in different regions never overlap.
mod region {
    /// `VMMemoryView` entries of the vmctx (written only by the runtime).
    pub const MEMORY_VIEWS: u32 = 1;
    /// Table definitions and table elements.
    pub const TABLES: u32 = 2;
    /// Global cells.
    pub const GLOBALS: u32 = 3;
    /// The store's `VMRuntimeLimits`.
    pub const RUNTIME_LIMITS: u32 = 4;
    /// Linear memory `n` uses region `HEAP_BASE + n`.
    pub const HEAP_BASE: u32 = 16;
}

/// What kind of construct opened a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    /// `block` (and the function body itself).
    Block,
    /// `loop`; branches go to `header`.
    Loop { header: ir::Block },
    /// `if`; `else_block` runs when the condition is zero.
    If {
        else_block: ir::Block,
        /// Whether `else` has been seen.
        has_else: bool,
    },
    /// A frame opened in unreachable code: nothing is translated inside it.
    Dead,
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Block after the construct; takes the results as parameters.
    next: ir::Block,
    num_params: usize,
    num_results: usize,
    /// Operand stack height below the frame's parameters.
    stack_height: usize,
    /// Whether some branch targets `next`.
    branched_to_next: bool,
}

impl Frame {
    /// Number of values a branch to this frame carries.
    fn branch_arity(&self) -> usize {
        match self.kind {
            FrameKind::Loop { .. } => self.num_params,
            _ => self.num_results,
        }
    }

    /// The block a branch to this frame jumps to.
    fn branch_target(&self) -> ir::Block {
        match self.kind {
            FrameKind::Loop { header } => header,
            _ => self.next,
        }
    }
}

fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|&value| BlockArg::Value(value)).collect()
}

/// Translates one defined function.
pub(crate) struct FuncTranslator<'m> {
    info: &'m ModuleInfo,
    offsets: &'m VMOffsets,
    tunables: &'m Tunables,
    func_index: u32,
    frontend: TargetFrontendConfig,
}

impl<'m> FuncTranslator<'m> {
    pub fn new(
        info: &'m ModuleInfo,
        offsets: &'m VMOffsets,
        tunables: &'m Tunables,
        func_index: u32,
        frontend: TargetFrontendConfig,
    ) -> Self {
        Self {
            info,
            offsets,
            tunables,
            func_index,
            frontend,
        }
    }

    /// Validates and translates `body`.
    pub fn translate(
        self,
        builder_context: &mut FunctionBuilderContext,
        mut validator: FuncValidator<ValidatorResources>,
        body: &FunctionBody<'_>,
    ) -> Result<ir::Function, CompileError> {
        let ty = self.info.func_type(self.func_index);
        let signature = wasm_signature(ty);
        let mut func =
            ir::Function::with_name_signature(UserFuncName::user(0, self.func_index), signature);
        let mut builder = FunctionBuilder::new(&mut func, builder_context);
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        let vmctx = builder.block_params(entry)[0];

        let mut state = State {
            info: self.info,
            offsets: self.offsets,
            tunables: self.tunables,
            func_index: self.func_index,
            vmctx,
            locals: Vec::new(),
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            func_refs: HashMap::new(),
            signatures: HashMap::new(),
            builtin_signatures: HashMap::new(),
        };
        state.set_stack_limit(&mut builder);

        for (index, &param) in ty.params.iter().enumerate() {
            let var = builder.declare_var(value_type(param));
            let value = builder.block_params(entry)[index + 2];
            builder.def_var(var, value);
            state.locals.push(var);
        }
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, val_type) = locals.read()?;
            validator.define_locals(offset, count, val_type)?;
            let ty = crate::module_info::wasm_type(val_type, offset as usize)?;
            for _ in 0..count {
                let var = builder.declare_var(value_type(ty));
                let zero = state.zero(&mut builder, ty);
                builder.def_var(var, zero);
                state.locals.push(var);
            }
        }

        let exit = builder.create_block();
        for &result in &ty.results {
            builder.append_block_param(exit, value_type(result));
        }
        state.control.push(Frame {
            kind: FrameKind::Block,
            next: exit,
            num_params: 0,
            num_results: ty.results.len(),
            stack_height: 0,
            branched_to_next: false,
        });

        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let offset = reader.original_position();
            let op = reader.read()?;
            validator.op(offset, &op)?;
            builder.set_srcloc(ir::SourceLoc::new(offset as u32));
            state.translate_operator(&mut builder, &op, offset as usize)?;
        }
        reader.finish()?;

        builder.seal_all_blocks();
        builder.finalize(self.frontend);
        Ok(func)
    }
}

/// Translation state of one function.
struct State<'m> {
    info: &'m ModuleInfo,
    offsets: &'m VMOffsets,
    tunables: &'m Tunables,
    func_index: u32,
    vmctx: Value,
    locals: Vec<Variable>,
    stack: Vec<Value>,
    control: Vec<Frame>,
    reachable: bool,
    func_refs: HashMap<u32, FuncRef>,
    signatures: HashMap<u32, SigRef>,
    builtin_signatures: HashMap<Builtin, SigRef>,
}

impl State<'_> {
    fn region(
        builder: &mut FunctionBuilder<'_>,
        id: u32,
        description: &'static str,
    ) -> AliasRegion {
        builder.func.dfg.alias_regions.insert(AliasRegionData {
            user_id: id,
            description: Cow::Borrowed(description),
        })
    }

    /// Flags for vmctx fields that never change during an instance's life.
    fn vmctx_readonly() -> MemFlagsData {
        MemFlagsData::trusted().with_readonly().with_can_move()
    }

    fn flags_in(
        builder: &mut FunctionBuilder<'_>,
        id: u32,
        description: &'static str,
    ) -> MemFlagsData {
        let region = Self::region(builder, id, description);
        MemFlagsData::trusted().with_alias_region(Some(region))
    }

    fn load_vmctx_pointer(&self, builder: &mut FunctionBuilder<'_>, offset: u32) -> Value {
        builder.ins().load(
            types::I64,
            Self::vmctx_readonly(),
            self.vmctx,
            offset as i32,
        )
    }

    fn set_stack_limit(&self, builder: &mut FunctionBuilder<'_>) {
        let flags = builder
            .func
            .dfg
            .mem_flags
            .insert(MemFlagsData::trusted().with_readonly())
            .expect("a handful of memory flags fit");
        let vmctx = builder.func.create_global_value(GlobalValueData::VMContext);
        let limits = builder.func.create_global_value(GlobalValueData::Load {
            base: vmctx,
            offset: (VMOffsets::RUNTIME_LIMITS as i32).into(),
            global_type: types::I64,
            flags,
        });
        let stack_limit = builder.func.create_global_value(GlobalValueData::Load {
            base: limits,
            offset: field::LIMITS_STACK_LIMIT.into(),
            global_type: types::I64,
            flags,
        });
        builder.func.stack_limit = Some(stack_limit);
    }

    fn zero(&self, builder: &mut FunctionBuilder<'_>, ty: WasmType) -> Value {
        match ty {
            WasmType::I32 => builder.ins().iconst(types::I32, 0),
            WasmType::I64 | WasmType::FuncRef | WasmType::ExternRef => {
                builder.ins().iconst(types::I64, 0)
            }
            WasmType::F32 => builder.ins().f32const(Ieee32::with_bits(0)),
            WasmType::F64 => builder.ins().f64const(Ieee64::with_bits(0)),
            WasmType::V128 => Self::zero_vector(builder, types::I8X16),
        }
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated operand stack")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    fn peek_n(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    fn block_type(
        &self,
        ty: BlockType,
        offset: usize,
    ) -> Result<(Vec<Type>, Vec<Type>), CompileError> {
        Ok(match ty {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(val_type) => (
                Vec::new(),
                vec![value_type(crate::module_info::wasm_type(val_type, offset)?)],
            ),
            BlockType::FuncType(index) => {
                let ty = &self.info.types[index as usize];
                (
                    ty.params.iter().map(|&t| value_type(t)).collect(),
                    ty.results.iter().map(|&t| value_type(t)).collect(),
                )
            }
        })
    }

    fn new_block_with_params(builder: &mut FunctionBuilder<'_>, params: &[Type]) -> ir::Block {
        let block = builder.create_block();
        for &ty in params {
            builder.append_block_param(block, ty);
        }
        block
    }

    /// Starts translating `block`, whose parameters replace the top of the
    /// operand stack above `height`.
    fn switch_to(&mut self, builder: &mut FunctionBuilder<'_>, block: ir::Block, height: usize) {
        builder.switch_to_block(block);
        self.stack.truncate(height);
        self.stack.extend_from_slice(builder.block_params(block));
        self.reachable = true;
    }

    fn trap(&mut self, builder: &mut FunctionBuilder<'_>, kind: TrapKind) {
        builder.ins().trap(kind.trap_code());
        self.reachable = false;
    }

    fn bool_to_i32(builder: &mut FunctionBuilder<'_>, value: Value) -> Value {
        builder.ins().uextend(types::I32, value)
    }

    fn translate_operator(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<(), CompileError> {
        if !self.reachable {
            self.translate_unreachable(builder, op);
            return Ok(());
        }
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
                let frame = self.frame_mut(relative_depth);
                let arity = frame.branch_arity();
                let target = frame.branch_target();
                if !matches!(frame.kind, FrameKind::Loop { .. }) {
                    frame.branched_to_next = true;
                }
                let args = block_args(self.peek_n(arity));
                let fallthrough = builder.create_block();
                builder
                    .ins()
                    .brif(condition, target, &args, fallthrough, &[]);
                builder.seal_block(fallthrough);
                builder.switch_to_block(fallthrough);
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
            O::Call { function_index } => self.translate_call(builder, function_index),
            O::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(builder, type_index, table_index),
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let (a, b, condition) = self.pop3();
                let value = builder.ins().select(condition, a, b);
                self.push(value);
            }
            O::LocalGet { local_index } => {
                let value = builder.use_var(self.locals[local_index as usize]);
                self.push(value);
            }
            O::LocalSet { local_index } => {
                let value = self.pop();
                builder.def_var(self.locals[local_index as usize], value);
            }
            O::LocalTee { local_index } => {
                let value = *self.stack.last().expect("validated operand stack");
                builder.def_var(self.locals[local_index as usize], value);
            }
            O::GlobalGet { global_index } => {
                let (pointer, ty, flags) = self.global_access(builder, global_index);
                let value = builder.ins().load(ty, flags, pointer, 0);
                self.push(value);
            }
            O::GlobalSet { global_index } => {
                let value = self.pop();
                let (pointer, _, flags) = self.global_access(builder, global_index);
                builder.ins().store(flags, value, pointer, 0);
            }

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
                let bound = self.memory_bound(builder, mem);
                let pages = builder.ins().ushr_imm_u(bound, 16);
                let pages = builder.ins().ireduce(types::I32, pages);
                self.push(pages);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = builder.ins().uextend(types::I64, delta);
                let mem = builder.ins().iconst(types::I32, i64::from(mem));
                let old = self.call_builtin(builder, Builtin::MemoryGrow, &[mem, delta])[0];
                let old = builder.ins().ireduce(types::I32, old);
                self.push(old);
            }
            O::MemoryInit { data_index, mem } => {
                let (dst, src, len) = self.pop3();
                let dst = builder.ins().uextend(types::I64, dst);
                let mem = builder.ins().iconst(types::I32, i64::from(mem));
                let data = builder.ins().iconst(types::I32, i64::from(data_index));
                self.call_builtin(builder, Builtin::MemoryInit, &[mem, data, dst, src, len]);
            }
            O::DataDrop { data_index } => {
                let data = builder.ins().iconst(types::I32, i64::from(data_index));
                self.call_builtin(builder, Builtin::DataDrop, &[data]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let dst = builder.ins().uextend(types::I64, dst);
                let src = builder.ins().uextend(types::I64, src);
                let len = builder.ins().uextend(types::I64, len);
                let dst_mem = builder.ins().iconst(types::I32, i64::from(dst_mem));
                let src_mem = builder.ins().iconst(types::I32, i64::from(src_mem));
                self.call_builtin(
                    builder,
                    Builtin::MemoryCopy,
                    &[dst_mem, dst, src_mem, src, len],
                );
            }
            O::MemoryFill { mem } => {
                let (dst, byte, len) = self.pop3();
                let dst = builder.ins().uextend(types::I64, dst);
                let len = builder.ins().uextend(types::I64, len);
                let mem = builder.ins().iconst(types::I32, i64::from(mem));
                self.call_builtin(builder, Builtin::MemoryFill, &[mem, dst, byte, len]);
            }

            O::TableGet { table } => {
                let index = self.pop();
                let address = self.table_element_address(builder, table, index);
                let flags = Self::flags_in(builder, region::TABLES, "tables");
                let value = builder.ins().load(types::I64, flags, address, 0);
                self.push(value);
            }
            O::TableSet { table } => {
                let (index, value) = self.pop2();
                let address = self.table_element_address(builder, table, index);
                let flags = Self::flags_in(builder, region::TABLES, "tables");
                builder.ins().store(flags, value, address, 0);
            }
            O::TableSize { table } => {
                let definition = self.load_vmctx_pointer(builder, self.offsets.table(table));
                let flags = Self::flags_in(builder, region::TABLES, "tables");
                let size = builder.ins().load(
                    types::I64,
                    flags,
                    definition,
                    field::TABLE_CURRENT_ELEMENTS,
                );
                let size = builder.ins().ireduce(types::I32, size);
                self.push(size);
            }
            O::TableGrow { table } => {
                let (init, delta) = self.pop2();
                let table = builder.ins().iconst(types::I32, i64::from(table));
                let old = self.call_builtin(builder, Builtin::TableGrow, &[table, delta, init])[0];
                self.push(old);
            }
            O::TableFill { table } => {
                let (dst, value, len) = self.pop3();
                let table = builder.ins().iconst(types::I32, i64::from(table));
                self.call_builtin(builder, Builtin::TableFill, &[table, dst, value, len]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let (dst, src, len) = self.pop3();
                let dst_table = builder.ins().iconst(types::I32, i64::from(dst_table));
                let src_table = builder.ins().iconst(types::I32, i64::from(src_table));
                self.call_builtin(
                    builder,
                    Builtin::TableCopy,
                    &[dst_table, src_table, dst, src, len],
                );
            }
            O::TableInit { elem_index, table } => {
                let (dst, src, len) = self.pop3();
                let table = builder.ins().iconst(types::I32, i64::from(table));
                let elem = builder.ins().iconst(types::I32, i64::from(elem_index));
                self.call_builtin(builder, Builtin::TableInit, &[table, elem, dst, src, len]);
            }
            O::ElemDrop { elem_index } => {
                let elem = builder.ins().iconst(types::I32, i64::from(elem_index));
                self.call_builtin(builder, Builtin::ElemDrop, &[elem]);
            }

            O::RefNull { .. } => {
                let null = builder.ins().iconst(types::I64, 0);
                self.push(null);
            }
            O::RefIsNull => {
                let value = self.pop();
                let is_null = builder.ins().icmp_imm_u(IntCC::Equal, value, 0);
                let is_null = Self::bool_to_i32(builder, is_null);
                self.push(is_null);
            }
            O::RefFunc { function_index } => {
                let offset = self.offsets.func_ref(function_index);
                let value = builder.ins().iadd_imm_u(self.vmctx, i64::from(offset));
                self.push(value);
            }

            O::I32Const { value } => {
                let value = builder.ins().iconst(types::I32, i64::from(value));
                self.push(value);
            }
            O::I64Const { value } => {
                let value = builder.ins().iconst(types::I64, value);
                self.push(value);
            }
            O::F32Const { value } => {
                let value = builder.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(value);
            }
            O::F64Const { value } => {
                let value = builder.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(value);
            }

            O::I32Eqz | O::I64Eqz => {
                let value = self.pop();
                let result = builder.ins().icmp_imm_u(IntCC::Equal, value, 0);
                let result = Self::bool_to_i32(builder, result);
                self.push(result);
            }
            O::I32Eq | O::I64Eq => self.icmp(builder, IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(builder, IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(builder, IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(builder, IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(builder, IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(builder, IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(builder, IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(builder, IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(builder, IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(builder, IntCC::UnsignedGreaterThanOrEqual),
            O::F32Eq | O::F64Eq => self.fcmp(builder, FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(builder, FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(builder, FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(builder, FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(builder, FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(builder, FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => self.unary(builder, |b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unary(builder, |b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unary(builder, |b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.binary(builder, |b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binary(builder, |b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binary(builder, |b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binary(builder, |b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.binary(builder, |b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.binary(builder, |b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.binary(builder, |b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.binary(builder, |b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binary(builder, |b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binary(builder, |b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.binary(builder, |b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binary(builder, |b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binary(builder, |b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binary(builder, |b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binary(builder, |b, x, y| b.ins().rotr(x, y)),

            O::F32Abs | O::F64Abs => self.unary(builder, |b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.unary(builder, |b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.unary(builder, |b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unary(builder, |b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unary(builder, |b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unary(builder, |b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.unary(builder, |b, x| b.ins().sqrt(x)),
            O::F32Add | O::F64Add => self.binary(builder, |b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binary(builder, |b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binary(builder, |b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binary(builder, |b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binary(builder, |b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binary(builder, |b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => {
                self.binary(builder, |b, x, y| b.ins().fcopysign(x, y))
            }

            O::I32WrapI64 => self.unary(builder, |b, x| b.ins().ireduce(types::I32, x)),
            O::I64ExtendI32S => self.unary(builder, |b, x| b.ins().sextend(types::I64, x)),
            O::I64ExtendI32U => self.unary(builder, |b, x| b.ins().uextend(types::I64, x)),
            O::I32TruncF32S | O::I32TruncF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint(types::I32, x))
            }
            O::I32TruncF32U | O::I32TruncF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint(types::I32, x))
            }
            O::I64TruncF32S | O::I64TruncF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint(types::I64, x))
            }
            O::I64TruncF32U | O::I64TruncF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint(types::I64, x))
            }
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint_sat(types::I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint_sat(types::I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unary(builder, |b, x| b.ins().fcvt_to_sint_sat(types::I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unary(builder, |b, x| b.ins().fcvt_to_uint_sat(types::I64, x))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unary(builder, |b, x| b.ins().fcvt_from_sint(types::F32, x))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unary(builder, |b, x| b.ins().fcvt_from_uint(types::F32, x))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unary(builder, |b, x| b.ins().fcvt_from_sint(types::F64, x))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unary(builder, |b, x| b.ins().fcvt_from_uint(types::F64, x))
            }
            O::F32DemoteF64 => self.unary(builder, |b, x| b.ins().fdemote(types::F32, x)),
            O::F64PromoteF32 => self.unary(builder, |b, x| b.ins().fpromote(types::F64, x)),
            O::I32ReinterpretF32 => self.bitcast(builder, types::I32),
            O::I64ReinterpretF64 => self.bitcast(builder, types::I64),
            O::F32ReinterpretI32 => self.bitcast(builder, types::F32),
            O::F64ReinterpretI64 => self.bitcast(builder, types::F64),
            O::I32Extend8S => self.sign_extend(builder, types::I8, types::I32),
            O::I32Extend16S => self.sign_extend(builder, types::I16, types::I32),
            O::I64Extend8S => self.sign_extend(builder, types::I8, types::I64),
            O::I64Extend16S => self.sign_extend(builder, types::I16, types::I64),
            O::I64Extend32S => self.sign_extend(builder, types::I32, types::I64),

            ref other if self.translate_simd(builder, other)? => {}
            ref other => {
                return Err(CompileError::Unsupported {
                    feature: "operator".into(),
                    offset,
                    message: format!("operator {other:?} is not supported"),
                });
            }
        }
        Ok(())
    }

    /// Tracks control nesting in unreachable code.
    fn translate_unreachable(&mut self, builder: &mut FunctionBuilder<'_>, op: &Operator<'_>) {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.control.push(Frame {
                    kind: FrameKind::Dead,
                    next: ir::Block::reserved_value(),
                    num_params: 0,
                    num_results: 0,
                    stack_height: self.stack.len(),
                    branched_to_next: false,
                });
            }
            Operator::Else => self.translate_else(builder),
            Operator::End => self.translate_end(builder),
            _ => {}
        }
    }

    fn translate_else(&mut self, builder: &mut FunctionBuilder<'_>) {
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

    fn translate_end(&mut self, builder: &mut FunctionBuilder<'_>) {
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

    fn frame_mut(&mut self, depth: u32) -> &mut Frame {
        let index = self.control.len() - 1 - depth as usize;
        &mut self.control[index]
    }

    fn branch_target_marking(&mut self, depth: u32) -> ir::Block {
        let frame = self.frame_mut(depth);
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.branched_to_next = true;
        }
        frame.branch_target()
    }

    fn branch(&mut self, builder: &mut FunctionBuilder<'_>, depth: u32) {
        let arity = self.frame_mut(depth).branch_arity();
        let target = self.branch_target_marking(depth);
        let args = block_args(self.peek_n(arity));
        builder.ins().jump(target, &args);
    }

    fn icmp(&mut self, builder: &mut FunctionBuilder<'_>, cc: IntCC) {
        let (a, b) = self.pop2();
        let result = builder.ins().icmp(cc, a, b);
        let result = Self::bool_to_i32(builder, result);
        self.push(result);
    }

    fn fcmp(&mut self, builder: &mut FunctionBuilder<'_>, cc: FloatCC) {
        let (a, b) = self.pop2();
        let result = builder.ins().fcmp(cc, a, b);
        let result = Self::bool_to_i32(builder, result);
        self.push(result);
    }

    fn unary(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) {
        let a = self.pop();
        let result = op(builder, a);
        self.push(result);
    }

    fn binary(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (a, b) = self.pop2();
        let result = op(builder, a, b);
        self.push(result);
    }

    fn bitcast(&mut self, builder: &mut FunctionBuilder<'_>, to: Type) {
        self.unary(builder, |b, x| b.ins().bitcast(to, MemFlagsData::new(), x));
    }

    fn sign_extend(&mut self, builder: &mut FunctionBuilder<'_>, from: Type, to: Type) {
        self.unary(builder, |b, x| {
            let narrow = b.ins().ireduce(from, x);
            b.ins().sextend(to, narrow)
        });
    }

    fn global_access(
        &self,
        builder: &mut FunctionBuilder<'_>,
        global_index: u32,
    ) -> (Value, Type, MemFlagsData) {
        let global = &self.info.globals[global_index as usize];
        let pointer = self.load_vmctx_pointer(builder, self.offsets.global(global_index));
        let mut flags = Self::flags_in(builder, region::GLOBALS, "globals");
        if !global.ty.mutable {
            flags = flags.with_readonly().with_can_move();
        }
        (pointer, value_type(global.ty.ty), flags)
    }

    fn wasm_func_ref(&mut self, builder: &mut FunctionBuilder<'_>, func_index: u32) -> FuncRef {
        if let Some(&func_ref) = self.func_refs.get(&func_index) {
            return func_ref;
        }
        let signature = builder.import_signature(wasm_signature(self.info.func_type(func_index)));
        let name = builder
            .func
            .declare_imported_user_function(UserExternalName::new(0, func_index));
        let func_ref = builder.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.func_refs.insert(func_index, func_ref);
        func_ref
    }

    fn wasm_signature_ref(&mut self, builder: &mut FunctionBuilder<'_>, type_index: u32) -> SigRef {
        if let Some(&sig_ref) = self.signatures.get(&type_index) {
            return sig_ref;
        }
        let sig_ref =
            builder.import_signature(wasm_signature(&self.info.types[type_index as usize]));
        self.signatures.insert(type_index, sig_ref);
        sig_ref
    }

    fn pop_call_args(&mut self, ty: &FuncType) -> Vec<Value> {
        let count = ty.params.len();
        self.stack.split_off(self.stack.len() - count)
    }

    fn push_results(&mut self, builder: &FunctionBuilder<'_>, call: ir::Inst) {
        let results = builder.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    fn translate_call(&mut self, builder: &mut FunctionBuilder<'_>, function_index: u32) {
        let ty = self.info.func_type(function_index);
        let mut args = vec![self.vmctx, self.vmctx];
        args.extend(self.pop_call_args(ty));
        let call = if self.info.is_imported_function(function_index) {
            let flags = Self::vmctx_readonly();
            let code = builder.ins().load(
                types::I64,
                flags,
                self.vmctx,
                self.offsets.imported_function_wasm_call(function_index) as i32,
            );
            args[0] = builder.ins().load(
                types::I64,
                flags,
                self.vmctx,
                self.offsets.imported_function_vmctx(function_index) as i32,
            );
            let sig_ref =
                self.wasm_signature_ref(builder, self.info.functions[function_index as usize]);
            builder.ins().call_indirect(sig_ref, code, &args)
        } else {
            let func_ref = self.wasm_func_ref(builder, function_index);
            builder.ins().call(func_ref, &args)
        };
        self.push_results(builder, call);
    }

    fn translate_call_indirect(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        table_index: u32,
    ) {
        let index = self.pop();
        let definition = self.load_vmctx_pointer(builder, self.offsets.table(table_index));
        let table_flags = Self::flags_in(builder, region::TABLES, "tables");
        let size = builder.ins().load(
            types::I64,
            table_flags,
            definition,
            field::TABLE_CURRENT_ELEMENTS,
        );
        let index = builder.ins().uextend(types::I64, index);
        let out_of_bounds = builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, size);
        builder
            .ins()
            .trapnz(out_of_bounds, TrapKind::IndirectCallOutOfBounds.trap_code());
        let base = builder
            .ins()
            .load(types::I64, table_flags, definition, field::TABLE_BASE);
        let byte_offset = builder.ins().ishl_imm_u(index, 3);
        let address = builder.ins().iadd(base, byte_offset);
        let func_ref = builder.ins().load(types::I64, table_flags, address, 0);
        builder
            .ins()
            .trapz(func_ref, TrapKind::IndirectCallToNull.trap_code());

        let readonly = Self::vmctx_readonly();
        let type_ids = self.load_vmctx_pointer(builder, VMOffsets::TYPE_IDS);
        let expected = builder
            .ins()
            .load(types::I32, readonly, type_ids, (type_index * 4) as i32);
        // Function references never change once created.
        let func_ref_flags = MemFlagsData::trusted().with_readonly();
        let actual = builder.ins().load(
            types::I32,
            func_ref_flags,
            func_ref,
            field::FUNC_REF_TYPE_ID,
        );
        let mismatch = builder.ins().icmp(IntCC::NotEqual, expected, actual);
        builder
            .ins()
            .trapnz(mismatch, TrapKind::BadSignature.trap_code());
        let code = builder.ins().load(
            types::I64,
            func_ref_flags,
            func_ref,
            field::FUNC_REF_WASM_CALL,
        );
        let callee_vmctx =
            builder
                .ins()
                .load(types::I64, func_ref_flags, func_ref, field::FUNC_REF_VMCTX);

        let ty = &self.info.types[type_index as usize];
        let mut args = vec![callee_vmctx, self.vmctx];
        args.extend(self.pop_call_args(ty));
        let sig_ref = self.wasm_signature_ref(builder, type_index);
        let call = builder.ins().call_indirect(sig_ref, code, &args);
        self.push_results(builder, call);
    }

    /// Address of element `index` of `table`, trapping when out of bounds.
    fn table_element_address(
        &self,
        builder: &mut FunctionBuilder<'_>,
        table: u32,
        index: Value,
    ) -> Value {
        let definition = self.load_vmctx_pointer(builder, self.offsets.table(table));
        let flags = Self::flags_in(builder, region::TABLES, "tables");
        let size = builder
            .ins()
            .load(types::I64, flags, definition, field::TABLE_CURRENT_ELEMENTS);
        let index = builder.ins().uextend(types::I64, index);
        let out_of_bounds = builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, size);
        builder
            .ins()
            .trapnz(out_of_bounds, TrapKind::TableOutOfBounds.trap_code());
        let base = builder
            .ins()
            .load(types::I64, flags, definition, field::TABLE_BASE);
        let byte_offset = builder.ins().ishl_imm_u(index, 3);
        builder.ins().iadd(base, byte_offset)
    }

    /// Records the exit frame and calls `builtin` with `vmctx` prepended.
    fn call_builtin(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        args: &[Value],
    ) -> Vec<Value> {
        let limits = self.load_vmctx_pointer(builder, VMOffsets::RUNTIME_LIMITS);
        let limits_flags = Self::flags_in(builder, region::RUNTIME_LIMITS, "runtime limits");
        let frame_pointer = builder.ins().get_frame_pointer(types::I64);
        builder
            .ins()
            .store(limits_flags, frame_pointer, limits, field::LIMITS_EXIT_FP);
        let own = self.wasm_func_ref(builder, self.func_index);
        let own_address = builder.ins().func_addr(types::I64, own);
        builder
            .ins()
            .store(limits_flags, own_address, limits, field::LIMITS_EXIT_PC);

        let builtins = self.load_vmctx_pointer(builder, VMOffsets::BUILTINS);
        let code = builder.ins().load(
            types::I64,
            Self::vmctx_readonly(),
            builtins,
            (builtin.index() * 8) as i32,
        );
        let sig_ref = match self.builtin_signatures.get(&builtin) {
            Some(&sig_ref) => sig_ref,
            None => {
                let sig_ref = builder.import_signature(builtin.signature());
                self.builtin_signatures.insert(builtin, sig_ref);
                sig_ref
            }
        };
        let mut call_args = vec![self.vmctx];
        call_args.extend_from_slice(args);
        let call = builder.ins().call_indirect(sig_ref, code, &call_args);
        builder.inst_results(call).to_vec()
    }

    fn heap_flags(builder: &mut FunctionBuilder<'_>, mem: u32) -> MemFlagsData {
        let region = Self::region(builder, region::HEAP_BASE + mem, "linear memory");
        MemFlagsData::new()
            .with_alias_region(Some(region))
            .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
    }

    fn memory_bound(&self, builder: &mut FunctionBuilder<'_>, mem: u32) -> Value {
        let flags = Self::flags_in(builder, region::MEMORY_VIEWS, "memory views");
        builder.ins().load(
            types::I64,
            flags,
            self.vmctx,
            self.offsets.memory_bound(mem) as i32,
        )
    }

    /// Computes the native address of a `size`-byte access at `index` +
    /// `memarg.offset`, with the bounds check the memory style needs.
    fn memory_address(
        &self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        size: u32,
        index: Value,
    ) -> Value {
        let mem = memory_index(memarg);
        let end = memarg.offset + u64::from(size);
        let (base_is_fixed, check_needed, guard_bytes) = match self.tunables.memory_style {
            MemoryStyle::Static {
                reservation_bytes,
                guard_bytes,
            } => (
                true,
                !(reservation_bytes >= 1 << 32 && end <= guard_bytes),
                guard_bytes,
            ),
            MemoryStyle::Dynamic { guard_bytes } => (false, true, guard_bytes),
        };
        let index = builder.ins().uextend(types::I64, index);
        if check_needed {
            let bound = self.memory_bound(builder, mem);
            // Everything from the bound on is inaccessible (room to grow,
            // then the guard), so when the access ends within the guard,
            // `index <= bound` is enough: any byte past the bound faults and
            // the fault is the trap. The comparison then does not depend on
            // the offset, and accesses at one index share it.
            let checked = if end <= guard_bytes {
                index
            } else {
                // `index < 2^32` and `end <= 2^32 + 8`, so the sum cannot wrap.
                builder.ins().iadd_imm_u(index, end as i64)
            };
            let out_of_bounds = builder
                .ins()
                .icmp(IntCC::UnsignedGreaterThan, checked, bound);
            builder
                .ins()
                .trapnz(out_of_bounds, TrapCode::HEAP_OUT_OF_BOUNDS);
        }
        let base_flags = if base_is_fixed {
            Self::vmctx_readonly()
        } else {
            Self::flags_in(builder, region::MEMORY_VIEWS, "memory views")
        };
        let base = builder.ins().load(
            types::I64,
            base_flags,
            self.vmctx,
            self.offsets.memory_base(mem) as i32,
        );
        let address = builder.ins().iadd(base, index);
        if memarg.offset == 0 {
            address
        } else {
            builder.ins().iadd_imm_u(address, memarg.offset as i64)
        }
    }

    fn load(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        size: u32,
        extend: Extend,
    ) {
        let index = self.pop();
        let address = self.memory_address(builder, memarg, size, index);
        let flags = Self::heap_flags(builder, memory_index(memarg));
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

    fn store(&mut self, builder: &mut FunctionBuilder<'_>, memarg: &MemArg, size: u32) {
        let (index, value) = self.pop2();
        let address = self.memory_address(builder, memarg, size, index);
        let flags = Self::heap_flags(builder, memory_index(memarg));
        let value_size = builder.func.dfg.value_type(value).bytes();
        if size == value_size {
            builder.ins().store(flags, value, address, 0);
        } else {
            match size {
                1 => builder.ins().istore8(flags, value, address, 0),
                2 => builder.ins().istore16(flags, value, address, 0),
                _ => builder.ins().istore32(flags, value, address, 0),
            };
        }
    }
}

/// The memory a load or store accesses. GC array accesses never get here:
/// the GC feature is disabled, so validation rejects them.
fn memory_index(memarg: &MemArg) -> u32 {
    match memarg.target {
        MemArgTarget::Memory(index) => index,
        MemArgTarget::Array(_) => 0,
    }
}

/// How a narrow load widens its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extend {
    None,
    Signed,
    Unsigned,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_info::ParsedModule;
    use cranelift_codegen::ir::Opcode;

    const STATIC: MemoryStyle = MemoryStyle::Static {
        reservation_bytes: 1 << 32,
        guard_bytes: 1 << 32,
    };
    const DYNAMIC: MemoryStyle = MemoryStyle::Dynamic { guard_bytes: 0 };

    /// Translates every defined function of `wat` and verifies the IR.
    fn translate(wat: &str, style: MemoryStyle) -> Vec<ir::Function> {
        let wasm = wat::parse_str(wat).expect("valid wat");
        let parsed = ParsedModule::parse(&wasm, crate::supported_features()).expect("valid module");
        let offsets = VMOffsets::new(&parsed.info);
        let tunables = Tunables {
            memory_style: style,
            verify_ir: true,
        };
        let compiler = crate::Compiler::new(tunables.clone()).expect("host ISA");
        let frontend = compiler.isa.frontend_config();
        let mut context = FunctionBuilderContext::new();
        parsed
            .bodies
            .into_iter()
            .enumerate()
            .map(|(index, body)| {
                let func_index = parsed.info.num_imported_functions + index as u32;
                let translator =
                    FuncTranslator::new(&parsed.info, &offsets, &tunables, func_index, frontend);
                let validator = body.validator.into_validator(Default::default());
                let func = translator
                    .translate(&mut context, validator, &body.body)
                    .expect("translates");
                cranelift_codegen::verify_function(&func, &*compiler.isa).expect("verifies");
                func
            })
            .collect()
    }

    fn count(func: &ir::Function, opcode: Opcode) -> usize {
        func.layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .filter(|&inst| func.dfg.insts[inst].opcode() == opcode)
            .count()
    }

    const LOAD: &str = r#"(module (memory 1)
        (func (param i32) (result i32) (i32.load offset=8 (local.get 0))))"#;

    #[test]
    fn static_memory_access_has_no_explicit_check() {
        let funcs = translate(LOAD, STATIC);
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 0);
        assert_eq!(count(&funcs[0], Opcode::Load), 2, "base and value");
    }

    #[test]
    fn dynamic_memory_access_checks_the_bound() {
        let funcs = translate(LOAD, DYNAMIC);
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
        assert_eq!(count(&funcs[0], Opcode::Load), 3, "bound, base and value");
    }

    #[test]
    fn a_guard_lets_accesses_at_one_index_share_their_check() {
        const TWO_LOADS: &str = r#"(module (memory 1)
            (func (param i32) (result i32)
                (i32.add (i32.load offset=8 (local.get 0)) (i32.load offset=40 (local.get 0)))))"#;
        let adds = |guard_bytes| {
            let funcs = translate(TWO_LOADS, MemoryStyle::Dynamic { guard_bytes });
            assert_eq!(count(&funcs[0], Opcode::Trapnz), 2);
            count(&funcs[0], Opcode::Iadd)
        };
        // Accesses that end within the guard compare the index itself with
        // the bound (one value for both); the others compute their end first.
        let both_in_guard = adds(64);
        assert_eq!(
            adds(16),
            both_in_guard + 1,
            "offset 40 ends past a 16-byte guard"
        );
        assert_eq!(adds(0), both_in_guard + 2, "no guard: both ends computed");
    }

    #[test]
    fn code_after_a_branch_is_not_translated() {
        let funcs = translate(
            r#"(module (func (result i32)
                (block (result i32) (br 0 (i32.const 1)) (i32.const 2) (i32.const 3) (i32.add))))"#,
            STATIC,
        );
        assert_eq!(count(&funcs[0], Opcode::Iadd), 0);
        assert_eq!(count(&funcs[0], Opcode::Iconst), 1);
    }

    #[test]
    fn unreachable_blocks_nest_and_end_correctly() {
        let funcs = translate(
            r#"(module (func (param i32) (result i32)
                (block (result i32)
                    (return (i32.const 7))
                    (block (loop (if (local.get 0) (then (br 2)) (else (unreachable)))))
                    (i32.const 1))
                (i32.const 2)
                (i32.add)))"#,
            STATIC,
        );
        assert_eq!(count(&funcs[0], Opcode::Return), 1);
        assert_eq!(count(&funcs[0], Opcode::Iadd), 0);
    }

    #[test]
    fn if_without_else_passes_its_parameters_through() {
        let funcs = translate(
            r#"(module (type $t (func (param i32) (result i32)))
                (func (param i32) (result i32)
                    (local.get 0)
                    (if (type $t) (local.get 0) (then (i32.const 1) (i32.add)))))"#,
            STATIC,
        );
        assert_eq!(count(&funcs[0], Opcode::Brif), 1);
        assert_eq!(count(&funcs[0], Opcode::Iadd), 1);
    }

    #[test]
    fn builtin_calls_record_the_exit_frame() {
        let funcs = translate(
            r#"(module (memory 1) (func (result i32) (memory.grow (i32.const 1))))"#,
            DYNAMIC,
        );
        assert_eq!(count(&funcs[0], Opcode::GetFramePointer), 1);
        assert_eq!(count(&funcs[0], Opcode::FuncAddr), 1);
        assert_eq!(count(&funcs[0], Opcode::Store), 2);
        assert_eq!(count(&funcs[0], Opcode::CallIndirect), 1);
    }

    #[test]
    fn call_indirect_checks_bounds_null_and_signature() {
        let funcs = translate(
            r#"(module (type $t (func)) (table 1 funcref)
                (func (param i32) (call_indirect (type $t) (local.get 0))))"#,
            STATIC,
        );
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 2);
        assert_eq!(count(&funcs[0], Opcode::Trapz), 1);
        assert_eq!(count(&funcs[0], Opcode::CallIndirect), 1);
    }

    #[test]
    fn every_function_sets_the_stack_limit() {
        let funcs = translate(r#"(module (func) (func (call 0)))"#, STATIC);
        assert!(funcs.iter().all(|func| func.stack_limit.is_some()));
    }
}
