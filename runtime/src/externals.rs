//! `Extern`: anything a module can import or export.
//!
//! Every item but a shared memory belongs to one store; a shared memory
//! belongs to an engine and may be imported by any of its stores.

use crate::exception::Tag;
use crate::func::Func;
use crate::global::Global;
use crate::memory::Memory;
use crate::shared_memory::SharedMemory;
use crate::store::{AsContext, StoreId};
use crate::table::Table;
use crate::types::ExternType;

/// A function, memory, table, global or tag of a store, or a shared memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A linear memory.
    Memory(Memory),
    /// A linear memory shared between threads (and stores).
    SharedMemory(SharedMemory),
    /// A table.
    Table(Table),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The shared memory, if this is one.
    pub fn into_shared_memory(self) -> Option<SharedMemory> {
        match self {
            Extern::SharedMemory(m) => Some(m),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        match self {
            Extern::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// The store the item belongs to; `None` for a shared memory, which
    /// any store of its engine may use.
    pub(crate) fn store_id(&self) -> Option<StoreId> {
        Some(match self {
            Extern::Func(f) => f.store_id(),
            Extern::Memory(m) => m.store_id(),
            Extern::SharedMemory(_) => return None,
            Extern::Table(t) => t.store_id(),
            Extern::Global(g) => g.store_id(),
            Extern::Tag(t) => t.store_id(),
        })
    }

    /// The item's type.
    pub fn ty(&self, ctx: impl AsContext) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(ctx)),
            Extern::Memory(m) => ExternType::Memory(m.ty(ctx)),
            Extern::SharedMemory(m) => ExternType::Memory(m.ty()),
            Extern::Table(t) => ExternType::Table(t.ty(ctx)),
            Extern::Global(g) => ExternType::Global(g.ty(ctx)),
            Extern::Tag(t) => ExternType::Tag(t.ty(ctx)),
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}

impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

impl From<SharedMemory> for Extern {
    fn from(m: SharedMemory) -> Extern {
        Extern::SharedMemory(m)
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}

impl From<Tag> for Extern {
    fn from(t: Tag) -> Extern {
        Extern::Tag(t)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
