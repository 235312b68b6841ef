//! Arenas of memory slots: many small linear memories packed into a few
//! large read/write mappings, so that a memory costs no kernel mapping of
//! its own (a process may have only `vm.max_map_count`, 65,530 by default).
//!
//! An [`Arena`] hands out slots of a few *size classes*: powers of two from
//! one Wasm page (64 KiB) up to the configured slot size (the largest
//! class). Each class carves its slots from *chunks*: each chunk is one
//! read/write, `MAP_NORESERVE` anonymous mapping of many equal slots, mapped
//! when the class's previous chunk is full and never split: no slot changes
//! protection, so there are no per-slot guard pages. Classes exist for the
//! page tables: the kernel spends a 4 KiB page-table page on every 2 MiB of
//! address space a process touches, so a small memory in a 1 MiB slot costs
//! half a page-table page besides its own page, and in a 128 KiB slot a
//! sixteenth. [`crate::LinearMemory::in_arena`] picks the class. A memory in a slot
//! ([`crate::LinearMemory::in_arena`]) has its base at the slot's start and
//! its bound at its current size; compiled code must check the full end of
//! every access against that bound (nothing past the bound faults), which
//! Spectre-hardened explicit checks do. Growth within the slot changes the
//! bound only, with no system call; a memory that outgrows its slot moves
//! out with `mremap` into a reservation of its own.
//!
//! # Invariants
//!
//! Every byte of a free slot reads as zero, and so does every byte of a slot
//! in use from its memory's accessible size on. A memory keeps the second
//! (it never writes past its size, and a reset discards what it had); a
//! slot's release keeps the first: [`ArenaSlot`]'s drop discards the bytes
//! its memory made accessible (`MADV_DONTNEED`, which does not split the
//! mapping) before the slot joins the free list. A slot whose pages could
//! not be made to read as zero is never handed out again; where its pages
//! were moved away and the hole could not be filled again (someone else may
//! have mapped there since), the hole is left out when the chunk is unmapped.
//!
//! # Locking order
//!
//! One mutex guards every class's chunks and free list; it is held only to pop or
//! push a slot or to map a chunk, never while a memory changes or while a
//! slot is discarded. It is a leaf: nothing else is locked under it.
//!
//! # Failure behaviour
//!
//! Taking a slot fails with [`MemoryError::ArenaFull`] once `max_slots`
//! slots are in use, and with the kernel's diagnosed error
//! ([`MemoryError::MapFailed`], naming the process limit) when a new chunk
//! cannot be mapped; nothing changes either way. Dropping the arena handle
//! while slots are in use is safe: the chunks live until the last slot is
//! released.

use crate::MemoryError;
use crate::reservation::Reservation;
use crate::sys::{self, Advice};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Address space one chunk covers at most: a chunk is one kernel mapping,
/// so 10^6 slots of 1 MiB need 64 mappings.
const CHUNK_BYTES: usize = 16 << 30;

/// The smallest size class: one Wasm page.
const MIN_CLASS_BYTES: usize = 64 << 10;

/// A shared pool of slots for small linear memories, in size classes.
/// Cloning gives another handle on the same arena. Thread-safe.
#[derive(Clone, Debug)]
pub struct Arena {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    max_slots: usize,
    /// Ascending slot sizes; the last is the configured slot size.
    classes: Vec<SizeClass>,
    slots: Mutex<Slots>,
}

/// The shape of one size class's chunks.
#[derive(Clone, Copy, Debug)]
struct SizeClass {
    slot_bytes: usize,
    slots_per_chunk: usize,
}

/// Every class's chunks and free slots, and the counts over all classes.
#[derive(Debug, Default)]
struct Slots {
    /// One entry per size class, in the order of [`Shared::classes`].
    classes: Vec<ClassSlots>,
    /// Slots handed out and not yet released.
    in_use: usize,
    /// Slots that could not be cleared and are never handed out again.
    lost: usize,
    /// Ranges of lost slots that are no longer the arena's mapping: never
    /// unmapped by it, since another mapping may have taken their place.
    holes: Vec<Range<usize>>,
}

/// The chunks of one size class and which of their slots are free.
#[derive(Debug, Default)]
struct ClassSlots {
    /// Every chunk mapped so far; slots are carved from the last one.
    chunks: Vec<Reservation>,
    /// Slots of the last chunk handed out at least once.
    carved_in_last: usize,
    /// Start addresses of released slots, ready for reuse (most recent last).
    free: Vec<usize>,
}

impl Drop for Slots {
    fn drop(&mut self) {
        self.holes.sort_by_key(|hole| hole.start);
        for chunk in self
            .classes
            .iter_mut()
            .flat_map(|class| class.chunks.drain(..))
        {
            let range = chunk.range();
            let inside: Vec<Range<usize>> = self
                .holes
                .iter()
                .filter(|hole| range.start <= hole.start && hole.end <= range.end)
                .cloned()
                .collect();
            chunk.release_around_holes(&inside);
        }
    }
}

