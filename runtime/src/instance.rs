//! Instances: instantiation in the spec's order (imports, globals, tables,
//! memories, element segments, data segments, start function), filling the
//! instance's vmctx through `vm::vmctx`, and the instance's exports. Tags
//! are kept by the instance data (not the vmctx): the unwinder resolves a
//! handler's tag index through the frame's instance.

use crate::exception::Tag;
use crate::externals::Extern;
use crate::func::Func;
use crate::gc::layout::is_gc_managed_ref;
use crate::global::Global;
use crate::memory::{Memory, MemoryEntry};
use crate::module::Module;
use crate::shared_memory::SharedMemory;
use crate::store::{AsContextMut, StoreContextMut, StoreId, StoreOpaque};
use crate::table::{Table, TableEntry};
use crate::trap::{Trap, TrapKind, WasmBacktrace};
use crate::typed::{TypedFunc, WasmParams, WasmResults};
use crate::types::{ExternType, limits_match};
use crate::values::ValRaw;
use crate::vm::fiber::FiberFuture;
use crate::vm::vmctx::{Vmctx, VmctxViewNotifier};
use anyhow::{Context, Result, anyhow, bail};
use remap_compiler::gc_layout::{
    ARRAY_ELEMENTS, GcRef, StructLayout, descriptor_position, storage_size,
};
use remap_compiler::module_info::{
    ConstExpr, ConstOp, DataSegmentKind, ElementItems, ElementSegmentKind, EntityKind, ImportKind,
};
use remap_compiler::types::{EngineTypeIndex, Mutability};
use remap_compiler::types::{StorageType, TypeIndex, TypeRegistry, ValType};
use remap_compiler::vmctx::{VMFuncRef, VMFunctionImport, VMTableDefinition};
use remap_memory::NotifierRegistration;
use std::cell::{Cell, Ref, RefCell};
use std::ptr::NonNull;

/// An instantiated module in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    store: StoreId,
    index: usize,
}

/// Everything an instance owns or refers to. Field order matters: notifier
/// registrations are dropped before the vmctx they write into.
pub(crate) struct InstanceData {
    handle: Instance,
    module: Module,
    memories: Vec<Memory>,
    tables: Vec<Table>,
    globals: Vec<Global>,
    /// Every tag, imports first: what the exception tables' tag indices
    /// resolve to.
    tags: Vec<Tag>,
    dropped_data: Vec<Cell<bool>>,
    /// Passive element segments' values (`None` once dropped or used actively).
    elements: RefCell<Vec<Option<Vec<u64>>>>,
    registrations: Vec<NotifierRegistration>,
    vmctx: Vmctx,
}

impl InstanceData {
    pub(crate) fn handle(&self) -> Instance {
        self.handle
    }

    pub(crate) fn module(&self) -> &Module {
        &self.module
    }

    pub(crate) fn memory(&self, index: u32) -> Memory {
        self.memories[index as usize]
    }

    pub(crate) fn table(&self, index: u32) -> Table {
        self.tables[index as usize]
    }

    pub(crate) fn tag(&self, index: u32) -> Tag {
        self.tags[index as usize]
    }

    /// The bytes of data segment `index` (empty once dropped).
    pub(crate) fn data_segment(&self, index: u32) -> &[u8] {
        if self.dropped_data[index as usize].get() {
            return &[];
        }
        self.module.data_segment(index)
    }

    pub(crate) fn drop_data(&self, index: u32) {
        self.dropped_data[index as usize].set(true);
    }

