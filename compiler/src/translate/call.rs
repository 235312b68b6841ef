//! Calls: `call` and `call_indirect`.

use super::Translator;
use crate::bounds_checks;
use crate::error::CompileError;
use crate::func_environ::FuncEnvironment;
use crate::trap::TrapKind;
use crate::types::FuncType;
use crate::vmctx::field;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, types};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

impl Translator<'_> {
    /// Translates `op` if it is a call; `false` when it is not.
    pub(super) fn translate_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        match *op {
            O::Call { function_index } => self.call_direct(builder, function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(builder, type_index, table_index)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn pop_call_args(&mut self, ty: &FuncType) -> Vec<Value> {
        let count = ty.params().len();
        self.stack.split_off(self.stack.len() - count)
    }

    fn push_results(&mut self, builder: &FunctionBuilder<'_>, call: ir::Inst) {
        let results = builder.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    /// `call`: a direct call of a defined function, or an indirect one
    /// through the vmctx of an imported function.
    fn call_direct(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        function_index: u32,
    ) -> Result<(), CompileError> {
        let info = self.env.info();
        let type_index = self.env.function_type_index(function_index)?;
        let ty = self.env.signature_type(type_index)?;
        let vmctx = self.env.vmctx();
        let mut args = vec![vmctx, vmctx];
        args.extend(self.pop_call_args(ty));
        let call = if info.is_imported_function(function_index) {
            let (code, callee_vmctx) = self.env.imported_function(builder, function_index);
            args[0] = callee_vmctx;
            let sig_ref = self.env.wasm_signature_ref(builder, type_index)?;
            builder.ins().call_indirect(sig_ref, code, &args)
        } else {
            let func_ref = self.env.wasm_func_ref(builder, function_index)?;
            builder.ins().call(func_ref, &args)
        };
        self.push_results(builder, call);
        Ok(())
    }

    /// `call_indirect`: checks the index, the null reference and the
    /// signature, then calls through the function reference.
    fn call_indirect(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        table_index: u32,
    ) -> Result<(), CompileError> {
        let index = self.pop();
        let address = bounds_checks::table_element_address(
            &self.env,
            builder,
            table_index,
            index,
            TrapKind::IndirectCallOutOfBounds,
        );
        let table_flags = FuncEnvironment::table_flags(builder);
        let func_ref = builder.ins().load(types::I64, table_flags, address, 0);
        builder
            .ins()
            .trapz(func_ref, TrapKind::IndirectCallToNull.trap_code());

        let expected = self.env.type_id(builder, type_index);
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

        let ty = self.env.signature_type(type_index)?;
        let mut args = vec![callee_vmctx, self.env.vmctx()];
        args.extend(self.pop_call_args(ty));
        let sig_ref = self.env.wasm_signature_ref(builder, type_index)?;
        let call = builder.ins().call_indirect(sig_ref, code, &args);
        self.push_results(builder, call);
        Ok(())
    }
}