/// What an [`Arena`] holds right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    /// Slots in use by memories.
    pub slots_in_use: usize,
    /// Released slots ready for reuse.
    pub free_slots: usize,
    /// Chunks mapped (each one kernel mapping).
    pub chunks: usize,
    /// Address space the chunks cover, in bytes.
    pub mapped_bytes: u64,
}

impl Arena {
    /// An arena of at most `max_slots` slots of `slot_bytes` each (rounded
    /// up to host pages). Maps nothing until the first slot is taken.
    pub fn new(slot_bytes: u64, max_slots: usize) -> Result<Arena, MemoryError> {
        let page = sys::host_page_size() as u64;
        let slot_bytes = slot_bytes
            .checked_next_multiple_of(page)
            .and_then(|bytes| usize::try_from(bytes).ok())
            .filter(|&bytes| bytes > 0 && bytes <= CHUNK_BYTES)
            .ok_or_else(|| {
                MemoryError::InvalidConfig(format!(
                    "an arena slot of {slot_bytes} bytes is not between 1 byte and {CHUNK_BYTES} bytes"
                ))
            })?;
        if max_slots == 0 {
            return Err(MemoryError::InvalidConfig(
                "an arena needs at least one slot".into(),
            ));
        }
        let class = |slot_bytes: usize| SizeClass {
            slot_bytes,
            slots_per_chunk: (CHUNK_BYTES / slot_bytes).min(max_slots),
        };
        let mut classes: Vec<SizeClass> =
            std::iter::successors(Some(MIN_CLASS_BYTES), |&bytes| bytes.checked_mul(2))
                .take_while(|&bytes| bytes < slot_bytes)
                .map(class)
                .collect();
        classes.push(class(slot_bytes));
        let mut slots = Slots::default();
        slots.classes = classes.iter().map(|_| ClassSlots::default()).collect();
        Ok(Arena {
            shared: Arc::new(Shared {
                max_slots,
                classes,
                slots: Mutex::new(slots),
            }),
        })
    }

    /// Bytes in the largest slots (the configured slot size).
    pub fn slot_bytes(&self) -> u64 {
        self.shared.largest_slot_bytes() as u64
    }

    /// The most slots that may be in use at once, over all size classes.
    pub fn max_slots(&self) -> usize {
        self.shared.max_slots
    }

    /// Slots in use, free slots, and the chunks mapped.
    pub fn stats(&self) -> ArenaStats {
        let slots = self.shared.lock();
        let classes = || slots.classes.iter();
        ArenaStats {
            slots_in_use: slots.in_use,
            free_slots: classes().map(|class| class.free.len()).sum(),
            chunks: classes().map(|class| class.chunks.len()).sum(),
            mapped_bytes: classes()
                .flat_map(|class| &class.chunks)
                .map(|chunk| chunk.range().len() as u64)
                .sum(),
        }
    }

