//! The engine's pending epoch deadlines, and the word compiled code checks
//! in every store.
//!
//! Code compiled for epoch interruption does not compare the engine's epoch
//! with the store's deadline itself: that takes two loaded values, and a
//! check that needs registers at a loop header costs a hot loop spills
//! (benches/README.md has the measurements). It tests one word of the
//! store's limits instead, `VMRuntimeLimits::epoch_deadline_passed`, read
//! through the vmctx with no register kept live between checks. This module
//! keeps that word true: a store of an engine that compiles for epoch
//! interruption registers its deadline ([`EpochDeadlines::set`]), and
//! [`Engine::increment_epoch`](crate::Engine::increment_epoch) raises the
//! word of every store whose deadline the new epoch reached
//! ([`EpochDeadlines::epoch_reached`]). So the comparing moves from every
//! check to the (rare) increments that pass a deadline.
//!
//! Invariant: a store's word is 1 exactly when its deadline is at most the
//! epoch, except between an increment of the counter and the incrementing
//! thread's pass over the due deadlines (the guest runs on for that long, as
//! it would until its next check anyway). A store not in the set has its
//! word raised.
//!
//! Locking: one mutex, `pending`, taken by the thread that moves a store's
//! deadline, by a store with a pending deadline being dropped, and by a
//! thread whose increment reached the earliest pending deadline (`next_due`
//! lets every other increment skip the lock). Nothing else is locked while
//! it is held. Words are written only under the lock, and a store leaves
//! the set under the lock before its limits are freed, so an incrementing
//! thread never writes to freed memory. Ordering: a deadline is published (`next_due`)
//! before the counter is read, and an increment reads `next_due` after it
//! moved the counter (both `SeqCst`): either the setter sees the new epoch
//! and raises the word itself, or the incrementer sees the deadline and
//! raises it.
//!
//! Failure behaviour: none. Nothing under the lock can panic but an
//! allocation failure, which aborts; a poisoned lock is taken over as it is.

use remap_compiler::vmctx::VMRuntimeLimits;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A store, by the address of its limits (unique among live stores).
type StoreKey = usize;

/// The deadlines of an engine's stores that have not passed yet.
#[derive(Debug)]
pub(crate) struct EpochDeadlines {
    /// The earliest deadline in `pending` (`u64::MAX` when none).
    next_due: AtomicU64,
    /// `(deadline, store)`, earliest first.
    pending: Mutex<BTreeSet<(u64, StoreKey)>>,
}

