//! Batched protection changes (the lazy-MMU-mode idea): in lazy mode,
//! `mprotect`/`madvise` requests are queued, adjacent or overlapping ranges
//! with the same target are merged, and a flush issues the fewest calls.

use crate::MemoryError;
use crate::sys::{self, Advice, Protection, Syscall};
use std::ops::Range;

/// What a queued request does to its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BatchOp {
    /// `mprotect` to this protection.
    Protect(Protection),
    /// `madvise` with this advice.
    Advise(Advice),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Request {
    op: BatchOp,
    range: Range<usize>,
}

/// A queue of protection changes. Eager by default (each request is issued at
/// once); in lazy mode requests wait for [`ProtectionBatch::flush`] or
/// [`ProtectionBatch::leave_lazy`].
///
/// Pending requests with different targets never overlap: a request that
/// overlaps a pending one with another target depends on it, so the batch
/// flushes first. Pending requests therefore commute, and a flush may issue
/// them in any order, merged.
#[derive(Debug, Default)]
pub struct ProtectionBatch {
    pending: Vec<Request>,
    lazy: bool,
    requested: u64,
    issued: u64,
}

impl ProtectionBatch {
    /// An eager batch: every request becomes a system call immediately.
    pub fn new() -> ProtectionBatch {
        ProtectionBatch::default()
    }

    /// A batch already in lazy mode.
    pub fn lazy() -> ProtectionBatch {
        let mut batch = ProtectionBatch::new();
        batch.lazy = true;
        batch
    }

    /// Starts queueing requests instead of issuing them.
    pub fn enter_lazy(&mut self) {
        self.lazy = true;
    }

    /// Flushes everything queued and goes back to eager mode.
    pub fn leave_lazy(&mut self) -> Result<(), MemoryError> {
        self.lazy = false;
        self.flush()
    }

    /// Whether requests are being queued.
    pub fn is_lazy(&self) -> bool {
        self.lazy
    }

    /// Requests made so far (each `protect`/`advise` call with a non-empty range).
    pub fn requested(&self) -> u64 {
        self.requested
    }

    /// System calls issued so far.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Requests waiting for a flush (after merging).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Requests `mprotect(range, protection)`.
    ///
    /// # Safety
    /// The caller must own `range` (host-page aligned) and make sure no live
    /// reference relies on access the change removes.
    pub unsafe fn protect(
        &mut self,
        range: Range<usize>,
        protection: Protection,
    ) -> Result<(), MemoryError> {
        self.request(BatchOp::Protect(protection), range)
    }

    /// Requests `madvise(range, advice)`.
    ///
    /// # Safety
    /// The caller must own `range` (host-page aligned); `Advice::DontNeed`
    /// discards its contents, so no live reference may rely on them.
    pub unsafe fn advise(
        &mut self,
        range: Range<usize>,
        advice: Advice,
    ) -> Result<(), MemoryError> {
        self.request(BatchOp::Advise(advice), range)
    }

    /// Issues pending requests that overlap `range`, for an operation outside
    /// the batch (`mlock`, `mremap`, a read) that depends on them. Issues
    /// everything pending if any request overlaps, which keeps the merge
    /// invariant simple and costs no extra calls.
    pub fn flush_range(&mut self, range: Range<usize>) -> Result<(), MemoryError> {
        if self.pending.iter().any(|p| overlaps(&p.range, &range)) {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Issues every pending request, merged into the fewest system calls. On
    /// failure the remaining requests are dropped and the error is returned.
    pub fn flush(&mut self) -> Result<(), MemoryError> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|request| (request.op, request.range.start));
        let mut merged: Vec<Request> = Vec::with_capacity(pending.len());
        for request in pending {
            match merged.last_mut() {
                Some(last) if last.op == request.op && request.range.start <= last.range.end => {
                    last.range.end = last.range.end.max(request.range.end);
                }
                _ => merged.push(request),
            }
        }
        merged
            .into_iter()
            .try_for_each(|request| self.issue(&request))
    }

    fn request(&mut self, op: BatchOp, range: Range<usize>) -> Result<(), MemoryError> {
        let page = sys::host_page_size();
        if range.start > range.end
            || !range.start.is_multiple_of(page)
            || !range.end.is_multiple_of(page)
        {
            return Err(MemoryError::UnalignedRange {
                start: range.start,
                end: range.end,
            });
        }
        if range.is_empty() {
            return Ok(());
        }
        self.requested += 1;
        let request = Request { op, range };
        if !self.lazy {
            return self.issue(&request);
        }
        if self
            .pending
            .iter()
            .any(|p| p.op != request.op && overlaps(&p.range, &request.range))
        {
            self.flush()?;
        }
        let touching = self.pending.iter_mut().rev().find(|p| {
            p.op == request.op
                && p.range.start <= request.range.end
                && request.range.start <= p.range.end
        });
        match touching {
            Some(pending) => {
                pending.range.start = pending.range.start.min(request.range.start);
                pending.range.end = pending.range.end.max(request.range.end);
            }
            None => self.pending.push(request),
        }
        Ok(())
    }

