//! Executable memory for compiled code: written while read/write, then
//! published read+execute with one protection change, unmapped on drop.

use crate::batch::ProtectionBatch;
use crate::reservation::Reservation;
use crate::sys::{self, Protection};
use crate::{MemoryError, MemoryStats};

/// A region for one module's machine code. Write it through
/// [`CodeMemory::as_mut_slice`], then [`CodeMemory::publish`] it; from then
/// on it is read+execute and can no longer be written.
#[derive(Debug)]
pub struct CodeMemory {
    reservation: Reservation,
    len: usize,
    published: bool,
    protection_calls_requested: u64,
    protection_calls_issued: u64,
}

impl CodeMemory {
    /// Maps `len` bytes (rounded up to host pages) of zeroed read/write memory,
    /// writable from the start, so publishing is its only protection change.
    pub fn new(len: usize) -> Result<CodeMemory, MemoryError> {
        let mapped = len
            .checked_next_multiple_of(sys::host_page_size())
            .ok_or(MemoryError::Overflow {
                what: "code memory size",
            })?
            .max(sys::host_page_size());
        Ok(CodeMemory {
            reservation: Reservation::with_protection(mapped, Protection::ReadWrite)?,
            len,
            published: false,
            protection_calls_requested: 0,
            protection_calls_issued: 0,
        })
    }

    fn count(&mut self, batch: &ProtectionBatch) {
        self.protection_calls_requested += batch.requested();
        self.protection_calls_issued += batch.issued();
    }

    /// The writable bytes, until the code is published.
    pub fn as_mut_slice(&mut self) -> Result<&mut [u8], MemoryError> {
        if self.published {
            return Err(MemoryError::CodePublished);
        }
        // SAFETY: the first `len` bytes of the reservation are read/write
        // (not yet published) and exclusively borrowed through `self`.
        Ok(
            unsafe {
                std::slice::from_raw_parts_mut(self.reservation.start() as *mut u8, self.len)
            },
        )
    }

    /// Makes the code read+execute with one protection change, issued
    /// through a [`ProtectionBatch`]. Writing is refused from now on; if the
    /// change fails the code stays writable and unpublished.
    pub fn publish(&mut self) -> Result<(), MemoryError> {
        if self.published {
            return Err(MemoryError::CodePublished);
        }
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the range is this value's own mapping; the mutable slices
        // handed out earlier borrowed `self` and so have ended.
        let result = unsafe { batch.protect(self.reservation.range(), Protection::ReadExecute) }
            .and_then(|()| batch.leave_lazy());
        self.count(&batch);
        self.published = result.is_ok();
        result
    }

    /// Whether the code has been published.
    pub fn is_published(&self) -> bool {
        self.published
    }

    /// The first byte of the code.
    pub fn as_ptr(&self) -> *const u8 {
        self.reservation.start() as *const u8
    }

    /// The code's length in bytes (as requested, not rounded).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the code is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The protection calls this code memory made itself (committed bytes are not tracked here).
    pub fn stats(&self) -> MemoryStats {
        MemoryStats {
            protection_calls_requested: self.protection_calls_requested,
            protection_calls_issued: self.protection_calls_issued,
            ..MemoryStats::default()
        }
    }
}
