//! The compilation pipeline: ISA setup, parallel function compilation and
//! linking into one code blob.

use crate::bounds_checks::Heap;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::module_info::{ModuleInfo, ParsedModule, PendingBody, supported_features};
use crate::trampolines::{
    build_entry_trampoline, build_host_trampoline, build_preserve_all_trampoline,
};
use crate::translate::FuncTranslator;
use crate::types::FuncType;
use crate::vmctx::VMOffsets;
use crate::{
    AddressMapEntry, CompiledModule, ExceptionCallSite, ExceptionHandler, FunctionLoc,
    StackMapRecord, TrapKind, TrapRecord, Tunables,
};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{
    CodegenError, Context, ExceptionContextLoc, FinalizedMachExceptionHandler, FinalizedRelocTarget,
};
use cranelift_frontend::FunctionBuilderContext;
use rayon::prelude::*;
use wasmparser::WasmFeatures;

/// Functions and trampolines start at this alignment inside the blob.
const FUNCTION_ALIGNMENT: usize = 16;

/// A compiled standalone trampoline: position-independent code with its
/// trap table (offsets relative to `code`).
#[derive(Debug, Clone)]
pub struct CompiledTrampoline {
    /// Machine code; needs no relocation.
    pub code: Vec<u8>,
    /// Trapping instructions, sorted by offset.
    pub trap_table: Vec<TrapRecord>,
}

/// A reference from one function's code to another defined function.
struct CallReloc {
    offset: u32,
    kind: Reloc,
    target_func_index: u32,
    addend: i64,
}

/// Machine code of one function before linking.
struct CompiledFunction {
    code: Vec<u8>,
    relocs: Vec<CallReloc>,
    traps: Vec<TrapRecord>,
    /// Code offset -> Wasm byte offset of the instruction it came from.
    address_map: Vec<AddressMapEntry>,
    /// Call sites with exception handlers (offsets relative to `code`).
    exception_table: Vec<ExceptionCallSite>,
    /// Call sites with live GC references (offsets relative to `code`).
    stack_maps: Vec<StackMapRecord>,
}

/// Compiles modules for the host machine. Cheap to share: `Send + Sync`.
#[derive(Clone)]
pub struct Compiler {
    pub(crate) isa: OwnedTargetIsa,
    tunables: Tunables,
    features: WasmFeatures,
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler")
            .field("isa", &self.isa.name())
            .field("tunables", &self.tunables)
            .field("features", &self.features)
            .finish()
    }
}

