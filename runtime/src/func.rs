//! Functions: Wasm functions of instances and host functions, called from the
//! host (`Func::call`) or from Wasm (through a host trampoline and `array_call`).
//!
//! Code that Wasm calls reaches its store through the thread's entered
//! store, which [`Func::call_raw`] publishes for each host->Wasm call (see
//! `vm::entered_store` for why that is the only way).

use crate::exception::ThrownException;
use crate::externals::Extern;
use crate::module::HostTrampoline;
use crate::store::{
    AsContext, AsContextMut, StoreContext, StoreContextMut, StoreId, StoreInner, StoreOpaque,
};
use crate::trap::{Trap, WasmBacktrace};
use crate::typed::{IntoFunc, TypedFunc, WasmParams, WasmResults};
use crate::types::FuncType;
use crate::values::{Val, ValRaw};
use crate::vm::entered_store::{EnteredStore, entered_store};
use crate::vm::fiber::{self, FiberFuture};
use crate::vm::throw::throw_from_host;
use crate::vm::traps::{self, Unwind};
use crate::vm::vmctx::instance_of_vmctx;
use anyhow::{Result, bail};
use remap_compiler::types::RegisteredType;
use remap_compiler::vmctx::{
    VM_HOST_FUNC_MAGIC, VMCTX_MAGIC, VMEntryTrampolineFn, VMFuncRef, VMHostFuncContext,
};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::Arc;

/// How the host enters a function: see [`Func::entry`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry {
    /// A host function: its callback is called directly.
    Host,
    /// Wasm code, through this entry trampoline.
    Wasm(VMEntryTrampolineFn),
}

/// A function owned by a store: defined in Wasm or by the host.
///
/// Internally a pointer to the function's `VMFuncRef`, the same thing a
/// `funcref` value holds, so converting between the two is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    store: StoreId,
    func_ref: NonNull<VMFuncRef>,
}

// SAFETY: the pointer is only dereferenced through a store whose id matches,
// which the caller must hold (borrowed); the handle itself is plain data.
unsafe impl Send for Func {}
// SAFETY: as above.
unsafe impl Sync for Func {}

/// A host function as the store-independent `Linker` keeps it.
pub(crate) type TypedHostFn<T> =
    Arc<dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync>;

/// A host function with its store type erased: `(store, caller vmctx or null, values)`,
/// where `store` points at the whole `StoreInner<T>` the function belongs to.
type HostCallback = Box<dyn Fn(*mut u8, *mut u8, &mut [ValRaw]) -> Result<()> + Send + Sync>;

/// The context a host function's trampoline receives as its vmctx. Starts
/// with the compiler-visible `VMHostFuncContext`.
#[repr(C)]
pub(crate) struct HostFuncContext {
    header: VMHostFuncContext,
    func_ref: VMFuncRef,
    /// The store the function belongs to (checked against the entered store).
    store: StoreId,
    ty: FuncType,
    /// Keeps `type_id` (the engine index of `ty`) registered.
    _registration: RegisteredType,
    callback: HostCallback,
    _trampoline: HostTrampoline,
}

/// Owns a `HostFuncContext` through its raw pointer instead of a `Box`: compiled
/// code and `Func` handles point into the context, and a `Box` that moves
/// (into the store's list, or when that list grows) claims unique access to
/// its contents, which those pointers would then violate.
pub(crate) struct HostFuncAllocation(NonNull<HostFuncContext>);

impl HostFuncAllocation {
    /// # Safety
    /// `context` must come from `Box::into_raw` and have no other owner.
    unsafe fn from_raw(context: *mut HostFuncContext) -> HostFuncAllocation {
        HostFuncAllocation(NonNull::new(context).expect("Box::into_raw is never null"))
    }
}

impl Drop for HostFuncAllocation {
    fn drop(&mut self) {
        // SAFETY: from `Box::into_raw` (see `from_raw`); the store drops its host
        // functions only when nothing can call them any more.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl Func {
    /// The store this handle belongs to.
    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    /// A host function of type `ty` that works on `Val`s.
    ///
    /// # Panics
    /// When `ty` names a concrete type that is not registered in the store's
    /// engine (use [`Linker::func_new`](crate::Linker::func_new) to get an
    /// error instead).
    pub fn new<T: 'static>(
        mut ctx: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let host = val_host_fn(ty.clone(), func);
        Func::from_host_fn(ctx.as_context_mut().0, ty, host)
    }

