//! Tables: arrays of 8-byte references owned by the store; instances point at
//! the table's `VMTableDefinition`.

use crate::limits::{self, Growth, ResourceLimiter};
use crate::store::{AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::trap::TrapKind;
use crate::types::{RefType, TableType};
use crate::values::Ref;
use anyhow::{Result, anyhow, bail};
use remap_compiler::vmctx::VMTableDefinition;
use std::cell::UnsafeCell;

/// The most elements a table may have: keeps a runaway `table.grow` a -1
/// instead of an out-of-memory abort.
const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table's storage. `definition` always describes `elements`.
pub(crate) struct TableEntry {
    definition: UnsafeCell<VMTableDefinition>,
    elements: UnsafeCell<Vec<u64>>,
    ty: TableType,
}

impl TableEntry {
    pub(crate) fn new(ty: TableType, init: u64) -> Result<TableEntry> {
        let minimum = ty.minimum();
        if minimum > MAX_TABLE_ELEMENTS {
            bail!("table of {minimum} elements exceeds the limit of {MAX_TABLE_ELEMENTS}");
        }
        let mut elements = Vec::new();
        elements
            .try_reserve_exact(minimum as usize)
            .map_err(|_| anyhow!("cannot allocate a table of {minimum} elements"))?;
        elements.resize(minimum as usize, init);
        let entry = TableEntry {
            definition: UnsafeCell::new(VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            }),
            elements: UnsafeCell::new(elements),
            ty,
        };
        entry.sync_definition();
        Ok(entry)
    }

    /// What compiled code reads (`*mut VMTableDefinition`).
    pub(crate) fn definition(&self) -> *mut VMTableDefinition {
        self.definition.get()
    }

    pub(crate) fn ty(&self) -> TableType {
        self.ty.with_minimum(self.size())
    }

    fn sync_definition(&self) {
        // SAFETY: the runtime is the only user of the table while it runs (compiled
        // code is either not running or is blocked in the builtin that called us).
        unsafe {
            let elements = &mut *self.elements.get();
            *self.definition.get() = VMTableDefinition {
                base: elements.as_mut_ptr(),
                current_elements: elements.len() as u64,
            };
        }
    }

    /// Runs `f` on the element vector, re-syncing the definition afterwards.
    fn with_elements<R>(&self, f: impl FnOnce(&mut Vec<u64>) -> R) -> R {
        // SAFETY: as in `sync_definition`: no other reference to the vector is
        // live while a runtime operation runs, and `f` cannot reach this table.
        let result = f(unsafe { &mut *self.elements.get() });
        self.sync_definition();
        result
    }

    /// Calls `visit` with every element (the collector's roots).
    pub(crate) fn for_each_element(&self, visit: &mut dyn FnMut(u64)) {
        // SAFETY: a shared read of the vector; the collector runs while
        // compiled code is stopped in a call and nothing else writes it.
        let elements = unsafe { &*self.elements.get() };
        elements.iter().copied().for_each(visit);
    }

    /// The element count. Only reads, so it is race-free even when several
    /// threads query a shared `&Store` at once (`Table::size` takes `AsContext`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: a shared read of the vector; writers need the store exclusively.
        unsafe { (*self.elements.get()).len() as u64 }
    }

    pub(crate) fn get(&self, index: u64) -> Option<u64> {
        let index = usize::try_from(index).ok()?;
        self.with_elements(|elements| elements.get(index).copied())
    }

    pub(crate) fn set(&self, index: u64, value: u64) -> Result<(), TrapKind> {
        let index = usize::try_from(index).map_err(|_| TrapKind::TableOutOfBounds)?;
        self.with_elements(|elements| {
            *elements.get_mut(index).ok_or(TrapKind::TableOutOfBounds)? = value;
            Ok(())
        })
    }

    /// Grows by `delta` elements set to `init`, asking `limiter` first. A
    /// refusal changes nothing; an error is the limiter's.
    pub(crate) fn grow(
        &self,
        delta: u64,
        init: u64,
        limiter: Option<&mut dyn ResourceLimiter>,
    ) -> Result<Growth> {
        let refused = |why: &str| {
            Ok(Growth::Refused(anyhow!(
                "failed to grow table by {delta} elements: {why}"
            )))
        };
        let old = self.size();
        let maximum = self.ty.maximum().unwrap_or(self.ty.absolute_max_elements());
        let Some(new) = old
            .checked_add(delta)
            .filter(|&new| new <= maximum && new <= MAX_TABLE_ELEMENTS)
        else {
            return refused("over the table's maximum");
        };
        if let Some(limiter) = limiter {
            let limit = self.ty.maximum().map(limits::elements);
            if !limiter.table_growing(limits::elements(old), limits::elements(new), limit)? {
                return refused("the store's limiter refused it");
            }
        }
        let grew = self.with_elements(|elements| {
            elements.try_reserve(delta as usize).ok()?;
            elements.resize(new as usize, init);
            Some(old)
        });
        match grew {
            Some(old) => Ok(Growth::Grew(old)),
            None => refused("out of memory"),
        }
    }

    pub(crate) fn fill(&self, dst: u64, value: u64, len: u64) -> Result<(), TrapKind> {
        let range = checked_range(dst, len, self.size())?;
        self.with_elements(|elements| elements[range].fill(value));
        Ok(())
    }

    /// Copies `len` elements from `src` in `source` to `dst` in `self` (overlap allowed).
    pub(crate) fn copy_from(
        &self,
        source: &TableEntry,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TrapKind> {
        let dst_range = checked_range(dst, len, self.size())?;
        let src_range = checked_range(src, len, source.size())?;
        if std::ptr::eq(self, source) {
            self.with_elements(|elements| elements.copy_within(src_range, dst_range.start));
        } else {
            let values: Vec<u64> = source.with_elements(|elements| elements[src_range].to_vec());
            self.with_elements(|elements| elements[dst_range].copy_from_slice(&values));
        }
        Ok(())
    }

    /// Writes `values` at `dst`, after checking they all fit.
    pub(crate) fn init(&self, dst: u64, values: &[u64]) -> Result<(), TrapKind> {
        let range = checked_range(dst, values.len() as u64, self.size())?;
        self.with_elements(|elements| elements[range].copy_from_slice(values));
        Ok(())
    }
}

