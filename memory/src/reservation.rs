//! Address-space reservations: `PROT_NONE`, `MAP_NORESERVE` mappings that own
//! a range of addresses without committing memory, never placed low in the
//! address space (the `mmap_min_addr` idea).

use crate::MemoryError;
use crate::sys::{self, Protection};
use std::ops::Range;

/// No reservation starts below this address (4 GiB): a stray small or null
/// pointer never lands inside a linear memory.
pub const RESERVATION_FLOOR: usize = 1 << 32;

/// Where to ask for a reservation again if the kernel's first choice was low.
const HIGH_HINT: usize = 1 << 44;

/// An owned range of address space, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    start: usize,
    len: usize,
}

impl Reservation {
    /// Reserves `len` bytes (a multiple of the host page size) of inaccessible
    /// address space at or above [`RESERVATION_FLOOR`].
    pub(crate) fn new(len: usize) -> Result<Reservation, MemoryError> {
        Reservation::with_protection(len, Protection::None)
    }

    /// Maps `len` bytes at or above [`RESERVATION_FLOOR`] with `protection`
    /// from the start. Only inaccessible mappings skip the commit charge
    /// (`MAP_NORESERVE`): accessible ones are real memory.
    pub(crate) fn with_protection(
        len: usize,
        protection: Protection,
    ) -> Result<Reservation, MemoryError> {
        let reserve_only = protection == Protection::None;
        let start = place_above_floor(
            len,
            |hint| sys::map_anonymous(hint, len, protection, reserve_only),
            |address| {
                // SAFETY: `address` is a fresh mapping of `len` bytes nobody else knows of.
                let _ = unsafe { sys::unmap(address, len) };
            },
        )?;
        Ok(Reservation { start, len })
    }

    /// Maps `len` bytes read/write at or above [`RESERVATION_FLOOR`] without
    /// a commit charge (`MAP_NORESERVE`), for an arena's chunk: its pages
    /// cost memory only once touched, and each slot's are discarded on release.
    pub(crate) fn read_write(len: usize) -> Result<Reservation, MemoryError> {
        let start = place_above_floor(
            len,
            |hint| sys::map_anonymous(hint, len, Protection::ReadWrite, true),
            |address| {
                // SAFETY: `address` is a fresh mapping of `len` bytes nobody else knows of.
                let _ = unsafe { sys::unmap(address, len) };
            },
        )?;
        Ok(Reservation { start, len })
    }

    /// The first address.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The whole range.
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.start + self.len
    }

    /// Unmaps the reservation except `hole`, whose pages the caller has
    /// already moved away with `mremap` (which left it unmapped). Unmapping
    /// the hole too could destroy a mapping that another thread has placed
    /// there since, such as a new thread's stack.
    pub(crate) fn release_around(self, hole: Range<usize>) {
        self.release_around_holes(&[hole]);
    }

    /// As [`Self::release_around`], for several `holes`, ascending and
    /// disjoint (empty ones are ignored).
    pub(crate) fn release_around_holes(self, holes: &[Range<usize>]) {
        if holes.iter().all(Range::is_empty) {
            return; // Drop unmaps the whole range.
        }
        let whole = self.range();
        std::mem::forget(self);
        let mut from = whole.start;
        for hole in holes.iter().filter(|hole| !hole.is_empty()) {
            debug_assert!(from <= hole.start && hole.end <= whole.end);
            if from < hole.start {
                // SAFETY: the part is inside the reservation and still mapped
                // by it; the reservation is gone. A failure only leaks address space.
                let _ = unsafe { sys::unmap(from, hole.start - from) };
            }
            from = hole.end;
        }
        if from < whole.end {
            // SAFETY: as above.
            let _ = unsafe { sys::unmap(from, whole.end - from) };
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: the reservation owns this range and is going away. An unmap
        // failure can only leak address space, never memory safety, so it is ignored.
        let _ = unsafe { sys::unmap(self.start, self.len) };
    }
}

