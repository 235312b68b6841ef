//! The engine's epoch, its stores' pending deadlines, and the word compiled
//! code checks in every store.
//!
//! Code compiled for epoch interruption does not compare the engine's epoch
//! with the store's deadline itself: that takes two loaded values, and a
//! check that needs registers at a loop header costs a hot loop spills
//! (benches/README.md has the measurements). It tests one word of the
//! store's limits instead, `VMRuntimeLimits::epoch_deadline_passed`, read
//! through the vmctx with no register kept live between checks. This module
//! keeps that word true: a store of an engine that compiles for epoch
//! interruption registers its deadline ([`EpochDeadlines::set`]), and
//! [`EpochDeadlines::increment`] raises the word of every store whose
//! deadline the new epoch reached. So the comparing moves from every check
//! to the (rare) increments that pass a deadline.
//!
//! Invariant: a store's word is 1 exactly when its deadline is at most the
//! epoch, except between an increment of the counter and the pass over the
//! due deadlines that follows it (the guest runs on for that long, as it
//! would until its next check anyway).
//!
//! The set of deadlines is ordered, and a cursor marks how far it has been
//! raised: entries at or before the cursor have their words raised, the
//! first entry after it is the next due (`next_due`, which lets every
//! increment that reaches no deadline skip the lock). Raising never changes
//! the set: entries stay until their store moves its deadline or is dropped,
//! both on the store's thread.
//!
//! Signal safety: [`EpochDeadlines::increment`] is async-signal-safe, as
//! Wasmtime's is, so an embedder may advance the epoch from a signal
//! handler. It never allocates, frees or blocks: it only tries the lock, and
//! when another thread (or the interrupted one) holds it, it leaves a
//! request (`raise_requested`) that the holder serves after it unlocks.
//! Either the holder sees the request after its unlock, or the requester's
//! try comes after that unlock and finds the lock free or held by a later
//! holder, which serves it in turn (`SeqCst` on both sides).
//!
//! Locking: one mutex, `state`, taken by the thread that moves a store's
//! deadline, by a store being dropped, and tried by increments that reach
//! the next due deadline. Nothing else is locked while it is held. Words are
//! written only under the lock, and a store leaves the set under the lock
//! before its limits are freed, so a raise never writes to freed memory.
//! Ordering: a deadline is published (`next_due`) before the counter is
//! read, and an increment reads `next_due` after it moved the counter (both
//! `SeqCst`): either the setter sees the new epoch and raises the word
//! itself, or the incrementer sees the deadline and raises it.
//!
//! Failure behaviour: none. The store's thread may allocate under the lock
//! (an allocation failure aborts); a poisoned lock is taken over as it is.

use remap_compiler::vmctx::VMRuntimeLimits;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// A store, by the address of its limits (unique among live stores).
type StoreKey = usize;

#[derive(Debug, Default)]
struct State {
    /// `(deadline, store)` of every store with a deadline, earliest first.
    deadlines: BTreeSet<(u64, StoreKey)>,
    /// The last entry whose word has been raised (entries up to it all
    /// have); `(0, 0)` before any.
    raised_through: (u64, StoreKey),
}

impl State {
    /// The entries after the cursor, whose words are not raised yet,
    /// earliest first.
    fn not_raised(&self) -> impl Iterator<Item = &(u64, StoreKey)> {
        let after_cursor = (Bound::Excluded(self.raised_through), Bound::Unbounded);
        self.deadlines.range(after_cursor)
    }
}

/// An engine's epoch and the deadlines of its stores.
#[derive(Debug)]
pub(crate) struct EpochDeadlines {
    /// The epoch; it only ever grows.
    epoch: AtomicU64,
    /// The deadline of the first entry after the cursor (`u64::MAX` when
    /// none).
    next_due: AtomicU64,
    /// An increment found the lock taken: its holder raises on unlock.
    raise_requested: AtomicBool,
    state: Mutex<State>,
}

impl EpochDeadlines {
    pub(crate) fn new() -> Self {
        EpochDeadlines {
            epoch: AtomicU64::new(0),
            next_due: AtomicU64::new(u64::MAX),
            raise_requested: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    /// The current epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Advances the epoch by one and raises the words of the stores whose
    /// deadline it reached. Async-signal-safe (module docs).
    pub(crate) fn increment(&self) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if epoch < self.next_due.load(Ordering::SeqCst) {
            return;
        }
        self.raise_requested.store(true, Ordering::SeqCst);
        if let Some(state) = self.try_lock() {
            self.unlock(state);
        }
    }

    /// Releases the lock, first raising what the epoch has reached when an
    /// increment asked for it; serves requests that arrive meanwhile.
    fn unlock<'a>(&'a self, mut state: MutexGuard<'a, State>) {
        loop {
            if self.raise_requested.swap(false, Ordering::SeqCst) {
                self.raise_due(&mut state);
            }
            drop(state);
            if !self.raise_requested.load(Ordering::SeqCst) {
                return;
            }
            match self.try_lock() {
                Some(again) => state = again,
                // Its holder serves the request.
                None => return,
            }
        }
    }

    /// Raises the word of every entry after the cursor whose deadline the
    /// epoch reached, and moves the cursor and `next_due` on; under the
    /// lock. Reads the set only: nothing is allocated or freed.
    fn raise_due(&self, state: &mut State) {
        let epoch = self.epoch();
        let mut raised = None;
        for &(deadline, store) in state.not_raised() {
            if deadline > epoch {
                break;
            }
            // SAFETY: a store in the set has live limits: it leaves the set,
            // under this lock, before they are freed.
            unsafe { deadline_passed(store as *mut VMRuntimeLimits) }.store(1, Ordering::SeqCst);
            raised = Some((deadline, store));
        }
        if let Some(last) = raised {
            state.raised_through = last;
        }
        self.publish_next_due(state);
    }

