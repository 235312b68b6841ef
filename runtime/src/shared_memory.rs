//! Shared linear memories (threads proposal): one memory that instances in
//! any number of stores, on any threads, import at once, and the wait/notify
//! parking lot that lives on it.
//!
//! # How a shared memory fits the relocation design
//!
//! Relocation (moving a memory's pages with `mremap` and telling every
//! subscriber through its notifier) is a single-owner operation: it relies on
//! no code using the old base between `invalidate_range_start` and the end of
//! the move, which holds for a store's own memories because a store runs on
//! one thread at a time. Other threads running Wasm on a shared memory could
//! be inside an access to the old pages at any moment, so a shared memory
//! never moves: its reservation covers its declared maximum (which the
//! threads proposal requires) plus the guard from the start
//! (`remap_memory::MemoryStyle::Static`, which refuses to relocate), and
//! growth only makes more of it read/write. Moving one would need every
//! thread that might touch it to be stopped at a safepoint (or a
//! per-access epoch that the mover waits out), which Remap does not have.
//!
//! # The bound other threads read
//!
//! The base never changes, so each instance writes it into its vmctx once.
//! The length changes on whichever thread grows the memory, so compiled code
//! does not read a per-instance copy (it would be written from another
//! thread, racing with that instance's own reads, and any copy a thread had
//! cached would be stale). Instead the memory owns one `AtomicU64` length
//! ([`SharedLength`]), which a notifier on the underlying `LinearMemory`
//! updates at the end of every growth (after the new pages are accessible,
//! under the memory's state lock, with release ordering), and compiled code
//! loads it atomically through the vmctx's `shared_length` pointer at every
//! explicit bounds check and `memory.size` (ABI.md). An atomic load is never
//! merged or hoisted by Cranelift, so a loop sees growth by another thread.
//! This is sound because the length only ever grows (a shared memory cannot
//! shrink or be reset), and a length a thread reads was published only
//! after the pages below it became accessible: a check against it never
//! admits an inaccessible byte. A thread that reads the older, smaller
//! length traps on an access it might have made a moment later, which is
//! one of the outcomes the proposal allows for an access racing with growth.
//!
//! # Locking
//!
//! Growth takes the `LinearMemory`'s state lock, so concurrent growth from
//! several threads is serialised and its notifiers, statistics and pins stay
//! exact. The parking lot has its own mutex (taken after nothing else); a
//! waiter checks the value under it and notify takes it, so a notify that
//! follows a store of the value cannot miss a waiter that saw the old value.
//!
//! # Interrupting a waiter
//!
//! A thread blocked in `memory.atomic.wait` runs no compiled code, so no
//! epoch check would ever see its store's deadline pass. With epoch
//! interruption on, the waiter wakes every [`INTERRUPT_POLL`] to compare the
//! engine's epoch with its store's deadline; once it has passed, the waiter
//! leaves the queue and the builtin handles the deadline as compiled code
//! would (a trap, or the store's callback). When the callback lets the guest
//! go on, the wait returns 0 ("woken") early, a spurious wake-up: every
//! correct user of wait checks its condition again and waits once more,
//! whereas waiting on after leaving the queue could miss a notify.
//!
//! # Failure behaviour
//!
//! Creating a shared memory without a maximum, or whose maximum cannot be
//! reserved, is an error. A refused growth changes nothing.

use crate::engine::Engine;
use crate::types::MemoryType;
use crate::vm::registry::{self, ReservationRegistration};
use anyhow::{Context, Result, bail};
use remap_memory::{
    InvalidationNotifier, LinearMemory, MemoryStats, MemoryView, NotifierRegistration,
};
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A linear memory shared between threads. Cloning gives another handle on
/// the same memory; it is `Send + Sync`, so stores on other threads can
/// import it.
#[derive(Clone)]
pub struct SharedMemory {
    inner: Arc<SharedMemoryInner>,
}

struct SharedMemoryInner {
    /// Taken in `drop`, before the memory is unmapped.
    length_registration: Option<NotifierRegistration>,
    reservation: Option<ReservationRegistration>,
    memory: Arc<LinearMemory>,
    length: Arc<SharedLength>,
    ty: MemoryType,
    parking_lot: ParkingLot,
    engine: Engine,
}

impl Drop for SharedMemoryInner {
    fn drop(&mut self) {
        // Stop recognising faults in the reservation and stop hearing about
        // changes before the memory itself is unmapped.
        drop(self.reservation.take());
        drop(self.length_registration.take());
    }
}

