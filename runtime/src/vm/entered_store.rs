//! The entered store: how code called from Wasm reaches its store.
//!
//! A host->Wasm call starts from an exclusive borrow of the whole store
//! (`&mut StoreInner<T>`). `Func::call_raw` turns that borrow into one raw
//! pointer, publishes it here as the thread's *entered store* for the
//! duration of the call ([`EnteredStore::enter`]) and does not touch the
//! borrow again until Wasm has returned. Everything Wasm calls back into —
//! host functions (`host_array_call`) and builtins — derives its one
//! reference from that published pointer, so every reference that exists
//! while Wasm runs descends from the caller's borrow and no two live `&mut`
//! paths to the store ever coexist. A host function that calls into Wasm
//! again does the same with its own (derived) borrow, and the outer pointer is
//! published again when the inner call returns, traps or unwinds. The store
//! pointers kept in vmctx headers and host contexts are never dereferenced:
//! they were made before the current borrow existed.
//!
//! On a fiber the entered store belongs to the fiber: it is swapped out when
//! the fiber is suspended and back in when it is resumed, perhaps on another
//! thread (vm/fiber.rs).
//!
//! Nothing here fails; a null entered store means no Wasm runs on the thread.

use crate::store::StoreOpaque;
use std::cell::Cell;
use std::ptr;

thread_local! {
    /// The store whose Wasm runs innermost on this thread (null when none):
    /// the pointer host functions and builtins reach their store through.
    static ENTERED_STORE: Cell<*mut StoreOpaque> = const { Cell::new(ptr::null_mut()) };
}

/// Publishes a store as the thread's entered store for one host->Wasm call;
/// publishes the outer one again when dropped (on return, trap or unwind).
pub(crate) struct EnteredStore {
    previous: *mut StoreOpaque,
}

impl EnteredStore {
    /// Publishes `store`, which must point at a whole `StoreInner<T>` made
    /// from the exclusive borrow of the call about to start (module docs).
    pub(crate) fn enter(store: *mut StoreOpaque) -> EnteredStore {
        EnteredStore {
            previous: ENTERED_STORE.replace(store),
        }
    }
}

impl Drop for EnteredStore {
    fn drop(&mut self) {
        ENTERED_STORE.set(self.previous);
    }
}

/// Publishes `store` as this thread's entered store and returns the one
/// published before: how a fiber takes its entered store along when it is
/// suspended and resumed (vm/fiber.rs).
pub(crate) fn swap_entered_store(store: *mut StoreOpaque) -> *mut StoreOpaque {
    ENTERED_STORE.replace(store)
}

/// The entered store (module docs): the whole `StoreInner` of the Wasm that
/// runs innermost on this thread, or null when no Wasm runs. Only code that
/// Wasm called may use it, and it may make one reference from it at a time.
pub(crate) fn entered_store() -> *mut StoreOpaque {
    ENTERED_STORE.get()
}
