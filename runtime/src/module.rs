//! Modules: compiled code published into executable memory, plus everything
//! instantiation needs (types, imports, exports, segment data).

use crate::config::Config;
use crate::data_segments::DataSegments;
use crate::engine::Engine;
use crate::exception::TagType;
use crate::memory_image::ModuleImages;
use crate::profiling;
use crate::serialize::{self, CompiledArtifact, ImageInFile};
use crate::types::{ExportType, ExternType, FuncType, ImportType};
use crate::vm::code_tables::{
    AddressMap, FunctionNames, TableBytes, TrapTable, encode_address_map, encode_function_names,
    encode_trap_table,
};
use crate::vm::registry::{self, CodeInfo, CodeRegistration, FunctionRange};
use anyhow::{Context, Result, bail};
use remap_compiler::module_info::{EntityKind, ImportKind, ModuleInfo};
use remap_compiler::types::{
    GlobalType, ModuleTypeIndex, RefType, RegisteredTypes, TableType, ValType,
};
use remap_compiler::vmctx::{VMEntryTrampolineFn, VMOffsets};
use remap_compiler::{CompiledTrampoline, FunctionLoc, Tunables};
use remap_memory::{CodeMemory, MappedFile, MemoryImage};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// A compiled WebAssembly module, ready to instantiate. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    engine: Engine,
    info: ModuleInfo,
    offsets: VMOffsets,
    code: PublishedCode,
    /// The module's types as registered in the engine, alive as long as the
    /// module (engine indices are reused once unregistered).
    registered_types: RegisteredTypes,
    /// Module type index -> engine type index (the vmctx `type_ids` array).
    type_ids: Box<[u32]>,
    /// This module's signatures by engine type id (sorted, deduplicated) with
    /// the entry trampoline for each: how the host calls the module's
    /// functions. A binary search beats hashing on the call path.
    signatures: Box<[Signature]>,
    /// What the signal handler and backtraces know about the code.
    code_info: Arc<CodeInfo>,
    functions: Vec<FunctionLoc>,
    entry_trampolines: Vec<Option<FunctionLoc>>,
    host_trampolines: Vec<Option<FunctionLoc>>,
    imports: Vec<(String, String, ExternType)>,
    /// The registered function type behind each module type index (`None`
    /// for a struct or array type). Export types are made from it on demand
    /// (a module may export tens of thousands of functions; loading one
    /// builds none of their types).
    func_types: Box<[Option<Arc<FuncType>>]>,
    /// The type of every tag, imports first.
    tag_types: Vec<TagType>,
    /// Copy-on-write initial contents of the defined memories, built on
    /// first instantiation (memory_image.rs).
    memory_images: ModuleImages,
    /// Every data segment's bytes (not kept in `info`).
    data_segments: DataSegments,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// One of a module's function types, with its entry trampoline.
struct Signature {
    /// The engine type index.
    type_id: u32,
    entry: usize,
    /// The registered type.
    ty: Arc<FuncType>,
}

/// Executable code, published with one protection change and registered so
/// the signal handler recognises traps in it.
struct PublishedCode {
    _registration: Option<CodeRegistration>,
    memory: CodeMemory,
    /// Bytes of code (the memory holds at least one, even for none).
    len: usize,
}

impl PublishedCode {
    fn publish(code: &[u8]) -> Result<PublishedCode> {
        let mut memory = CodeMemory::new(code.len().max(1)).context("allocating code memory")?;
        memory.as_mut_slice().context("writing code")?[..code.len()].copy_from_slice(code);
        memory.publish().context("publishing code")?;
        Ok(PublishedCode {
            _registration: None,
            memory,
            len: code.len(),
        })
    }

    /// Publishes `code`, which lies in `file`, where it lies when it starts
    /// at a page boundary (as the precompiled format places it), else a copy.
    fn in_place(file: &Arc<MappedFile>, code: &[u8]) -> Result<PublishedCode> {
        let range = file
            .range_of(code)
            .filter(|range| !range.is_empty())
            .filter(|range| range.start.is_multiple_of(remap_memory::host_page_size()));
        let Some(range) = range else {
            return PublishedCode::publish(code);
        };
        let memory = CodeMemory::in_mapped_file(Arc::clone(file), range)
            .context("publishing code in the mapped file")?;
        Ok(PublishedCode {
            _registration: None,
            memory,
            len: code.len(),
        })
    }

