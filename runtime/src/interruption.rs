//! Stopping guests: fuel and epoch deadlines.
//!
//! Fuel ([`Config::consume_fuel`](crate::Config::consume_fuel)): the store
//! holds a budget; code compiled for it charges each operator's cost
//! (compiler/src/translate/fuel.rs has the model) and traps with
//! [`TrapKind::OutOfFuel`](crate::TrapKind::OutOfFuel) when the budget is
//! gone. A store starts with no fuel, so code traps at its first check until
//! [`Store::set_fuel`] gives it some.
//!
//! Epochs ([`Config::epoch_interruption`](crate::Config::epoch_interruption)):
//! the engine has a counter any thread may advance
//! ([`Engine::increment_epoch`](crate::Engine::increment_epoch)); each store
//! has a deadline. Code compiled for it checks at every function entry and
//! loop header whether the counter has reached the deadline (it tests one
//! word the engine keeps for the store: vm/epoch_deadlines.rs); once it has,
//! the store's behaviour decides: trap with [`TrapKind::Interrupt`](crate::TrapKind::Interrupt)
//! (the default), or call the embedder's callback, which returns how far to
//! move the deadline on (optionally yielding to the async executor first:
//! [`Store::epoch_deadline_async_yield_and_update`], which lets one thread
//! interleave many guests), or an error that unwinds like a trap. A store's
//! deadline starts at 0, so interruptible code traps at once until
//! [`Store::set_epoch_deadline`] is called.
//!
//! Failure behaviour: a callback that panics resumes the panic on the host
//! side of the call into Wasm; while it runs it is taken out of the store,
//! and put back afterwards unless the callback installed another behaviour.

use crate::func::Caller;
use crate::store::{Store, StoreContextMut, StoreInner, StoreOpaque};
use crate::trap::TrapKind;
use crate::vm::fiber;
use crate::vm::traps::{self, Unwind};
use anyhow::{Result, bail};
use std::panic::{self, AssertUnwindSafe};

/// What an epoch-deadline callback tells the running guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateDeadline {
    /// Go on running, with the deadline this many epochs past the current
    /// one.
    Continue(u64),
    /// Yield to the async executor, then go on with the deadline this many
    /// epochs past the current one. Only inside an async call
    /// ([`Config::async_support`](crate::Config::async_support)); elsewhere
    /// the guest stops with an error.
    Yield(u64),
}

/// An epoch-deadline callback with the store's type erased: it is given the
/// entered store (a whole `StoreInner<T>` for the `T` it was made for).
pub(crate) type EpochCallback =
    Box<dyn FnMut(*mut StoreOpaque) -> Result<UpdateDeadline> + Send + Sync>;

impl StoreOpaque {
    fn check_fuel_enabled(&self) -> Result<()> {
        if !self.engine().config().tunables.consume_fuel {
            bail!("fuel is not enabled for this store's engine (Config::consume_fuel)");
        }
        Ok(())
    }

    /// Sets the fuel left to `fuel`.
    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.check_fuel_enabled()?;
        let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        // SAFETY: the limits are the store's; no Wasm of it runs while the
        // host holds it mutably (a host function gets it through its caller,
        // after compiled code wrote its count back).
        unsafe { (*self.limits()).fuel_consumed = -fuel };
        Ok(())
    }

    /// The fuel left.
    pub(crate) fn get_fuel(&self) -> Result<u64> {
        self.check_fuel_enabled()?;
        // SAFETY: as in `set_fuel`: compiled code wrote its count back before
        // anything the host runs could read it.
        let consumed = unsafe { (*self.limits()).fuel_consumed };
        Ok(consumed.min(0).unsigned_abs())
    }

    /// Moves the deadline to `ticks` epochs past the engine's current one.
    pub(crate) fn set_epoch_deadline(&mut self, ticks: u64) {
        let deadline = self.engine().current_epoch().saturating_add(ticks);
        // SAFETY: as in `set_fuel`; the store's `Drop` forgets the deadline
        // before the limits go.
        unsafe { self.engine().set_epoch_deadline(self.limits(), deadline) };
    }
}

