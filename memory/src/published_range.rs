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
    /// for [`READ_ATTEMPTS`] retries: the reader interrupted the writer on
    /// its own thread (an asynchronous signal), or the writer's thread was
    /// descheduled mid-publication for that long.
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
        // Reads racing with publications. Nothing here depends on how the
        // threads are scheduled: the writer starts once the reader has read,
        // and the reader reads a fixed number of times and on until it has
        // seen the writer publish, so the two always overlap.
        const READS: u64 = 200_000;
        // Every published range starts at a multiple of 4096 and is 1000
        // long, so a torn read (one range's start, another's end) shows up
        // as any other length.
        let range = Arc::new(PublishedRange::new(0..1000));
        let reading = Arc::new(AtomicBool::new(false));
        let reader = {
            let (range, reading) = (range.clone(), reading.clone());
            std::thread::spawn(move || {
                let mut last = range.read();
                reading.store(true, Ordering::Release);
                let (mut reads, mut changes) = (1u64, 0u64);
                while reads < READS || changes == 0 {
                    let seen = range.read();
                    reads += 1;
                    // Empty: the reader gave up on a publication that stayed
                    // in flight (the writer was descheduled mid-way), as
                    // `read` may; that is no mixed pair.
                    if seen.is_empty() {
                        continue;
                    }
                    assert_eq!(seen.len(), 1000, "torn read {seen:?}");
                    if seen != last {
                        changes += 1;
                        last = seen;
                    }
                }
            })
        };
        while !reading.load(Ordering::Acquire) && !reader.is_finished() {
            std::thread::yield_now();
        }
        let mut publication = 0usize;
        while !reader.is_finished() {
            publication = (publication + 1) % (1 << 20);
            let start = publication * 4096;
            range.publish(start..start + 1000);
        }
        reader.join().unwrap();
    }

    #[test]
    fn a_publication_stuck_in_flight_reads_as_empty() {
        let range = PublishedRange::new(10..20);
        range.sequence.store(1, Ordering::Relaxed);
        assert_eq!(range.read(), 0..0);
    }
}
