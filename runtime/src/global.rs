//! Globals: one 16-byte cell each, owned by the store; instances point at it.

use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{GlobalType, Mutability};
use crate::values::{Val, ValRaw};
use anyhow::{Result, bail};
use std::cell::UnsafeCell;

/// A global's storage.
pub(crate) struct GlobalEntry {
    cell: UnsafeCell<ValRaw>,
    ty: GlobalType,
}

impl GlobalEntry {
    /// The cell compiled code reads and writes (`*mut VMGlobal`).
    pub(crate) fn cell(&self) -> *mut ValRaw {
        self.cell.get()
    }

    pub(crate) fn ty(&self) -> &GlobalType {
        &self.ty
    }
}

/// A global variable owned by a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    store: StoreId,
    index: usize,
}

impl Global {
    /// The store this handle belongs to.
    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    /// Creates a global of type `ty` holding `value`.
    pub fn new(mut ctx: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        let store = &mut ctx.as_context_mut().0.opaque;
        let raw = value.to_raw_checked(store, *ty.content(), "global value")?;
        Ok(Global::from_raw_parts(store, ty, raw))
    }

    /// Adds a global with an already converted initial value.
    pub(crate) fn from_raw_parts(store: &mut StoreOpaque, ty: GlobalType, raw: ValRaw) -> Global {
        store.globals.push(Box::new(GlobalEntry {
            cell: UnsafeCell::new(raw),
            ty,
        }));
        Global {
            store: store.id(),
            index: store.globals.len() - 1,
        }
    }

    pub(crate) fn entry<'a>(&self, store: &'a StoreOpaque) -> &'a GlobalEntry {
        store.assert_owns(self.store, "Global");
        &store.globals[self.index]
    }

    /// The global's type.
    pub fn ty(&self, ctx: impl AsContext) -> GlobalType {
        *self.entry(&ctx.as_context().0.opaque).ty()
    }

    /// The current value.
    pub fn get(&self, ctx: impl AsContextMut) -> Val {
        let mut ctx = ctx;
        let store = &ctx.as_context_mut().0.opaque;
        let entry = self.entry(store);
        // SAFETY: the cell holds a value of the global's type written by this
        // store (host or compiled code); no compiled code runs while we hold the store.
        unsafe { Val::from_raw(store, *entry.cell.get(), *entry.ty.content()) }
    }

    /// Sets the value; fails for an immutable global or a value of another type.
    pub fn set(&self, mut ctx: impl AsContextMut, value: Val) -> Result<()> {
        let store = &mut ctx.as_context_mut().0.opaque;
        let ty = *self.entry(store).ty();
        if ty.mutability() == Mutability::Const {
            bail!("cannot set an immutable global");
        }
        let raw = value.to_raw_checked(store, *ty.content(), "global value")?;
        // SAFETY: we hold the store exclusively, so nothing else reads the cell now.
        unsafe { *self.entry(store).cell.get() = raw };
        Ok(())
    }
}