    /// Publishes the deadline of the first entry after the cursor; under
    /// the lock.
    fn publish_next_due(&self, state: &State) {
        let next = state
            .not_raised()
            .next()
            .map_or(u64::MAX, |&(deadline, _)| deadline);
        self.next_due.store(next, Ordering::SeqCst);
    }

    /// Moves the deadline of the store whose limits are `limits` to
    /// `deadline`, and sets its word for the current epoch.
    ///
    /// # Safety
    /// `limits` must be a live store's limits, written by no other thread
    /// (the store's own thread calls this), and the store must call
    /// [`EpochDeadlines::forget_store`] before they are freed.
    pub(crate) unsafe fn set(&self, limits: *mut VMRuntimeLimits, deadline: u64) {
        let store = limits as StoreKey;
        let mut state = self.lock();
        // SAFETY: guaranteed by the caller.
        let previous = unsafe { (*limits).epoch_deadline };
        state.deadlines.remove(&(previous, store));
        // SAFETY: guaranteed by the caller; compiled code of this store is
        // not running while its thread is here.
        unsafe { (*limits).epoch_deadline = deadline };
        // Not yet passed, the entry lands after the cursor (whose deadline
        // the epoch has reached); passed, it needs no entry.
        state.deadlines.insert((deadline, store));
        self.publish_next_due(&state);
        let passed = self.epoch() >= deadline;
        if passed {
            state.deadlines.remove(&(deadline, store));
            self.publish_next_due(&state);
        }
        // SAFETY: guaranteed by the caller.
        unsafe { deadline_passed(limits) }.store(u64::from(passed), Ordering::SeqCst);
        self.unlock(state);
    }

    /// Takes the store whose limits are `limits` out of the set.
    ///
    /// # Safety
    /// `limits` must be a live store's limits, written by no other thread.
    pub(crate) unsafe fn forget_store(&self, limits: *mut VMRuntimeLimits) {
        let mut state = self.lock();
        // SAFETY: guaranteed by the caller.
        let deadline = unsafe { (*limits).epoch_deadline };
        if state.deadlines.remove(&(deadline, limits as StoreKey)) {
            self.publish_next_due(&state);
        }
        self.unlock(state);
    }
}

/// The word compiled code checks, as an atomic.
///
/// # Safety
/// `limits` must point to live limits, whose word is only accessed
/// atomically for the returned lifetime.
unsafe fn deadline_passed<'a>(limits: *mut VMRuntimeLimits) -> &'a AtomicU64 {
    // SAFETY: guaranteed by the caller; the field is a `u64`, aligned for
    // `AtomicU64` (`#[repr(C)]`, 8-byte fields).
    unsafe { AtomicU64::from_ptr(&raw mut (*limits).epoch_deadline_passed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeStore(Box<VMRuntimeLimits>);

    impl FakeStore {
        fn new() -> Self {
            FakeStore(Box::new(VMRuntimeLimits {
                epoch_deadline_passed: 1,
                ..VMRuntimeLimits::default()
            }))
        }

        fn set(&mut self, deadlines: &EpochDeadlines, deadline: u64) {
            // SAFETY: the fake store outlives the test's calls, and only this
            // thread uses it.
            unsafe { deadlines.set(&mut *self.0, deadline) };
        }

        fn word(&self) -> u64 {
            self.0.epoch_deadline_passed
        }
    }

    fn advance_to(deadlines: &EpochDeadlines, epoch: u64) {
        while deadlines.epoch() < epoch {
            deadlines.increment();
        }
    }

    #[test]
    fn the_word_follows_the_deadline() {
        let deadlines = EpochDeadlines::new();
        advance_to(&deadlines, 5);
        let mut store = FakeStore::new();
        store.set(&deadlines, 3);
        assert_eq!(store.word(), 1, "a deadline in the past has passed");
        store.set(&deadlines, 7);
        assert_eq!(store.word(), 0);
        advance_to(&deadlines, 6);
        assert_eq!(store.word(), 0);
        advance_to(&deadlines, 7);
        assert_eq!(store.word(), 1, "epoch 7 reached the deadline");
        assert_eq!(deadlines.next_due.load(Ordering::SeqCst), u64::MAX);
        store.set(&deadlines, 9);
        assert_eq!(store.word(), 0);
        // SAFETY: as in `FakeStore::set`.
        unsafe { deadlines.forget_store(&mut *store.0) };
        advance_to(&deadlines, 9);
        assert_eq!(store.word(), 0, "a forgotten store is left alone");
    }

    #[test]
    fn an_earlier_deadline_of_another_store_goes_first() {
        let deadlines = EpochDeadlines::new();
        let (mut early, mut late) = (FakeStore::new(), FakeStore::new());
        late.set(&deadlines, 4);
        early.set(&deadlines, 2);
        advance_to(&deadlines, 2);
        assert_eq!((early.word(), late.word()), (1, 0));
        advance_to(&deadlines, 4);
        assert_eq!((early.word(), late.word()), (1, 1));
    }

    #[test]
    fn an_increment_that_finds_the_lock_taken_is_served_by_its_holder() {
        let deadlines = EpochDeadlines::new();
        let mut store = FakeStore::new();
        store.set(&deadlines, 1);
        // As when a signal handler increments on a thread inside `set`: the
        // increment must neither block nor be lost.
        let held = deadlines.lock();
        deadlines.increment();
        assert_eq!(store.word(), 0, "raised without the lock");
        deadlines.unlock(held);
        assert_eq!(store.word(), 1, "the holder raised it on unlock");
    }
}