impl Compiler {
    /// A compiler for the host CPU with `tunables`.
    pub fn new(tunables: Tunables) -> Result<Self, CompileError> {
        let mut flags = settings::builder();
        let spectre = if tunables.spectre_mitigations {
            "true"
        } else {
            "false"
        };
        let settings = [
            ("opt_level", "speed"),
            ("preserve_frame_pointers", "true"),
            ("enable_probestack", "false"),
            // Backtraces follow frame pointers; nothing unwinds with DWARF.
            ("unwind_info", "false"),
            ("enable_multi_ret_implicit_sret", "true"),
            ("enable_heap_access_spectre_mitigation", spectre),
            ("enable_table_access_spectre_mitigation", spectre),
            (
                "enable_verifier",
                if tunables.verify_ir { "true" } else { "false" },
            ),
        ];
        for (name, value) in settings {
            flags
                .set(name, value)
                .map_err(|error| CompileError::Host(format!("setting {name}: {error}")))?;
        }
        let isa_builder = cranelift_native::builder()
            .map_err(|message| CompileError::Host(message.to_string()))?;
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|error| CompileError::Host(format!("building the ISA: {error}")))?;
        Ok(Self {
            isa,
            tunables,
            features: supported_features(),
        })
    }

    /// Also accepts the vector (SIMD) instructions when `enabled`
    /// (off by default).
    pub fn with_simd(mut self, enabled: bool) -> Self {
        self.features.set(WasmFeatures::SIMD, enabled);
        self
    }

    /// Also accepts the relaxed SIMD instructions when `enabled` (on by
    /// default; they need SIMD, see [`Compiler::with_simd`]).
    pub fn with_relaxed_simd(mut self, enabled: bool) -> Self {
        self.features.set(WasmFeatures::RELAXED_SIMD, enabled);
        self
    }

    /// Also accepts the wide-arithmetic instructions (`i64.add128`, ...)
    /// when `enabled` (on by default).
    pub fn with_wide_arithmetic(mut self, enabled: bool) -> Self {
        self.features.set(WasmFeatures::WIDE_ARITHMETIC, enabled);
        self
    }

    /// Also accepts exception handling (tags, `throw`, `try_table`, ... and
    /// the legacy `try` form) when `enabled` (on by default).
    pub fn with_exceptions(mut self, enabled: bool) -> Self {
        self.features.set(WasmFeatures::EXCEPTIONS, enabled);
        self.features.set(WasmFeatures::LEGACY_EXCEPTIONS, enabled);
        self
    }

    /// Also accepts the custom descriptors proposal (descriptor and exact
    /// types, `struct.new_desc`, `ref.get_desc`, descriptor casts) when
    /// `enabled` (off by default: the proposal relaxes Wasm 3.0's
    /// validation of `br_on_cast`, which then accepts modules the standard
    /// rejects). It needs GC, which reference types gate.
    pub fn with_custom_descriptors(mut self, enabled: bool) -> Self {
        self.features.set(
            WasmFeatures::CUSTOM_DESCRIPTORS,
            enabled && self.features.contains(WasmFeatures::GC),
        );
        self
    }

    /// Also accepts more than one memory per module when `enabled` (on by
    /// default).
    pub fn with_multi_memory(mut self, enabled: bool) -> Self {
        self.features.set(WasmFeatures::MULTI_MEMORY, enabled);
        self
    }

    /// Also accepts reference types (`funcref`/`externref` values, several
    /// tables) when `enabled` (on by default). Turning them off turns off the
    /// proposals built on them too: typed function references, GC and
    /// exception handling.
    pub fn with_reference_types(mut self, enabled: bool) -> Self {
        self.features.set(WasmFeatures::REFERENCE_TYPES, enabled);
        if !enabled {
            self.features.remove(
                WasmFeatures::FUNCTION_REFERENCES
                    | WasmFeatures::GC
                    | WasmFeatures::CUSTOM_DESCRIPTORS
                    | WasmFeatures::EXCEPTIONS
                    | WasmFeatures::LEGACY_EXCEPTIONS,
            );
        }
        self
    }

    /// The Wasm features this compiler accepts.
    pub fn features(&self) -> WasmFeatures {
        self.features
    }

    /// The tunables this compiler was built with.
    pub fn tunables(&self) -> &Tunables {
        &self.tunables
    }

    /// Validates and compiles `wasm`, functions in parallel.
    pub fn compile_module(&self, wasm: &[u8]) -> Result<CompiledModule, CompileError> {
        let ParsedModule { info, bodies } = ParsedModule::parse(wasm, self.features)?;
        let offsets = VMOffsets::new(&info);
        let heaps = Heap::for_module(&info, &self.tunables);

        let num_imported = info.num_imported_functions;
        let function_body_offsets: Vec<u32> = bodies
            .iter()
            .map(|pending| pending.body.range().start as u32)
            .collect();
        let results: Vec<Result<CompiledFunction, CompileError>> = bodies
            .into_par_iter()
            .enumerate()
            .map_init(
                FunctionBuilderContext::new,
                |builder_context, (index, body)| {
                    let func_index = num_imported + index as u32;
                    self.compile_function(
                        &info,
                        &offsets,
                        &heaps,
                        builder_context,
                        func_index,
                        body,
                    )
                },
            )
            .collect();
        let functions = results.into_iter().collect::<Result<Vec<_>, _>>()?;

        // Trampolines only for function types; `trampoline_types` says
        // which module type each pair belongs to.
        let func_types: Vec<(usize, &FuncType)> = info
            .types
            .iter()
            .filter_map(|(index, ty)| Some((index.as_u32() as usize, ty.composite.as_func()?)))
            .collect();
        let entries: Vec<ir::Function> = func_types
            .iter()
            .map(|(_, ty)| build_entry_trampoline(ty, self.isa.frontend_config()))
            .collect();
        let hosts: Vec<ir::Function> = func_types
            .iter()
            .map(|(_, ty)| build_host_trampoline(ty, self.isa.frontend_config()))
            .collect();
        let trampolines = entries
            .into_par_iter()
            .chain(hosts.into_par_iter())
            .map(|func| self.compile_ir(func, u32::MAX))
            .collect::<Result<Vec<_>, _>>()?;

        let mut linker = Linker::default();
        let function_locs: Vec<FunctionLoc> = functions.iter().map(|f| linker.append(f)).collect();
        let trampoline_locs: Vec<FunctionLoc> =
            trampolines.iter().map(|f| linker.append(f)).collect();
        linker.resolve(&functions, &function_locs, num_imported)?;
        let (entry_locs, host_locs) = trampoline_locs.split_at(func_types.len());
        let mut entry_trampolines = vec![None; info.types.len()];
        let mut host_trampolines = vec![None; info.types.len()];
        for (((index, _), &entry), &host) in func_types.iter().zip(entry_locs).zip(host_locs) {
            entry_trampolines[*index] = Some(entry);
            host_trampolines[*index] = Some(host);
        }

        Ok(CompiledModule {
            offsets,
            code: linker.code,
            functions: function_locs,
            function_body_offsets,
            entry_trampolines,
            host_trampolines,
            trap_table: linker.traps,
            address_map: linker.address_map,
            exception_table: linker.exception_table,
            stack_maps: linker.stack_maps,
            info,
        })
    }

    /// Compiles an entry trampoline for `ty` on its own, for host functions
    /// whose type no compiled module has.
    pub fn compile_entry_trampoline(
        &self,
        ty: &FuncType,
    ) -> Result<CompiledTrampoline, CompileError> {
        self.standalone(build_entry_trampoline(ty, self.isa.frontend_config()))
    }

    /// Compiles a host trampoline for `ty` on its own, for host functions
    /// (e.g. `Func::new`) whose type no compiled module has.
    pub fn compile_host_trampoline(
        &self,
        ty: &FuncType,
    ) -> Result<CompiledTrampoline, CompileError> {
        self.standalone(build_host_trampoline(ty, self.isa.frontend_config()))
    }

    /// Compiles the `preserve_all` trampoline to the `new_epoch` builtin
    /// that epoch checks call (`VMRuntimeLimits::epoch_trampoline`).
    pub fn compile_epoch_trampoline(&self) -> Result<CompiledTrampoline, CompileError> {
        self.standalone(build_preserve_all_trampoline(
            Builtin::NewEpoch,
            self.isa.frontend_config(),
        ))
    }

    fn standalone(&self, func: ir::Function) -> Result<CompiledTrampoline, CompileError> {
        let compiled = self.compile_ir(func, u32::MAX)?;
        debug_assert!(compiled.relocs.is_empty());
        Ok(CompiledTrampoline {
            code: compiled.code,
            trap_table: compiled.traps,
        })
    }

    fn compile_function(
        &self,
        info: &ModuleInfo,
        offsets: &VMOffsets,
        heaps: &[Heap],
        builder_context: &mut FunctionBuilderContext,
        func_index: u32,
        body: PendingBody<'_>,
    ) -> Result<CompiledFunction, CompileError> {
        let validator = body.validator.into_validator(Default::default());
        let translator =
            FuncTranslator::new(info, offsets, &self.tunables, heaps, func_index, &*self.isa);
        let func = translator
            .translate(builder_context, validator, &body.body)
            .inspect_err(|_| {
                // A translation abandoned half way leaves the context dirty.
                *builder_context = FunctionBuilderContext::new();
            })?;
        self.compile_ir(func, func_index)
    }

    /// Runs Cranelift on `func` and collects code, calls to patch and traps.
    fn compile_ir(
        &self,
        func: ir::Function,
        func_index: u32,
    ) -> Result<CompiledFunction, CompileError> {
        let names = func.params.user_named_funcs().clone();
        let mut context = Context::for_function(func);
        let codegen_error = |error: CodegenError| CompileError::Codegen {
            func_index,
            message: error.to_string(),
        };
        let compiled = context
            .compile(&*self.isa, &mut ControlPlane::default())
            .map_err(|error| codegen_error(error.inner))?;
        let buffer = &compiled.buffer;
        let mut traps = Vec::with_capacity(buffer.traps().len());
        for trap in buffer.traps() {
            let kind =
                TrapKind::from_trap_code(trap.code).ok_or_else(|| CompileError::Codegen {
                    func_index,
                    message: format!("unknown trap code {}", trap.code),
                })?;
            traps.push(TrapRecord {
                offset: trap.offset,
                kind,
            });
        }
        let mut relocs = Vec::with_capacity(buffer.relocs().len());
        for reloc in buffer.relocs() {
            let target = match &reloc.target {
                FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => names[*name].index,
                other => {
                    return Err(CompileError::Codegen {
                        func_index,
                        message: format!("unexpected relocation target {other:?}"),
                    });
                }
            };
            relocs.push(CallReloc {
                offset: reloc.offset,
                kind: reloc.kind,
                target_func_index: target,
                addend: reloc.addend,
            });
        }
        let address_map = buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|srcloc| !srcloc.loc.is_default())
            .map(|srcloc| AddressMapEntry {
                code_offset: srcloc.start,
                wasm_offset: srcloc.loc.bits(),
            })
            .collect();
        let exception_table = exception_call_sites(buffer.call_sites(), func_index)?;
        let stack_maps = buffer
            .user_stack_maps()
            .iter()
            .map(|(return_offset, frame_size, map)| StackMapRecord {
                return_offset: *return_offset,
                frame_size: *frame_size,
                slots: map.entries().map(|(_, offset)| offset).collect(),
            })
            .collect();
        Ok(CompiledFunction {
            code: buffer.data().to_vec(),
            relocs,
            traps,
            address_map,
            exception_table,
            stack_maps,
        })
    }
}

