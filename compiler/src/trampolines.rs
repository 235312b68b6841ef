//! Entry trampolines (host -> Wasm) and host trampolines (Wasm -> host).

use crate::builtins::Builtin;
use crate::signature::{value_type, wasm_signature};
use crate::types::FuncType;
use crate::vmctx::{VMOffsets, field};
use cranelift_codegen::ir::{
    self, AbiParam, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
    UserFuncName, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

/// Flags for accesses to the `ValRaw` array: in bounds and aligned.
fn values_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Builds the System V entry trampoline for `ty`:
/// `(callee_vmctx, caller_vmctx, callee, values)`.
pub(crate) fn build_entry_trampoline(
    ty: &FuncType,
    frontend: TargetFrontendConfig,
) -> ir::Function {
    let mut signature = Signature::new(CallConv::SystemV);
    signature
        .params
        .extend([AbiParam::new(types::I64); 4].iter().copied());
    let mut func = ir::Function::with_name_signature(UserFuncName::default(), signature);
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let params = builder.block_params(block).to_vec();
    let (callee_vmctx, caller_vmctx, callee, values) = (params[0], params[1], params[2], params[3]);

    let mut args = vec![callee_vmctx, caller_vmctx];
    for (index, &param) in ty.params().iter().enumerate() {
        let offset = index as i32 * field::VAL_RAW_SIZE;
        args.push(
            builder
                .ins()
                .load(value_type(param), values_flags(), values, offset),
        );
    }
    let sig_ref = builder.import_signature(wasm_signature(ty));
    let call = builder.ins().call_indirect(sig_ref, callee, &args);
    let results = builder.inst_results(call).to_vec();
    for (index, result) in results.into_iter().enumerate() {
        let offset = index as i32 * field::VAL_RAW_SIZE;
        builder.ins().store(values_flags(), result, values, offset);
    }
    builder.ins().return_(&[]);
    builder.finalize(frontend);
    func
}

/// Builds the Tail-convention host trampoline for `ty`. Its vmctx is a
/// `VMHostFuncContext`; it calls `array_call` with the arguments spilled
/// into a stack array.
pub(crate) fn build_host_trampoline(ty: &FuncType, frontend: TargetFrontendConfig) -> ir::Function {
    let mut func = ir::Function::with_name_signature(UserFuncName::default(), wasm_signature(ty));
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let params = builder.block_params(block).to_vec();
    let (host_ctx, caller_vmctx) = (params[0], params[1]);

    let slots = ty.value_slots().max(1);
    let slot = builder.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        (slots * field::VAL_RAW_SIZE as usize) as u32,
        4,
    ));
    let values = builder.ins().stack_addr(types::I64, slot, 0);
    for (index, &param) in params[2..].iter().enumerate() {
        let offset = index as i32 * field::VAL_RAW_SIZE;
        builder.ins().store(values_flags(), param, values, offset);
    }

    record_caller_as_exit_frame(&mut builder, caller_vmctx);
    let vmctx_flags = MemFlagsData::trusted().with_readonly();

    let mut array_call_signature = Signature::new(CallConv::SystemV);
    array_call_signature
        .params
        .extend([AbiParam::new(types::I64); 4].iter().copied());
    let array_call_sig = builder.import_signature(array_call_signature);
    let array_call = builder
        .ins()
        .load(types::I64, vmctx_flags, host_ctx, field::HOST_ARRAY_CALL);
    let len = builder.ins().iconst(types::I64, ty.value_slots() as i64);
    builder.ins().call_indirect(
        array_call_sig,
        array_call,
        &[host_ctx, caller_vmctx, values, len],
    );
    let results: Vec<_> = ty
        .results()
        .iter()
        .enumerate()
        .map(|(index, &result)| {
            let offset = index as i32 * field::VAL_RAW_SIZE;
            builder
                .ins()
                .load(value_type(result), values_flags(), values, offset)
        })
        .collect();
    builder.ins().return_(&results);
    builder.finalize(frontend);
    func
}

/// The signature of a `preserve_all` builtin trampoline: `(vmctx)`, no
/// results, and no register clobbered at the call site.
pub(crate) fn preserve_all_signature() -> Signature {
    let mut signature = Signature::new(CallConv::PreserveAll);
    signature.params.push(AbiParam::new(types::I64));
    signature
}

/// Records the calling Wasm function's frame as the store's exit frame: its
/// frame pointer and the return address into it, so a backtrace taken while
/// the trampoline's callee runs starts in Wasm code, at the call.
fn record_caller_as_exit_frame(builder: &mut FunctionBuilder<'_>, caller_vmctx: ir::Value) {
    let vmctx_flags = MemFlagsData::trusted().with_readonly();
    let limits = builder.ins().load(
        types::I64,
        vmctx_flags,
        caller_vmctx,
        VMOffsets::RUNTIME_LIMITS as i32,
    );
    let frame_pointer = builder.ins().get_frame_pointer(types::I64);
    let caller_frame_pointer =
        builder
            .ins()
            .load(types::I64, MemFlagsData::trusted(), frame_pointer, 0);
    let return_address = builder.ins().get_return_address(types::I64);
    builder.ins().store(
        MemFlagsData::trusted(),
        caller_frame_pointer,
        limits,
        field::LIMITS_EXIT_FP,
    );
    builder.ins().store(
        MemFlagsData::trusted(),
        return_address,
        limits,
        field::LIMITS_EXIT_PC,
    );
}

/// Builds a `preserve_all` trampoline to `builtin` (which takes only the
/// vmctx and returns nothing): it saves every register the System V call
/// may clobber, so compiled code can call it from a cold path without
/// spilling the values a hot loop keeps in registers. It records the exit
/// frame itself, so the caller's cold path computes nothing (a frame pointer
/// or function address computed there is hoisted out of the loop and kept
/// live across it).
pub(crate) fn build_preserve_all_trampoline(
    builtin: Builtin,
    frontend: TargetFrontendConfig,
) -> ir::Function {
    let mut func =
        ir::Function::with_name_signature(UserFuncName::default(), preserve_all_signature());
    let mut context = FunctionBuilderContext::new();
    let mut builder = FunctionBuilder::new(&mut func, &mut context);
    let block = builder.create_block();
    builder.append_block_params_for_function_params(block);
    builder.switch_to_block(block);
    builder.seal_block(block);
    let vmctx = builder.block_params(block)[0];
    record_caller_as_exit_frame(&mut builder, vmctx);
    let flags = MemFlagsData::trusted().with_readonly();
    let builtins = builder
        .ins()
        .load(types::I64, flags, vmctx, VMOffsets::BUILTINS as i32);
    let code = builder
        .ins()
        .load(types::I64, flags, builtins, (builtin.index() * 8) as i32);
    let signature = builder.import_signature(builtin.signature());
    builder.ins().call_indirect(signature, code, &[vmctx]);
    builder.ins().return_(&[]);
    builder.finalize(frontend);
    func
}