    fn address(&self, offset: u32) -> usize {
        self.memory.as_ptr() as usize + offset as usize
    }

    /// The published machine code.
    fn bytes(&self) -> &[u8] {
        // SAFETY: the code memory is mapped and, once published, readable
        // (read+execute) and never written again; it lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.memory.as_ptr(), self.len) }
    }
}

/// The [`Tunables`] the engine compiles with; its memories are laid out
/// from the same ones (see `memory::memory_config`).
pub(crate) fn tunables(config: &Config) -> Tunables {
    config.tunables.clone()
}

impl Module {
    /// Compiles a module from its binary or its text (WAT) form.
    ///
    /// A precompiled module (from [`Module::serialize`] or
    /// [`Engine::precompile_module`]) is refused: load it with
    /// [`Module::deserialize`].
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        serialize::refuse_precompiled(bytes)?;
        let wasm = wat::parse_bytes(bytes)?;
        Module::from_binary(engine, &wasm)
    }

    /// Compiles a module from a `.wasm` or `.wat` file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Module::new(engine, bytes).with_context(|| format!("failed to compile {}", path.display()))
    }

    /// Checks that `bytes` is a valid module that `engine` can compile (with
    /// its features, such as SIMD), without compiling it.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        ModuleInfo::from_wasm(bytes, engine.compiler().features())?;
        Ok(())
    }

    /// Compiles a module from its binary form (a precompiled module is
    /// refused, as by [`Module::new`]).
    pub fn from_binary(engine: &Engine, wasm: &[u8]) -> Result<Module> {
        serialize::refuse_precompiled(wasm)?;
        if let Some(cache) = &engine.config().code_cache {
            return cache.compile(engine, wasm);
        }
        let compiled = compile(engine, wasm)?;
        Module::from_compiled(engine, compiled)
    }

    /// Publishes compiled code and builds the module around it: the one path
    /// shared by compiling and by loading a precompiled module.
    pub(crate) fn from_compiled(engine: &Engine, compiled: CompiledArtifact<'_>) -> Result<Module> {
        let code = PublishedCode::publish(&compiled.code)?;
        Module::from_published(engine, compiled, code, None)
    }

    /// Builds the module around its code, already published. With `file`
    /// (the mapped precompiled file `compiled` was decoded from, and the
    /// open file), its tables and segments are read in place and its
    /// memory images mapped from the file; otherwise they are copied.
    fn from_published(
        engine: &Engine,
        compiled: CompiledArtifact<'_>,
        mut code: PublishedCode,
        file: Option<(&Arc<MappedFile>, &std::fs::File)>,
    ) -> Result<Module> {
        let keep_table = |table: Cow<'_, [u8]>| match (file, table) {
            (Some((mapped, _)), Cow::Borrowed(bytes)) => TableBytes::in_file(mapped, bytes),
            (_, table) => TableBytes::Owned(table.into_owned().into_boxed_slice()),
        };
        let data_segments = match file {
            Some((mapped, _)) => DataSegments::in_file(mapped, compiled.data_segments),
            None => DataSegments::owned(compiled.data_segments),
        };
        let file_images = file
            .map(|(_, file)| file_images(file, compiled.memory_images))
            .unwrap_or_default();
        let info = compiled.info;
        let start = code.memory.as_ptr() as usize;
        let functions: Vec<FunctionRange> = compiled
            .functions
            .iter()
            .zip(&compiled.function_body_offsets)
            .enumerate()
            .map(|(i, (loc, &body_offset))| FunctionRange {
                start: loc.offset,
                end: loc.offset + loc.len,
                func_index: info.num_imported_functions + i as u32,
                body_offset,
            })
            .collect();
        let code_info = Arc::new(CodeInfo {
            range: start..start + code.memory.len(),
            functions,
            traps: TrapTable::new(keep_table(compiled.trap_table)),
            address_map: AddressMap::new(keep_table(compiled.address_map)),
            names: FunctionNames::new(keep_table(compiled.function_names)),
            module_name: info.names.module.clone(),
            exception_table: compiled.exception_table,
            stack_maps: compiled.stack_maps,
        });
        code._registration = Some(registry::register_code(code_info.clone()));
        profiling::register_code(engine.config().profiler, &code_info);

        let registered_types = engine.register_module_types(&info.types)?;
        let type_ids: Box<[u32]> = registered_types
            .iter()
            .map(|(_, engine_index)| engine_index.as_u32())
            .collect();
        // The registered function type behind each module type index (`None`
        // for a struct or array type).
        let func_types: Vec<Option<Arc<FuncType>>> = registered_types
            .iter()
            .map(|(_, engine_index)| engine.type_registry().func_type(engine_index))
            .collect();
        let mut signatures = Vec::new();
        for ((&type_id, ty), entry) in type_ids
            .iter()
            .zip(&func_types)
            .zip(&compiled.entry_trampolines)
        {
            let Some(ty) = ty else { continue };
            let Some(entry) = entry else {
                bail!("no entry trampoline for function type {ty}");
            };
            signatures.push(Signature {
                type_id,
                entry: code.address(entry.offset),
                ty: Arc::clone(ty),
            });
        }
        signatures.sort_unstable_by_key(|signature| signature.type_id);
        signatures.dedup_by_key(|signature| signature.type_id);
        let imports = info
            .imports
            .iter()
            .map(|import| {
                let ty = match &import.kind {
                    ImportKind::Function(type_index) | ImportKind::ExactFunction(type_index) => {
                        ExternType::Func(function_type(&func_types, *type_index)?)
                    }
                    ImportKind::Table(t) => {
                        ExternType::Table(registered_types.engine_table_type(*t))
                    }
                    ImportKind::Memory(m) => ExternType::Memory(*m),
                    ImportKind::Global(g) => {
                        ExternType::Global(registered_types.engine_global_type(*g))
                    }
                    ImportKind::Tag(type_index) => ExternType::Tag(TagType::from_func_type(
                        function_type(&func_types, *type_index)?,
                    )),
                };
                Ok((import.module.clone(), import.name.clone(), ty))
            })
            .collect::<Result<_>>()?;
        for export in &info.exports {
            check_entity(&info, &func_types, export.kind, export.index)
                .with_context(|| format!("export {:?}", export.name))?;
        }
        let tag_types = info
            .tags
            .iter()
            .map(|&type_index| {
                Ok(TagType::from_func_type(function_type(
                    &func_types,
                    type_index,
                )?))
            })
            .collect::<Result<_>>()?;
        Ok(Module {
            inner: Arc::new(ModuleInner {
                tag_types,
                engine: engine.clone(),
                offsets: compiled.offsets,
                code,
                code_info,
                registered_types,
                type_ids,
                signatures: signatures.into_boxed_slice(),
                functions: compiled.functions,
                entry_trampolines: compiled.entry_trampolines,
                host_trampolines: compiled.host_trampolines,
                imports,
                func_types: func_types.into_boxed_slice(),
                memory_images: ModuleImages::with_images(&info, file_images),
                data_segments,
                info,
            }),
        })
    }

    /// Saves the compiled module in Remap's precompiled format, for
    /// [`Module::deserialize`] in a later run (on a compatible engine).
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let inner = &self.inner;
        let artifact = CompiledArtifact {
            info: inner.info.clone(),
            offsets: inner.offsets.clone(),
            code: Cow::Borrowed(inner.code.bytes()),
            functions: inner.functions.clone(),
            entry_trampolines: inner.entry_trampolines.clone(),
            host_trampolines: inner.host_trampolines.clone(),
            trap_table: Cow::Borrowed(inner.code_info.traps.as_bytes()),
            address_map: Cow::Borrowed(inner.code_info.address_map.as_bytes()),
            function_names: Cow::Borrowed(inner.code_info.names.as_bytes()),
            data_segments: (0..inner.info.data.len())
                .map(|index| Cow::Borrowed(inner.data_segments.get(index)))
                .collect(),
            memory_images: Vec::new(),
            exception_table: inner.code_info.exception_table.clone(),
            stack_maps: inner.code_info.stack_maps.clone(),
            function_body_offsets: inner
                .code_info
                .functions
                .iter()
                .map(|function| function.body_offset)
                .collect(),
        };
        serialize::encode(&inner.engine.compiler().compatibility(), &artifact)
    }

    /// Loads a module saved by [`Module::serialize`] or
    /// [`Engine::precompile_module`], without compiling anything.
    ///
    /// A file that is not a precompiled module, is truncated or corrupt, or
    /// was compiled by another Remap version or for an engine with other
    /// settings (CPU features, memory style and sizes, SIMD) is an error.
    ///
    /// # Safety
    /// The bytes are machine code that will run unchecked. They must come
    /// from [`Module::serialize`] or [`Engine::precompile_module`] and must
    /// not have been altered since by anyone you do not trust: the format
    /// carries a checksum against accidents, not a signature against forgery,
    /// and crafted bytes can do anything the process can.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let artifact = serialize::decode(&engine.compiler().compatibility(), bytes.as_ref())?;
        Module::from_compiled(engine, artifact)
    }

    /// Loads a precompiled module from a file (see [`Module::deserialize`])
    /// without reading it into a buffer: the file is mapped, its machine
    /// code runs where it lies (made read+execute in place; nothing is
    /// copied), its tables and data segments are read from the mapping, and
    /// its memory images are mapped copy-on-write from the file into each
    /// new memory; loading costs little more than checking it.
    ///
    /// # Safety
    /// As for [`Module::deserialize`]: the file must come from
    /// [`Module::serialize`] or [`Engine::precompile_module`] (e.g. written
    /// by `remap compile`) and must not be writable by anyone you do not
    /// trust. In addition it must not be modified while the module or any
    /// memory created from it lives (replacing it by a rename is fine): they
    /// read it through their mappings.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot read precompiled module {}", path.display()))?;
        let load = || -> Result<Module> {
            let mapped = Arc::new(MappedFile::map(&file)?);
            let artifact =
                serialize::decode(&engine.compiler().compatibility(), mapped.as_slice())?;
            let code = PublishedCode::in_place(&mapped, &artifact.code)?;
            Module::from_published(engine, artifact, code, Some((&mapped, &file)))
        };
        load().with_context(|| format!("cannot load precompiled module {}", path.display()))
    }

    /// The module's name from the name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.info.names.module.as_deref()
    }

    /// Statistics of the executable memory holding the module's code
    /// (publishing it is one protection change).
    pub fn code_memory_stats(&self) -> remap_memory::MemoryStats {
        self.inner.code.memory.stats()
    }

    /// The engine that compiled this module.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// What the module imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> {
        self.inner
            .imports
            .iter()
            .map(|(module, name, ty)| ImportType::new(module, name, ty.clone()))
    }

    /// What the module exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> {
        (0..self.inner.info.exports.len()).map(|index| ExportType::new(self, index))
    }

    /// The type of export `name`, if there is one.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        let index = self
            .inner
            .info
            .exports
            .iter()
            .position(|export| export.name == name)?;
        Some(self.export_type(index))
    }

    /// The name of export `index` (in declaration order).
    pub(crate) fn export_name(&self, index: usize) -> &str {
        &self.inner.info.exports[index].name
    }

    /// The type of export `index` (in declaration order), made on demand.
    pub(crate) fn export_type(&self, index: usize) -> ExternType {
        let inner = &self.inner;
        let export = &inner.info.exports[index];
        entity_type(
            &inner.info,
            &inner.func_types,
            &inner.registered_types,
            export.kind,
            export.index,
        )
        .expect("every export's type was checked when the module was built")
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.inner.info
    }

    /// The copy-on-write image of memory `memory_index` for a new instance
    /// (built on first use), or `None` when its segments must be copied:
    /// images turned off ([`Config::memory_init_cow`]), an imported memory,
    /// segments that cannot be imaged, or an image that could not be built.
    pub(crate) fn memory_image(&self, memory_index: u32) -> Option<Arc<MemoryImage>> {
        if !self.inner.engine.config().memory_init_cow {
            return None;
        }
        self.inner
            .memory_images
            .image(&self.inner.info, &self.inner.data_segments, memory_index)
    }

    /// The bytes of data segment `index`.
    pub(crate) fn data_segment(&self, index: u32) -> &[u8] {
        self.inner.data_segments.get(index as usize)
    }

    pub(crate) fn offsets(&self) -> &VMOffsets {
        &self.inner.offsets
    }

    pub(crate) fn type_ids(&self) -> &[u32] {
        &self.inner.type_ids
    }

    /// The engine type index of module type `type_index`.
    pub(crate) fn engine_type_index(&self, type_index: u32) -> Option<u32> {
        self.inner
            .registered_types
            .engine_index(ModuleTypeIndex::from_u32(type_index))
            .map(|index| index.as_u32())
    }

    /// The type of tag `tag_index` (imports first).
    pub(crate) fn tag_type(&self, tag_index: u32) -> &TagType {
        &self.inner.tag_types[tag_index as usize]
    }

    /// A table type of this module, with engine indices.
    pub(crate) fn table_type(&self, ty: TableType) -> TableType {
        self.inner.registered_types.engine_table_type(ty)
    }

    /// A reference type of this module, with engine indices.
    pub(crate) fn engine_ref_type(&self, ty: RefType) -> RefType {
        match self
            .inner
            .registered_types
            .engine_val_type(ValType::Ref(ty))
        {
            ValType::Ref(ty) => ty,
            _ => unreachable!("a reference type stays one"),
        }
    }

    /// The type of a global of this module, with engine indices.
    pub(crate) fn global_type(&self, ty: GlobalType) -> GlobalType {
        self.inner.registered_types.engine_global_type(ty)
    }

    pub(crate) fn import_types(&self) -> &[(String, String, ExternType)] {
        &self.inner.imports
    }

    /// Address of the compiled code of defined function `func_index`.
    pub(crate) fn function_address(&self, func_index: u32) -> usize {
        let defined = func_index - self.inner.info.num_imported_functions;
        self.inner
            .code
            .address(self.inner.functions[defined as usize].offset)
    }

    fn signature(&self, type_id: u32) -> Option<&Signature> {
        let signatures = &self.inner.signatures;
        let found = signatures
            .binary_search_by_key(&type_id, |signature| signature.type_id)
            .ok()?;
        Some(&signatures[found])
    }

    /// The function type behind engine type `type_id`, if this module uses it.
    pub(crate) fn func_type(&self, type_id: u32) -> Option<&FuncType> {
        Some(&self.signature(type_id)?.ty)
    }

    /// The entry trampoline for functions of engine type `type_id`.
    pub(crate) fn entry_trampoline(&self, type_id: u32) -> Option<VMEntryTrampolineFn> {
        let address = self.signature(type_id)?.entry;
        // SAFETY: the address is the start of an entry trampoline inside this
        // module's published code, compiled with exactly this signature.
        Some(unsafe { std::mem::transmute::<usize, VMEntryTrampolineFn>(address) })
    }
}

