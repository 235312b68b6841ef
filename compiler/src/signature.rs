//! Cranelift signatures of Wasm functions (ABI.md "Calling conventions").

use crate::module_info::{FuncType, WasmType};
use cranelift_codegen::ir::{AbiParam, ArgumentPurpose, Signature, Type, types};
use cranelift_codegen::isa::CallConv;

/// The Cranelift type that holds a value of `ty`.
pub fn value_type(ty: WasmType) -> Type {
    match ty {
        WasmType::I32 => types::I32,
        WasmType::I64 => types::I64,
        WasmType::F32 => types::F32,
        WasmType::F64 => types::F64,
        WasmType::V128 => types::I8X16,
        WasmType::FuncRef | WasmType::ExternRef => types::I64,
    }
}

/// `(callee_vmctx, caller_vmctx, params...) -> results...` in the Tail convention.
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut signature = Signature::new(CallConv::Tail);
    signature
        .params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    signature.params.push(AbiParam::new(types::I64));
    signature.params.extend(
        ty.params
            .iter()
            .map(|&param| AbiParam::new(value_type(param))),
    );
    signature.returns.extend(
        ty.results
            .iter()
            .map(|&result| AbiParam::new(value_type(result))),
    );
    signature
}
