//! Calls: `call`, `call_indirect` and `call_ref`, and the callee
//! resolution the tail calls (`tail_call.rs`) share with them.
//!
//! Every call is resolved first into a [`Callee`] and its arguments
//! (checks that may trap come first: table bounds, null, signature), then
//! emitted either as an ordinary call whose results are pushed, or as a
//! tail call that replaces the caller's frame.

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

/// What a resolved call jumps to.
#[derive(Clone, Copy)]
pub(super) enum Callee {
    /// A defined function of this module, called by name.
    Direct(ir::FuncRef),
    /// Code reached through a pointer (imports, tables, references).
    Indirect { signature: ir::SigRef, code: Value },
}

/// A call ready to emit: its target and every argument, the callee's and
/// the caller's vmctx first.
pub(super) struct ResolvedCall {
    pub callee: Callee,
    pub args: Vec<Value>,
}

impl Translator<'_> {
    /// Translates `op` if it is a call; `false` when it is not.
    pub(super) fn translate_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
    ) -> Result<bool, CompileError> {
        use Operator as O;
        let call = match *op {
            O::Call { function_index } => self.resolve_direct_call(builder, function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.resolve_indirect_call(builder, type_index, table_index)?,
            O::CallRef { type_index } => self.resolve_ref_call(builder, type_index)?,
            _ => return Ok(false),
        };
        // A `try_call` when exception handlers are in scope (exceptions.rs).
        let results = self.emit_call(builder, call.callee, &call.args);
        self.stack.extend(results);
        Ok(true)
    }

    fn pop_call_args(&mut self, ty: &FuncType) -> Vec<Value> {
        let count = ty.params().len();
        self.stack.split_off(self.stack.len() - count)
    }

    /// Pops the arguments of a call of type `ty` behind the two vmctx
    /// arguments; the caller's is this function's.
    fn call_args(&mut self, callee_vmctx: Value, ty: &FuncType) -> Vec<Value> {
        let mut args = vec![callee_vmctx, self.env.vmctx()];
        args.extend(self.pop_call_args(ty));
        args
    }

    /// `call`: a defined function by name, or an imported one through the
    /// vmctx.
    pub(super) fn resolve_direct_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        function_index: u32,
    ) -> Result<ResolvedCall, CompileError> {
        let type_index = self.env.function_type_index(function_index)?;
        let ty = self.env.signature_type(type_index)?;
        if self.env.info().is_imported_function(function_index) {
            let (code, callee_vmctx) = self.env.imported_function(builder, function_index);
            let signature = self.env.wasm_signature_ref(builder, type_index)?;
            Ok(ResolvedCall {
                callee: Callee::Indirect { signature, code },
                args: self.call_args(callee_vmctx, ty),
            })
        } else {
            let func_ref = self.env.wasm_func_ref(builder, function_index)?;
            let own_vmctx = self.env.vmctx();
            Ok(ResolvedCall {
                callee: Callee::Direct(func_ref),
                args: self.call_args(own_vmctx, ty),
            })
        }
    }

    /// `call_indirect`: checks the index, the null reference and the
    /// signature, then calls through the function reference.
    pub(super) fn resolve_indirect_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
        table_index: u32,
    ) -> Result<ResolvedCall, CompileError> {
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
        self.check_signature(builder, func_ref, type_index)?;
        self.call_through(builder, func_ref, type_index)
    }

    /// `call_ref`: traps on null, then calls through the reference, whose
    /// type validation already proved.
    pub(super) fn resolve_ref_call(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
    ) -> Result<ResolvedCall, CompileError> {
        let func_ref = self.pop();
        builder
            .ins()
            .trapz(func_ref, TrapKind::CallToNull.trap_code());
        self.call_through(builder, func_ref, type_index)
    }

    /// Traps unless the function behind `func_ref` has a subtype of module
    /// type `type_index`.
    fn check_signature(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        func_ref: Value,
        type_index: u32,
    ) -> Result<(), CompileError> {
        let matches = self.func_ref_has_subtype(builder, func_ref, type_index)?;
        builder
            .ins()
            .trapz(matches, TrapKind::BadSignature.trap_code());
        Ok(())
    }

    /// Whether the function behind the non-null `func_ref` has a subtype of
    /// module type `type_index`, as an `i8` truth value. Equal engine ids
    /// are the fast path; a final type has no other subtypes, so only a
    /// non-final one asks the runtime (a cold call) on a mismatch.
    pub(super) fn func_ref_has_subtype(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        func_ref: Value,
        type_index: u32,
    ) -> Result<Value, CompileError> {
        let actual = builder.ins().load(
            types::I32,
            Self::func_ref_flags(),
            func_ref,
            field::FUNC_REF_TYPE_ID,
        );
        self.type_id_has_subtype(builder, actual, type_index)
    }

    /// Whether the function behind the non-null `func_ref` has exactly
    /// module type `type_index` (an exact cast target), as an `i8` truth
    /// value: engine ids are canonical, so equal types have equal ids.
    pub(super) fn func_ref_has_type(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        func_ref: Value,
        type_index: u32,
    ) -> Value {
        let actual = builder.ins().load(
            types::I32,
            Self::func_ref_flags(),
            func_ref,
            field::FUNC_REF_TYPE_ID,
        );
        let expected = self.env.type_id(builder, type_index);
        builder.ins().icmp(IntCC::Equal, expected, actual)
    }

    /// Function references never change once created.
    fn func_ref_flags() -> MemFlagsData {
        MemFlagsData::trusted().with_readonly()
    }

    /// A call of the non-null `func_ref`, of module type `type_index`.
    fn call_through(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        func_ref: Value,
        type_index: u32,
    ) -> Result<ResolvedCall, CompileError> {
        let flags = Self::func_ref_flags();
        let code = builder
            .ins()
            .load(types::I64, flags, func_ref, field::FUNC_REF_WASM_CALL);
        let callee_vmctx = builder
            .ins()
            .load(types::I64, flags, func_ref, field::FUNC_REF_VMCTX);
        let ty = self.env.signature_type(type_index)?;
        let signature = self.env.wasm_signature_ref(builder, type_index)?;
        Ok(ResolvedCall {
            callee: Callee::Indirect { signature, code },
            args: self.call_args(callee_vmctx, ty),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{count, translate, tunables};
    use crate::MemoryStyle;
    use cranelift_codegen::ir::Opcode;

    fn call_indirect_of(ty: &str) -> usize {
        let wat = format!(
            r#"(module {ty} (table 1 funcref)
                (func (param i32) (call_indirect (type $t) (local.get 0))))"#
        );
        let funcs = translate(&wat, &tunables(MemoryStyle::Static, None, true));
        count(&funcs[0], Opcode::CallIndirect)
    }

    #[test]
    fn a_final_signature_is_checked_by_type_id_alone() {
        assert_eq!(call_indirect_of("(type $t (func))"), 1);
        assert_eq!(call_indirect_of("(type $t (sub final (func)))"), 1);
    }

    #[test]
    fn a_non_final_signature_asks_the_runtime_on_a_mismatch() {
        // The call itself and the cold `is_subtype` builtin call.
        assert_eq!(call_indirect_of("(type $t (sub (func)))"), 2);
    }

    #[test]
    fn call_ref_checks_null_but_not_the_signature() {
        let funcs = translate(
            r#"(module (type $t (func))
                (func (param (ref null $t)) (call_ref $t (local.get 0))))"#,
            &tunables(MemoryStyle::Static, None, true),
        );
        assert_eq!(count(&funcs[0], Opcode::Trapz), 1);
        assert_eq!(count(&funcs[0], Opcode::Icmp), 0);
        assert_eq!(count(&funcs[0], Opcode::CallIndirect), 1);
    }
}