/// Compiles `wasm` with the engine's compiler (on one thread unless the
/// configuration allows parallel compilation).
pub(crate) fn compile(engine: &Engine, wasm: &[u8]) -> Result<CompiledArtifact<'static>> {
    let compiler = engine.compiler();
    let module = if engine.config().parallel_compilation {
        compiler.compile_module(wasm)?
    } else {
        engine
            .serial_compilation()?
            .install(|| compiler.compile_module(wasm))?
    };
    let mut info = module.info;
    // The names and the segments' bytes live apart from `info` from here on.
    let function_names = encode_function_names(&std::mem::take(&mut info.names.functions));
    let data_segments = info
        .data
        .iter_mut()
        .map(|segment| Cow::Owned(std::mem::take(&mut segment.data)))
        .collect();
    Ok(CompiledArtifact {
        info,
        offsets: module.offsets,
        code: Cow::Owned(module.code),
        functions: module.functions,
        function_body_offsets: module.function_body_offsets,
        entry_trampolines: module.entry_trampolines,
        host_trampolines: module.host_trampolines,
        trap_table: Cow::Owned(encode_trap_table(&module.trap_table)),
        address_map: Cow::Owned(encode_address_map(&module.address_map)),
        function_names: Cow::Owned(function_names),
        data_segments,
        memory_images: Vec::new(),
        exception_table: module.exception_table,
        stack_maps: module.stack_maps,
    })
}

