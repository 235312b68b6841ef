//! A bounded cache of retired linear memories, so that a new memory can take
//! over an existing reservation instead of mapping a fresh one. Unmapping a
//! large reservation that had page tables is the most expensive step of a
//! short-lived memory's life; a retired slot keeps its mapping and page
//! tables, with every page zeroed: a small prefix in place (it stays
//! resident, so the next memory does not fault it in again), the rest
//! discarded. A slot whose memory had a [`MemoryImage`] keeps it mapped,
//! its pages discarded back to the image: the next memory with the same
//! image reuses the mapping, any other gets zero pages in its place.

use crate::{LinearMemory, MemoryConfig, MemoryError, MemoryImage};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Retired memories waiting to be reused, at most `max_slots` of them. A
/// cached slot holds no committed or pinned bytes and no subscribers; it
/// keeps at most `keep_resident_bytes` of zeroed pages resident, the rest of
/// its reservation is address space only (its last size stays read/write,
/// so that the next memory of that size changes no protection). Dropping
/// the cache unmaps them all. Thread-safe.
#[derive(Debug)]
pub struct SlotCache {
    slots: Mutex<Vec<LinearMemory>>,
    max_slots: usize,
    keep_resident: usize,
}

impl SlotCache {
    /// An empty cache that keeps at most `max_slots` retired memories (0:
    /// none), each with at most `keep_resident_bytes` (rounded down to host
    /// pages) zeroed in place rather than discarded.
    pub fn new(max_slots: usize, keep_resident_bytes: usize) -> SlotCache {
        SlotCache {
            slots: Mutex::new(Vec::new()),
            max_slots,
            keep_resident: keep_resident_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<LinearMemory>> {
        // The list is only pushed to and popped from, so it is consistent
        // even if a holder panicked.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most retired memories this cache keeps.
    pub fn max_slots(&self) -> usize {
        self.max_slots
    }

    /// The most bytes of each retired memory kept resident (zeroed).
    pub fn keep_resident_bytes(&self) -> usize {
        self.keep_resident
    }

    /// Retired memories currently cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no retired memory is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A memory as [`LinearMemory::new`] would make it from `config`: a
    /// cached slot that fits (the most recently retired first), or else a
    /// fresh reservation. Errors are those of `LinearMemory::new`; a slot
    /// that could not be brought back (say, over the pin budget) is unmapped.
    pub fn create(&self, config: MemoryConfig) -> Result<LinearMemory, MemoryError> {
        self.create_with_image(config, None)
    }

    /// A memory as [`LinearMemory::with_image`] would make it: a cached slot
    /// that fits, preferring one that holds the same image (or none, for
    /// none), which then maps nothing, the most recently retired first; or
    /// else a fresh reservation. A slot reused for another image gets zero
    /// pages where its old image was, so no write of its previous user and
    /// no byte of another image shows through. Errors as for [`Self::create`].
    pub fn create_with_image(
        &self,
        config: MemoryConfig,
        image: Option<Arc<MemoryImage>>,
    ) -> Result<LinearMemory, MemoryError> {
        let slot = {
            let mut slots = self.lock();
            slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| slot.fits(&config))
                .max_by_key(|&(index, slot)| (slot.has_image(image.as_ref()), index))
                .map(|(found, _)| found)
                .map(|found| slots.swap_remove(found))
        };
        let Some(mut memory) = slot else {
            return LinearMemory::with_image(config, image);
        };
        memory.reuse(&config, image)?;
        Ok(memory)
    }

    /// Takes a memory whose user is done with it: retires it (subscribers
    /// released, pages unpinned and zeroed, nothing counted any more) and
    /// keeps it for [`Self::create`], or drops it when the cache is full or
    /// retiring fails.
    /// A memory in an arena slot is dropped instead: its arena is its cache.
    pub fn recycle(&self, mut memory: LinearMemory) {
        if memory.is_in_arena() || self.lock().len() >= self.max_slots {
            return;
        }
        if memory.retire(self.keep_resident).is_ok() {
            self.keep(memory);
        }
    }

    /// Caches a retired memory if there is still room; otherwise it is
    /// dropped, outside the lock (an unmap is slow).
    fn keep(&self, memory: LinearMemory) {
        let mut slots = self.lock();
        if slots.len() < self.max_slots {
            slots.push(memory);
        } else {
            drop(slots);
            drop(memory);
        }
    }
}
