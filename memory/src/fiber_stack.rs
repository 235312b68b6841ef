//! Fiber stacks: guarded reservations that a coroutine runs on, and the
//! pool that hands them out and takes them back.
//!
//! A [`FiberStack`] is one reservation (placed like every other, above
//! [`RESERVATION_FLOOR`](crate::RESERVATION_FLOOR)): its lowest host page
//! stays `PROT_NONE` as a guard and the rest is read/write. Stacks grow
//! down, so running off the end touches the guard and faults instead of
//! overwriting whatever lies below. The usable part is committed lazily:
//! only the pages a fiber touched cost memory.
//!
//! A [`FiberStackPool`] keeps up to a fixed number of returned stacks for
//! reuse. A returned stack is reset with `madvise(MADV_DONTNEED)` first, so
//! an idle stack holds no memory and a reused one reads as zero, whatever the
//! previous fiber left on it. The pool counts stacks in use, idle and ever
//! created ([`FiberStackStats`]).
//!
//! Locking: the pool's idle list is behind one mutex, held only to push or
//! pop a stack (never across a system call). Failure behaviour: a stack that
//! cannot be mapped is a [`MemoryError`]; a stack that cannot be reset is
//! unmapped instead of pooled, so reuse never sees old contents.

use crate::MemoryError;
use crate::reservation::Reservation;
use crate::stats::FiberStackStats;
use crate::sys::{self, Advice, Protection, Syscall};
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A stack for a fiber: a guard page below a read/write range.
#[derive(Debug)]
pub struct FiberStack {
    reservation: Reservation,
    guard_len: usize,
}

impl FiberStack {
    /// Maps a stack with at least `usable_bytes` (rounded up to host pages)
    /// above a one-page guard.
    pub fn new(usable_bytes: usize) -> Result<FiberStack, MemoryError> {
        let page = sys::host_page_size();
        let usable =
            usable_bytes
                .max(1)
                .checked_next_multiple_of(page)
                .ok_or(MemoryError::Overflow {
                    what: "fiber stack size",
                })?;
        let total = usable.checked_add(page).ok_or(MemoryError::Overflow {
            what: "fiber stack size",
        })?;
        let reservation = Reservation::new(total)?;
        // SAFETY: the range lies inside the reservation, which this stack owns
        // and nobody else knows of yet.
        unsafe { sys::protect(reservation.start() + page, usable, Protection::ReadWrite) }
            .map_err(|source| MemoryError::syscall(Syscall::Mprotect, source))?;
        Ok(FiberStack {
            reservation,
            guard_len: page,
        })
    }

    /// The read/write part, where the fiber's frames live; its end is the
    /// stack's top (where a fiber starts).
    pub fn usable(&self) -> Range<usize> {
        let whole = self.reservation.range();
        whole.start + self.guard_len..whole.end
    }

    /// The inaccessible page below the usable part.
    pub fn guard(&self) -> Range<usize> {
        let start = self.reservation.start();
        start..start + self.guard_len
    }

    /// Drops every page the previous user touched: they read as zero and
    /// cost no memory until touched again.
    ///
    /// # Safety
    /// No fiber may be running on, or suspended on, this stack.
    pub unsafe fn reset(&self) -> Result<(), MemoryError> {
        let usable = self.usable();
        // SAFETY: the range is this stack's own, and the caller guarantees no
        // frame on it is live.
        unsafe { sys::advise(usable.start, usable.len(), Advice::DontNeed) }
            .map_err(|source| MemoryError::syscall(Syscall::Madvise, source))
    }
}

/// Hands out fiber stacks of one size and keeps returned ones for reuse.
#[derive(Debug)]
pub struct FiberStackPool {
    usable_bytes: usize,
    max_idle: usize,
    idle: Mutex<Vec<FiberStack>>,
    in_use: AtomicU64,
    created: AtomicU64,
}

