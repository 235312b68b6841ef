//! `externref` values: host data that Wasm can hold and pass around but not
//! inspect, and internal references externalized by `extern.convert_any`.
//!
//! A host value lives in the store's extern reference list; its reference
//! is the tagged index of its entry (`remap_compiler::gc_layout`), in the
//! same encoding as the `any` hierarchy, so conversions between the two
//! hierarchies keep the bits. Handles are rooted like [`crate::AnyRef`].

use crate::gc::{AnyRef, Rooted};
use crate::store::{AsContext, AsContextMut, StoreOpaque};
use anyhow::Result;
use remap_compiler::gc_layout::GcRef;
use std::any::Any;

/// The host value behind an extern reference.
pub(crate) type ExternRefEntry = Box<dyn Any + Send + Sync>;

/// A non-null extern reference held by the host.
///
/// Host data is collected with the GC heap: once no handle, table,
/// global, GC object or Wasm frame refers to it, a collection drops it.
#[derive(Clone, Copy, Debug)]
pub struct ExternRef(Rooted);

impl PartialEq for ExternRef {
    /// Reference identity.
    fn eq(&self, other: &ExternRef) -> bool {
        self.0.unchecked_raw() == other.0.unchecked_raw()
    }
}

impl Eq for ExternRef {}

impl ExternRef {
    /// Wraps `value` in a new extern reference owned by the store.
    pub fn new(mut ctx: impl AsContextMut, value: impl Any + Send + Sync) -> ExternRef {
        let store = &mut ctx.as_context_mut().0.opaque;
        if store.free_externrefs.is_empty() && store.externref_collection_due() {
            store.collect_garbage();
            store.free_unreached_externrefs();
        }
        let index = match store.free_externrefs.pop() {
            Some(index) => {
                store.externrefs[index as usize] = Some(Box::new(value));
                index
            }
            None => {
                let index = u32::try_from(store.externrefs.len())
                    .ok()
                    .filter(|&index| index < 1 << 29)
                    .expect("fewer than 2^29 live extern references");
                store.externrefs.push(Some(Box::new(value)));
                index
            }
        };
        ExternRef(Rooted::new(store, GcRef::Extern(index).to_raw()))
    }

    /// `extern.convert_any`: `reference` as an extern reference.
    pub fn convert_any(mut ctx: impl AsContextMut, reference: &AnyRef) -> Result<ExternRef> {
        let store = &ctx.as_context_mut().0.opaque;
        let raw = AnyRef::option_to_raw(Some(reference), store)?;
        Ok(ExternRef(Rooted::new(store, raw)))
    }

    /// The host data; `None` when this is an internal reference that
    /// `extern.convert_any` externalized (see [`AnyRef::convert_extern`]),
    /// or when the handle's root scope ended or it belongs to another store.
    pub fn data<'a, C: AsContext>(&self, ctx: &'a C) -> Option<&'a (dyn Any + Send + Sync)> {
        let store = &ctx.as_context().0.opaque;
        match GcRef::from_raw(self.0.raw(store).ok()?)? {
            GcRef::Extern(index) => store.externrefs.get(index as usize)?.as_deref(),
            _ => None,
        }
    }

    /// The raw reference compiled code holds (never 0).
    pub(crate) fn option_to_raw(r: Option<&ExternRef>, store: &StoreOpaque) -> Result<u64> {
        r.map_or(Ok(0), |r| r.0.raw(store))
    }

    /// The extern reference behind a raw reference (0 is null).
    pub(crate) fn from_raw(store: &StoreOpaque, raw: u64) -> Option<ExternRef> {
        (raw != 0).then(|| ExternRef(Rooted::new(store, raw)))
    }
}
