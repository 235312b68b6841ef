//! Read-only private mappings of whole files: precompiled modules are read
//! where they lie instead of into a buffer, and their code is made
//! executable in place ([`crate::CodeMemory::in_mapped_file`]).
//!
//! Invariant: a [`MappedFile`] owns `[start, start + mapped_len)`, the file's
//! length rounded up to host pages; the bytes past the file's end in the last
//! page read as zero. The mapping is private, so nothing written through it
//! reaches the file, but writes to the file by others do show through pages
//! this process has not copied: the file must not change while it is mapped
//! (the caller's contract, as for any loader that maps its input).
//! Failure: mapping fails with a typed error and leaves nothing behind; the
//! mapping is unmapped on drop.

use crate::MemoryError;
use crate::sys::{self, Syscall};
use std::fs::File;
use std::os::fd::AsFd;

/// A file mapped read-only, unmapped on drop.
#[derive(Debug)]
pub struct MappedFile {
    start: usize,
    len: usize,
    mapped_len: usize,
}

impl MappedFile {
    /// Maps all of `file` (read ahead into memory at once). An empty file
    /// maps to an empty slice without a mapping.
    pub fn map(file: &File) -> Result<MappedFile, MemoryError> {
        let len = file
            .metadata()
            .map_err(|source| MemoryError::syscall(Syscall::Mmap, source))?
            .len();
        let len = usize::try_from(len).map_err(|_| MemoryError::Overflow {
            what: "mapped file length",
        })?;
        if len == 0 {
            return Ok(MappedFile {
                start: 0,
                len: 0,
                mapped_len: 0,
            });
        }
        let mapped_len =
            len.checked_next_multiple_of(sys::host_page_size())
                .ok_or(MemoryError::Overflow {
                    what: "mapped file length",
                })?;
        let start = sys::map_file_read_only(file.as_fd(), len)
            .map_err(|source| MemoryError::syscall(Syscall::Mmap, source))?;
        Ok(MappedFile {
            start,
            len,
            mapped_len,
        })
    }

    /// The file's bytes.
    pub fn as_slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `[start, start + len)` is this value's readable mapping,
        // alive as long as `self`; the file does not change while mapped
        // (module docs).
        unsafe { std::slice::from_raw_parts(self.start as *const u8, self.len) }
    }

    /// Where `bytes` lie in the file, if they are a slice of
    /// [`MappedFile::as_slice`].
    pub fn range_of(&self, bytes: &[u8]) -> Option<std::ops::Range<usize>> {
        let file = self.as_slice().as_ptr_range();
        let inside = bytes.as_ptr_range();
        (inside.start >= file.start && inside.end <= file.end).then(|| {
            let start = inside.start as usize - file.start as usize;
            start..start + bytes.len()
        })
    }

    /// The first mapped address.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// Bytes mapped: the file's length rounded up to host pages.
    pub(crate) fn mapped_len(&self) -> usize {
        self.mapped_len
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if self.mapped_len == 0 {
            return;
        }
        // SAFETY: the mapping is owned by `self`; slices borrowed from it
        // (and code memories holding it) have ended.
        let _ = unsafe { sys::unmap(self.start, self.mapped_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_reads_back_through_its_mapping() {
        let mut file = tempfile::tempfile().unwrap();
        let contents: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        file.write_all(&contents).unwrap();
        let mapped = MappedFile::map(&file).unwrap();
        assert_eq!(mapped.as_slice(), contents);
        assert_eq!(mapped.mapped_len() % sys::host_page_size(), 0);
        assert_eq!(
            mapped.range_of(&mapped.as_slice()[100..250]),
            Some(100..250)
        );
        assert_eq!(mapped.range_of(&contents[100..250]), None);
    }

    #[test]
    fn an_empty_file_maps_to_nothing() {
        let file = tempfile::tempfile().unwrap();
        assert!(MappedFile::map(&file).unwrap().as_slice().is_empty());
    }
}
