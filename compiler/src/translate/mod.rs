//! Wasm function bodies to Cranelift IR: the translator.
//!
//! A single pass over the operators keeps an operand stack of SSA values, a
//! stack of control frames, the locals and whether the current code is
//! reachable. Code after an unconditional branch is unreachable: it is still
//! validated but not translated, and only the nesting of its control frames
//! is tracked until a reachable `else` or `end` restores translation.
//!
//! Each operator family is translated in its own file (`control`, `locals`,
//! `memory`, `table`, `call`, `reference`, `function_references`,
//! `tail_call`, `casts`, `gc`, `descriptors`, `numeric`, `wide_arithmetic`, `conversion`,
//! `simd`, `relaxed_simd`, `exceptions`, `legacy_exceptions`);
//! [`Translator::translate_operator`] offers an operator to each family in
//! turn. A new family is a new file and one line there. Everything about
//! the vmctx layout and the module's entities lives in the function
//! environment ([`FuncEnvironment`]); checked addresses come from
//! [`crate::bounds_checks`].

use crate::Tunables;
use crate::bounds_checks::Heap;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::module_info::ModuleInfo;
use crate::signature::{value_type, wasm_signature};
use crate::trap::TrapKind;
use crate::types::ValType;
use crate::vmctx::VMOffsets;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, UserFuncName, Value, types};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::packed_option::ReservedValue;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{FuncValidator, FunctionBody, Operator, ValidatorResources};

mod atomics;
mod call;
mod casts;
mod control;
mod conversion;
mod descriptors;
mod epoch;
mod exceptions;
mod fuel;
mod function_references;
mod gc;
mod legacy_exceptions;
mod locals;
mod memory;
mod numeric;
mod reference;
mod relaxed_simd;
mod simd;
mod stack_maps;
mod table;
mod tail_call;
mod wide_arithmetic;

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
    /// `try_table`: its catch clauses are a handler scope while its body
    /// is translated (exceptions.rs).
    TryTable,
    /// Legacy `try`; its state is the innermost entry of
    /// `Translator::legacy_tries` (legacy_exceptions.rs).
    LegacyTry,
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
    heaps: &'m [Heap],
    func_index: u32,
    isa: &'m dyn TargetIsa,
}

impl<'m> FuncTranslator<'m> {
    /// A translator for function `func_index` of `info`, whose memories
    /// have the descriptors `heaps` (see [`Heap::for_module`]), generating
    /// code for `isa` (whose CPU features pick some lowerings).
    pub fn new(
        info: &'m ModuleInfo,
        offsets: &'m VMOffsets,
        tunables: &'m Tunables,
        heaps: &'m [Heap],
        func_index: u32,
        isa: &'m dyn TargetIsa,
    ) -> Self {
        Self {
            info,
            offsets,
            tunables,
            heaps,
            func_index,
            isa,
        }
    }

    /// Validates and translates `body`.
    pub fn translate(
        self,
        builder_context: &mut FunctionBuilderContext,
        mut validator: FuncValidator<ValidatorResources>,
        body: &FunctionBody<'_>,
    ) -> Result<ir::Function, CompileError> {
        let ty = self
            .info
            .func_type(self.func_index)
            .ok_or_else(|| CompileError::Invalid {
                offset: 0,
                message: format!("function {} has no function type", self.func_index),
            })?;
        let signature = wasm_signature(ty);
        let mut func =
            ir::Function::with_name_signature(UserFuncName::user(0, self.func_index), signature);
        let mut builder = FunctionBuilder::new(&mut func, builder_context);
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        let vmctx = builder.block_params(entry)[0];

        let mut state = Translator {
            env: FuncEnvironment::new(
                self.info,
                self.offsets,
                self.tunables,
                self.heaps,
                self.func_index,
                ty,
                vmctx,
            ),
            locals: Vec::new(),
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            fuel: None,
            epoch_checks: false,
            isa: self.isa,
            handler_scopes: Vec::new(),
            legacy_tries: Vec::new(),
            classified: Vec::new(),
        };
        state.env.set_stack_limit(&mut builder);

        for (index, &param) in ty.params().iter().enumerate() {
            let var = builder.declare_var(value_type(param));
            state.declare_local_stack_map(&mut builder, var, param);
            let value = builder.block_params(entry)[index + 2];
            builder.def_var(var, value);
            state.locals.push(var);
        }
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, val_type) = locals.read()?;
            validator.define_locals(offset, count, val_type)?;
            let ty = ValType::from_wasmparser(val_type, offset as usize)?;
            for _ in 0..count {
                let var = builder.declare_var(value_type(ty));
                state.declare_local_stack_map(&mut builder, var, ty);
                let zero = state.zero(&mut builder, ty);
                builder.def_var(var, zero);
                state.locals.push(var);
            }
        }

        state.instrument_function_entry(&mut builder);

        let exit = builder.create_block();
        for &result in ty.results() {
            builder.append_block_param(exit, value_type(result));
        }
        state.control.push(Frame {
            kind: FrameKind::Block,
            next: exit,
            num_params: 0,
            num_results: ty.results().len(),
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
            if state.reachable && !state.control.is_empty() {
                if validator.operand_stack_height() as usize != state.stack.len() {
                    return Err(CompileError::Invalid {
                        offset: offset as usize,
                        message: "the translator's operand stack is out of step with validation"
                            .into(),
                    });
                }
                state.declare_operand_stack_maps(&mut builder, &validator);
            }
        }
        reader.finish()?;

        builder.seal_all_blocks();
        builder.finalize(self.isa.frontend_config());
        Ok(func)
    }
}