/// The call sites of one function that have exception handlers, in the
/// form the runtime's unwinder reads.
fn exception_call_sites<'a>(
    call_sites: impl Iterator<Item = cranelift_codegen::FinalizedMachCallSite<'a>>,
    func_index: u32,
) -> Result<Vec<ExceptionCallSite>, CompileError> {
    let codegen_error = |message: &str| CompileError::Codegen {
        func_index,
        message: message.to_string(),
    };
    let mut sites = Vec::new();
    for site in call_sites {
        if site.exception_handlers.is_empty() {
            continue;
        }
        let mut vmctx_sp_offset = None;
        let mut handlers = Vec::with_capacity(site.exception_handlers.len());
        for handler in site.exception_handlers {
            match *handler {
                FinalizedMachExceptionHandler::Tag(tag, code_offset) => {
                    handlers.push(ExceptionHandler {
                        tag: Some(tag.as_u32()),
                        code_offset,
                    });
                }
                FinalizedMachExceptionHandler::Default(code_offset) => {
                    handlers.push(ExceptionHandler {
                        tag: None,
                        code_offset,
                    });
                }
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(offset)) => {
                    vmctx_sp_offset = Some(offset);
                }
                FinalizedMachExceptionHandler::Context(ExceptionContextLoc::GPR(_)) => {
                    return Err(codegen_error(
                        "an exception handler's vmctx was left in a register",
                    ));
                }
            }
        }
        sites.push(ExceptionCallSite {
            return_offset: site.ret_addr,
            frame_offset: site
                .frame_offset
                .ok_or_else(|| codegen_error("a call site with handlers has no frame offset"))?,
            vmctx_sp_offset: vmctx_sp_offset
                .ok_or_else(|| codegen_error("a call site with handlers has no vmctx"))?,
            handlers,
        });
    }
    Ok(sites)
}