/// Maps with `map(hint)`, and if the kernel placed the mapping below the floor
/// undoes it with `unmap` and tries once more with a high hint.
fn place_above_floor(
    len: usize,
    mut map: impl FnMut(usize) -> std::io::Result<usize>,
    mut unmap: impl FnMut(usize),
) -> Result<usize, MemoryError> {
    let to_error = |source| MemoryError::map_failed(len as u64, source);
    let first = map(0).map_err(to_error)?;
    if first >= RESERVATION_FLOOR {
        return Ok(first);
    }
    unmap(first);
    let second = map(HIGH_HINT).map_err(to_error)?;
    if second >= RESERVATION_FLOOR {
        return Ok(second);
    }
    unmap(second);
    Err(MemoryError::LowAddress {
        bytes: len as u64,
        address: second,
        floor: RESERVATION_FLOOR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "fault-injection")]
    use crate::sys::Syscall;
    use std::cell::RefCell;

    #[test]
    fn reservations_are_high_and_inaccessible() {
        let page = sys::host_page_size();
        let reservations: Vec<_> = (0..16)
            .map(|_| Reservation::new(16 * page).unwrap())
            .collect();
        for reservation in &reservations {
            assert!(reservation.start() >= RESERVATION_FLOOR);
            assert_eq!(reservation.range().len(), 16 * page);
        }
    }

    #[test]
    fn releasing_around_holes_keeps_the_holes_mapped() {
        let page = sys::host_page_size();
        let reservation = Reservation::new(8 * page).unwrap();
        let start = reservation.start();
        let holes = [
            start + page..start + 2 * page,
            start + 4 * page..start + 6 * page,
        ];
        reservation.release_around_holes(&holes);
        for hole in holes {
            // Still mapped (by the old reservation), so not placeable again.
            let taken = sys::reserve_at(hole.start, hole.len());
            assert_eq!(
                taken.map_err(|error| error.raw_os_error()),
                Err(Some(libc::EEXIST))
            );
            // SAFETY: the hole is what is left of this test's reservation;
            // the parts around it were released and are not touched.
            unsafe { sys::unmap(hole.start, hole.len()) }.unwrap();
        }
    }

    #[test]
    fn a_low_placement_is_retried_with_a_high_hint() {
        let unmapped = RefCell::new(Vec::new());
        let hints = RefCell::new(Vec::new());
        let placed = place_above_floor(
            4096,
            |hint| {
                hints.borrow_mut().push(hint);
                Ok(if hint == 0 { 0x10000 } else { HIGH_HINT })
            },
            |address| unmapped.borrow_mut().push(address),
        )
        .unwrap();
        assert_eq!(placed, HIGH_HINT);
        assert_eq!(*hints.borrow(), [0, HIGH_HINT]);
        assert_eq!(*unmapped.borrow(), [0x10000]);
    }

    #[test]
    fn a_persistently_low_placement_is_an_error() {
        let unmapped = RefCell::new(Vec::new());
        let result = place_above_floor(4096, |_| Ok(0x20000), |a| unmapped.borrow_mut().push(a));
        let error = result.unwrap_err();
        assert!(matches!(
            error,
            MemoryError::LowAddress {
                bytes: 4096,
                address: 0x20000,
                floor: RESERVATION_FLOOR,
            }
        ));
        assert_eq!(unmapped.borrow().len(), 2, "both low mappings are undone");
        // The message names the limit that was hit and what to change.
        let message = error.to_string();
        assert!(
            message.starts_with("the address space above 0x100000000 is exhausted"),
            "{message}"
        );
        assert!(message.contains("at 0x20000"), "{message}");
        assert!(message.contains("use fewer memories at once"), "{message}");
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_failed_mmap_is_a_typed_error() {
        let _fault = sys::fault_injection::fail(Syscall::Mmap, 0, libc::ENOMEM);
        let error = Reservation::new(sys::host_page_size()).unwrap_err();
        match &error {
            MemoryError::MapFailed { source, limit, .. } => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOMEM));
                assert!(limit.is_some(), "an ENOMEM is diagnosed");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(error.to_string().contains("vm.max_map_count"), "{error}");
    }
}