    /// Whether two handles name the same arena.
    pub fn same(&self, other: &Arena) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Takes a slot of at least `wanted_bytes` (of the smallest class that
    /// holds them), reading as zero throughout: the class's most recently
    /// released one, or a fresh one from its last chunk, or from a newly
    /// mapped chunk. `wanted_bytes` above [`Self::slot_bytes`] is an error.
    pub(crate) fn take(&self, wanted_bytes: usize) -> Result<ArenaSlot, MemoryError> {
        let shared = &self.shared;
        let Some(class_index) = shared
            .classes
            .iter()
            .position(|class| class.slot_bytes >= wanted_bytes)
        else {
            return Err(MemoryError::ExceedsReservation {
                requested_bytes: wanted_bytes as u64,
                reservation_bytes: self.slot_bytes(),
            });
        };
        let class = shared.classes[class_index];
        let mut slots = shared.lock();
        if slots.in_use + slots.lost >= shared.max_slots {
            return Err(MemoryError::ArenaFull {
                slots: shared.max_slots,
                slot_bytes: self.slot_bytes(),
            });
        }
        let class_slots = &mut slots.classes[class_index];
        let start = match class_slots.free.pop() {
            Some(start) => start,
            None => {
                if class_slots.chunks.is_empty()
                    || class_slots.carved_in_last == class.slots_per_chunk
                {
                    let chunk_bytes = class.slots_per_chunk * class.slot_bytes;
                    class_slots
                        .chunks
                        .push(Reservation::read_write(chunk_bytes)?);
                    class_slots.carved_in_last = 0;
                }
                let chunk_start = class_slots.chunks.last().map_or(0, Reservation::start);
                let start = chunk_start + class_slots.carved_in_last * class.slot_bytes;
                class_slots.carved_in_last += 1;
                start
            }
        };
        slots.in_use += 1;
        Ok(ArenaSlot {
            arena: self.clone(),
            class: class_index,
            start,
            dirty_bytes: 0,
            hole: None,
        })
    }
}

impl Shared {
    fn largest_slot_bytes(&self) -> usize {
        self.classes.last().map_or(0, |class| class.slot_bytes)
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // Each update of the list is a push, a pop or a counter change, so a
        // poisoned lock still guards a consistent list.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One slot taken from an [`Arena`], given back on drop. Before the slot
/// rejoins the free list its first `dirty_bytes` are discarded, so that it
/// reads as zero again.
#[derive(Debug)]
pub(crate) struct ArenaSlot {
    arena: Arena,
    /// Index of the slot's size class.
    class: usize,
    start: usize,
    /// Bytes from the start that may hold data (the most its memory made accessible).
    pub(crate) dirty_bytes: usize,
    /// Set when the slot's pages in this range were moved away and the
    /// hole could not be filled again: the slot is never handed out again.
    pub(crate) hole: Option<Range<usize>>,
}

impl ArenaSlot {
    /// The slot's first address.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The slot's addresses.
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.start + self.len()
    }

    /// Bytes in the slot.
    pub(crate) fn len(&self) -> usize {
        self.arena.shared.classes[self.class].slot_bytes
    }
}

impl Drop for ArenaSlot {
    fn drop(&mut self) {
        let dirty = self.dirty_bytes.min(self.len());
        let cleared = self.hole.is_none()
            && (dirty == 0
                // SAFETY: the slot is this handle's own and its memory is
                // gone; nobody relies on its contents. `MADV_DONTNEED` on
                // private anonymous pages makes them read as zero, and it
                // never changes the chunk's mapping.
                || unsafe { sys::advise(self.start, dirty, Advice::DontNeed) }.is_ok());
        let mut slots = self.arena.shared.lock();
        slots.in_use -= 1;
        if cleared {
            slots.classes[self.class].free.push(self.start);
        } else {
            slots.lost += 1;
            slots.holes.extend(self.hole.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_carved_then_reused_most_recent_first() {
        let arena = Arena::new(65536, 4).unwrap();
        let first = arena.take(65536).unwrap();
        let second = arena.take(4096).unwrap();
        assert_eq!(second.start(), first.start() + 65536);
        let reused_start = second.start();
        drop(second);
        assert_eq!(arena.stats().free_slots, 1);
        let reused = arena.take(4096).unwrap();
        assert_eq!(reused.start(), reused_start);
        assert_eq!(arena.stats().slots_in_use, 2);
        assert_eq!(arena.stats().chunks, 1);
        drop(first);
        drop(reused);
        assert_eq!(arena.stats().slots_in_use, 0);
    }

    #[test]
    fn a_slot_comes_from_the_smallest_class_that_holds_it() {
        let arena = Arena::new(1 << 20, 8).unwrap();
        for (wanted, class) in [
            (0, 64 << 10),
            (64 << 10, 64 << 10),
            ((64 << 10) + 1, 128 << 10),
            (300 << 10, 512 << 10),
            (1 << 20, 1 << 20),
        ] {
            assert_eq!(arena.take(wanted).unwrap().len(), class, "{wanted}");
        }
        assert!(matches!(
            arena.take((1 << 20) + 1),
            Err(MemoryError::ExceedsReservation { .. })
        ));
        let mixed = [arena.take(1 << 20).unwrap(), arena.take(64 << 10).unwrap()];
        assert_eq!(arena.stats().slots_in_use, 2);
        assert_eq!(arena.stats().chunks, 4, "one chunk per class used");
        drop(mixed);
        assert_eq!(arena.stats().free_slots, 4, "one per class used, reused");
    }

    #[test]
    fn a_full_arena_names_its_limit() {
        let arena = Arena::new(4096, 2).unwrap();
        let _slots = [arena.take(4096).unwrap(), arena.take(4096).unwrap()];
        let error = arena.take(4096).unwrap_err();
        assert!(
            matches!(error, MemoryError::ArenaFull { slots: 2, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("2 slots"), "{error}");
    }

    #[test]
    fn chunks_are_added_when_the_last_one_is_full() {
        let slot_bytes = CHUNK_BYTES as u64 / 2;
        let arena = Arena::new(slot_bytes, 3).unwrap();
        let slots: Vec<_> = (0..3)
            .map(|_| arena.take(CHUNK_BYTES / 2).unwrap())
            .collect();
        assert_eq!(arena.stats().chunks, 2);
        assert_eq!(arena.stats().mapped_bytes, 2 * CHUNK_BYTES as u64);
        drop(slots);
    }

    #[test]
    fn a_released_slot_reads_as_zero() {
        let arena = Arena::new(8192, 1).unwrap();
        let mut slot = arena.take(4096).unwrap();
        let start = slot.start();
        // SAFETY: the slot's pages are read/write and this test's own.
        unsafe { std::ptr::write_bytes(start as *mut u8, 0xab, 8192) };
        slot.dirty_bytes = 8192;
        drop(slot);
        let slot = arena.take(4096).unwrap();
        assert_eq!(slot.start(), start);
        // SAFETY: as above.
        let bytes = unsafe { std::slice::from_raw_parts(start as *const u8, 8192) };
        assert!(bytes.iter().all(|&byte| byte == 0));
    }

    #[test]
    fn bad_configurations_are_errors() {
        assert!(Arena::new(0, 1).is_err());
        assert!(Arena::new(4096, 0).is_err());
        assert!(Arena::new(u64::MAX, 1).is_err());
    }
}