    /// The values of element segment `index` (empty once dropped), borrowed
    /// rather than copied: `table.init` may run in a loop over a large segment.
    pub(crate) fn element_segment(&self, index: u32) -> Ref<'_, [u64]> {
        Ref::map(self.elements.borrow(), |segments| {
            segments[index as usize].as_deref().unwrap_or_default()
        })
    }

    /// Calls `visit` with every reference of the passive element segments
    /// whose element type the collector traces (its roots).
    pub(crate) fn for_each_segment_reference(
        &self,
        registry: &TypeRegistry,
        visit: &mut dyn FnMut(u64),
    ) {
        let segments = self.elements.borrow();
        for (segment, values) in self.module.info().elements.iter().zip(segments.iter()) {
            let Some(values) = values else { continue };
            let ty = self.module.engine_ref_type(segment.ty);
            if is_gc_managed_ref(registry, ty) {
                values.iter().copied().for_each(&mut *visit);
            }
        }
    }

    pub(crate) fn drop_element(&self, index: u32) {
        self.elements.borrow_mut()[index as usize] = None;
    }

    fn func_ref(&self, index: u32) -> NonNull<VMFuncRef> {
        self.vmctx.func_ref(index)
    }

    /// Evaluates a constant expression in this instance.
    fn eval(&self, store: &StoreOpaque, expr: &ConstExpr) -> Result<ValRaw> {
        let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
        for op in &expr.ops {
            let value = match *op {
                ConstOp::I32Const(v) => ValRaw::i32(v),
                ConstOp::I64Const(v) => ValRaw::i64(v),
                ConstOp::F32Const(bits) => ValRaw::f32_bits(bits),
                ConstOp::F64Const(bits) => ValRaw::f64_bits(bits),
                ConstOp::V128Const(v) => ValRaw::u128(v),
                ConstOp::RefNull(_) => ValRaw::reference(0),
                ConstOp::RefFunc(index) => ValRaw::reference(self.func_ref(index).as_ptr() as u64),
                ConstOp::GlobalGet(index) => {
                    let entry = self.globals[index as usize].entry(store);
                    // SAFETY: the cell is live and nothing writes it concurrently.
                    unsafe { *entry.cell() }
                }
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (b, a) = (pop(&mut stack)?.get_i32(), pop(&mut stack)?.get_i32());
                    ValRaw::i32(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (b, a) = (pop(&mut stack)?.get_i64(), pop(&mut stack)?.get_i64());
                    ValRaw::i64(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::RefI31 => {
                    let value = pop(&mut stack)?.get_i32();
                    ValRaw::reference(GcRef::I31(value).to_raw())
                }
                ConstOp::StructNew(type_index) | ConstOp::StructNewDesc(type_index) => {
                    let StructSlots {
                        fields,
                        descriptor_offset,
                    } = self.struct_fields(store, type_index)?;
                    let descriptor = match op {
                        ConstOp::StructNewDesc(_) => Some(pop_descriptor(&mut stack)?),
                        _ => None,
                    };
                    let values = stack.split_off(
                        stack
                            .len()
                            .checked_sub(fields.len())
                            .ok_or_else(|| anyhow!("malformed constant expression"))?,
                    );
                    let object = self.allocate(store, type_index, 0)?;
                    for ((storage, offset), value) in fields.iter().zip(values) {
                        store.gc_write_raw(object + offset, *storage, value);
                    }
                    write_descriptor(store, object, descriptor_offset, descriptor)?;
                    ValRaw::reference(u64::from(object))
                }
                ConstOp::StructNewDefault(type_index) => {
                    ValRaw::reference(u64::from(self.allocate(store, type_index, 0)?))
                }
                ConstOp::StructNewDefaultDesc(type_index) => {
                    let descriptor_offset =
                        self.struct_fields(store, type_index)?.descriptor_offset;
                    let descriptor = pop_descriptor(&mut stack)?;
                    let object = self.allocate(store, type_index, 0)?;
                    write_descriptor(store, object, descriptor_offset, Some(descriptor))?;
                    ValRaw::reference(u64::from(object))
                }
                ConstOp::ArrayNew(type_index) => {
                    let len = pop(&mut stack)?.get_i32() as u32;
                    let value = pop(&mut stack)?;
                    let array = self.allocate(store, type_index, len)?;
                    let element = self.array_element(store, type_index)?;
                    let size = storage_size(element);
                    for index in 0..len {
                        store.gc_write_raw(array + ARRAY_ELEMENTS + index * size, element, value);
                    }
                    ValRaw::reference(u64::from(array))
                }
                ConstOp::ArrayNewDefault(type_index) => {
                    let len = pop(&mut stack)?.get_i32() as u32;
                    ValRaw::reference(u64::from(self.allocate(store, type_index, len)?))
                }
                ConstOp::ArrayNewFixed { type_index, len } => {
                    let values = stack.split_off(
                        stack
                            .len()
                            .checked_sub(len as usize)
                            .ok_or_else(|| anyhow!("malformed constant expression"))?,
                    );
                    let array = self.allocate(store, type_index, len)?;
                    let element = self.array_element(store, type_index)?;
                    let size = storage_size(element);
                    for (index, value) in (0u32..).zip(values) {
                        store.gc_write_raw(array + ARRAY_ELEMENTS + index * size, element, value);
                    }
                    ValRaw::reference(u64::from(array))
                }
                // The other hierarchy's view of the same bits.
                ConstOp::ConvertReference => pop(&mut stack)?,
            };
            stack.push(value);
        }
        pop(&mut stack)
    }

    /// Allocates an object of module type `type_index` for a constant
    /// expression. It does not collect: the expression's operands are in
    /// no root.
    fn allocate(&self, store: &StoreOpaque, type_index: u32, len: u32) -> Result<u32> {
        let type_id = self.engine_type_id(type_index)?;
        store
            .gc_allocate(type_id, len, false)
            .map_err(uninstantiable)
    }

    fn engine_type_id(&self, type_index: u32) -> Result<u32> {
        self.module
            .type_ids()
            .get(type_index as usize)
            .copied()
            .ok_or_else(|| anyhow!("type {type_index} does not exist"))
    }

    /// Where the fields (and the descriptor) of a struct of type
    /// `type_index` sit.
    fn struct_fields(&self, store: &StoreOpaque, type_index: u32) -> Result<StructSlots> {
        let sub_type = store
            .engine()
            .type_registry()
            .sub_type(EngineTypeIndex::from_u32(self.engine_type_id(type_index)?));
        let not_a_struct = || anyhow!("type {type_index} is not a struct type");
        let sub_type = sub_type.as_deref().ok_or_else(not_a_struct)?;
        let ty = sub_type.composite.as_struct().ok_or_else(not_a_struct)?;
        let registry = store.engine().type_registry();
        let position = descriptor_position(sub_type, |index| match index {
            TypeIndex::Engine(index) => registry.sub_type(index),
            _ => None,
        });
        let layout = StructLayout::of(ty, position);
        let fields = ty
            .fields
            .iter()
            .map(|field| field.storage)
            .zip(layout.field_offsets)
            .collect();
        Ok(StructSlots {
            fields,
            descriptor_offset: layout.descriptor_offset,
        })
    }

    /// The element storage of array type `type_index`.
    fn array_element(&self, store: &StoreOpaque, type_index: u32) -> Result<StorageType> {
        store
            .engine()
            .type_registry()
            .sub_type(EngineTypeIndex::from_u32(self.engine_type_id(type_index)?))
            .and_then(|ty| ty.composite.as_array().map(|array| array.element.storage))
            .ok_or_else(|| anyhow!("type {type_index} is not an array type"))
    }

    /// The reference values of element segment `index`.
    fn element_values(&self, store: &StoreOpaque, index: usize) -> Result<Vec<u64>> {
        match &self.module.info().elements[index].items {
            ElementItems::Functions(indices) => Ok(indices
                .iter()
                .map(|&f| self.func_ref(f).as_ptr() as u64)
                .collect()),
            ElementItems::Expressions(exprs) => exprs
                .iter()
                .map(|e| Ok(self.eval(store, e)?.get_reference()))
                .collect(),
        }
    }
}

fn pop(stack: &mut Vec<ValRaw>) -> Result<ValRaw> {
    stack
        .pop()
        .ok_or_else(|| anyhow!("malformed constant expression"))
}

/// Where a struct's fields sit, for constant expressions that build one.
struct StructSlots {
    /// Each field's storage and offset from the object's start.
    fields: Vec<(StorageType, u32)>,
    /// The descriptor's offset, when the struct's type is described.
    descriptor_offset: Option<u32>,
}

/// Pops the descriptor operand of `struct.new_desc` or
/// `struct.new_default_desc`; null traps, as in compiled code.
fn pop_descriptor(stack: &mut Vec<ValRaw>) -> Result<u32> {
    match GcRef::from_raw(pop(stack)?.get_reference()) {
        Some(GcRef::Null) => Err(uninstantiable(TrapKind::NullDescriptorReference)),
        Some(GcRef::Object(descriptor)) => Ok(descriptor),
        _ => bail!("malformed constant expression: a descriptor must be a struct"),
    }
}

/// Writes the descriptor of a new struct `object`, whose type holds one at
/// `descriptor_offset` exactly when `descriptor` is given.
fn write_descriptor(
    store: &StoreOpaque,
    object: u32,
    descriptor_offset: Option<u32>,
    descriptor: Option<u32>,
) -> Result<()> {
    match (descriptor_offset, descriptor) {
        (Some(offset), Some(descriptor)) => {
            store.gc_write_raw(
                object + offset,
                StorageType::Val(ValType::ANYREF),
                ValRaw::reference(GcRef::Object(descriptor).to_raw()),
            );
            Ok(())
        }
        (None, None) => Ok(()),
        _ => bail!("malformed constant expression: descriptor and type disagree"),
    }
}

fn uninstantiable(kind: TrapKind) -> anyhow::Error {
    anyhow::Error::new(Trap::new(kind, WasmBacktrace::default()))
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new(ctx: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Instance> {
        Instance::new_with_checks(ctx, module, imports, &[])
    }

    /// [`Instance::new`] where `prechecked[i]` says import `i`'s type was
    /// already proven (by [`crate::InstancePre`]) and is not checked again.
    pub(crate) fn new_with_checks(
        mut ctx: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
        prechecked: &[bool],
    ) -> Result<Instance> {
        let store = ctx.as_context_mut().0;
        store.opaque.check_sync_entry("instantiate_async")?;
        let (opaque, limiter) = store.split_limiter();
        crate::limits::check_instantiation(opaque, limiter, module)?;
        let (instance, start) = instantiate(&mut store.opaque, module, imports, prechecked)?;
        if let Some(start) = start {
            // Called with the whole store: the start function may call host functions.
            start.call(StoreContextMut(store), &[], &mut [])?;
        }
        Ok(instance)
    }

    /// [`Instance::new`] on a fiber, for a store of an engine with
    /// [`Config::async_support`](crate::Config::async_support): the start
    /// function may call async host functions.
    pub async fn new_async<T: Send>(
        ctx: impl AsContextMut<Data = T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        Instance::new_async_with_checks(ctx, module, imports, &[]).await
    }

    /// [`Instance::new_with_checks`] on a fiber.
    pub(crate) async fn new_async_with_checks<T: Send>(
        mut ctx: impl AsContextMut<Data = T>,
        module: &Module,
        imports: &[Extern],
        prechecked: &[bool],
    ) -> Result<Instance> {
        let store = ctx.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let (engine, owner) = (store.opaque.engine().clone(), store.opaque.id());
        FiberFuture::new(engine, owner, move || {
            Instance::new_with_checks(StoreContextMut(store), module, imports, prechecked)
        })?
        .await?
    }

    pub(crate) fn data<'a>(&self, store: &'a StoreOpaque) -> &'a InstanceData {
        store.assert_owns(self.store, "Instance");
        &store.instances[self.index]
    }

    /// The module this instance was made from.
    pub fn module<'a, C: crate::AsContext>(&self, ctx: &'a C) -> &'a Module {
        &self.data(&ctx.as_context().0.opaque).module
    }

    /// The export called `name`.
    pub fn get_export(&self, mut ctx: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = &ctx.as_context_mut().0.opaque;
        let data = self.data(store);
        let export = data.module.info().export(name)?;
        Some(export_of(store, data, export.kind, export.index))
    }

    /// Every export, in declaration order.
    pub fn exports<'a, C: AsContextMut>(
        &self,
        ctx: &'a mut C,
    ) -> impl ExactSizeIterator<Item = Export<'a>> + 'a {
        let store: &'a StoreOpaque = &ctx.as_context_mut().0.opaque;
        let data = self.data(store);
        data.module.info().exports.iter().map(move |export| Export {
            name: &export.name,
            item: export_of(store, data, export.kind, export.index),
        })
    }

    /// The exported function called `name`.
    pub fn get_func(&self, ctx: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(ctx, name)?.into_func()
    }

    /// The exported function called `name`, with its type checked as `P -> R`.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        mut ctx: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let func = self
            .get_func(&mut ctx, name)
            .ok_or_else(|| anyhow!("failed to find function export `{name}`"))?;
        func.typed::<P, R>(&ctx).with_context(|| {
            format!("failed to convert function `{name}` to the given static type")
        })
    }

    /// The exported memory called `name`.
    pub fn get_memory(&self, ctx: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(ctx, name)?.into_memory()
    }

    /// The exported shared memory called `name`.
    pub fn get_shared_memory(&self, ctx: impl AsContextMut, name: &str) -> Option<SharedMemory> {
        self.get_export(ctx, name)?.into_shared_memory()
    }

    /// The exported table called `name`.
    pub fn get_table(&self, ctx: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(ctx, name)?.into_table()
    }

    /// The exported global called `name`.
    pub fn get_global(&self, ctx: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(ctx, name)?.into_global()
    }
}