    /// A host function from a Rust closure with typed parameters and results,
    /// optionally taking a leading [`Caller`].
    pub fn wrap<T: 'static, Params, Results>(
        mut ctx: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, host) = func.into_host_fn();
        Func::from_host_fn(ctx.as_context_mut().0, ty, host)
    }

    /// Adds a host function to the store.
    pub(crate) fn from_host_fn<T: 'static>(
        store: &mut StoreInner<T>,
        ty: FuncType,
        host: TypedHostFn<T>,
    ) -> Func {
        let engine = store.opaque.engine().clone();
        let trampoline = engine.host_trampoline(&ty).unwrap_or_else(|error| {
            panic!("internal error: compiling a host trampoline for {ty}: {error:#}")
        });
        let registration = engine.register_func_type(&ty).unwrap_or_else(|error| {
            panic!("cannot create a host function of type {ty}: {error:#}")
        });
        let type_id = registration.index().as_u32();
        let callback: HostCallback = Box::new(move |store, caller_vmctx, values| {
            // SAFETY: `store` is the whole `StoreInner<T>` of this function's store
            // (callers check its id), derived from the exclusive borrow of the
            // host->Wasm call in progress, which is not used until we return; this
            // is the only reference made from it (module docs).
            let inner = unsafe { &mut *store.cast::<StoreInner<T>>() };
            host(
                Caller {
                    store: StoreContextMut(inner),
                    caller_vmctx,
                },
                values,
            )
        });
        let context = Box::into_raw(Box::new(HostFuncContext {
            header: VMHostFuncContext {
                magic: VM_HOST_FUNC_MAGIC,
                array_call: host_array_call,
                type_id,
            },
            func_ref: VMFuncRef {
                wasm_call: trampoline.address(),
                vmctx: std::ptr::null_mut(),
                type_id,
                padding: 0,
            },
            store: store.opaque.id(),
            ty,
            _registration: registration,
            callback,
            _trampoline: trampoline,
        }));
        // SAFETY: `context` was just allocated; every pointer into it (this
        // field, the handle's `func_ref`) derives from this one raw pointer.
        let func_ref = unsafe {
            (*context).func_ref.vmctx = context.cast();
            NonNull::new_unchecked(&raw mut (*context).func_ref)
        };
        // SAFETY: `context` came from `Box::into_raw` and has no other owner.
        store
            .opaque
            .host_funcs
            .push(unsafe { HostFuncAllocation::from_raw(context) });
        Func {
            store: store.opaque.id(),
            func_ref,
        }
    }

    /// A store's instance of a linker's host function: created on first use,
    /// then reused (the closure is shared, so its address identifies it).
    pub(crate) fn from_linker<T: 'static>(
        store: &mut StoreInner<T>,
        ty: &FuncType,
        host: &TypedHostFn<T>,
    ) -> Func {
        let key = Arc::as_ptr(host).cast::<()>() as usize;
        if let Some(&func) = store.opaque.linker_funcs.get(&key) {
            return func;
        }
        // The new context keeps a clone of `host`, so `key` stays unique while cached.
        let func = Func::from_host_fn(store, ty.clone(), host.clone());
        store.opaque.linker_funcs.insert(key, func);
        func
    }

    /// The function's signature, as registered in the engine.
    pub fn ty(&self, ctx: impl AsContext) -> FuncType {
        let store = &ctx.as_context().0.opaque;
        self.ty_in(store)
    }

    pub(crate) fn ty_in(&self, store: &StoreOpaque) -> FuncType {
        self.ty_ref(store).clone()
    }

    /// The signature, borrowed from the host context or the instance's module
    /// (both owned by the store), without touching the engine's registry.
    fn ty_ref<'a>(&self, store: &'a StoreOpaque) -> &'a FuncType {
        let func_ref = self.vm_func_ref(store);
        // SAFETY: every vmctx starts with a u32 magic; the magic says whether it
        // is a `HostFuncContext` or an instance vmctx, both owned by `store`.
        unsafe {
            if *func_ref.vmctx.cast::<u32>() == VM_HOST_FUNC_MAGIC {
                &(*func_ref.vmctx.cast::<HostFuncContext>()).ty
            } else {
                (*instance_of_vmctx(func_ref.vmctx))
                    .module()
                    .func_type(func_ref.type_id)
                    .expect("a module knows each of its function types")
            }
        }
    }

    /// A copy of the function's `VMFuncRef`; panics when `store` is not the
    /// handle's store.
    pub(crate) fn vm_func_ref(&self, store: &StoreOpaque) -> VMFuncRef {
        store.assert_owns(self.store, "Func");
        // SAFETY: handles are only made for `VMFuncRef`s inside a store's
        // vmctx allocations or host function contexts, which are written
        // before the handle exists and freed only with the store. `store` is
        // borrowed, so alive, and was just checked to be this handle's (store
        // ids are never reused, so a handle of a dropped store fails the check).
        unsafe { *self.func_ref.as_ptr() }
    }

    /// This function as a typed function; fails if the types differ.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        ctx: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let store = &ctx.as_context().0.opaque;
        crate::typed::check_signature::<P, R>(self.ty_ref(store))?;
        Ok(TypedFunc::new_unchecked(*self, self.entry(store)))
    }

    /// Calls the function with `params`, writing its results into `results`.
    /// Fails on a store of an engine with
    /// [`Config::async_support`](crate::Config::async_support): use
    /// [`Func::call_async`] there.
    pub fn call(
        &self,
        mut ctx: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = ctx.as_context_mut().0;
        store.opaque.check_sync_entry("call_async")?;
        let ty = self.ty_ref(&store.opaque);
        if params.len() != ty.params().len() {
            bail!(
                "expected {} arguments, got {} (function type {ty})",
                ty.params().len(),
                params.len()
            );
        }
        if results.len() != ty.results().len() {
            bail!(
                "expected room for {} results, got {} (function type {ty})",
                ty.results().len(),
                results.len()
            );
        }
        // Most signatures are short: keep their slots on the stack.
        let mut inline = [ValRaw::default(); 8];
        let mut spilled = Vec::new();
        let slots = ty.value_slots().max(1);
        let values: &mut [ValRaw] = if slots <= inline.len() {
            &mut inline[..slots]
        } else {
            spilled.resize(slots, ValRaw::default());
            &mut spilled
        };
        for (index, (param, &expected)) in params.iter().zip(ty.params()).enumerate() {
            values[index] =
                param.to_raw_checked(&store.opaque, expected, &format!("argument {index}"))?;
        }
        // SAFETY: `values` has `max(params, results)` slots holding valid
        // arguments of the function's type, all from this store.
        unsafe { self.call_raw(store, values.as_mut_ptr())? };
        let ty = self.ty_ref(&store.opaque);
        for ((result, raw), &ty) in results.iter_mut().zip(values.iter()).zip(ty.results()) {
            // SAFETY: the callee wrote results of its declared types.
            *result = unsafe { Val::from_raw(&store.opaque, *raw, ty) };
        }
        Ok(())
    }

    /// [`Func::call`] on a fiber, for a store of an engine with
    /// [`Config::async_support`](crate::Config::async_support): async host
    /// functions and epoch yields suspend the guest and this future with
    /// it. Dropping the future before it finishes cancels the call (the
    /// guest unwinds as from a trap and the store stays usable).
    pub async fn call_async<T: Send>(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = ctx.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let (engine, owner) = (store.opaque.engine().clone(), store.opaque.id());
        let func = *self;
        FiberFuture::new(engine, owner, move || {
            func.call(StoreContextMut(store), params, results)
        })?
        .await?
    }

    /// Calls with arguments and results in `values` (`max(params, results)` slots).
    ///
    /// `store` is turned into the one pointer the callee reaches the store
    /// through (module docs) and is not used again until the call returns.
    ///
    /// # Safety
    /// `values` must hold valid arguments of this function's type from `store`,
    /// and have room for the results.
    pub(crate) unsafe fn call_raw<T>(
        &self,
        store: &mut StoreInner<T>,
        values: *mut ValRaw,
    ) -> Result<()> {
        let store: *mut StoreInner<T> = store;
        // SAFETY: forwarded from the caller; `StoreInner` is `repr(C)` with its
        // `StoreOpaque` first, and the pointer keeps the whole store's provenance.
        unsafe { self.call_raw_erased(store.cast(), values) }
    }

    /// [`Func::call_raw`] without the store's data type.
    ///
    /// # Safety
    /// As for `call_raw`; `store` points at a whole `StoreInner<T>` (its
    /// `StoreOpaque` first) and comes from an exclusive borrow that is not used
    /// until this call returns.
    unsafe fn call_raw_erased(&self, store: *mut StoreOpaque, values: *mut ValRaw) -> Result<()> {
        // SAFETY: `store` is valid; this shared borrow ends before any callee runs.
        let entry = self.entry(unsafe { &*store });
        // SAFETY: forwarded from the caller; `entry` is this function's.
        unsafe { self.call_entry(store, entry, values) }
    }

    /// How the host enters this function: worked out from its context
    /// (a host function, or an instance's code through the module's entry
    /// trampoline for its type), once per call, or once for a [`TypedFunc`].
    pub(crate) fn entry(&self, store: &StoreOpaque) -> Entry {
        let func_ref = self.vm_func_ref(store);
        // SAFETY: every vmctx starts with a u32 magic (instance or host context).
        let magic = unsafe { *func_ref.vmctx.cast::<u32>() };
        if magic == VM_HOST_FUNC_MAGIC {
            return Entry::Host;
        }
        debug_assert_eq!(magic, VMCTX_MAGIC);
        // SAFETY: an instance vmctx stores its `InstanceData` pointer in the header.
        let instance = unsafe { &*instance_of_vmctx(func_ref.vmctx) };
        Entry::Wasm(
            instance
                .module()
                .entry_trampoline(func_ref.type_id)
                .expect("a module has an entry trampoline for each of its function types"),
        )
    }

    /// [`Func::call_raw_erased`] with the entry already worked out.
    ///
    /// # Safety
    /// As for `call_raw_erased`; `entry` is what [`Func::entry`] returns for this function.
    pub(crate) unsafe fn call_entry(
        &self,
        store: *mut StoreOpaque,
        entry: Entry,
        values: *mut ValRaw,
    ) -> Result<()> {
        let (limits, max_stack, func_ref) = {
            // SAFETY: `store` is valid; this shared borrow ends before any callee runs.
            let opaque = unsafe { &*store };
            (
                opaque.limits(),
                opaque.engine().config().max_wasm_stack,
                self.vm_func_ref(opaque),
            )
        };
        let entry = match entry {
            Entry::Wasm(entry) => entry,
            Entry::Host => {
                // SAFETY: `Entry::Host` means the vmctx is a `HostFuncContext`
                // owned by this store.
                let host = unsafe { &*func_ref.vmctx.cast::<HostFuncContext>() };
                // SAFETY: the caller sized `values` for this function's type.
                let values =
                    unsafe { std::slice::from_raw_parts_mut(values, host.ty.value_slots().max(1)) };
                return (host.callback)(store.cast(), ptr::null_mut(), values);
            }
        };
        let mut body = || {
            // SAFETY: the trampoline has the entry signature; the callee code and
            // vmctx come from a live `VMFuncRef`; `values` is sized by the caller.
            unsafe { entry(func_ref.vmctx, func_ref.vmctx, func_ref.wasm_call, values) }
        };
        let _entered = EnteredStore::enter(store);
        // SAFETY: `limits` is this store's; `body` owns nothing droppable.
        unsafe { traps::catch_traps(limits, max_stack, &mut body) }
    }

    /// The `funcref` bits of an optional function (0 = null).
    pub(crate) fn option_to_raw(func: Option<&Func>, store: &StoreOpaque) -> Result<u64> {
        match func {
            None => Ok(0),
            Some(func) if func.store == store.id() => Ok(func.func_ref.as_ptr() as u64),
            Some(_) => bail!("function used with a store it does not belong to"),
        }
    }

    /// The function behind `funcref` bits (0 = null).
    ///
    /// # Safety
    /// A non-zero `raw` must point at a live `VMFuncRef` of `store`.
    pub(crate) unsafe fn from_raw(store: &StoreOpaque, raw: u64) -> Option<Func> {
        NonNull::new(raw as *mut VMFuncRef).map(|func_ref| Func {
            store: store.id(),
            func_ref,
        })
    }

    /// Makes a handle for a `VMFuncRef` inside `store`.
    pub(crate) fn from_vm_func_ref(store: &StoreOpaque, func_ref: NonNull<VMFuncRef>) -> Func {
        Func {
            store: store.id(),
            func_ref,
        }
    }
}