/// Translation state of one function: the operand and control stacks, the
/// locals, reachability, and the function's environment.
struct Translator<'m> {
    env: FuncEnvironment<'m>,
    locals: Vec<Variable>,
    stack: Vec<Value>,
    control: Vec<Frame>,
    reachable: bool,
    /// The fuel count, when the function consumes fuel (fuel.rs).
    fuel: Option<fuel::Fuel>,
    /// Whether the function checks the epoch deadline (epoch.rs).
    epoch_checks: bool,
    /// The target, for lowerings that depend on its CPU features.
    isa: &'m dyn TargetIsa,
    /// Exception handlers in scope, outermost first: calls made while any
    /// is in scope become `try_call`s (exceptions.rs).
    handler_scopes: Vec<exceptions::HandlerScope>,
    /// The legacy `try` frames open, outermost first (legacy_exceptions.rs).
    legacy_tries: Vec<legacy_exceptions::LegacyTry>,
    /// The operand stack as last classified for stack maps (stack_maps.rs).
    classified: Vec<Value>,
}

impl Translator<'_> {
    fn zero(&self, builder: &mut FunctionBuilder<'_>, ty: ValType) -> Value {
        match ty {
            ValType::I32 => builder.ins().iconst(types::I32, 0),
            // A null reference is the null pointer.
            ValType::I64 | ValType::Ref(_) => builder.ins().iconst(types::I64, 0),
            ValType::F32 => builder.ins().f32const(Ieee32::with_bits(0)),
            ValType::F64 => builder.ins().f64const(Ieee64::with_bits(0)),
            ValType::V128 => Self::zero_vector(builder, types::I8X16),
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

    /// Runs the entry checks of fuel and epochs, for what the function is
    /// instrumented for.
    fn instrument_function_entry(&mut self, builder: &mut FunctionBuilder<'_>) {
        self.fuel_function_entry(builder);
        self.epoch_function_entry(builder);
    }

    fn trap(&mut self, builder: &mut FunctionBuilder<'_>, kind: TrapKind) {
        builder.ins().trap(kind.trap_code());
        self.reachable = false;
    }

    fn bool_to_i32(builder: &mut FunctionBuilder<'_>, value: Value) -> Value {
        builder.ins().uextend(types::I32, value)
    }

    /// Translates one operator, handing it to its family.
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
        self.fuel_before_operator(builder, op);
        // Most frequent families first: each is one `match`.
        let translated = self.translate_locals(builder, op)?
            || self.translate_numeric(builder, op)?
            || self.translate_wide_arithmetic(builder, op)?
            || self.translate_memory(builder, op)?
            || self.translate_atomics(builder, op)?
            || self.translate_control(builder, op, offset)?
            || self.translate_call(builder, op)?
            || self.translate_conversion(builder, op)?
            || self.translate_table(builder, op)?
            || self.translate_reference(builder, op)?
            || self.translate_function_references(builder, op)?
            || self.translate_tail_call(builder, op)?
            || self.translate_exceptions(builder, op, offset)?
            || self.translate_legacy_exceptions(builder, op, offset)?
            || self.translate_casts(builder, op, offset)?
            || self.translate_gc(builder, op)?
            || self.translate_descriptors(builder, op, offset)?
            || self.translate_simd(builder, op)?
            || self.translate_relaxed_simd(builder, op)?;
        if translated {
            self.fuel_after_operator(builder, op);
            self.epoch_after_operator(builder, op);
            Ok(())
        } else {
            Err(CompileError::Unsupported {
                feature: operator_proposal(op).replace('_', "-"),
                offset,
                message: format!("operator {op:?} is not supported"),
            })
        }
    }

    /// Tracks control nesting in unreachable code.
    fn translate_unreachable(&mut self, builder: &mut FunctionBuilder<'_>, op: &Operator<'_>) {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => {
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
            Operator::Catch { tag_index } => self.translate_legacy_catch(builder, Some(*tag_index)),
            Operator::CatchAll => self.translate_legacy_catch(builder, None),
            Operator::Delegate { relative_depth } => {
                self.translate_delegate(builder, *relative_depth)
            }
            _ => {}
        }
    }
}

