//! `externref` values: host data that Wasm can hold and pass around but not inspect.

use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use anyhow::{Result, bail};
use std::any::Any;

/// The host value behind an extern reference.
pub(crate) type ExternRefEntry = Box<dyn Any + Send + Sync>;

/// A non-null reference to host data, owned by a store.
///
/// The data lives as long as the store (Remap has no reference-counting
/// collector for extern references yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    store: StoreId,
    index: u32,
}

impl ExternRef {
    /// Wraps `value` in a new extern reference owned by the store.
    ///
    /// Every call adds an entry that the store frees only when it is dropped,
    /// even once no table, global or Wasm value refers to it: a host function
    /// that makes a new reference per call grows the store without bound.
    /// Make long-lived references once and pass them again instead.
    pub fn new(mut ctx: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let store = &mut ctx.as_context_mut().0.opaque;
        let index =
            u32::try_from(store.externrefs.len()).expect("fewer than 2^32 extern references");
        store.externrefs.push(Box::new(value));
        ExternRef {
            store: store.id(),
            index,
        }
    }

    /// The host data.
    pub fn data<'a, C: AsContext>(&self, ctx: &'a C) -> &'a (dyn Any + Send + Sync) {
        let store = &ctx.as_context().0.opaque;
        store.assert_owns(self.store, "ExternRef");
        store.externrefs[self.index as usize].as_ref()
    }

    /// The raw handle compiled code holds (never 0).
    pub(crate) fn option_to_raw(r: Option<&ExternRef>, store: &StoreOpaque) -> Result<u64> {
        match r {
            None => Ok(0),
            Some(r) if r.store == store.id() => Ok(u64::from(r.index) + 1),
            Some(_) => bail!("extern reference used with a store it does not belong to"),
        }
    }

    /// The extern reference behind a raw handle (0 is null).
    pub(crate) fn from_raw(store: &StoreOpaque, raw: u64) -> Option<ExternRef> {
        let index = u32::try_from(raw.checked_sub(1)?).ok()?;
        ((index as usize) < store.externrefs.len()).then_some(ExternRef {
            store: store.id(),
            index,
        })
    }
}
