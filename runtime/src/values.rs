//! Wasm values as the host sees them (`Val`, `Ref`) and as compiled code sees them (`ValRaw`).

use crate::exception::ExnRef;
use crate::externref::ExternRef;
use crate::func::Func;
use crate::gc::AnyRef;
use crate::store::{AsContext, StoreOpaque};
use crate::types::{AbstractHeapType, HeapType, RefType, ValType};
use anyhow::{Result, bail};
use remap_compiler::types::{EngineTypeIndex, TypeIndex};
pub use remap_compiler::vmctx::ValRaw;

/// A Wasm value of any type.
#[derive(Clone, Debug)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bit pattern (so NaN payloads survive).
    F32(u32),
    /// An `f64`, as its bit pattern.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`; `None` is null.
    FuncRef(Option<Func>),
    /// An `externref`; `None` is null.
    ExternRef(Option<ExternRef>),
    /// An `exnref`; `None` is null.
    ExnRef(Option<ExnRef>),
    /// A reference of the internal hierarchy (`anyref`, `eqref`, `i31ref`,
    /// structs and arrays); `None` is null.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The null reference of a reference type.
    pub fn null_ref(ty: RefType) -> Val {
        Ref::null(ty).into()
    }

    /// The default (zero or null) value of a type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => Val::null_ref(r),
        }
    }

    /// This value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::EXNREF,
            Val::AnyRef(_) => ValType::ANYREF,
        }
    }

    /// The `i32`, if this is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }

    /// The `i64`, if this is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The `f32`, if this is one.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }

    /// The `f64`, if this is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// The `v128`, if this is one.
    pub fn v128(&self) -> Option<u128> {
        match self {
            Val::V128(v) => Some(*v),
            _ => None,
        }
    }

    /// The function reference, if this is a `funcref` (the inner `None` is null).
    pub fn funcref(&self) -> Option<Option<&Func>> {
        match self {
            Val::FuncRef(f) => Some(f.as_ref()),
            _ => None,
        }
    }

    /// The extern reference, if this is an `externref` (the inner `None` is null).
    pub fn externref(&self) -> Option<Option<&ExternRef>> {
        match self {
            Val::ExternRef(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The exception reference, if this is an `exnref` (the inner `None`
    /// is null).
    pub fn exnref(&self) -> Option<Option<&ExnRef>> {
        match self {
            Val::ExnRef(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The internal reference, if this is one (the inner `None` is null).
    pub fn anyref(&self) -> Option<Option<&AnyRef>> {
        match self {
            Val::AnyRef(a) => Some(a.as_ref()),
            _ => None,
        }
    }

    /// This value as a reference, if it is one.
    pub fn as_ref(&self) -> Option<Ref> {
        match self {
            Val::FuncRef(f) => Some(Ref::Func(*f)),
            Val::ExternRef(e) => Some(Ref::Extern(*e)),
            Val::ExnRef(e) => Some(Ref::Exn(*e)),
            Val::AnyRef(a) => Some(Ref::Any(*a)),
            _ => None,
        }
    }

    /// Converts to the raw form compiled code uses; fails if a reference belongs to another store.
    pub(crate) fn to_raw(&self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(*v),
            Val::I64(v) => ValRaw::i64(*v),
            Val::F32(v) => ValRaw::f32_bits(*v),
            Val::F64(v) => ValRaw::f64_bits(*v),
            Val::V128(v) => ValRaw::u128(*v),
            Val::FuncRef(f) => ValRaw::reference(Func::option_to_raw(f.as_ref(), store)?),
            Val::ExternRef(e) => ValRaw::reference(ExternRef::option_to_raw(e.as_ref(), store)?),
            Val::ExnRef(e) => ValRaw::reference(ExnRef::option_to_raw(e.as_ref(), store)?),
            Val::AnyRef(a) => ValRaw::reference(AnyRef::option_to_raw(a.as_ref(), store)?),
        })
    }

    /// Reads a raw value of type `ty`.
    ///
    /// # Safety
    /// `raw` must hold a valid value of `ty` produced in `store` (references point into it).
    pub(crate) unsafe fn from_raw(store: &StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32_bits()),
            ValType::F64 => Val::F64(raw.get_f64_bits()),
            ValType::V128 => Val::V128(raw.get_u128()),
            // SAFETY: forwarded from the caller.
            ValType::Ref(ty) => unsafe { Ref::from_raw(store, raw.get_reference(), ty) }.into(),
        }
    }

    /// Whether this value is a value of `ty`: numbers and vectors match
    /// their own type; a reference matches a reference type it is a value
    /// of, e.g. a function of type `$t` matches `(ref $t)`, `(ref $s)` for
    /// a supertype `$s`, and `funcref`, and null matches nullable types of
    /// its hierarchy. Fails when a reference belongs to another store.
    pub fn matches_ty(&self, ctx: impl AsContext, ty: &ValType) -> Result<bool> {
        let store = &ctx.as_context().0.opaque;
        self.to_raw(store)?;
        Ok(self.matches_ty_in(store, ty))
    }

    /// [`Val::matches_ty`] for a value already known to belong to `store`.
    fn matches_ty_in(&self, store: &StoreOpaque, ty: &ValType) -> bool {
        match (self.as_ref(), ty) {
            (Some(reference), ValType::Ref(ref_type)) => reference.matches_ty_in(store, ref_type),
            (Some(_), _) => false,
            (None, _) => self.ty() == *ty,
        }
    }

    /// The raw form of this value, after checking that it belongs to
    /// `store` and is a value of `ty` (naming `what` in the error).
    pub(crate) fn to_raw_checked(
        &self,
        store: &StoreOpaque,
        ty: ValType,
        what: &str,
    ) -> Result<ValRaw> {
        let raw = self.to_raw(store)?;
        if !self.matches_ty_in(store, &ty) {
            let actual = match self.as_ref() {
                Some(reference) => reference.describe(store),
                None => self.ty().to_string(),
            };
            bail!("type mismatch: {what} expected {ty}, got {actual}");
        }
        Ok(raw)
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

impl From<Ref> for Val {
    fn from(r: Ref) -> Val {
        match r {
            Ref::Func(f) => Val::FuncRef(f),
            Ref::Extern(e) => Val::ExternRef(e),
            Ref::Exn(e) => Val::ExnRef(e),
            Ref::Any(a) => Val::AnyRef(a),
        }
    }
}

/// A reference value: a table element, or a reference-typed `Val`.
#[derive(Clone, Copy, Debug)]
pub enum Ref {
    /// A function reference; `None` is null.
    Func(Option<Func>),
    /// An extern reference; `None` is null.
    Extern(Option<ExternRef>),
    /// An exception reference; `None` is null.
    Exn(Option<ExnRef>),
    /// A reference of the internal hierarchy; `None` is null.
    Any(Option<AnyRef>),
}

impl Ref {
    /// The reference type of this value.
    pub fn ty(&self) -> RefType {
        match self {
            Ref::Func(_) => RefType::FUNCREF,
            Ref::Extern(_) => RefType::EXTERNREF,
            Ref::Exn(_) => RefType::EXNREF,
            Ref::Any(_) => RefType::ANYREF,
        }
    }

    /// Whether this is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Ref::Func(None) | Ref::Extern(None) | Ref::Exn(None) | Ref::Any(None)
        )
    }

    /// The null reference of `ty`.
    pub fn null(ty: RefType) -> Ref {
        Ref::null_of(hierarchy(ty))
    }

    fn null_of(hierarchy: Hierarchy) -> Ref {
        match hierarchy {
            Hierarchy::Extern => Ref::Extern(None),
            Hierarchy::Exn => Ref::Exn(None),
            Hierarchy::Func => Ref::Func(None),
            Hierarchy::Any => Ref::Any(None),
        }
    }

    /// The internal reference, if this is a non-null one.
    pub fn as_any(&self) -> Option<&AnyRef> {
        match self {
            Ref::Any(a) => a.as_ref(),
            _ => None,
        }
    }

    /// The function, if this is a non-null function reference.
    pub fn as_func(&self) -> Option<&Func> {
        match self {
            Ref::Func(f) => f.as_ref(),
            _ => None,
        }
    }

    /// The extern reference, if this is a non-null extern reference.
    pub fn as_extern(&self) -> Option<&ExternRef> {
        match self {
            Ref::Extern(e) => e.as_ref(),
            _ => None,
        }
    }

    /// The exception reference, if this is a non-null exception reference.
    pub fn as_exn(&self) -> Option<&ExnRef> {
        match self {
            Ref::Exn(e) => e.as_ref(),
            _ => None,
        }
    }

    /// Whether this reference is a value of `ty` (see [`Val::matches_ty`]).
    /// Fails when it belongs to another store.
    pub fn matches_ty(&self, ctx: impl AsContext, ty: &RefType) -> Result<bool> {
        let store = &ctx.as_context().0.opaque;
        self.to_raw(store)?;
        Ok(self.matches_ty_in(store, ty))
    }

    /// [`Ref::matches_ty`] for a reference known to belong to `store`.
    fn matches_ty_in(&self, store: &StoreOpaque, ty: &RefType) -> bool {
        match self {
            // Null is a value of every nullable type of its hierarchy.
            Ref::Func(None) | Ref::Extern(None) | Ref::Exn(None) | Ref::Any(None) => {
                let discriminant = |hierarchy| std::mem::discriminant(&Ref::null_of(hierarchy));
                ty.nullable
                    && (std::mem::discriminant(self) == discriminant(hierarchy_in(store, *ty))
                        // `Ref::null` of a concrete type, made without a store.
                        || std::mem::discriminant(self) == discriminant(hierarchy(*ty)))
            }
            Ref::Func(Some(func)) => match ty.heap_type {
                HeapType::Abstract {
                    shared: false,
                    ty: AbstractHeapType::Func,
                } => true,
                HeapType::Concrete(TypeIndex::Engine(expected)) => {
                    let actual = EngineTypeIndex::from_u32(func.vm_func_ref(store).type_id);
                    store.engine().type_registry().is_subtype(actual, expected)
                }
                HeapType::Exact(TypeIndex::Engine(expected)) => {
                    func.vm_func_ref(store).type_id == expected.as_u32()
                }
                _ => false,
            },
            Ref::Extern(Some(_)) => ty.heap_type == HeapType::unshared(AbstractHeapType::Extern),
            Ref::Exn(Some(_)) => ty.heap_type == HeapType::unshared(AbstractHeapType::Exn),
            Ref::Any(Some(any)) => any_matches(store, any, ty.heap_type).unwrap_or(false),
        }
    }

    /// How an error names this reference: its function's type, or its kind.
    fn describe(&self, store: &StoreOpaque) -> String {
        match self {
            Ref::Func(Some(func)) => format!("a function of type {}", func.ty_in(store)),
            Ref::Func(None) => "a null function reference".into(),
            Ref::Extern(Some(_)) => "an extern reference".into(),
            Ref::Extern(None) => "a null extern reference".into(),
            Ref::Exn(Some(_)) => "an exception reference".into(),
            Ref::Exn(None) => "a null exception reference".into(),
            Ref::Any(Some(_)) => "an internal reference".into(),
            Ref::Any(None) => "a null internal reference".into(),
        }
    }

    /// The table element form of this reference, after checking that it
    /// belongs to `store` and is a value of `ty` (naming `what`).
    pub(crate) fn to_raw_checked(
        self,
        store: &StoreOpaque,
        ty: RefType,
        what: &str,
    ) -> Result<u64> {
        let raw = self.to_raw(store)?;
        if !self.matches_ty_in(store, &ty) {
            bail!(
                "type mismatch: {what} expected {ty}, got {}",
                self.describe(store)
            );
        }
        Ok(raw)
    }

    /// The 8-byte table element form of this reference.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<u64> {
        match self {
            Ref::Func(f) => Func::option_to_raw(f.as_ref(), store),
            Ref::Extern(e) => ExternRef::option_to_raw(e.as_ref(), store),
            Ref::Exn(e) => ExnRef::option_to_raw(e.as_ref(), store),
            Ref::Any(a) => AnyRef::option_to_raw(a.as_ref(), store),
        }
    }

    /// Reads an 8-byte table element of type `ty`.
    ///
    /// # Safety
    /// `raw` must be a valid element of type `ty` in `store`.
    pub(crate) unsafe fn from_raw(store: &StoreOpaque, raw: u64, ty: RefType) -> Ref {
        match hierarchy_in(store, ty) {
            Hierarchy::Extern => Ref::Extern(ExternRef::from_raw(store, raw)),
            // SAFETY: forwarded from the caller.
            Hierarchy::Exn => Ref::Exn(unsafe { ExnRef::from_raw(store, raw) }),
            // SAFETY: forwarded from the caller.
            Hierarchy::Func => Ref::Func(unsafe { Func::from_raw(store, raw) }),
            Hierarchy::Any => Ref::Any(AnyRef::from_raw(store, raw)),
        }
    }
}

/// Which [`Ref`] variant the host represents values of a reference type as.
enum Hierarchy {
    /// [`Ref::Extern`].
    Extern,
    /// [`Ref::Exn`].
    Exn,
    /// [`Ref::Func`].
    Func,
    /// [`Ref::Any`].
    Any,
}

/// How the host represents values of `ty`: the external hierarchy
/// (`extern`, `noextern`) as [`Ref::Extern`], the exception hierarchy
/// (`exn`, `noexn`) as [`Ref::Exn`], the internal hierarchy (`any`, `eq`,
/// `i31`, `struct`, `array`, `none` and struct and array types) as
/// [`Ref::Any`], and the function hierarchy as [`Ref::Func`]. A host value
/// is checked against the expected type, so no value of another hierarchy
/// gets through.
fn hierarchy(ty: RefType) -> Hierarchy {
    match ty.heap_type {
        HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        } => Hierarchy::Extern,
        HeapType::Abstract {
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
            ..
        } => Hierarchy::Exn,
        HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        } => Hierarchy::Func,
        HeapType::Abstract { .. } => Hierarchy::Any,
        // Which hierarchy a concrete type belongs to takes the registry
        // (`hierarchy_in`); without it, its null is represented as a
        // function reference's (null is 0 in every hierarchy).
        HeapType::Concrete(_) | HeapType::Exact(_) => Hierarchy::Func,
    }
}

