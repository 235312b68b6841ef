//! Cranelift signatures of Wasm functions (ABI.md "Calling conventions").

use crate::types::{FuncType, ValType};
use cranelift_codegen::ir::{AbiParam, ArgumentPurpose, Signature, Type, types};
use cranelift_codegen::isa::CallConv;

/// The Cranelift type that holds a value of `ty`.
/// References of every type are pointers (ABI.md).
pub fn value_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
        ValType::Ref(_) => types::I64,
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
        ty.params()
            .iter()
            .map(|&param| AbiParam::new(value_type(param))),
    );
    signature.returns.extend(
        ty.results()
            .iter()
            .map(|&result| AbiParam::new(value_type(result))),
    );
    signature
}
