//! Exception handling's host side: tags ([`Tag`], [`TagType`]), exception
//! objects ([`ExnRef`]) and [`ThrownException`], the error that carries an
//! exception between Wasm and the host.
//!
//! A tag is identified by its entry in its store: an imported tag is the
//! same `Tag` as its exporter's, so handlers compare tags by identity.
//!
//! Exception objects are owned by their store and freed when it drops
//! (Remap has no collector): every `throw` adds one, so a program that
//! throws without end grows its store without bound, as with
//! [`ExternRef`](crate::ExternRef). Compiled code holds an `exnref` as the
//! address of the object, which never moves while the store lives.
//!
//! Failure behaviour: making an exception with a payload that does not fit
//! the tag, or with handles of another store, is an error; a host function
//! returns `Err(ThrownException)` to throw into its Wasm caller, and an
//! exception no handler catches comes back to the host as that error.

use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{FuncType, ValType};
use crate::values::{Val, ValRaw};
use anyhow::{Result, bail};
use remap_compiler::types::{RegisteredType, TypeRegistry};
use remap_compiler::vmctx::VMExceptionHeader;
use std::fmt;
use std::ptr::NonNull;

/// The type of a tag: the types of the payload its exceptions carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    ty: FuncType,
}

impl TagType {
    /// A tag type whose exceptions carry values of `params`.
    pub fn new(params: impl IntoIterator<Item = ValType>) -> TagType {
        TagType {
            ty: FuncType::new(params, []),
        }
    }

    /// The tag type of a module's tag, declared by function type `ty`.
    pub(crate) fn from_func_type(ty: FuncType) -> TagType {
        TagType { ty }
    }

    /// The payload types.
    pub fn params(&self) -> &[ValType] {
        self.ty.params()
    }
}

impl fmt::Display for TagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(tag {})", self.ty)
    }
}

/// An exception tag of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    store: StoreId,
    index: u32,
}

/// A tag's entry in its store.
pub(crate) struct TagEntry {
    ty: TagType,
    /// Engine index of the tag's function type: import matching compares it.
    type_id: u32,
    /// Keeps `type_id` registered for a host-made tag (a module's tags are
    /// kept registered by the module, which its instances keep alive).
    _registration: Option<RegisteredType>,
}

impl Tag {
    /// A new tag of type `ty` (distinct from every other tag); an error
    /// when the type cannot be registered with the engine.
    pub fn new(mut ctx: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        let store = &mut ctx.as_context_mut().0.opaque;
        let registration = store.engine().register_func_type(&ty.ty)?;
        let type_id = registration.index().as_u32();
        Ok(Tag::new_in(store, ty.clone(), type_id, Some(registration)))
    }

    /// A new tag of `ty`, whose function type has engine index `type_id`.
    pub(crate) fn new_in(
        store: &mut StoreOpaque,
        ty: TagType,
        type_id: u32,
        registration: Option<RegisteredType>,
    ) -> Tag {
        let index = u32::try_from(store.tags.len()).expect("fewer than 2^32 tags");
        store.tags.push(TagEntry {
            ty,
            type_id,
            _registration: registration,
        });
        Tag {
            store: store.id(),
            index,
        }
    }

    /// The tag's type.
    pub fn ty(&self, ctx: impl AsContext) -> TagType {
        self.ty_in(&ctx.as_context().0.opaque).clone()
    }

    pub(crate) fn ty_in<'a>(&self, store: &'a StoreOpaque) -> &'a TagType {
        &self.entry(store).ty
    }

    /// The engine index of the tag's function type.
    pub(crate) fn type_id(&self, store: &StoreOpaque) -> u32 {
        self.entry(store).type_id
    }

    fn entry<'a>(&self, store: &'a StoreOpaque) -> &'a TagEntry {
        store.assert_owns(self.store, "Tag");
        &store.tags[self.index as usize]
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }
}

