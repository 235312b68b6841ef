//! Statistics per memory and per owner (the `VmPeak`/`VmHWM`/`VmLck` idea),
//! and the counts of fiber stacks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of memory statistics (one memory, or everything charged to an [`Accounting`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes currently accessible (read/write) and so possibly backed by RAM.
    pub committed_bytes: u64,
    /// High-water mark of `committed_bytes`.
    pub peak_committed_bytes: u64,
    /// Bytes currently locked in RAM.
    pub pinned_bytes: u64,
    /// Moves of a memory to a new reservation.
    pub relocations: u64,
    /// Successful growths (in place or by relocation).
    pub grows: u64,
    /// `mprotect`/`madvise` requests made.
    pub protection_calls_requested: u64,
    /// `mprotect`/`madvise` system calls actually issued (after batching).
    pub protection_calls_issued: u64,
}

/// A snapshot of a fiber-stack pool's counts (see `FiberStackPool`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FiberStackStats {
    /// Stacks handed out and not yet given back: one per live fiber.
    pub stacks_in_use: u64,
    /// Returned stacks kept (reset) for reuse.
    pub stacks_idle: u64,
    /// Stacks ever mapped by the pool.
    pub stacks_created: u64,
    /// Address space the in-use and idle stacks reserve, guard pages included.
    pub reserved_bytes: u64,
}

/// Thread-safe counters behind a memory's stats and an [`Accounting`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    committed_bytes: AtomicU64,
    peak_committed_bytes: AtomicU64,
    pinned_bytes: AtomicU64,
    relocations: AtomicU64,
    grows: AtomicU64,
    protection_calls_requested: AtomicU64,
    protection_calls_issued: AtomicU64,
}

impl Counters {
    pub(crate) fn add_committed(&self, bytes: u64) {
        let now = self
            .committed_bytes
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        self.peak_committed_bytes.fetch_max(now, Ordering::Relaxed);
    }

    pub(crate) fn sub_committed(&self, bytes: u64) {
        self.committed_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    pub(crate) fn add_pinned(&self, bytes: u64) {
        self.pinned_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn sub_pinned(&self, bytes: u64) {
        self.pinned_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    pub(crate) fn count_relocation(&self) {
        self.relocations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_grow(&self) {
        self.grows.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_protection_calls(&self, requested: u64, issued: u64) {
        self.protection_calls_requested
            .fetch_add(requested, Ordering::Relaxed);
        self.protection_calls_issued
            .fetch_add(issued, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> MemoryStats {
        MemoryStats {
            committed_bytes: self.committed_bytes.load(Ordering::Relaxed),
            peak_committed_bytes: self.peak_committed_bytes.load(Ordering::Relaxed),
            pinned_bytes: self.pinned_bytes.load(Ordering::Relaxed),
            relocations: self.relocations.load(Ordering::Relaxed),
            grows: self.grows.load(Ordering::Relaxed),
            protection_calls_requested: self.protection_calls_requested.load(Ordering::Relaxed),
            protection_calls_issued: self.protection_calls_issued.load(Ordering::Relaxed),
        }
    }
}

/// A shared statistics handle for one owner (an engine, a store): every
/// memory created with it adds its numbers here too. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Accounting {
    counters: Arc<Counters>,
}

impl Accounting {
    /// A fresh handle with all counters at zero.
    pub fn new() -> Accounting {
        Accounting::default()
    }

    /// The aggregated statistics of every memory charged to this handle.
    pub fn stats(&self) -> MemoryStats {
        self.counters.snapshot()
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// A memory's own counters plus, optionally, its owner's: every update goes to both.
#[derive(Debug, Default)]
pub(crate) struct StatsSink {
    own: Counters,
    owner: Option<Accounting>,
}

impl StatsSink {
    pub(crate) fn new(owner: Option<Accounting>) -> StatsSink {
        StatsSink {
            own: Counters::default(),
            owner,
        }
    }

    pub(crate) fn update(&self, change: impl Fn(&Counters)) {
        change(&self.own);
        if let Some(owner) = &self.owner {
            change(owner.counters());
        }
    }

    pub(crate) fn snapshot(&self) -> MemoryStats {
        self.own.snapshot()
    }

    /// Whether updates go to exactly `owner` (the same shared handle, or none).
    pub(crate) fn has_owner(&self, owner: Option<&Accounting>) -> bool {
        match (&self.owner, owner) {
            (Some(mine), Some(theirs)) => Arc::ptr_eq(&mine.counters, &theirs.counters),
            (None, None) => true,
            _ => false,
        }
    }

    /// A sink with the same owner and the memory's own counters at zero.
    pub(crate) fn restarted(&self) -> StatsSink {
        StatsSink::new(self.owner.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_tracks_the_high_water_mark() {
        let counters = Counters::default();
        counters.add_committed(100);
        counters.add_committed(50);
        counters.sub_committed(120);
        counters.add_committed(10);
        let stats = counters.snapshot();
        assert_eq!(stats.committed_bytes, 40);
        assert_eq!(stats.peak_committed_bytes, 150);
    }

    #[test]
    fn sink_updates_memory_and_owner() {
        let owner = Accounting::new();
        let first = StatsSink::new(Some(owner.clone()));
        let second = StatsSink::new(Some(owner.clone()));
        first.update(|c| c.add_committed(10));
        second.update(|c| c.add_committed(20));
        second.update(|c| c.count_grow());
        assert_eq!(first.snapshot().committed_bytes, 10);
        assert_eq!(second.snapshot().grows, 1);
        let total = owner.stats();
        assert_eq!(total.committed_bytes, 30);
        assert_eq!(total.peak_committed_bytes, 30);
        assert_eq!(total.grows, 1);
    }
}