impl std::fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMemory")
            .field("ty", &self.inner.ty)
            .field("size_bytes", &self.data_size())
            .finish()
    }
}

impl PartialEq for SharedMemory {
    fn eq(&self, other: &SharedMemory) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for SharedMemory {}

impl std::hash::Hash for SharedMemory {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.inner).hash(state);
    }
}

impl SharedMemory {
    /// Creates a shared memory of type `ty`, which must be shared and have a
    /// maximum; its whole maximum is reserved now (see the module docs).
    pub fn new(engine: &Engine, ty: MemoryType) -> Result<SharedMemory> {
        if !ty.is_shared() {
            bail!("a shared memory needs a shared memory type");
        }
        if ty.maximum().is_none() {
            bail!("a shared memory must have a maximum");
        }
        let config = crate::memory::memory_config(engine, &ty)?;
        let memory = Arc::new(
            LinearMemory::new(config).context("failed to create the shared linear memory")?,
        );
        let length = Arc::new(SharedLength {
            bytes: AtomicU64::new(memory.len_bytes()),
        });
        // Nobody else has the memory yet, so no growth can slip between
        // the first read of the length and the registration.
        let length_registration = memory.register_notifier(length.clone())?;
        Ok(SharedMemory {
            inner: Arc::new(SharedMemoryInner {
                length_registration: Some(length_registration),
                reservation: Some(registry::register_reservation(memory.clone())),
                memory,
                length,
                ty,
                parking_lot: ParkingLot::default(),
                engine: engine.clone(),
            }),
        })
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self) -> MemoryType {
        self.inner.ty.with_minimum(self.size())
    }

    /// The size in pages.
    pub fn size(&self) -> u64 {
        self.data_size() as u64 / self.inner.ty.page_size()
    }

    /// The size in bytes.
    pub fn data_size(&self) -> usize {
        self.inner.length.load() as usize
    }

    /// Address of byte 0 (never changes: a shared memory never moves).
    pub fn data_ptr(&self) -> *mut u8 {
        self.inner.memory.view().base
    }

    /// Grows by `delta` pages and returns the old size in pages; an error
    /// (nothing changed) past the maximum.
    pub fn grow(&self, delta: u64) -> Result<u64> {
        self.inner
            .memory
            .grow(delta)
            .with_context(|| format!("failed to grow shared memory by {delta} pages"))
    }

    /// Statistics of this memory (committed, pinned, ...).
    pub fn stats(&self) -> MemoryStats {
        self.inner.memory.stats()
    }

    /// The engine the memory was created for; only stores of this engine
    /// may import it.
    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The underlying linear memory.
    pub(crate) fn linear_memory(&self) -> &Arc<LinearMemory> {
        &self.inner.memory
    }

    /// The address of the length compiled code loads atomically.
    pub(crate) fn length_address(&self) -> *const u64 {
        self.inner.length.bytes.as_ptr().cast_const()
    }

    /// Wakes up to `count` threads waiting on byte address `address` (as
    /// `memory.atomic.notify` does) and returns how many woke; an error when
    /// `address` is unaligned or out of bounds.
    pub fn atomic_notify(&self, address: u64, count: u32) -> Result<u32> {
        if !address.is_multiple_of(4) {
            bail!("unaligned atomic: notify at address {address}");
        }
        self.notify(address, count)
            .with_context(|| format!("out of bounds memory access: notify at address {address}"))
    }

    /// Blocks this thread while the i32 at `address` equals `expected`,
    /// until notified or `timeout` passes (`None`: no timeout), as
    /// `memory.atomic.wait32` does: 0 when woken, 1 when the value was not
    /// `expected`, 2 when timed out; an error when unaligned or out of bounds.
    pub fn atomic_wait32(
        &self,
        address: u64,
        expected: u32,
        timeout: Option<Duration>,
    ) -> Result<u32> {
        if !address.is_multiple_of(4) {
            bail!("unaligned atomic: wait at address {address}");
        }
        let outcome = self
            .wait(address, 4, u64::from(expected), timeout, None)
            .with_context(|| format!("out of bounds memory access: wait at address {address}"))?;
        Ok(outcome.wasm_result() as u32)
    }