/// Concatenates compiled functions and patches calls between them.
#[derive(Default)]
struct Linker {
    code: Vec<u8>,
    traps: Vec<TrapRecord>,
    address_map: Vec<AddressMapEntry>,
    exception_table: Vec<ExceptionCallSite>,
    stack_maps: Vec<StackMapRecord>,
}

impl Linker {
    fn append(&mut self, function: &CompiledFunction) -> FunctionLoc {
        let padded = self.code.len().next_multiple_of(FUNCTION_ALIGNMENT);
        self.code.resize(padded, 0);
        let offset = padded as u32;
        self.code.extend_from_slice(&function.code);
        self.traps
            .extend(function.traps.iter().map(|trap| TrapRecord {
                offset: offset + trap.offset,
                kind: trap.kind,
            }));
        self.address_map
            .extend(function.address_map.iter().map(|entry| AddressMapEntry {
                code_offset: offset + entry.code_offset,
                wasm_offset: entry.wasm_offset,
            }));
        self.exception_table
            .extend(function.exception_table.iter().map(|site| {
                ExceptionCallSite {
                    return_offset: offset + site.return_offset,
                    handlers: site
                        .handlers
                        .iter()
                        .map(|handler| ExceptionHandler {
                            code_offset: offset + handler.code_offset,
                            ..*handler
                        })
                        .collect(),
                    ..*site
                }
            }));
        self.stack_maps
            .extend(function.stack_maps.iter().map(|record| StackMapRecord {
                return_offset: offset + record.return_offset,
                ..record.clone()
            }));
        FunctionLoc {
            offset,
            len: function.code.len() as u32,
        }
    }

    fn resolve(
        &mut self,
        functions: &[CompiledFunction],
        locs: &[FunctionLoc],
        num_imported: u32,
    ) -> Result<(), CompileError> {
        for (index, (function, loc)) in functions.iter().zip(locs).enumerate() {
            for reloc in &function.relocs {
                let codegen_error = |message: String| CompileError::Codegen {
                    func_index: num_imported + index as u32,
                    message,
                };
                let target = reloc
                    .target_func_index
                    .checked_sub(num_imported)
                    .and_then(|defined| locs.get(defined as usize))
                    .ok_or_else(|| codegen_error("call to an unknown function".into()))?;
                let site = loc.offset + reloc.offset;
                match reloc.kind {
                    Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
                        let delta = i64::from(target.offset) + reloc.addend - i64::from(site);
                        let delta = i32::try_from(delta)
                            .map_err(|_| codegen_error("code blob larger than 2 GiB".into()))?;
                        let site = site as usize;
                        self.code[site..site + 4].copy_from_slice(&delta.to_le_bytes());
                    }
                    other => {
                        return Err(codegen_error(format!("unsupported relocation {other:?}")));
                    }
                }
            }
        }
        self.traps.sort_by_key(|trap| trap.offset);
        Ok(())
    }
}
