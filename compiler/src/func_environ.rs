//! The function environment: the instance context (vmctx) and the module's
//! entities as one function's code reaches them.
//!
//! [`FuncEnvironment`] knows the vmctx layout ([`VMOffsets`]) and emits the
//! loads that find memories (base and bound), tables, globals, functions and
//! builtins; it interns the function references and signatures a function
//! imports, records the exit frame around builtin calls and sets the stack
//! limit. It holds no operand stack: the translator (`crate::translate`)
//! asks it for values. Every load it emits names its alias region (see
//! [`region`]), so Cranelift may reorder accesses of different regions.

use crate::Tunables;
use crate::bounds_checks::Heap;
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::module_info::ModuleInfo;
use crate::signature::{value_type, wasm_signature};
use crate::types::{FuncType, ModuleTypeIndex, Mutability, TypeIndex};
use crate::vmctx::{VMOffsets, field};
use cranelift_codegen::ir::{
    AliasRegion, AliasRegionData, ExtFuncData, ExternalName, FuncRef, GlobalValueData, InstBuilder,
    MemFlagsData, SigRef, TrapCode, Type, UserExternalName, Value, types,
};
use cranelift_frontend::FunctionBuilder;
use std::borrow::Cow;
use std::collections::HashMap;

/// Alias region ids: accesses in different regions never overlap.
pub(crate) mod region {
    /// `VMMemoryView` entries of the vmctx (written only by the runtime).
    pub const MEMORY_VIEWS: u32 = 1;
    /// Table definitions and table elements.
    pub const TABLES: u32 = 2;
    /// Global cells.
    pub const GLOBALS: u32 = 3;
    /// The store's `VMRuntimeLimits`.
    pub const RUNTIME_LIMITS: u32 = 4;
    /// Fields of GC objects (crate::gc_layout).
    pub const GC_OBJECTS: u32 = 5;
    /// Linear memory `n` uses region `HEAP_BASE + n`.
    pub const HEAP_BASE: u32 = 16;
}

/// One function's view of its instance and module.
pub(crate) struct FuncEnvironment<'m> {
    info: &'m ModuleInfo,
    offsets: &'m VMOffsets,
    tunables: &'m Tunables,
    /// Heap descriptor per memory index.
    heaps: &'m [Heap],
    func_index: u32,
    /// The type of function `func_index`.
    func_type: &'m FuncType,
    vmctx: Value,
    func_refs: HashMap<u32, FuncRef>,
    signatures: HashMap<u32, SigRef>,
    builtin_signatures: HashMap<Builtin, SigRef>,
}

impl<'m> FuncEnvironment<'m> {
    /// The environment of function `func_index` of type `func_type`, whose
    /// vmctx parameter is `vmctx`.
    pub fn new(
        info: &'m ModuleInfo,
        offsets: &'m VMOffsets,
        tunables: &'m Tunables,
        heaps: &'m [Heap],
        func_index: u32,
        func_type: &'m FuncType,
        vmctx: Value,
    ) -> Self {
        Self {
            info,
            offsets,
            tunables,
            heaps,
            func_index,
            func_type,
            vmctx,
            func_refs: HashMap::new(),
            signatures: HashMap::new(),
            builtin_signatures: HashMap::new(),
        }
    }

