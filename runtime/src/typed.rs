//! Statically typed calls: `TypedFunc<Params, Results>` for host->Wasm calls
//! and `IntoFunc` for Rust closures that Wasm calls.

use crate::externref::ExternRef;
use crate::func::{Caller, Entry, Func, TypedHostFn};
use crate::gc::AnyRef;
use crate::store::{AsContextMut, StoreContextMut, StoreOpaque};
use crate::types::{FuncType, ValType};
use crate::values::ValRaw;
use crate::vm::fiber::FiberFuture;
use anyhow::{Result, bail};
use std::marker::PhantomData;
use std::sync::Arc;

/// A Rust type that is one Wasm value.
pub trait WasmTy: Sized + Send + 'static {
    /// The Wasm type.
    #[doc(hidden)]
    fn valtype() -> ValType;
    /// Converts to a value slot; fails for a reference from another store.
    #[doc(hidden)]
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw>;
    /// Reads a value slot.
    ///
    /// # Safety
    /// `raw` must hold a value of `Self::valtype()` from `store`.
    #[doc(hidden)]
    unsafe fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self;
}

macro_rules! numeric_wasm_ty {
    ($($ty:ty => $valtype:ident, $make:expr, $get:expr;)*) => {$(
        impl WasmTy for $ty {
            fn valtype() -> ValType {
                ValType::$valtype
            }
            fn into_raw(self, _store: &StoreOpaque) -> Result<ValRaw> {
                let make: fn($ty) -> ValRaw = $make;
                Ok(make(self))
            }
            unsafe fn from_raw(_store: &StoreOpaque, raw: ValRaw) -> Self {
                let get: fn(ValRaw) -> $ty = $get;
                get(raw)
            }
        }
    )*};
}

numeric_wasm_ty! {
    i32 => I32, ValRaw::i32, |raw| raw.get_i32();
    u32 => I32, |v| ValRaw::i32(v as i32), |raw| raw.get_i32() as u32;
    i64 => I64, ValRaw::i64, |raw| raw.get_i64();
    u64 => I64, |v| ValRaw::i64(v as i64), |raw| raw.get_i64() as u64;
    f32 => F32, |v| ValRaw::f32_bits(v.to_bits()), |raw| f32::from_bits(raw.get_f32_bits());
    f64 => F64, |v| ValRaw::f64_bits(v.to_bits()), |raw| f64::from_bits(raw.get_f64_bits());
}

impl WasmTy for Option<Func> {
    fn valtype() -> ValType {
        ValType::FUNCREF
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::reference(Func::option_to_raw(
            self.as_ref(),
            store,
        )?))
    }
    unsafe fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: forwarded from the caller.
        unsafe { Func::from_raw(store, raw.get_reference()) }
    }
}

impl WasmTy for Option<ExternRef> {
    fn valtype() -> ValType {
        ValType::EXTERNREF
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::reference(ExternRef::option_to_raw(
            self.as_ref(),
            store,
        )?))
    }
    unsafe fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self {
        ExternRef::from_raw(store, raw.get_reference())
    }
}

impl WasmTy for Option<AnyRef> {
    fn valtype() -> ValType {
        ValType::ANYREF
    }
    fn into_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(ValRaw::reference(AnyRef::option_to_raw(
            self.as_ref(),
            store,
        )?))
    }
    unsafe fn from_raw(store: &StoreOpaque, raw: ValRaw) -> Self {
        AnyRef::from_raw(store, raw.get_reference())
    }
}

/// A list of Wasm values as a Rust type: `()`, one `WasmTy`, or a tuple of them.
pub trait WasmParams: Sized + Send + 'static {
    /// The Wasm types, in order.
    #[doc(hidden)]
    fn valtypes() -> Vec<ValType>;
    /// Writes the values into `values[0..n]`.
    #[doc(hidden)]
    fn store_raw(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()>;
    /// Reads the values from `values[0..n]`.
    ///
    /// # Safety
    /// The slots must hold values of `Self::valtypes()` from `store`.
    #[doc(hidden)]
    unsafe fn load_raw(store: &StoreOpaque, values: &[ValRaw]) -> Self;
}

/// Results of a typed call: the same shapes as [`WasmParams`].
pub trait WasmResults: WasmParams {}
impl<T: WasmParams> WasmResults for T {}

impl<A: WasmTy> WasmParams for A {
    fn valtypes() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn store_raw(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
        values[0] = self.into_raw(store)?;
        Ok(())
    }
    unsafe fn load_raw(store: &StoreOpaque, values: &[ValRaw]) -> Self {
        // SAFETY: forwarded from the caller.
        unsafe { A::from_raw(store, values[0]) }
    }
}

macro_rules! tuple_params {
    ($($name:ident $index:tt),*) => {
        impl<$($name: WasmTy),*> WasmParams for ($($name,)*) {
            fn valtypes() -> Vec<ValType> {
                vec![$($name::valtype()),*]
            }
            #[allow(unused_variables)]
            fn store_raw(self, store: &StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
                $(values[$index] = self.$index.into_raw(store)?;)*
                Ok(())
            }
            #[allow(unused_variables, unused_unsafe, clippy::unused_unit)]
            unsafe fn load_raw(store: &StoreOpaque, values: &[ValRaw]) -> Self {
                // SAFETY: forwarded from the caller.
                unsafe { ($($name::from_raw(store, values[$index]),)*) }
            }
        }
    };
}

