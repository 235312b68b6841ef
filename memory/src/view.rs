//! The view of a memory that subscribers cache: where it starts and how long it is.

/// A memory's current accessible extent: `len` bytes starting at `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryView {
    /// First accessible byte.
    pub base: *mut u8,
    /// Accessible length in bytes.
    pub len: usize,
}

// SAFETY: a view is a plain address and length; it grants no access by
// itself, and whoever dereferences `base` must synchronise with the memory.
unsafe impl Send for MemoryView {}
// SAFETY: as above; sharing the address grants nothing.
unsafe impl Sync for MemoryView {}

impl MemoryView {
    /// The view of a memory that no longer exists (after teardown).
    pub const EMPTY: MemoryView = MemoryView {
        base: std::ptr::null_mut(),
        len: 0,
    };

    /// The address range `[base, base + len)`.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = self.base as usize;
        start..start + self.len
    }
}