/// [`hierarchy`], with concrete types looked up in `store`'s registry.
fn hierarchy_in(store: &StoreOpaque, ty: RefType) -> Hierarchy {
    match ty.heap_type {
        HeapType::Concrete(_) | HeapType::Exact(_)
            if crate::gc::layout::is_gc_managed_ref(store.engine().type_registry(), ty) =>
        {
            Hierarchy::Any
        }
        _ => hierarchy(ty),
    }
}

/// Whether the non-null internal reference `any` is a value of heap type
/// `heap_type`.
fn any_matches(store: &StoreOpaque, any: &AnyRef, heap_type: HeapType) -> Result<bool> {
    Ok(match heap_type {
        HeapType::Abstract { ty, .. } => match ty {
            AbstractHeapType::Any => true,
            AbstractHeapType::Eq => any.is_eqref_in(store)?,
            AbstractHeapType::I31 => any.is_i31_in(store)?,
            AbstractHeapType::Struct => any.is_struct_in(store)?,
            AbstractHeapType::Array => any.is_array_in(store)?,
            _ => false,
        },
        HeapType::Concrete(TypeIndex::Engine(expected)) => match any.object_type_id(store)? {
            Some(actual) => store
                .engine()
                .type_registry()
                .is_subtype(EngineTypeIndex::from_u32(actual), expected),
            None => false,
        },
        HeapType::Exact(TypeIndex::Engine(expected)) => {
            any.object_type_id(store)? == Some(expected.as_u32())
        }
        HeapType::Concrete(_) | HeapType::Exact(_) => false,
    })
}