    /// The module being compiled.
    pub fn info(&self) -> &'m ModuleInfo {
        self.info
    }

    /// The compilation policy.
    pub fn tunables(&self) -> &'m Tunables {
        self.tunables
    }

    /// The function's own vmctx.
    pub fn vmctx(&self) -> Value {
        self.vmctx
    }

    /// The heap descriptor of memory `memory`.
    pub fn heap(&self, memory: u32) -> &'m Heap {
        &self.heaps[memory as usize]
    }

    /// The module type index of function `func_index` (an error for an
    /// index validation would have rejected).
    pub fn function_type_index(&self, func_index: u32) -> Result<u32, CompileError> {
        self.info
            .functions
            .get(func_index as usize)
            .copied()
            .ok_or_else(|| CompileError::Invalid {
                offset: 0,
                message: format!("function {func_index} does not exist"),
            })
    }

    /// The function type with module type index `type_index`. Validation
    /// rules out an index naming anything else; should one slip through,
    /// it is an error, not a panic.
    pub fn signature_type(&self, type_index: u32) -> Result<&'m FuncType, CompileError> {
        self.info
            .signature(type_index)
            .ok_or_else(|| CompileError::Invalid {
                offset: 0,
                message: format!("type {type_index} is not a function type"),
            })
    }

    /// Whether module type `type_index` is final (no type can declare it
    /// as its supertype), as subtype checks need to know.
    pub fn type_is_final(&self, type_index: u32) -> Result<bool, CompileError> {
        self.info
            .types
            .sub_type(ModuleTypeIndex::from_u32(type_index))
            .map(|sub_type| sub_type.is_final)
            .ok_or_else(|| CompileError::Invalid {
                offset: 0,
                message: format!("type {type_index} does not exist"),
            })
    }

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
    pub fn vmctx_readonly() -> MemFlagsData {
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

    /// Flags for the fields of the store's `VMRuntimeLimits`.
    pub fn limits_flags(builder: &mut FunctionBuilder<'_>) -> MemFlagsData {
        Self::flags_in(builder, region::RUNTIME_LIMITS, "runtime limits")
    }

    /// Flags for table definitions and table elements.
    pub fn table_flags(builder: &mut FunctionBuilder<'_>) -> MemFlagsData {
        Self::flags_in(builder, region::TABLES, "tables")
    }

    /// Flags for an access to linear memory `memory`: a fault is the
    /// out-of-bounds trap.
    pub fn heap_flags(builder: &mut FunctionBuilder<'_>, memory: u32) -> MemFlagsData {
        let region = Self::region(builder, region::HEAP_BASE + memory, "linear memory");
        MemFlagsData::new()
            .with_alias_region(Some(region))
            .with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
    }

    /// Flags for an access to a field of a GC object: references are
    /// valid heap offsets, so the access cannot fault.
    pub fn gc_object_flags(builder: &mut FunctionBuilder<'_>) -> MemFlagsData {
        Self::flags_in(builder, region::GC_OBJECTS, "GC objects")
    }

    /// The address of byte 0 of the store's GC heap. Loaded again at every
    /// use: any call may allocate and so relocate the heap, and the heap's
    /// notifier then rewrites the field.
    pub fn gc_heap_base(&self, builder: &mut FunctionBuilder<'_>) -> Value {
        let limits = self.load_vmctx_pointer(builder, VMOffsets::RUNTIME_LIMITS);
        let flags = Self::limits_flags(builder);
        builder
            .ins()
            .load(types::I64, flags, limits, field::LIMITS_GC_HEAP_BASE)
    }

    /// The address of the store's supertype display table (see
    /// `VMRuntimeLimits::gc_type_displays`). Loaded at every use: the table
    /// moves when the store meets a new type.
    pub fn gc_type_displays(&self, builder: &mut FunctionBuilder<'_>) -> Value {
        let limits = self.load_vmctx_pointer(builder, VMOffsets::RUNTIME_LIMITS);
        let flags = Self::limits_flags(builder);
        builder
            .ins()
            .load(types::I64, flags, limits, field::LIMITS_GC_TYPE_DISPLAYS)
    }

    /// How many supertypes module type `type_index` declares, directly or
    /// not: its position in its subtypes' supertype displays.
    pub fn type_depth(&self, type_index: u32) -> u32 {
        let mut depth = 0;
        let mut current = ModuleTypeIndex::from_u32(type_index);
        // Declared supertypes are earlier types, so the walk ends.
        while let Some(TypeIndex::Module(supertype)) = self
            .info
            .types
            .sub_type(current)
            .and_then(|ty| ty.supertype)
        {
            depth += 1;
            current = supertype;
        }
        depth
    }

    /// Loads the pointer-sized vmctx field at `offset`, which never changes.
    pub fn load_vmctx_pointer(&self, builder: &mut FunctionBuilder<'_>, offset: u32) -> Value {
        builder.ins().load(
            types::I64,
            Self::vmctx_readonly(),
            self.vmctx,
            offset as i32,
        )
    }

    /// Makes the function's prologue compare the stack pointer with the
    /// store's stack limit (a stack overflow trap when below).
    pub fn set_stack_limit(&self, builder: &mut FunctionBuilder<'_>) {
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

    /// The current accessible size of `heap`'s memory in bytes: the cached
    /// bound, or for a shared memory an atomic load of the memory's own
    /// length, which another thread may raise at any time (an atomic load is
    /// never merged with another or hoisted, so a loop sees growth).
    pub fn memory_bound(&self, builder: &mut FunctionBuilder<'_>, heap: &Heap) -> Value {
        if heap.shared {
            let length = self.load_vmctx_pointer(
                builder,
                self.offsets.memory_shared_length(heap.memory_index),
            );
            return builder
                .ins()
                .atomic_load(types::I64, MemFlagsData::trusted(), length);
        }
        let flags = Self::flags_in(builder, region::MEMORY_VIEWS, "memory views");
        builder.ins().load(
            types::I64,
            flags,
            self.vmctx,
            self.offsets.memory_bound(heap.memory_index) as i32,
        )
    }

    /// The current base address of `heap`'s memory. A memory that never
    /// moves has a base Cranelift may hoist; any other is reloaded after
    /// calls (its region may be written by the runtime when it moves).
    pub fn memory_base(&self, builder: &mut FunctionBuilder<'_>, heap: &Heap) -> Value {
        let flags = if heap.base_is_fixed() {
            Self::vmctx_readonly()
        } else {
            Self::flags_in(builder, region::MEMORY_VIEWS, "memory views")
        };
        builder.ins().load(
            types::I64,
            flags,
            self.vmctx,
            self.offsets.memory_base(heap.memory_index) as i32,
        )
    }

    /// The address of table `table`'s definition (base and current size).
    pub fn table_definition(&self, builder: &mut FunctionBuilder<'_>, table: u32) -> Value {
        self.load_vmctx_pointer(builder, self.offsets.table(table))
    }

    /// Whether table `table` can never change size: its type's maximum is
    /// its minimum. Import matching then pins the size too (the table given
    /// has at least the minimum elements and at most the maximum), and no
    /// growth can succeed, so its element storage never moves either.
    fn table_is_fixed(&self, table: u32) -> bool {
        let ty = &self.info.tables[table as usize].ty;
        ty.maximum() == Some(ty.minimum())
    }

    /// The current number of elements of table `table`, defined at
    /// `definition`, as i64: a constant when the table's size is fixed.
    pub fn table_size(
        &self,
        builder: &mut FunctionBuilder<'_>,
        table: u32,
        definition: Value,
    ) -> Value {
        if self.table_is_fixed(table) {
            let elements = self.info.tables[table as usize].ty.minimum();
            return builder.ins().iconst(types::I64, elements as i64);
        }
        let flags = Self::table_flags(builder);
        builder
            .ins()
            .load(types::I64, flags, definition, field::TABLE_CURRENT_ELEMENTS)
    }

    /// The address of the first element of table `table`, defined at
    /// `definition`; a load that may move (and be shared) when the table's
    /// size is fixed, since its storage then never moves.
    pub fn table_base(
        &self,
        builder: &mut FunctionBuilder<'_>,
        table: u32,
        definition: Value,
    ) -> Value {
        let mut flags = Self::table_flags(builder);
        if self.table_is_fixed(table) {
            flags = flags.with_readonly().with_can_move();
        }
        builder
            .ins()
            .load(types::I64, flags, definition, field::TABLE_BASE)
    }

    /// Where global `global_index` lives, its Cranelift type and the flags
    /// to access it with.
    pub fn global_access(
        &self,
        builder: &mut FunctionBuilder<'_>,
        global_index: u32,
    ) -> (Value, Type, MemFlagsData) {
        let ty = self.info.globals[global_index as usize].ty;
        let pointer = self.load_vmctx_pointer(builder, self.offsets.global(global_index));
        let mut flags = Self::flags_in(builder, region::GLOBALS, "globals");
        if ty.mutability() == Mutability::Const {
            flags = flags.with_readonly().with_can_move();
        }
        (pointer, value_type(*ty.content()), flags)
    }

    /// The funcref of function `function_index`: its `VMFuncRef` in the vmctx.
    pub fn func_ref_address(
        &self,
        builder: &mut FunctionBuilder<'_>,
        function_index: u32,
    ) -> Value {
        let offset = self.offsets.func_ref(function_index);
        builder.ins().iadd_imm_u(self.vmctx, i64::from(offset))
    }

    /// The code address and vmctx of imported function `function_index`.
    pub fn imported_function(
        &self,
        builder: &mut FunctionBuilder<'_>,
        function_index: u32,
    ) -> (Value, Value) {
        let flags = Self::vmctx_readonly();
        let code = builder.ins().load(
            types::I64,
            flags,
            self.vmctx,
            self.offsets.imported_function_wasm_call(function_index) as i32,
        );
        let callee_vmctx = builder.ins().load(
            types::I64,
            flags,
            self.vmctx,
            self.offsets.imported_function_vmctx(function_index) as i32,
        );
        (code, callee_vmctx)
    }

    /// The engine-wide type id the module's type `type_index` has.
    pub fn type_id(&self, builder: &mut FunctionBuilder<'_>, type_index: u32) -> Value {
        let type_ids = self.load_vmctx_pointer(builder, VMOffsets::TYPE_IDS);
        builder.ins().load(
            types::I32,
            Self::vmctx_readonly(),
            type_ids,
            (type_index * 4) as i32,
        )
    }

    /// A direct reference to defined function `func_index`, imported once.
    pub fn wasm_func_ref(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        func_index: u32,
    ) -> Result<FuncRef, CompileError> {
        let ty = self.signature_type(self.function_type_index(func_index)?)?;
        Ok(self.import_func_ref(builder, func_index, ty))
    }

    /// Imports a direct reference to function `func_index` of type `ty`.
    fn import_func_ref(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        func_index: u32,
        ty: &FuncType,
    ) -> FuncRef {
        if let Some(&func_ref) = self.func_refs.get(&func_index) {
            return func_ref;
        }
        let signature = builder.import_signature(wasm_signature(ty));
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

    /// The signature of module type `type_index`, imported once.
    pub fn wasm_signature_ref(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        type_index: u32,
    ) -> Result<SigRef, CompileError> {
        if let Some(&sig_ref) = self.signatures.get(&type_index) {
            return Ok(sig_ref);
        }
        let sig_ref = builder.import_signature(wasm_signature(self.signature_type(type_index)?));
        self.signatures.insert(type_index, sig_ref);
        Ok(sig_ref)
    }

    /// Records this function's frame pointer and address in the store's
    /// `limits` as the last Wasm frame before a call out of Wasm, where
    /// backtraces start.
    pub fn record_exit_frame(&mut self, builder: &mut FunctionBuilder<'_>, limits: Value) {
        let limits_flags = Self::limits_flags(builder);
        let frame_pointer = builder.ins().get_frame_pointer(types::I64);
        builder
            .ins()
            .store(limits_flags, frame_pointer, limits, field::LIMITS_EXIT_FP);
        let own = self.import_func_ref(builder, self.func_index, self.func_type);
        let own_address = builder.ins().func_addr(types::I64, own);
        builder
            .ins()
            .store(limits_flags, own_address, limits, field::LIMITS_EXIT_PC);
    }

    /// Records the exit frame (this function's frame pointer and address, for
    /// backtraces) and calls `builtin` with `vmctx` prepended to `args`.
    pub fn call_builtin(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        builtin: Builtin,
        args: &[Value],
    ) -> Vec<Value> {
        let (sig_ref, code) = self.builtin_callee(builder, builtin);
        let mut call_args = vec![self.vmctx];
        call_args.extend_from_slice(args);
        let call = builder.ins().call_indirect(sig_ref, code, &call_args);
        builder.inst_results(call).to_vec()
    }

    /// Records the exit frame and loads `builtin`'s address: the signature
    /// and code of a call whose first argument is this function's vmctx
    /// (for callers that emit the call themselves, e.g. as a `try_call`).
    pub fn builtin_callee(
        &mut self,
        builder: &mut FunctionBuilder<'_>,
        builtin: Builtin,
    ) -> (SigRef, Value) {
        let limits = self.load_vmctx_pointer(builder, VMOffsets::RUNTIME_LIMITS);
        self.record_exit_frame(builder, limits);

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
        (sig_ref, code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStyle;
    use crate::translate::testing::{count, translate, tunables};
    use cranelift_codegen::ir::Opcode;

    #[test]
    fn alias_regions_are_interned_by_id() {
        let mut func = cranelift_codegen::ir::Function::new();
        let mut context = cranelift_frontend::FunctionBuilderContext::new();
        let mut builder = FunctionBuilder::new(&mut func, &mut context);
        let tables = FuncEnvironment::table_flags(&mut builder);
        assert_eq!(FuncEnvironment::table_flags(&mut builder), tables);
        assert_ne!(FuncEnvironment::heap_flags(&mut builder, 0), tables);
        assert_ne!(
            FuncEnvironment::heap_flags(&mut builder, 0),
            FuncEnvironment::heap_flags(&mut builder, 1)
        );
    }

    #[test]
    fn builtin_calls_record_the_exit_frame() {
        let funcs = translate(
            r#"(module (memory 1) (func (result i32) (memory.grow (i32.const 1))))"#,
            &tunables(MemoryStyle::Dynamic, Some(0), true),
        );
        assert_eq!(count(&funcs[0], Opcode::GetFramePointer), 1);
        assert_eq!(count(&funcs[0], Opcode::FuncAddr), 1);
        assert_eq!(count(&funcs[0], Opcode::Store), 2);
        assert_eq!(count(&funcs[0], Opcode::CallIndirect), 1);
    }
}