impl EpochDeadlines {
    pub(crate) fn new() -> Self {
        EpochDeadlines {
            next_due: AtomicU64::new(u64::MAX),
            pending: Mutex::new(BTreeSet::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<(u64, StoreKey)>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes the earliest pending deadline; under the lock.
    fn publish_next_due(&self, pending: &BTreeSet<(u64, StoreKey)>) {
        let next = pending.first().map_or(u64::MAX, |&(deadline, _)| deadline);
        self.next_due.store(next, Ordering::SeqCst);
    }

    /// After the epoch became `epoch`: raises the word of every store whose
    /// deadline it reached.
    pub(crate) fn epoch_reached(&self, epoch: u64) {
        if epoch < self.next_due.load(Ordering::SeqCst) {
            return;
        }
        let mut pending = self.lock();
        while let Some(&(deadline, store)) = pending.first() {
            if deadline > epoch {
                break;
            }
            pending.pop_first();
            // SAFETY: a store in the set has live limits: it leaves the set,
            // under this lock, before they are freed.
            unsafe { deadline_passed(store as *mut VMRuntimeLimits) }.store(1, Ordering::SeqCst);
        }
        self.publish_next_due(&pending);
    }

    /// Moves the deadline of the store whose limits are `limits` to
    /// `deadline`, and sets its word for the epoch `counter` holds.
    ///
    /// # Safety
    /// `limits` must be a live store's limits, written by no other thread
    /// (the store's own thread calls this), and the store must call
    /// [`EpochDeadlines::forget_store`] before they are freed.
    pub(crate) unsafe fn set(
        &self,
        limits: *mut VMRuntimeLimits,
        deadline: u64,
        counter: &AtomicU64,
    ) {
        let store = limits as StoreKey;
        let mut pending = self.lock();
        // SAFETY: guaranteed by the caller.
        let previous = unsafe { (*limits).epoch_deadline };
        pending.remove(&(previous, store));
        // SAFETY: guaranteed by the caller; compiled code of this store is
        // not running while its thread is here.
        unsafe { (*limits).epoch_deadline = deadline };
        pending.insert((deadline, store));
        self.publish_next_due(&pending);
        let passed = counter.load(Ordering::SeqCst) >= deadline;
        if passed {
            pending.remove(&(deadline, store));
            self.publish_next_due(&pending);
        }
        // SAFETY: guaranteed by the caller.
        unsafe { deadline_passed(limits) }.store(u64::from(passed), Ordering::SeqCst);
    }

    /// Takes the store whose limits are `limits` out of the set.
    ///
    /// # Safety
    /// `limits` must be a live store's limits, written by no other thread.
    pub(crate) unsafe fn forget_store(&self, limits: *mut VMRuntimeLimits) {
        // A raised word means the store is not in the set (`set` and
        // `epoch_reached` raise it exactly when they leave it out), and only
        // this thread could put it back: most stores skip the lock here.
        // SAFETY: guaranteed by the caller.
        if unsafe { deadline_passed(limits) }.load(Ordering::SeqCst) == 1 {
            return;
        }
        let store = limits as StoreKey;
        let mut pending = self.lock();
        // SAFETY: guaranteed by the caller.
        let deadline = unsafe { (*limits).epoch_deadline };
        if pending.remove(&(deadline, store)) {
            self.publish_next_due(&pending);
        }
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

        fn set(&mut self, deadlines: &EpochDeadlines, deadline: u64, counter: &AtomicU64) {
            // SAFETY: the fake store outlives the test's calls, and only this
            // thread uses it.
            unsafe { deadlines.set(&mut *self.0, deadline, counter) };
        }

        fn word(&self) -> u64 {
            self.0.epoch_deadline_passed
        }
    }

    #[test]
    fn the_word_follows_the_deadline() {
        let deadlines = EpochDeadlines::new();
        let counter = AtomicU64::new(5);
        let mut store = FakeStore::new();
        store.set(&deadlines, 3, &counter);
        assert_eq!(store.word(), 1, "a deadline in the past has passed");
        store.set(&deadlines, 7, &counter);
        assert_eq!(store.word(), 0);
        for epoch in 6..=7 {
            counter.store(epoch, Ordering::SeqCst);
            deadlines.epoch_reached(epoch);
        }
        assert_eq!(store.word(), 1, "epoch 7 reached the deadline");
        assert_eq!(deadlines.next_due.load(Ordering::SeqCst), u64::MAX);
        store.set(&deadlines, 9, &counter);
        assert_eq!(store.word(), 0);
        // SAFETY: as in `FakeStore::set`.
        unsafe { deadlines.forget_store(&mut *store.0) };
        deadlines.epoch_reached(9);
        assert_eq!(store.word(), 0, "a forgotten store is left alone");
    }

    #[test]
    fn an_earlier_deadline_of_another_store_goes_first() {
        let deadlines = EpochDeadlines::new();
        let counter = AtomicU64::new(0);
        let (mut early, mut late) = (FakeStore::new(), FakeStore::new());
        late.set(&deadlines, 4, &counter);
        early.set(&deadlines, 2, &counter);
        deadlines.epoch_reached(2);
        assert_eq!((early.word(), late.word()), (1, 0));
        deadlines.epoch_reached(4);
        assert_eq!((early.word(), late.word()), (1, 1));
    }
}