/// Invokes `$mac` once per supported arity (0 to 16) with `name index` pairs.
macro_rules! for_each_arity {
    ($mac:ident) => {
        $mac!();
        $mac!(A0 0);
        $mac!(A0 0, A1 1);
        $mac!(A0 0, A1 1, A2 2);
        $mac!(A0 0, A1 1, A2 2, A3 3);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14);
        $mac!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15);
    };
}

for_each_arity!(tuple_params);

/// Fails unless `ty` is exactly `P -> R`.
pub(crate) fn check_signature<P: WasmParams, R: WasmResults>(ty: &FuncType) -> Result<()> {
    let (params, results) = (P::valtypes(), R::valtypes());
    if ty.params() != params.as_slice() || ty.results() != results.as_slice() {
        bail!(
            "type mismatch: the function has type {ty}, not {}",
            FuncType::new(params, results)
        );
    }
    Ok(())
}

/// A function whose parameter and result types are checked once, when it is
/// created, so calls convert values without checks.
pub struct TypedFunc<Params, Results> {
    func: Func,
    /// Worked out once, so a call goes straight to the code.
    entry: Entry,
    _types: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc")
            .field("func", &self.func)
            .finish()
    }
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// `entry` must be `func.entry(store)`, and the types must match.
    pub(crate) fn new_unchecked(func: Func, entry: Entry) -> Self {
        TypedFunc {
            func,
            entry,
            _types: PhantomData,
        }
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function. Fails on a store of an engine with
    /// [`Config::async_support`](crate::Config::async_support): use
    /// [`TypedFunc::call_async`] there.
    pub fn call(&self, mut ctx: impl AsContextMut, params: P) -> Result<R> {
        let store = ctx.as_context_mut().0;
        store.opaque.check_sync_entry("call_async")?;
        // Tuples have at most 16 elements, so the slots fit on the stack.
        let mut values = [ValRaw::default(); 16];
        params.store_raw(&store.opaque, &mut values)?;
        let store_ptr: *mut _ = &mut *store;
        // SAFETY: the signature and entry were worked out when this TypedFunc
        // was made, `values` has room for parameters and results, and the
        // exclusive borrow of the store is not used until the call returns;
        // `StoreInner` starts with its `StoreOpaque`.
        unsafe {
            self.func
                .call_entry(store_ptr.cast(), self.entry, values.as_mut_ptr())?;
            Ok(R::load_raw(&store.opaque, &values))
        }
    }
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// [`TypedFunc::call`] on a fiber, as [`Func::call_async`].
    pub async fn call_async<T: Send>(
        &self,
        mut ctx: impl AsContextMut<Data = T>,
        params: P,
    ) -> Result<R> {
        let store = ctx.as_context_mut().0;
        store.opaque.check_async_entry()?;
        let (engine, owner) = (store.opaque.engine().clone(), store.opaque.id());
        let typed = *self;
        FiberFuture::new(engine, owner, move || {
            typed.call(StoreContextMut(store), params)
        })?
        .await?
    }
}

/// What a host closure may return: results, or `anyhow::Result` of results.
pub trait HostResult: Send + 'static {
    /// The result values.
    #[doc(hidden)]
    type Results: WasmResults;
    /// The results, or the host error that becomes a trap.
    #[doc(hidden)]
    fn into_results(self) -> Result<Self::Results>;
}

impl<R: WasmResults> HostResult for R {
    type Results = R;
    fn into_results(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmResults> HostResult for Result<R> {
    type Results = R;
    fn into_results(self) -> Result<R> {
        self
    }
}

/// A Rust closure that can become a host function: `Fn([Caller<'_, T>,] A1, ..., An) -> R`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The function type and the adapted closure.
    #[doc(hidden)]
    fn into_host_fn(self) -> (FuncType, TypedHostFn<T>);
}

macro_rules! into_func {
    ($($name:ident $index:tt),*) => {
        impl<T: 'static, F, R, $($name: WasmTy),*> IntoFunc<T, ($($name,)*), R> for F
        where
            F: Fn($($name),*) -> R + Send + Sync + 'static,
            R: HostResult,
        {
            fn into_host_fn(self) -> (FuncType, TypedHostFn<T>) {
                let ty = FuncType::new(vec![$($name::valtype()),*], R::Results::valtypes());
                let host: TypedHostFn<T> = Arc::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                    #[allow(unused_variables)]
                    let store = &caller.store.0.opaque;
                    // SAFETY: compiled code passes arguments of the declared types.
                    let results = self($(unsafe { $name::from_raw(store, values[$index]) }),*).into_results()?;
                    results.store_raw(&caller.store.0.opaque, values)
                });
                (ty, host)
            }
        }

        impl<T: 'static, F, R, $($name: WasmTy),*> IntoFunc<T, (Caller<'static, T>, $($name,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($name),*) -> R + Send + Sync + 'static,
            R: HostResult,
        {
            fn into_host_fn(self) -> (FuncType, TypedHostFn<T>) {
                let ty = FuncType::new(vec![$($name::valtype()),*], R::Results::valtypes());
                let host: TypedHostFn<T> = Arc::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
                    $(
                        // SAFETY: compiled code passes arguments of the declared types.
                        #[allow(non_snake_case)]
                        let $name = unsafe { $name::from_raw(&caller.store.0.opaque, values[$index]) };
                    )*
                    let results = self(caller.reborrow_caller(), $($name),*).into_results()?;
                    results.store_raw(&caller.store.0.opaque, values)
                });
                (ty, host)
            }
        }
    };
}

for_each_arity!(into_func);
