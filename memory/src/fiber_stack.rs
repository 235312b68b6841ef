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
//! reuse, each tagged with the owner (an opaque id: a store) that used it
//! last. An owner gets back a stack it used before when there is one, as it
//! left it: the contents are its own, and skipping the reset keeps repeated
//! calls free of system calls and page faults. A stack that goes to another
//! owner is reset with `madvise(MADV_DONTNEED)` first, so it reads as zero
//! and no owner ever sees what another left on a stack. The pool counts
//! stacks in use, idle and ever created ([`FiberStackStats`]).
//!
//! Locking: the pool's idle list is behind one mutex, held only to push or
//! pop a stack (never across a system call). Failure behaviour: a stack that
//! cannot be mapped is a [`MemoryError`]; a stack that cannot be reset is
//! unmapped and a new one mapped, so reuse never sees old contents.

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
    /// Returned stacks, each with the owner that used it last.
    idle: Mutex<Vec<(u64, FiberStack)>>,
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

    /// A stack for `owner`: an idle one it used last as it left it, else
    /// another idle one reset, else a new mapping. Give it back with
    /// [`FiberStackPool::give_back`].
    pub fn take(&self, owner: u64) -> Result<FiberStack, MemoryError> {
        let reused = {
            let mut idle = self.lock_idle();
            match idle
                .iter()
                .rposition(|(last_owner, _)| *last_owner == owner)
            {
                Some(position) => Some((true, idle.swap_remove(position).1)),
                None => idle.pop().map(|(_, stack)| (false, stack)),
            }
        };
        let stack = match reused {
            Some((true, stack)) => Some(stack),
            // SAFETY: an idle stack has no fiber on it. One that cannot be
            // reset is unmapped (dropped) rather than handed out.
            Some((false, stack)) => unsafe { stack.reset() }.is_ok().then_some(stack),
            None => None,
        };
        let stack = match stack {
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

    /// Takes back a stack that `owner` used: keeps it, tagged with `owner`,
    /// while fewer than `max_idle` are idle, else unmaps it.
    ///
    /// # Safety
    /// No fiber may be running on, or suspended on, `stack`.
    pub unsafe fn give_back(&self, stack: FiberStack, owner: u64) {
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        let mut idle = self.lock_idle();
        if idle.len() < self.max_idle {
            idle.push((owner, stack));
            return;
        }
        drop(idle);
        // Unmapped outside the lock.
        drop(stack);
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
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(u64, FiberStack)>> {
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

    /// Writes `value` at the top of `stack`.
    fn write_top(stack: &FiberStack, value: u64) {
        // SAFETY: the usable range is mapped read/write and owned by `stack`.
        unsafe { ((stack.usable().end - 8) as *mut u64).write(value) };
    }

    fn read_top(stack: &FiberStack) -> u64 {
        // SAFETY: as in `write_top`.
        unsafe { ((stack.usable().end - 8) as *const u64).read() }
    }

    #[test]
    fn the_pool_reuses_and_counts_stacks() {
        let pool = FiberStackPool::new(16 * 1024, 1);
        let first = pool.take(1).unwrap();
        let second = pool.take(1).unwrap();
        let first_range = first.usable();
        let stats = pool.stats();
        assert_eq!((stats.stacks_in_use, stats.stacks_created), (2, 2));
        // SAFETY: no fiber runs on either stack.
        unsafe {
            pool.give_back(first, 1);
            pool.give_back(second, 1);
        }
        let stats = pool.stats();
        assert_eq!((stats.stacks_in_use, stats.stacks_idle), (0, 1));
        let again = pool.take(1).unwrap();
        assert_eq!(again.usable(), first_range, "the idle stack is reused");
        assert_eq!(pool.stats().stacks_created, 2);
        // SAFETY: as above.
        unsafe { pool.give_back(again, 1) };
        assert_eq!(pool.stats().stacks_in_use, 0);
    }

    #[test]
    fn only_another_owner_gets_a_reset_stack() {
        let pool = FiberStackPool::new(16 * 1024, 4);
        let stack = pool.take(1).unwrap();
        write_top(&stack, 7);
        // SAFETY: no fiber runs on the stack.
        unsafe { pool.give_back(stack, 1) };
        let same_owner = pool.take(1).unwrap();
        assert_eq!(read_top(&same_owner), 7, "its own contents, not reset");
        // SAFETY: as above.
        unsafe { pool.give_back(same_owner, 1) };
        let other_owner = pool.take(2).unwrap();
        assert_eq!(read_top(&other_owner), 0, "reset for another owner");
        assert_eq!(pool.stats().stacks_created, 1);
        // SAFETY: as above.
        unsafe { pool.give_back(other_owner, 2) };
    }
}