    /// `address..address + size` if it lies within the memory, else `None`.
    fn checked_range(&self, address: u64, size: u64) -> Option<Range<usize>> {
        let end = address.checked_add(size)?;
        (end <= self.inner.length.load()).then_some(address as usize..end as usize)
    }

    /// `memory.atomic.notify`: wakes up to `count` waiters on `address` and
    /// returns how many woke; `None` when `address..address + 4` is out of
    /// bounds.
    pub(crate) fn notify(&self, address: u64, count: u32) -> Option<u32> {
        self.checked_range(address, 4)?;
        Some(self.inner.parking_lot.notify(address, count))
    }

    /// `memory.atomic.wait32`/`wait64` on the `size`-byte value at `address`
    /// (4 or 8, aligned): `None` when out of bounds, else how the wait
    /// ended. `timeout` is in nanoseconds; `None` waits for ever. With
    /// `interrupted`, the waiter polls it and gives up once it returns true
    /// (module docs).
    pub(crate) fn wait(
        &self,
        address: u64,
        size: u64,
        expected: u64,
        timeout: Option<Duration>,
        interrupted: Option<&dyn Fn() -> bool>,
    ) -> Option<WaitOutcome> {
        let range = self.checked_range(address, size)?;
        let base = self.data_ptr();
        let matches = || {
            // SAFETY: `range` lies within the accessible bytes, which a
            // shared memory never gives back, and is aligned to `size`
            // (compiled code checked); other threads access these bytes
            // only atomically or through Wasm, whose races are allowed.
            unsafe {
                let pointer = base.add(range.start);
                if size == 4 {
                    std::sync::atomic::AtomicU32::from_ptr(pointer.cast()).load(Ordering::SeqCst)
                        == expected as u32
                } else {
                    AtomicU64::from_ptr(pointer.cast()).load(Ordering::SeqCst) == expected
                }
            }
        };
        Some(
            self.inner
                .parking_lot
                .wait(address, matches, timeout, interrupted),
        )
    }
}

/// A shared memory's one current length in bytes, kept by its notifier.
struct SharedLength {
    bytes: AtomicU64,
}

impl SharedLength {
    fn load(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }

    fn store(&self, bytes: u64) {
        self.bytes.store(bytes, Ordering::Release);
    }
}

impl InvalidationNotifier for SharedLength {
    fn invalidate_range_start(&self, _range: Range<usize>) {}

    fn invalidate_range_end(&self, _range: Range<usize>, new_view: MemoryView) {
        self.store(new_view.len as u64);
    }

    fn release(&self) {}
}

/// What `memory.atomic.wait32`/`wait64` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum WaitResult {
    /// Woken by a notify.
    Ok = 0,
    /// The value was not the expected one.
    NotEqual = 1,
    /// The timeout passed.
    TimedOut = 2,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitOutcome {
    /// With the proposal's result.
    Done(WaitResult),
    /// The waiter's interruption check said stop; it left the queue.
    Interrupted,
}

impl WaitOutcome {
    /// What `memory.atomic.wait` returns: an interrupted wait whose guest
    /// goes on reads as woken (a spurious wake-up, module docs).
    pub(crate) fn wasm_result(self) -> WaitResult {
        match self {
            WaitOutcome::Done(result) => result,
            WaitOutcome::Interrupted => WaitResult::Ok,
        }
    }
}

/// How often an interruptible waiter checks whether to stop.
pub(crate) const INTERRUPT_POLL: Duration = Duration::from_millis(10);

/// One waiting thread.
struct Waiter {
    /// Set (under the parking lot's mutex) by the notify that wakes it.
    notified: AtomicBool,
    condvar: Condvar,
}

/// The waiters of one shared memory, by address, in arrival order.
#[derive(Default)]
struct ParkingLot {
    queues: Mutex<HashMap<u64, VecDeque<Arc<Waiter>>>>,
}