/// The memory images a precompiled file holds, each mapped from its own
/// duplicate of the file's descriptor; an image that cannot be set up (no
/// descriptor left, malformed runs) is left out, and that memory builds its
/// image from the segments on first use instead.
fn file_images(file: &std::fs::File, images: Vec<ImageInFile>) -> Vec<(u32, Arc<MemoryImage>)> {
    images
        .into_iter()
        .filter_map(|ImageInFile { memory, runs }| {
            let descriptor = file.try_clone().ok()?;
            // SAFETY: the file is a precompiled module loaded by
            // `deserialize_file`, whose caller promises it is not modified
            // while the module (which owns the images) lives; memories mapped
            // from an image keep the image alive.
            let image = unsafe { MemoryImage::in_file(descriptor.into(), runs) }.ok()?;
            Some((memory, Arc::new(image)))
        })
        .collect()
}

/// The registered function type at module type index `type_index`; an
/// error when it is out of range or not a function type (which validation
/// rules out, but a precompiled module is checked again).
fn function_type_ref(
    func_types: &[Option<Arc<FuncType>>],
    type_index: u32,
) -> Result<&Arc<FuncType>> {
    match func_types.get(type_index as usize) {
        Some(Some(ty)) => Ok(ty),
        _ => bail!("type {type_index} is not a function type"),
    }
}