/// One export of an instance: its name and the item.
#[derive(Clone, Debug)]
pub struct Export<'instance> {
    name: &'instance str,
    item: Extern,
}

impl<'instance> Export<'instance> {
    /// The export's name.
    pub fn name(&self) -> &'instance str {
        self.name
    }

    /// The exported item.
    pub fn into_extern(self) -> Extern {
        self.item
    }

    /// The exported function, if the item is one.
    pub fn into_func(self) -> Option<Func> {
        self.item.into_func()
    }
}

fn export_of(store: &StoreOpaque, data: &InstanceData, kind: EntityKind, index: u32) -> Extern {
    match kind {
        EntityKind::Function => Extern::Func(Func::from_vm_func_ref(store, data.func_ref(index))),
        EntityKind::Memory => {
            let memory = data.memories[index as usize];
            match memory.entry(store).shared() {
                Some(shared) => Extern::SharedMemory(shared.clone()),
                None => Extern::Memory(memory),
            }
        }
        EntityKind::Table => Extern::Table(data.tables[index as usize]),
        EntityKind::Global => Extern::Global(data.globals[index as usize]),
        EntityKind::Tag => Extern::Tag(data.tags[index as usize]),
    }
}

/// Checks that `item` can satisfy an import of type `expected`; a function
/// or tag import's type is also given by its engine index, `expected_type_id`.
fn check_import(
    store: &StoreOpaque,
    item: &Extern,
    expected: &ExternType,
    expected_type_id: Option<u32>,
    exact: bool,
) -> Result<()> {
    let actual = item.ty_in(store);
    let compatible = match (expected, &actual, item) {
        // Function types match by subtyping of their engine indices (by
        // equality for an `exact` import).
        (ExternType::Func(_), ExternType::Func(_), Extern::Func(func)) => expected_type_id
            .is_some_and(|expected| {
                let actual = func.vm_func_ref(store).type_id;
                if exact {
                    actual == expected
                } else {
                    store.engine().type_registry().is_subtype(
                        EngineTypeIndex::from_u32(actual),
                        EngineTypeIndex::from_u32(expected),
                    )
                }
            }),
        // An immutable global may have a subtype of the expected content
        // (it is only read); a mutable one must match exactly, as must a
        // table's elements (both are written through the import too).
        // Types carry engine indices, so equal types are equal values.
        (ExternType::Global(e), ExternType::Global(a), _) => {
            e.mutability() == a.mutability()
                && match e.mutability() {
                    Mutability::Const => a
                        .content()
                        .is_subtype_of(e.content(), store.engine().type_registry()),
                    Mutability::Var => e.content() == a.content(),
                }
        }
        (ExternType::Table(e), ExternType::Table(a), _) => {
            e.element() == a.element()
                && e.is_64() == a.is_64()
                && limits_match(a.minimum(), a.maximum(), e.minimum(), e.maximum())
        }
        // A tag's type must be the same function type, by engine index.
        (ExternType::Tag(_), ExternType::Tag(_), Extern::Tag(tag)) => {
            expected_type_id == Some(tag.type_id(store))
        }
        (ExternType::Memory(e), ExternType::Memory(a), _) => {
            e.is_64() == a.is_64()
                && e.is_shared() == a.is_shared()
                && e.page_size_log2() == a.page_size_log2()
                && limits_match(a.minimum(), a.maximum(), e.minimum(), e.maximum())
        }
        _ => false,
    };
    if !compatible {
        bail!(
            "expected {} of type {expected:?}, found {} of type {actual:?}",
            expected.kind_name(),
            actual.kind_name()
        );
    }
    Ok(())
}