impl ParkingLot {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, VecDeque<Arc<Waiter>>>> {
        // A panic while holding the lock leaves the queues consistent: every
        // change is one push or pop.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on `address` while `matches()` (read under the lock) holds,
    /// until notified, until `timeout` passes, or, polled every
    /// [`INTERRUPT_POLL`], until `interrupted()` says stop. A notify that
    /// comes with either of the others wins: its waiter is already off the
    /// queue and counted as woken.
    fn wait(
        &self,
        address: u64,
        matches: impl FnOnce() -> bool,
        timeout: Option<Duration>,
        interrupted: Option<&dyn Fn() -> bool>,
    ) -> WaitOutcome {
        let mut queues = self.lock();
        if !matches() {
            return WaitOutcome::Done(WaitResult::NotEqual);
        }
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        if timeout.is_some_and(|timeout| timeout.is_zero()) {
            return WaitOutcome::Done(WaitResult::TimedOut);
        }
        let waiter = Arc::new(Waiter {
            notified: AtomicBool::new(false),
            condvar: Condvar::new(),
        });
        queues.entry(address).or_default().push_back(waiter.clone());
        loop {
            if waiter.notified.load(Ordering::Relaxed) {
                return WaitOutcome::Done(WaitResult::Ok);
            }
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                Self::remove(&mut queues, address, &waiter);
                return WaitOutcome::Done(WaitResult::TimedOut);
            }
            if interrupted.is_some_and(|interrupted| interrupted()) {
                Self::remove(&mut queues, address, &waiter);
                return WaitOutcome::Interrupted;
            }
            let until_deadline = deadline.map(|deadline| deadline - now);
            let slice = match interrupted {
                Some(_) => {
                    Some(until_deadline.map_or(INTERRUPT_POLL, |left| left.min(INTERRUPT_POLL)))
                }
                None => until_deadline,
            };
            queues = match slice {
                None => waiter
                    .condvar
                    .wait(queues)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(slice) => {
                    waiter
                        .condvar
                        .wait_timeout(queues, slice)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Takes `waiter` (which timed out, not notified) off `address`'s queue.
    fn remove(
        queues: &mut HashMap<u64, VecDeque<Arc<Waiter>>>,
        address: u64,
        waiter: &Arc<Waiter>,
    ) {
        if let Some(queue) = queues.get_mut(&address) {
            queue.retain(|queued| !Arc::ptr_eq(queued, waiter));
            if queue.is_empty() {
                queues.remove(&address);
            }
        }
    }

    /// Wakes up to `count` of `address`'s waiters, oldest first; how many woke.
    fn notify(&self, address: u64, count: u32) -> u32 {
        let mut queues = self.lock();
        let Some(queue) = queues.get_mut(&address) else {
            return 0;
        };
        let mut woken = 0;
        while woken < count {
            let Some(waiter) = queue.pop_front() else {
                break;
            };
            waiter.notified.store(true, Ordering::Relaxed);
            waiter.condvar.notify_one();
            woken += 1;
        }
        if queue.is_empty() {
            queues.remove(&address);
        }
        woken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatched_value_returns_at_once() {
        let lot = ParkingLot::default();
        assert_eq!(
            lot.wait(0, || false, None, None),
            WaitOutcome::Done(WaitResult::NotEqual)
        );
    }

    #[test]
    fn a_timeout_returns_timed_out_and_leaves_no_waiter() {
        let lot = ParkingLot::default();
        let timeout = Some(Duration::from_millis(1));
        assert_eq!(
            lot.wait(8, || true, timeout, None),
            WaitOutcome::Done(WaitResult::TimedOut)
        );
        assert_eq!(lot.notify(8, 1), 0);
        assert!(lot.lock().is_empty());
    }

    #[test]
    fn an_interrupted_waiter_leaves_the_queue() {
        let lot = ParkingLot::default();
        let polls = std::cell::Cell::new(0);
        let interrupted = || {
            polls.set(polls.get() + 1);
            polls.get() > 2
        };
        let outcome = lot.wait(32, || true, None, Some(&interrupted));
        assert_eq!(outcome, WaitOutcome::Interrupted);
        assert_eq!(polls.get(), 3, "polled until it said stop");
        assert_eq!(lot.notify(32, 1), 0);
        assert!(lot.lock().is_empty());
    }

    #[test]
    fn notify_wakes_at_most_count_waiters_of_one_address() {
        let lot = Arc::new(ParkingLot::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let lot = lot.clone();
                std::thread::spawn(move || lot.wait(16, || true, None, None))
            })
            .collect();
        let queued = || lot.lock().get(&16).map_or(0, VecDeque::len);
        while queued() < 3 {
            std::thread::yield_now();
        }
        assert_eq!(lot.notify(24, 5), 0, "another address has no waiters");
        assert_eq!(lot.notify(16, 2), 2);
        assert_eq!(lot.notify(16, 5), 1);
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), WaitOutcome::Done(WaitResult::Ok));
        }
    }
}