impl StoreOpaque {
    /// Fails when Wasm of this store must run on a fiber and a sync entry
    /// point was used outside one; `instead` names the async entry point.
    pub(crate) fn check_sync_entry(&self, instead: &str) -> Result<()> {
        if self.engine().config().async_support && !fiber::on_fiber() {
            bail!("must use `{instead}` when async support is enabled on the config");
        }
        Ok(())
    }

    /// Fails unless the store's engine runs Wasm on fibers.
    pub(crate) fn check_async_entry(&self) -> Result<()> {
        if !self.engine().config().async_support {
            bail!("async calls and instantiation need `Config::async_support(true)`");
        }
        Ok(())
    }
}

/// What host trampolines call: runs the host function and turns its error or
/// panic into an unwind to the host->Wasm entry point.
unsafe extern "C" fn host_array_call(
    context: *mut VMHostFuncContext,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) {
    let outcome = {
        // SAFETY: host trampolines pass the `HostFuncContext` stored in the
        // function's `VMFuncRef`, and an array of `len` value slots.
        let (host, values) = unsafe {
            (
                &*context.cast::<HostFuncContext>(),
                std::slice::from_raw_parts_mut(values, len),
            )
        };
        panic::catch_unwind(AssertUnwindSafe(|| {
            let store = entered_store();
            // SAFETY: Wasm runs, so a host->Wasm call published its store; a shared
            // borrow to read the id ends before the callback makes its own.
            let entered_id = (!store.is_null()).then(|| unsafe { (*store).id() });
            assert_eq!(
                entered_id,
                Some(host.store),
                "internal error: a host function called from Wasm of another store"
            );
            // The host function's handles are rooted for the call only: a
            // root scope around it (its results are raw by the end).
            // SAFETY: as above, shared borrows that end before and begin
            // after the callback's own.
            let depth = unsafe { (*store).gc_lifo_depth() };
            let result = (host.callback)(store.cast(), caller_vmctx, values);
            // SAFETY: as above.
            unsafe { (*store).gc_release_lifo_roots(depth) };
            result
        }))
    };
    match outcome {
        Ok(Ok(())) => {}
        // A Wasm exception of this store is thrown into the Wasm caller.
        Ok(Err(error)) => match error.downcast_ref::<ThrownException>() {
            Some(thrown) if is_entered_store(thrown.exception().store_id()) => {
                let exception = thrown.exception();
                drop(error);
                // SAFETY: called from compiled code inside `catch_traps`; the
                // error is dropped, so this frame owns nothing; the exception
                // belongs to the entered store.
                unsafe { throw_from_host(exception) }
            }
            // SAFETY: called from compiled code inside `catch_traps`; this
            // frame has moved everything it owned into the unwind reason.
            _ => unsafe { traps::raise(Unwind::Host(with_wasm_backtrace(error))) },
        },
        // SAFETY: as above.
        Err(payload) => unsafe { traps::raise(Unwind::Panic(payload)) },
    }
}