/// [`function_type_ref`], copied.
fn function_type(func_types: &[Option<Arc<FuncType>>], type_index: u32) -> Result<FuncType> {
    function_type_ref(func_types, type_index).map(|ty| FuncType::clone(ty))
}

/// Checks that entity `index` of `kind` exists in `info` and has a type
/// [`entity_type`] can make, without making it.
fn check_entity(
    info: &ModuleInfo,
    func_types: &[Option<Arc<FuncType>>],
    kind: EntityKind,
    index: u32,
) -> Result<()> {
    let position = index as usize;
    let function_type_at = |types: &[u32]| match types.get(position) {
        Some(&type_index) => function_type_ref(func_types, type_index).map(drop),
        None => bail!("a {kind:?} {index} that does not exist"),
    };
    let exists = match kind {
        EntityKind::Function => return function_type_at(&info.functions),
        EntityKind::Tag => return function_type_at(&info.tags),
        EntityKind::Table => position < info.tables.len(),
        EntityKind::Memory => position < info.memories.len(),
        EntityKind::Global => position < info.globals.len(),
    };
    if !exists {
        bail!("a {kind:?} {index} that does not exist");
    }
    Ok(())
}

/// The type of entity `index` of `kind` in `info`.
fn entity_type(
    info: &ModuleInfo,
    func_types: &[Option<Arc<FuncType>>],
    registered_types: &RegisteredTypes,
    kind: EntityKind,
    index: u32,
) -> Result<ExternType> {
    let position = index as usize;
    let missing = || anyhow::anyhow!("export of a {kind:?} {index} that does not exist");
    Ok(match kind {
        EntityKind::Function => {
            let type_index = *info.functions.get(position).ok_or_else(missing)?;
            ExternType::Func(function_type(func_types, type_index)?)
        }
        EntityKind::Table => {
            let ty = info.tables.get(position).ok_or_else(missing)?.ty;
            ExternType::Table(registered_types.engine_table_type(ty))
        }
        EntityKind::Memory => ExternType::Memory(*info.memories.get(position).ok_or_else(missing)?),
        EntityKind::Global => {
            let ty = info.globals.get(position).ok_or_else(missing)?.ty;
            ExternType::Global(registered_types.engine_global_type(ty))
        }
        EntityKind::Tag => {
            let type_index = *info.tags.get(position).ok_or_else(missing)?;
            ExternType::Tag(TagType::from_func_type(function_type(
                func_types, type_index,
            )?))
        }
    })
}

/// A standalone host trampoline (Wasm -> host adapter) for one function type,
/// shared by every host function of that type in the engine.
#[derive(Clone)]
pub(crate) struct HostTrampoline {
    code: Arc<PublishedCode>,
}

impl HostTrampoline {
    pub(crate) fn compile(engine: &Engine, ty: &FuncType) -> Result<HostTrampoline> {
        HostTrampoline::publish(engine.compiler().compile_host_trampoline(ty)?)
    }

    /// Publishes a standalone trampoline the compiler made.
    pub(crate) fn publish(compiled: CompiledTrampoline) -> Result<HostTrampoline> {
        if !compiled.trap_table.is_empty() {
            bail!("a host trampoline must not contain trapping instructions");
        }
        Ok(HostTrampoline {
            code: Arc::new(PublishedCode::publish(&compiled.code)?),
        })
    }

    /// The trampoline's Tail-convention code address.
    pub(crate) fn address(&self) -> *const u8 {
        self.code.memory.as_ptr()
    }
}
