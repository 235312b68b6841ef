//! Wasm function bodies to Cranelift IR.

use crate::Tunables;
use crate::error::CompileError;
use crate::module_info::ModuleInfo;
use crate::vmctx::VMOffsets;
use cranelift_codegen::ir;
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::FunctionBuilderContext;
use wasmparser::{FuncValidator, FunctionBody, ValidatorResources};

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

    pub fn translate(
        self,
        _builder_context: &mut FunctionBuilderContext,
        _validator: FuncValidator<ValidatorResources>,
        _body: &FunctionBody<'_>,
    ) -> Result<ir::Function, CompileError> {
        let _ = (
            self.info,
            self.offsets,
            self.tunables,
            self.func_index,
            self.frontend,
        );
        todo!("function translation")
    }
}