impl<T> Store<T> {
    /// Sets the fuel this store's guests may consume from now on. Fails
    /// unless the engine was configured with `consume_fuel(true)`.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.inner.opaque.set_fuel(fuel)
    }

    /// The fuel left. Fails unless fuel is enabled.
    pub fn get_fuel(&self) -> Result<u64> {
        self.inner.opaque.get_fuel()
    }

    /// Sets the epoch deadline to `ticks` epochs past the engine's current
    /// epoch. With epoch interruption on, this takes the engine's lock on
    /// its pending deadlines (uncontended but for the thread advancing the
    /// epoch), so the checks in compiled code need not compare anything.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.inner.opaque.set_epoch_deadline(ticks);
    }

    /// When the deadline passes, trap with `TrapKind::Interrupt` (the
    /// default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner.opaque.epoch_callback = None;
    }

    /// When the deadline passes, yield to the async executor and go on
    /// with the deadline `delta` epochs later: a guest in a long loop lets
    /// the other tasks of its thread run once per `delta` epochs. Needs
    /// [`Config::async_support`](crate::Config::async_support); a guest of a
    /// sync call stops with an error at the deadline instead.
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        self.epoch_deadline_callback(move |_| Ok(UpdateDeadline::Yield(delta)));
    }

    /// When the deadline passes, call `callback`: `Ok(Continue(ticks))`
    /// resumes the guest with a new deadline `ticks` epochs from now,
    /// `Ok(Yield(ticks))` too after a turn of the async executor; an
    /// error stops it, as a trap would, and the call into Wasm returns that
    /// error.
    pub fn epoch_deadline_callback(
        &mut self,
        mut callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline>
        + Send
        + Sync
        + 'static,
    ) {
        let erased: EpochCallback = Box::new(move |store: *mut StoreOpaque| {
            // SAFETY: only `on_epoch_deadline` calls this, with the entered
            // store of this store's Wasm: a whole `StoreInner<T>`
            // (`repr(C)`, opaque first), and no other reference to it is live.
            let store = unsafe { &mut *store.cast::<StoreInner<T>>() };
            callback(StoreContextMut(store))
        });
        self.inner.opaque.epoch_callback = Some(erased);
    }
}

impl<T> StoreContextMut<'_, T> {
    /// [`Store::set_fuel`] through a borrow of the store.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.0.opaque.set_fuel(fuel)
    }

    /// [`Store::get_fuel`] through a borrow of the store.
    pub fn get_fuel(&self) -> Result<u64> {
        self.0.opaque.get_fuel()
    }

    /// [`Store::set_epoch_deadline`] through a borrow of the store.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.0.opaque.set_epoch_deadline(ticks);
    }
}

impl<T> Caller<'_, T> {
    /// The fuel left to the store of the calling guest.
    pub fn get_fuel(&self) -> Result<u64> {
        self.store.0.opaque.get_fuel()
    }

    /// Sets the fuel left to the store of the calling guest; the guest goes
    /// on with it when the host function returns.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.store.0.opaque.set_fuel(fuel)
    }
}

/// What the `new_epoch` builtin does when code of `store` found its deadline
/// passed: the store's behaviour (module docs). Returns to the guest only
/// when it may go on.
///
/// # Safety
/// `store` must be the entered store, called from a builtin that compiled
/// code called (inside `catch_traps`), with no reference to the store live.
pub(crate) unsafe fn on_epoch_deadline(store: *mut StoreOpaque) {
    // SAFETY: guaranteed by the caller; this reference ends before the
    // callback makes its own.
    let callback = unsafe { (*store).epoch_callback.take() };
    let Some(mut callback) = callback else {
        // SAFETY: guaranteed by the caller; nothing here owns anything.
        unsafe { traps::raise_trap(TrapKind::Interrupt) }
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| callback(store)));
    let unwind = {
        // SAFETY: the callback has returned; this is the one reference now.
        let opaque = unsafe { &mut *store };
        if opaque.epoch_callback.is_none() {
            opaque.epoch_callback = Some(callback);
        }
        match outcome {
            Ok(Ok(UpdateDeadline::Continue(ticks))) => {
                opaque.set_epoch_deadline(ticks);
                return;
            }
            Ok(Ok(UpdateDeadline::Yield(ticks))) => {
                opaque.set_epoch_deadline(ticks);
                // No reference to the store is live while the fiber is
                // suspended; a cancelled or non-async call unwinds instead.
                match fiber::yield_now() {
                    Ok(()) => return,
                    Err(error) => Unwind::Host(crate::func::with_wasm_backtrace(error)),
                }
            }
            Ok(Err(error)) => Unwind::Host(crate::func::with_wasm_backtrace(error)),
            Err(payload) => Unwind::Panic(payload),
        }
    };
    // SAFETY: guaranteed by the caller; the callback went back into the
    // store and `unwind` owns the rest.
    unsafe { traps::raise(unwind) }
}