/// `start..start + len` if it lies within `0..size`, else a table trap.
pub(crate) fn checked_range(
    start: u64,
    len: u64,
    size: u64,
) -> Result<std::ops::Range<usize>, TrapKind> {
    let end = start.checked_add(len).ok_or(TrapKind::TableOutOfBounds)?;
    if end > size {
        return Err(TrapKind::TableOutOfBounds);
    }
    Ok(start as usize..end as usize)
}

/// A table owned by a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    store: StoreId,
    index: usize,
}

impl Table {
    /// The store this handle belongs to.
    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    /// Creates a table of type `ty` with every element set to `init`.
    pub fn new(mut ctx: impl AsContextMut, ty: TableType, init: Ref) -> Result<Table> {
        let store = &mut ctx.as_context_mut().0.opaque;
        let raw = element_to_raw(*ty.element(), init, store)?;
        if let Some(maximum) = ty.maximum()
            && maximum < ty.minimum()
        {
            bail!(
                "table minimum {} is larger than its maximum {maximum}",
                ty.minimum()
            );
        }
        let entry = TableEntry::new(ty, raw)?;
        Ok(Table::push(store, entry))
    }

    pub(crate) fn push(store: &mut StoreOpaque, entry: TableEntry) -> Table {
        store.tables.push(Box::new(entry));
        Table {
            store: store.id(),
            index: store.tables.len() - 1,
        }
    }