impl Extern {
    fn ty_in(&self, store: &StoreOpaque) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty_in(store)),
            Extern::Memory(m) => ExternType::Memory(m.entry(store).ty()),
            Extern::SharedMemory(m) => ExternType::Memory(m.ty()),
            Extern::Table(t) => ExternType::Table(t.entry(store).ty()),
            Extern::Global(g) => ExternType::Global(*g.entry(store).ty()),
            Extern::Tag(t) => ExternType::Tag(t.ty_in(store).clone()),
        }
    }
}

/// Builds an instance of `module` in `store`; returns it with its start
/// function, which the caller runs.
pub(crate) fn instantiate(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
    prechecked: &[bool],
) -> Result<(Instance, Option<Func>)> {
    if !crate::Engine::same(module.engine(), store.engine()) {
        bail!("cross-engine instantiation is not supported");
    }
    let import_types = module.import_types();
    if imports.len() != import_types.len() {
        bail!(
            "expected {} imports, found {}",
            import_types.len(),
            imports.len()
        );
    }
    let import_infos = &module.info().imports;
    for (index, ((item, (module_name, name, expected)), import)) in imports
        .iter()
        .zip(import_types)
        .zip(import_infos)
        .enumerate()
    {
        if item.store_id().is_some_and(|id| id != store.id()) {
            bail!("import `{module_name}::{name}` is an item of another store");
        }
        if prechecked.get(index).copied().unwrap_or(false) {
            continue;
        }
        let expected_type_id = match import.kind {
            ImportKind::Function(type_index)
            | ImportKind::ExactFunction(type_index)
            | ImportKind::Tag(type_index) => module.engine_type_index(type_index),
            _ => None,
        };
        let exact = matches!(import.kind, ImportKind::ExactFunction(_));
        check_import(store, item, expected, expected_type_id, exact)
            .with_context(|| format!("incompatible import type for `{module_name}::{name}`"))?;
    }

    let info = module.info();
    let vmctx = Vmctx::new(module.offsets().clone());
    let mut data = Box::new(InstanceData {
        handle: Instance {
            store: store.id(),
            index: store.instances.len(),
        },
        module: module.clone(),
        memories: Vec::with_capacity(info.memories.len()),
        tables: Vec::with_capacity(info.tables.len()),
        globals: Vec::with_capacity(info.globals.len()),
        tags: Vec::with_capacity(info.tags.len()),
        dropped_data: info.data.iter().map(|_| Cell::new(false)).collect(),
        elements: RefCell::new(vec![None; info.elements.len()]),
        registrations: Vec::new(),
        vmctx,
    });
    let instance_ptr: *mut InstanceData = &mut *data;
    let vmctx_ptr = data.vmctx.as_ptr();

    // SAFETY: the limits and the store are the store's, the type ids the
    // module's (which the instance keeps alive), and the instance data is
    // boxed, owns the vmctx and moves into the store with it.
    unsafe {
        data.vmctx.init_header(
            store.limits(),
            module.type_ids().as_ptr(),
            store as *mut StoreOpaque,
            instance_ptr,
        )
    };

    // Imports, split by kind (their kinds were checked against the module above).
    let mut imported_funcs = Vec::new();
    let mut imported_tables = Vec::new();
    let mut imported_memories = Vec::new();
    let mut imported_globals = Vec::new();
    for item in imports {
        match item.clone() {
            Extern::Func(f) => imported_funcs.push(f),
            Extern::Table(t) => imported_tables.push(t),
            Extern::Memory(m) => imported_memories.push(m),
            Extern::SharedMemory(shared) => {
                let entry = MemoryEntry::for_shared(store.engine(), shared)?;
                imported_memories.push(Memory::push(store, entry));
            }
            Extern::Global(g) => imported_globals.push(g),
            Extern::Tag(t) => data.tags.push(t),
        }
    }
    // Tags: imports (above), then a new tag per definition.
    for (index, &type_index) in info.tags.iter().enumerate().skip(data.tags.len()) {
        let ty = module.tag_type(index as u32).clone();
        let type_id = module
            .engine_type_index(type_index)
            .context("a tag of a type that is not a function type")?;
        data.tags.push(Tag::new_in(store, ty, type_id, None));
    }

    // Functions: imports first, then this module's code.
    for (index, &type_index) in info.functions.iter().enumerate() {
        let index = index as u32;
        let func_ref = match imported_funcs.get(index as usize) {
            Some(func) => {
                let func_ref = func.vm_func_ref(store);
                // SAFETY: an import checked to belong to this store.
                unsafe {
                    data.vmctx.set_imported_function(
                        index,
                        VMFunctionImport {
                            wasm_call: func_ref.wasm_call,
                            vmctx: func_ref.vmctx,
                        },
                    )
                };
                func_ref
            }
            None => VMFuncRef {
                wasm_call: module.function_address(index) as *const u8,
                vmctx: vmctx_ptr,
                type_id: module.type_ids()[type_index as usize],
                padding: 0,
            },
        };
        // SAFETY: an import of this store, or this instance's own code.
        unsafe { data.vmctx.set_func_ref(index, func_ref) };
    }

    // Globals, in order: initialisers may read imported and earlier globals.
    for (index, global) in info.globals.iter().enumerate() {
        let handle = match imported_globals.get(index) {
            Some(&g) => g,
            None => {
                let init = global
                    .init
                    .as_ref()
                    .context("defined global without an initialiser")?;
                let value = data.eval(store, init)?;
                Global::from_raw_parts(store, module.global_type(global.ty), value)
            }
        };
        data.globals.push(handle);
        // SAFETY: a global of this store (imported ones were checked).
        unsafe {
            data.vmctx
                .set_global(index as u32, handle.entry(store).cell())
        };
    }

    // Memories: each instance subscribes its own cached view. A defined
    // memory starts as its module's image where there is one, and its
    // segments are then not copied below. A shared memory never moves and
    // its length is read through `shared_length` (shared_memory.rs), so its
    // view is written once and needs no notifier.
    let mut imaged = vec![false; info.memories.len()];
    // Exact capacities: a store of a small instance should not carry room
    // for four memories (with a million stores, that room adds up).
    let defined_memories = info.memories.len().saturating_sub(imported_memories.len());
    store.memories.reserve_exact(defined_memories);
    data.memories.reserve_exact(info.memories.len());
    data.registrations.reserve_exact(info.memories.len());
    for (index, ty) in info.memories.iter().enumerate() {
        let handle = match imported_memories.get(index) {
            Some(&m) => m,
            None if ty.is_shared() => {
                let shared = SharedMemory::new(store.engine(), *ty)
                    .context("failed to create the instance's shared memory")?;
                Memory::push(store, MemoryEntry::for_shared(store.engine(), shared)?)
            }
            None => {
                let image = module.memory_image(index as u32);
                let entry = MemoryEntry::with_image(store.engine(), *ty, image)
                    .context("failed to create the instance's linear memory")?;
                imaged[index] = entry.has_image();
                Memory::push(store, entry)
            }
        };
        data.memories.push(handle);
        if let Some(shared) = handle.entry(store).shared() {
            // SAFETY: the base never changes and the length lives as long as
            // the shared memory, which the store's entry keeps alive for as
            // long as the instance's code can run.
            unsafe {
                data.vmctx.set_shared_memory_view(
                    index as u32,
                    shared.data_ptr(),
                    shared.length_address(),
                )
            };
            continue;
        }
        let view = data.vmctx.memory_view(index as u32);
        // SAFETY: the view lives in the vmctx, which outlives the registration
        // (dropped first, by field order of `InstanceData`).
        let registration =
            unsafe { VmctxViewNotifier::attach(handle.entry(store).memory(), view)? };
        data.registrations.push(registration);
    }

    // Tables.
    for (index, table) in info.tables.iter().enumerate() {
        let handle = match imported_tables.get(index) {
            Some(&t) => t,
            None => {
                let init = match &table.init {
                    Some(expr) => data.eval(store, expr)?.get_reference(),
                    None => 0,
                };
                let entry = TableEntry::new(module.table_type(table.ty), init)?;
                Table::push(store, entry)
            }
        };
        data.tables.push(handle);
        let definition: *mut VMTableDefinition = handle.entry(store).definition();
        // SAFETY: a table of this store (imported ones were checked).
        unsafe { data.vmctx.set_table(index as u32, definition) };
    }

    // Element segment values, computed once.
    for index in 0..info.elements.len() {
        let values = data.element_values(store, index)?;
        data.elements.borrow_mut()[index] = Some(values);
    }

    // From here on the instance is visible: segments may already have written
    // references to its functions into imported tables when a later one fails.
    let handle = data.handle;
    store.instances.push(data);
    let data = &store.instances[handle.index];

    for (index, segment) in info.elements.iter().enumerate() {
        match &segment.kind {
            ElementSegmentKind::Active { table, offset } => {
                let entry = data.tables[*table as usize].entry(store);
                let offset = data.eval(store, offset)?;
                let offset = if entry.ty().is_64() {
                    offset.get_i64() as u64
                } else {
                    u64::from(offset.get_i32() as u32)
                };
                entry
                    .init(offset, &data.element_segment(index as u32))
                    .map_err(uninstantiable)?;
                data.drop_element(index as u32);
            }
            ElementSegmentKind::Declared => data.drop_element(index as u32),
            ElementSegmentKind::Passive => {}
        }
    }

    for (index, segment) in info.data.iter().enumerate() {
        if let DataSegmentKind::Active { memory, offset } = &segment.kind {
            if imaged[*memory as usize] {
                // In bounds and already in place: the image holds every
                // segment of this memory (memory_image.rs).
                data.drop_data(index as u32);
                continue;
            }
            let memory_handle = data.memories[*memory as usize];
            let entry = memory_handle.entry(store);
            let offset = if entry.ty().is_64() {
                data.eval(store, offset)?.get_i64() as u64
            } else {
                u64::from(data.eval(store, offset)?.get_i32() as u32)
            };
            let bytes = module.data_segment(index as u32);
            let view = entry.memory().view();
            let end = offset
                .checked_add(bytes.len() as u64)
                .filter(|&end| end <= view.len as u64)
                .ok_or_else(|| uninstantiable(TrapKind::MemoryOutOfBounds))?;
            if !bytes.is_empty() {
                // SAFETY: `offset..end` lies within the accessible memory (checked
                // above); the segment bytes are a separate allocation.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        view.base.add(offset as usize),
                        (end - offset) as usize,
                    )
                };
            }
            data.drop_data(index as u32);
        }
    }

    let start = info
        .start
        .map(|start| Func::from_vm_func_ref(store, data.func_ref(start)));
    Ok((handle, start))
}
