//! Executable memory for compiled code: either anonymous memory written
//! while read/write, then published read+execute with one protection change,
//! or the pages of a mapped precompiled file made read+execute where they
//! lie (no copy). Unmapped on drop (a file's mapping when its last user goes).

use crate::MappedFile;
use crate::batch::ProtectionBatch;
use crate::reservation::Reservation;
use crate::sys::{self, Protection};
use crate::{MemoryError, MemoryStats};
use std::ops::Range;
use std::sync::Arc;

/// Where the code lives.
#[derive(Debug)]
enum Backing {
    /// Anonymous memory of its own; the code starts at its first byte.
    Anonymous(Reservation),
    /// Page-aligned bytes inside a mapped file, from `offset`.
    File {
        file: Arc<MappedFile>,
        offset: usize,
    },
}

/// A region for one module's machine code. Write it through
/// [`CodeMemory::as_mut_slice`], then [`CodeMemory::publish`] it; from then
/// on it is read+execute and can no longer be written. Code already in a
/// mapped file is published in place by [`CodeMemory::in_mapped_file`].
#[derive(Debug)]
pub struct CodeMemory {
    backing: Backing,
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
            backing: Backing::Anonymous(Reservation::with_protection(
                mapped,
                Protection::ReadWrite,
            )?),
            len,
            published: false,
            protection_calls_requested: 0,
            protection_calls_issued: 0,
        })
    }

    /// Publishes the bytes `code` of `file` read+execute where they lie,
    /// with one protection change: `code` must start at a host-page
    /// boundary of the file and not be empty. The pages from its start to
    /// the end of the mapping become read+execute (still readable), so the
    /// code should be the file's last part.
    pub fn in_mapped_file(
        file: Arc<MappedFile>,
        code: Range<usize>,
    ) -> Result<CodeMemory, MemoryError> {
        let page = sys::host_page_size();
        let start = file.start() + code.start;
        let end = file.start() + file.mapped_len();
        if code.is_empty() || !code.start.is_multiple_of(page) || code.end > file.as_slice().len() {
            return Err(MemoryError::UnalignedRange { start, end });
        }
        let mut memory = CodeMemory {
            backing: Backing::File {
                offset: code.start,
                file,
            },
            len: code.len(),
            published: false,
            protection_calls_requested: 0,
            protection_calls_issued: 0,
        };
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the range lies in the file mapping this code memory now
        // holds; it is read-only data nobody writes, and making it
        // read+execute takes no access away.
        let result = unsafe { batch.protect(start..end, Protection::ReadExecute) }
            .and_then(|()| batch.leave_lazy());
        memory.count(&batch);
        result?;
        memory.published = true;
        Ok(memory)
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
        let Backing::Anonymous(reservation) = &self.backing else {
            return Err(MemoryError::CodePublished);
        };
        // SAFETY: the first `len` bytes of the reservation are read/write
        // (not yet published) and exclusively borrowed through `self`.
        Ok(unsafe { std::slice::from_raw_parts_mut(reservation.start() as *mut u8, self.len) })
    }

    /// Makes the code read+execute with one protection change, issued
    /// through a [`ProtectionBatch`]. Writing is refused from now on; if the
    /// change fails the code stays writable and unpublished.
    pub fn publish(&mut self) -> Result<(), MemoryError> {
        if self.published {
            return Err(MemoryError::CodePublished);
        }
        let Backing::Anonymous(reservation) = &self.backing else {
            return Err(MemoryError::CodePublished);
        };
        let range = reservation.range();
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the range is this value's own mapping; the mutable slices
        // handed out earlier borrowed `self` and so have ended.
        let result = unsafe { batch.protect(range, Protection::ReadExecute) }
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
        match &self.backing {
            Backing::Anonymous(reservation) => reservation.start() as *const u8,
            Backing::File { file, offset } => (file.start() + offset) as *const u8,
        }
    }

    /// Whether the code is executed where it lies in a mapped file.
    pub fn is_mapped_file(&self) -> bool {
        matches!(self.backing, Backing::File { .. })
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