    pub(crate) fn entry<'a>(&self, store: &'a StoreOpaque) -> &'a TableEntry {
        store.assert_owns(self.store, "Table");
        &store.tables[self.index]
    }

    /// The table's type, with its current size as the minimum.
    pub fn ty(&self, ctx: impl AsContext) -> TableType {
        self.entry(&ctx.as_context().0.opaque).ty()
    }

    /// The current number of elements.
    pub fn size(&self, ctx: impl AsContext) -> u64 {
        self.entry(&ctx.as_context().0.opaque).size()
    }

    /// The element at `index`, or `None` when out of bounds.
    pub fn get(&self, mut ctx: impl AsContextMut, index: u64) -> Option<Ref> {
        let store = &ctx.as_context_mut().0.opaque;
        let entry = self.entry(store);
        let raw = entry.get(index)?;
        // SAFETY: elements of this table are references of its element type
        // created in this store.
        Some(unsafe { Ref::from_raw(store, raw, *entry.ty.element()) })
    }

    /// Sets the element at `index`.
    pub fn set(&self, mut ctx: impl AsContextMut, index: u64, value: Ref) -> Result<()> {
        let store = &mut ctx.as_context_mut().0.opaque;
        let raw = element_to_raw(*self.entry(store).ty.element(), value, store)?;
        self.entry(store)
            .set(index, raw)
            .map_err(|_| anyhow!("table index {index} out of bounds"))
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, mut ctx: impl AsContextMut, delta: u64, init: Ref) -> Result<u64> {
        let (store, limiter) = ctx.as_context_mut().0.split_limiter();
        let raw = element_to_raw(*self.entry(store).ty.element(), init, store)?;
        match self.entry(store).grow(delta, raw, limiter)? {
            Growth::Grew(old) => Ok(old),
            Growth::Refused(why) => Err(why),
        }
    }
}

/// `value` as the bits a table of `element` references stores, after checking its type.
fn element_to_raw(element: RefType, value: Ref, store: &StoreOpaque) -> Result<u64> {
    value.to_raw_checked(store, element, "table element")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entry_grows_and_checks_bounds() {
        let entry = TableEntry::new(TableType::new(RefType::FUNCREF, 2, Some(4)), 7).unwrap();
        assert_eq!(entry.size(), 2);
        assert!(matches!(entry.grow(2, 9, None), Ok(Growth::Grew(2))));
        assert!(matches!(entry.grow(1, 0, None), Ok(Growth::Refused(_))));
        // SAFETY: reading the definition while nothing else uses the table.
        let definition = unsafe { *entry.definition() };
        assert_eq!(definition.current_elements, 4);
        assert_eq!(entry.get(3), Some(9));
        assert_eq!(entry.set(4, 1), Err(TrapKind::TableOutOfBounds));
        assert_eq!(entry.fill(3, 5, 2), Err(TrapKind::TableOutOfBounds));
        entry.fill(0, 5, 4).unwrap();
        assert_eq!(entry.init(3, &[1, 2]), Err(TrapKind::TableOutOfBounds));
        entry.copy_from(&entry, 1, 0, 3).unwrap();
        assert_eq!(
            checked_range(u64::MAX, 2, 10),
            Err(TrapKind::TableOutOfBounds)
        );
    }

    /// `Table::size` and `Table::ty` need only a shared store, which other
    /// threads may hold too: they must not write what compiled code reads.
    #[test]
    fn size_and_type_do_not_write_the_definition() {
        let entry = TableEntry::new(TableType::new(RefType::FUNCREF, 2, None), 0).unwrap();
        let sentinel = VMTableDefinition {
            base: std::ptr::dangling_mut(),
            current_elements: 99,
        };
        // SAFETY: nothing else uses this table; the sentinel is never dereferenced.
        unsafe { *entry.definition() = sentinel };
        assert_eq!(entry.size(), 2);
        assert_eq!(entry.ty().minimum(), 2);
        // SAFETY: as above.
        let after = unsafe { *entry.definition() };
        assert_eq!(after.current_elements, 99);
        assert_eq!(after.base, sentinel.base);
    }
}