impl FiberStackPool {
    /// A pool of stacks with `usable_bytes` each, keeping at most `max_idle`
    /// returned stacks. Maps nothing until a stack is taken.
    pub fn new(usable_bytes: usize, max_idle: usize) -> FiberStackPool {
        FiberStackPool {
            usable_bytes,
            max_idle,
            idle: Mutex::new(Vec::new()),
            in_use: AtomicU64::new(0),
            created: AtomicU64::new(0),
        }
    }

    /// A stack: an idle one if there is one, else a new mapping. Give it
    /// back with [`FiberStackPool::give_back`].
    pub fn take(&self) -> Result<FiberStack, MemoryError> {
        let reused = self.lock_idle().pop();
        let stack = match reused {
            Some(stack) => stack,
            None => {
                let stack = FiberStack::new(self.usable_bytes)?;
                self.created.fetch_add(1, Ordering::Relaxed);
                stack
            }
        };
        self.in_use.fetch_add(1, Ordering::Relaxed);
        Ok(stack)
    }

    /// Takes back a stack from [`FiberStackPool::take`]: resets and keeps it
    /// while fewer than `max_idle` are idle, else unmaps it.
    ///
    /// # Safety
    /// No fiber may be running on, or suspended on, `stack`.
    pub unsafe fn give_back(&self, stack: FiberStack) {
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        if self.lock_idle().len() >= self.max_idle {
            return;
        }
        // SAFETY: guaranteed by the caller. A stack that cannot be reset is
        // dropped (unmapped) rather than reused with old contents.
        if unsafe { stack.reset() }.is_err() {
            return;
        }
        let mut idle = self.lock_idle();
        if idle.len() < self.max_idle {
            idle.push(stack);
        }
    }

    /// Counts of this pool's stacks.
    pub fn stats(&self) -> FiberStackStats {
        let idle = self.lock_idle().len() as u64;
        let in_use = self.in_use.load(Ordering::Relaxed);
        let page = sys::host_page_size() as u64;
        let stack_bytes = (self.usable_bytes as u64)
            .next_multiple_of(page)
            .saturating_add(page);
        FiberStackStats {
            stacks_in_use: in_use,
            stacks_idle: idle,
            stacks_created: self.created.load(Ordering::Relaxed),
            reserved_bytes: (in_use + idle).saturating_mul(stack_bytes),
        }
    }

    /// The idle list; a poisoned lock still holds a valid list (pushes and
    /// pops cannot be half done).
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<FiberStack>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_is_below_a_writable_range() {
        let page = sys::host_page_size();
        let stack = FiberStack::new(3 * page + 1).unwrap();
        assert_eq!(stack.usable().len(), 4 * page);
        assert_eq!(stack.guard().end, stack.usable().start);
        assert_eq!(stack.guard().len(), page);
        let top = (stack.usable().end - 8) as *mut u64;
        // SAFETY: the usable range is mapped read/write and owned by `stack`.
        unsafe { top.write(7) };
        // SAFETY: no fiber uses the stack.
        unsafe { stack.reset() }.unwrap();
        // SAFETY: as above; a reset page reads as zero.
        assert_eq!(unsafe { top.read() }, 0);
    }

    #[test]
    fn the_pool_reuses_and_counts_stacks() {
        let pool = FiberStackPool::new(16 * 1024, 1);
        let first = pool.take().unwrap();
        let second = pool.take().unwrap();
        let first_range = first.usable();
        let stats = pool.stats();
        assert_eq!((stats.stacks_in_use, stats.stacks_created), (2, 2));
        // SAFETY: no fiber runs on either stack.
        unsafe {
            pool.give_back(first);
            pool.give_back(second);
        }
        let stats = pool.stats();
        assert_eq!((stats.stacks_in_use, stats.stacks_idle), (0, 1));
        let again = pool.take().unwrap();
        assert_eq!(again.usable(), first_range, "the idle stack is reused");
        assert_eq!(pool.stats().stacks_created, 2);
        // SAFETY: as above.
        unsafe { pool.give_back(again) };
        assert_eq!(pool.stats().stacks_in_use, 0);
    }
}