impl From<Func> for Ref {
    fn from(f: Func) -> Ref {
        Ref::Func(Some(f))
    }
}

impl From<ExnRef> for Ref {
    fn from(e: ExnRef) -> Ref {
        Ref::Exn(Some(e))
    }
}

impl From<ExternRef> for Ref {
    fn from(e: ExternRef) -> Ref {
        Ref::Extern(Some(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn val_accessors_and_types() {
        assert_eq!(Val::from(3i32).i32(), Some(3));
        assert_eq!(Val::from(1.5f64).f64(), Some(1.5));
        assert_eq!(Val::from(3i32).i64(), None);
        assert_eq!(
            Val::default_for(ValType::EXTERNREF).ty(),
            ValType::EXTERNREF
        );
    }

    #[test]
    fn references_are_represented_by_hierarchy() {
        assert!(matches!(
            Val::null_ref(RefType::NULLEXTERNREF),
            Val::ExternRef(None)
        ));
        assert!(matches!(
            Val::null_ref(RefType::NULLFUNCREF),
            Val::FuncRef(None)
        ));
        assert_eq!(Ref::null(RefType::EXTERNREF).ty(), RefType::EXTERNREF);
        assert!(matches!(
            Val::null_ref(RefType::NULLEXNREF),
            Val::ExnRef(None)
        ));
        assert_eq!(Ref::null(RefType::EXNREF).ty(), RefType::EXNREF);
    }
}