/// The proposal `op` comes from, as wasmparser names it (`gc`,
/// `exceptions`, `threads`, ...): what an unsupported operator's error
/// names as the missing feature.
fn operator_proposal(op: &Operator<'_>) -> &'static str {
    macro_rules! proposal_of {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $( Operator::$op { .. } => stringify!($proposal), )*
                _ => "unknown",
            }
        };
    }
    wasmparser::for_each_operator!(proposal_of)
}

/// Helpers for the IR-inspection tests of the compiler's modules.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::MemoryStyle;
    use crate::module_info::ParsedModule;
    use cranelift_codegen::ir::Opcode;

    /// Tunables with a forced `style`, a `guard` override and Spectre
    /// mitigations on or off; the IR verifier always runs.
    pub fn tunables(style: MemoryStyle, guard: Option<u64>, spectre_mitigations: bool) -> Tunables {
        Tunables {
            memory_style: Some(style),
            memory_guard_size: guard,
            spectre_mitigations,
            verify_ir: true,
            ..Tunables::default()
        }
    }

    /// Translates every defined function of `wat` (SIMD allowed) for the
    /// host and verifies the IR.
    pub fn translate(wat: &str, tunables: &Tunables) -> Vec<ir::Function> {
        let compiler = crate::Compiler::new(tunables.clone()).expect("host ISA");
        translate_for(wat, tunables, &*compiler.isa)
    }

    /// Translates every defined function of `wat` (SIMD and custom
    /// descriptors allowed) for `isa` and verifies the IR.
    pub fn translate_for(wat: &str, tunables: &Tunables, isa: &dyn TargetIsa) -> Vec<ir::Function> {
        let wasm = wat::parse_str(wat).expect("valid wat");
        let features = crate::supported_features()
            | wasmparser::WasmFeatures::SIMD
            | wasmparser::WasmFeatures::CUSTOM_DESCRIPTORS;
        let parsed = ParsedModule::parse(&wasm, features).expect("valid module");
        let offsets = VMOffsets::new(&parsed.info);
        let heaps = Heap::for_module(&parsed.info, tunables);
        let mut context = FunctionBuilderContext::new();
        parsed
            .bodies
            .into_iter()
            .enumerate()
            .map(|(index, body)| {
                let func_index = parsed.info.num_imported_functions + index as u32;
                let translator =
                    FuncTranslator::new(&parsed.info, &offsets, tunables, &heaps, func_index, isa);
                let validator = body.validator.into_validator(Default::default());
                let func = translator
                    .translate(&mut context, validator, &body.body)
                    .expect("translates");
                cranelift_codegen::verify_function(&func, isa).expect("verifies");
                func
            })
            .collect()
    }

    /// How many instructions of `func` have `opcode`.
    pub fn count(func: &ir::Function, opcode: Opcode) -> usize {
        func.layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .filter(|&inst| func.dfg.insts[inst].opcode() == opcode)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{count, translate, tunables};
    use crate::MemoryStyle;
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn code_after_a_branch_is_not_translated() {
        let funcs = translate(
            r#"(module (func (result i32)
                (block (result i32) (br 0 (i32.const 1)) (i32.const 2) (i32.const 3) (i32.add))))"#,
            &tunables(MemoryStyle::Static, None, true),
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
            &tunables(MemoryStyle::Static, None, true),
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
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(count(&funcs[0], Opcode::Brif), 1);
        assert_eq!(count(&funcs[0], Opcode::Iadd), 1);
    }

    #[test]
    fn every_function_sets_the_stack_limit() {
        let funcs = translate(
            r#"(module (func) (func (call 0)))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert!(funcs.iter().all(|func| func.stack_limit.is_some()));
    }
}