    fn issue(&mut self, request: &Request) -> Result<(), MemoryError> {
        let start = request.range.start;
        let len = request.range.len();
        self.issued += 1;
        // SAFETY: the public entry points (`protect`/`advise`, both unsafe)
        // put the ownership of the range on their caller.
        let (call, result) = unsafe {
            match request.op {
                BatchOp::Protect(protection) => {
                    (Syscall::Mprotect, sys::protect(start, len, protection))
                }
                BatchOp::Advise(advice) => (Syscall::Madvise, sys::advise(start, len, advice)),
            }
        };
        result.map_err(|source| MemoryError::syscall(call, source))
    }
}

impl Drop for ProtectionBatch {
    /// Requests still queued are issued: a batch never silently drops a
    /// change its user asked for. Errors here cannot be reported; callers
    /// that care flush explicitly.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservation::Reservation;

    fn reservation(pages: usize) -> Reservation {
        Reservation::new(pages * sys::host_page_size()).unwrap()
    }

    #[test]
    fn adjacent_requests_merge_into_one_call() {
        let page = sys::host_page_size();
        let memory = reservation(1000);
        let start = memory.start();
        let mut batch = ProtectionBatch::lazy();
        for index in 0..1000 {
            let at = start + index * page;
            // SAFETY: the reservation is owned here and nothing references it.
            unsafe { batch.protect(at..at + page, Protection::ReadWrite) }.unwrap();
        }
        assert_eq!(batch.pending(), 1);
        batch.leave_lazy().unwrap();
        assert_eq!((batch.requested(), batch.issued()), (1000, 1));
        // SAFETY: the whole reservation was made read/write above.
        unsafe {
            *((start + 999 * page) as *mut u8) = 1;
        }
    }

    #[test]
    fn out_of_order_and_overlapping_requests_merge_at_flush() {
        let page = sys::host_page_size();
        let memory = reservation(8);
        let start = memory.start();
        let mut batch = ProtectionBatch::lazy();
        for (first, last) in [(4, 6), (0, 2), (1, 3), (2, 4)] {
            // SAFETY: the reservation is owned here and nothing references it.
            unsafe { batch.protect(start + first * page..start + last * page, Protection::Read) }
                .unwrap();
        }
        batch.flush().unwrap();
        assert_eq!((batch.requested(), batch.issued()), (4, 1));
    }

    #[test]
    fn a_dependent_request_flushes_first() {
        let page = sys::host_page_size();
        let memory = reservation(4);
        let start = memory.start();
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the reservation is owned here and nothing references it.
        unsafe {
            batch
                .protect(start..start + 2 * page, Protection::ReadWrite)
                .unwrap();
            // Disjoint with another target: queued, no flush.
            batch
                .protect(start + 3 * page..start + 4 * page, Protection::Read)
                .unwrap();
            assert_eq!(batch.issued(), 0);
            // Overlaps the pending read/write change: that one must land first.
            batch.advise(start..start + page, Advice::DontNeed).unwrap();
            assert_eq!(batch.issued(), 2);
            assert_eq!(batch.pending(), 1);
            *(start as *mut u8) = 1;
        }
        batch.flush().unwrap();
        assert_eq!(batch.issued(), 3);
        // SAFETY: the first two pages are read/write; the queued DONTNEED zeroed the first.
        assert_eq!(unsafe { *(start as *const u8) }, 0);
    }

    #[test]
    fn flush_range_issues_only_when_needed() {
        let page = sys::host_page_size();
        let memory = reservation(4);
        let start = memory.start();
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the reservation is owned here and nothing references it.
        unsafe { batch.protect(start..start + page, Protection::ReadWrite) }.unwrap();
        batch.flush_range(start + page..start + 2 * page).unwrap();
        assert_eq!(batch.issued(), 0);
        batch.flush_range(start..start + 1).unwrap();
        assert_eq!(batch.issued(), 1);
    }

    #[test]
    fn eager_mode_issues_each_request() {
        let page = sys::host_page_size();
        let memory = reservation(2);
        let start = memory.start();
        let mut batch = ProtectionBatch::new();
        // SAFETY: the reservation is owned here and nothing references it.
        unsafe {
            batch
                .protect(start..start + page, Protection::Read)
                .unwrap();
            batch
                .protect(start + page..start + 2 * page, Protection::Read)
                .unwrap();
        }
        assert_eq!((batch.requested(), batch.issued()), (2, 2));
    }

    #[test]
    fn unaligned_and_empty_ranges() {
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the requests are rejected or empty; nothing is changed.
        unsafe {
            assert!(matches!(
                batch.protect(1..4096, Protection::Read),
                Err(MemoryError::UnalignedRange { .. })
            ));
            batch.protect(0..0, Protection::Read).unwrap();
        }
        assert_eq!(batch.requested(), 0);
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_failed_flush_reports_the_call() {
        let page = sys::host_page_size();
        let memory = reservation(1);
        let start = memory.start();
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the reservation is owned here and nothing references it.
        unsafe { batch.protect(start..start + page, Protection::Read) }.unwrap();
        let _fault = sys::fault_injection::fail(Syscall::Mprotect, 0, libc::EACCES);
        match batch.flush() {
            Err(MemoryError::SyscallFailed {
                call: Syscall::Mprotect,
                source,
                ..
            }) => assert_eq!(source.raw_os_error(), Some(libc::EACCES)),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(batch.pending(), 0);
    }
}