/// An exception object as compiled code sees it: the compiler's header
/// first, then what only the runtime reads.
#[repr(C)]
pub(crate) struct ExceptionObject {
    header: VMExceptionHeader,
    tag: Tag,
    /// Index in the store's exception list (the object's `ExnRef`).
    index: u32,
    payload: Box<[ValRaw]>,
}

/// Owns one exception object through its raw pointer: compiled code holds
/// the address, which a `Box` moved around in the store's list would
/// invalidate.
pub(crate) struct ExceptionAllocation(NonNull<ExceptionObject>);

impl Drop for ExceptionAllocation {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` and is freed only here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl StoreOpaque {
    /// Makes an exception of `tag` with `payload` (already checked against
    /// the tag's type) and returns its raw `exnref`.
    pub(crate) fn new_exception(&self, tag: Tag, payload: Box<[ValRaw]>) -> u64 {
        let mut exceptions = self.exceptions.borrow_mut();
        let index = u32::try_from(exceptions.len()).expect("fewer than 2^32 exceptions");
        let object = Box::new(ExceptionObject {
            header: VMExceptionHeader {
                payload: payload.as_ptr(),
            },
            tag,
            index,
            payload,
        });
        let object = NonNull::from(Box::leak(object));
        exceptions.push(ExceptionAllocation(object));
        object.as_ptr() as u64
    }

    /// Calls `visit` with every reference in an exception payload whose
    /// type the collector traces (its roots).
    pub(crate) fn for_each_exception_reference(
        &self,
        registry: &TypeRegistry,
        visit: &mut dyn FnMut(u64),
    ) {
        for allocation in self.exceptions.borrow().iter() {
            // SAFETY: exception objects live as long as the store.
            let object = unsafe { allocation.0.as_ref() };
            let ty = object.tag.ty_in(self);
            for (value, &param) in object.payload.iter().zip(ty.params()) {
                if crate::gc::layout::is_gc_managed(registry, param) {
                    visit(value.get_reference());
                }
            }
        }
    }

    /// The tag of the exception behind the non-null raw `exnref`.
    ///
    /// # Safety
    /// `raw` must be an exception of this store (what compiled code holds).
    pub(crate) unsafe fn exception_tag(&self, raw: u64) -> Tag {
        // SAFETY: guaranteed by the caller; objects live as long as the store.
        unsafe { (*(raw as *const ExceptionObject)).tag }
    }
}

/// A reference to an exception object of a store: a tag and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExnRef {
    store: StoreId,
    index: u32,
}

impl ExnRef {
    /// A new exception of `tag` carrying `payload`, which must match the
    /// tag's parameter types. Like every exception, it lives as long as
    /// the store.
    pub fn new(mut ctx: impl AsContextMut, tag: &Tag, payload: &[Val]) -> Result<ExnRef> {
        let store = &mut ctx.as_context_mut().0.opaque;
        if tag.store != store.id() {
            bail!("tag used with a store it does not belong to");
        }
        let params = tag.ty_in(store).params().to_vec();
        if params.len() != payload.len() {
            bail!(
                "the tag's exceptions carry {} values, got {}",
                params.len(),
                payload.len()
            );
        }
        let raw = payload
            .iter()
            .zip(&params)
            .enumerate()
            .map(|(index, (value, &ty))| {
                value.to_raw_checked(store, ty, &format!("exception payload value {index}"))
            })
            .collect::<Result<Box<[ValRaw]>>>()?;
        let raw = store.new_exception(*tag, raw);
        // SAFETY: just made in this store.
        Ok(unsafe { ExnRef::from_raw(store, raw) }.expect("non-null"))
    }

    fn object<'a>(&self, store: &'a StoreOpaque) -> &'a ExceptionObject {
        store.assert_owns(self.store, "ExnRef");
        let exceptions = store.exceptions.borrow();
        let object = exceptions[self.index as usize].0;
        // SAFETY: objects are never freed or moved before the store drops,
        // and are not written after they are made.
        unsafe { object.as_ref() }
    }

    /// The exception's tag.
    pub fn tag(&self, ctx: impl AsContext) -> Tag {
        self.object(&ctx.as_context().0.opaque).tag
    }

    /// The exception's payload, typed by its tag.
    pub fn payload(&self, ctx: impl AsContext) -> Vec<Val> {
        let store = &ctx.as_context().0.opaque;
        let object = self.object(store);
        let params = object.tag.ty_in(store).params();
        params
            .iter()
            .zip(object.payload.iter())
            // SAFETY: the payload was checked against the tag's type when
            // the exception was made, and its references are this store's.
            .map(|(&ty, &raw)| unsafe { Val::from_raw(store, raw, ty) })
            .collect()
    }

    /// The raw `exnref` compiled code holds (the object's address).
    pub(crate) fn option_to_raw(exception: Option<&ExnRef>, store: &StoreOpaque) -> Result<u64> {
        match exception {
            None => Ok(0),
            Some(exception) if exception.store == store.id() => {
                Ok(exception.object(store) as *const ExceptionObject as u64)
            }
            Some(_) => bail!("exception reference used with a store it does not belong to"),
        }
    }

    /// The exception behind a raw `exnref` (0 is null).
    ///
    /// # Safety
    /// A non-zero `raw` must be an exception object of `store`.
    pub(crate) unsafe fn from_raw(store: &StoreOpaque, raw: u64) -> Option<ExnRef> {
        let object = NonNull::new(raw as *mut ExceptionObject)?;
        Some(ExnRef {
            store: store.id(),
            // SAFETY: guaranteed by the caller.
            index: unsafe { object.as_ref().index },
        })
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }
}

/// A Wasm exception in flight through the host: the error a call into
/// Wasm returns when no handler caught the exception (with the Wasm
/// backtrace of the throw as its context), and the error a host function
/// returns to throw one into its Wasm caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrownException {
    exception: ExnRef,
    /// The payload as text, for messages once the store may be gone.
    payload: Option<String>,
}

impl ThrownException {
    /// An error that throws `exception` when a host function returns it.
    pub fn new(exception: ExnRef) -> ThrownException {
        ThrownException {
            exception,
            payload: None,
        }
    }

    /// The error of `exception` reaching the host uncaught, its payload
    /// described for messages.
    pub(crate) fn uncaught(store: &StoreOpaque, exception: ExnRef) -> ThrownException {
        let object = exception.object(store);
        let params = object.tag.ty_in(store).params();
        let values: Vec<String> = params
            .iter()
            .zip(object.payload.iter())
            .map(|(&ty, raw)| describe_raw(ty, raw))
            .collect();
        ThrownException {
            exception,
            payload: Some(values.join(", ")),
        }
    }

    /// The exception: read its tag and payload with the store.
    pub fn exception(&self) -> ExnRef {
        self.exception
    }
}

impl fmt::Display for ThrownException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("uncaught Wasm exception")?;
        match &self.payload {
            Some(payload) if payload.is_empty() => f.write_str(" (no payload)"),
            Some(payload) => write!(f, " with payload ({payload})"),
            None => Ok(()),
        }
    }
}

/// A payload value as messages show it: its type and value.
fn describe_raw(ty: ValType, raw: &ValRaw) -> String {
    match ty {
        ValType::I32 => format!("i32 {}", raw.get_i32()),
        ValType::I64 => format!("i64 {}", raw.get_i64()),
        ValType::F32 => format!("f32 {}", f32::from_bits(raw.get_f32_bits())),
        ValType::F64 => format!("f64 {}", f64::from_bits(raw.get_f64_bits())),
        ValType::V128 => format!("v128 {:#034x}", raw.get_u128()),
        ValType::Ref(ty) if raw.get_reference() == 0 => format!("{ty} null"),
        ValType::Ref(ty) => format!("{ty}"),
    }
}

impl std::error::Error for ThrownException {}