/// Whether `store` is the store whose Wasm is running on this thread.
fn is_entered_store(store: StoreId) -> bool {
    let entered = entered_store();
    // SAFETY: a non-null entered store is live while its Wasm runs; the
    // shared borrow only reads the id.
    !entered.is_null() && unsafe { (*entered).id() } == store
}

/// A host function's error as it leaves Wasm: with the Wasm frames that were
/// active as context (`error.downcast_ref::<WasmBacktrace>()`), unless it
/// already describes them (a trap or an error from a nested call into Wasm).
pub(crate) fn with_wasm_backtrace(error: anyhow::Error) -> anyhow::Error {
    if error.is::<Trap>() || error.is::<WasmBacktrace>() {
        return error;
    }
    let backtrace = traps::capture_host_call_backtrace();
    if backtrace.frames().is_empty() {
        return error;
    }
    error.context(backtrace)
}

/// Adapts a `Val`-based host closure to the raw calling convention.
pub(crate) fn val_host_fn<T: 'static>(
    ty: FuncType,
    func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
) -> TypedHostFn<T> {
    Arc::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
        let params: Vec<Val> = {
            let store = &caller.store.0.opaque;
            ty.params()
                .iter()
                .zip(values.iter())
                // SAFETY: compiled code passes arguments of the declared types.
                .map(|(&ty, raw)| unsafe { Val::from_raw(store, *raw, ty) })
                .collect()
        };
        let mut results: Vec<Val> = ty.results().iter().copied().map(Val::default_for).collect();
        func(caller.reborrow_caller(), &params, &mut results)?;
        let store = &mut caller.store.0.opaque;
        for (index, (result, &expected)) in results.iter().zip(ty.results()).enumerate() {
            values[index] =
                result.to_raw_checked(store, expected, &format!("host function result {index}"))?;
        }
        Ok(())
    })
}

/// The store and calling instance, as a host function sees them.
pub struct Caller<'a, T> {
    pub(crate) store: StoreContextMut<'a, T>,
    caller_vmctx: *mut u8,
}

impl<'a, T> Caller<'a, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        &self.store.0.data
    }

    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.0.data
    }

    /// The engine.
    pub fn engine(&self) -> &crate::Engine {
        self.store.0.opaque.engine()
    }

    /// An export of the calling instance (`None` when called from the host).
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        if self.caller_vmctx.is_null() {
            return None;
        }
        // SAFETY: a non-null caller vmctx is the calling instance's live vmctx.
        let instance = unsafe { &*instance_of_vmctx(self.caller_vmctx) };
        instance.handle().get_export(&mut self.store, name)
    }

    /// A shorter-lived caller over the same store.
    pub(crate) fn reborrow_caller(&mut self) -> Caller<'_, T> {
        Caller {
            store: StoreContextMut(&mut *self.store.0),
            caller_vmctx: self.caller_vmctx,
        }
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store.0)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut *self.store.0)
    }
}
