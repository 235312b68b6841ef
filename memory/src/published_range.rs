//! An address range that one writer at a time republishes and lock-free
//! readers, a signal handler among them, read as a consistent pair: a
//! sequence lock over two words.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

/// How often a reader retries while a publication is in flight before it
/// gives up. A publication is two stores, so readers on other threads only
/// exhaust this if the writer is descheduled mid-publication for a long time.
const READ_ATTEMPTS: u32 = 1 << 20;

/// A range behind a sequence counter: odd while a publication is in flight.
#[derive(Debug)]
pub(crate) struct PublishedRange {
    sequence: AtomicUsize,
    start: AtomicUsize,
    end: AtomicUsize,
}

impl PublishedRange {
    pub(crate) fn new(range: Range<usize>) -> PublishedRange {
        PublishedRange {
            sequence: AtomicUsize::new(0),
            start: AtomicUsize::new(range.start),
            end: AtomicUsize::new(range.end),
        }
    }

    /// Replaces the range. Callers serialise publications (a memory's state
    /// lock does); readers never see the old start with the new end.
    pub(crate) fn publish(&self, range: Range<usize>) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        self.sequence
            .store(sequence.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd counter before the new words for any reader that sees them.
        fence(Ordering::Release);
        self.start.store(range.start, Ordering::Relaxed);
        self.end.store(range.end, Ordering::Relaxed);
        self.sequence
            .store(sequence.wrapping_add(2), Ordering::Release);
    }

    /// The current range, or an empty one if a publication stayed in flight
    /// for [`READ_ATTEMPTS`] retries (only possible when the reader
    /// interrupted the writer on its own thread, e.g. an asynchronous signal).
    pub(crate) fn read(&self) -> Range<usize> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.sequence.load(Ordering::Acquire);
            if before.is_multiple_of(2) {
                let start = self.start.load(Ordering::Relaxed);
                let end = self.end.load(Ordering::Relaxed);
                // Keeps the two loads above before the counter check below.
                fence(Ordering::Acquire);
                if self.sequence.load(Ordering::Relaxed) == before {
                    return start..end;
                }
            }
            std::hint::spin_loop();
        }
        0..0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn reads_what_was_published() {
        let range = PublishedRange::new(10..20);
        assert_eq!(range.read(), 10..20);
        range.publish(100..300);
        assert_eq!(range.read(), 100..300);
    }

    #[test]
    fn concurrent_readers_never_see_a_mixed_pair() {
        // Every published range has length 1000, so a torn read shows up as
        // any other length.
        let range = Arc::new(PublishedRange::new(0..1000));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (range, stop) = (range.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let seen = range.read();
                    assert_eq!(seen.len(), 1000, "torn read {seen:?}");
                    reads += 1;
                }
                reads
            })
        };
        for start in (0..200_000usize).map(|i| i * 4096) {
            range.publish(start..start + 1000);
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    }

    #[test]
    fn a_publication_stuck_in_flight_reads_as_empty() {
        let range = PublishedRange::new(10..20);
        range.sequence.store(1, Ordering::Relaxed);
        assert_eq!(range.read(), 0..0);
    }
}
