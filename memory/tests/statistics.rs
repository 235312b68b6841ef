//! Issue 2, point 7: statistics per memory and aggregated per owner.

mod common;

use common::{dynamic, host_page};
use remap_memory::{Accounting, LinearMemory, MemoryConfig, MemoryStats, WASM_PAGE_SIZE};

const PAGE: u64 = WASM_PAGE_SIZE;

fn owned(owner: &Accounting, config: MemoryConfig) -> LinearMemory {
    LinearMemory::new(MemoryConfig {
        accounting: Some(owner.clone()),
        ..config
    })
    .unwrap()
}

#[test]
fn per_memory_counters_follow_every_change() {
    let memory = LinearMemory::new(dynamic(PAGE, 2 * PAGE, PAGE)).unwrap();
    assert_eq!(
        memory.stats(),
        MemoryStats {
            committed_bytes: PAGE,
            peak_committed_bytes: PAGE,
            pinned_bytes: 0,
            relocations: 0,
            grows: 0,
            protection_calls_requested: 1,
            protection_calls_issued: 1,
        }
    );
    memory.grow(2).unwrap(); // in place: one mprotect
    memory.grow(3).unwrap(); // relocation: one mprotect closes the room past the new size
    memory.reset(1).unwrap(); // one mprotect + one madvise
    assert_eq!(
        memory.stats(),
        MemoryStats {
            committed_bytes: PAGE,
            peak_committed_bytes: 6 * PAGE,
            pinned_bytes: 0,
            relocations: 1,
            grows: 2,
            protection_calls_requested: 5,
            protection_calls_issued: 5,
        }
    );
}

#[test]
fn owners_aggregate_their_memories_and_keep_the_peak() {
    let owner = Accounting::new();
    let other_owner = Accounting::new();
    let first = owned(&owner, dynamic(2 * PAGE, 4 * PAGE, PAGE));
    let second = owned(&owner, dynamic(PAGE, 0, PAGE));
    let unrelated = owned(&other_owner, dynamic(8 * PAGE, 0, PAGE));
    first.grow(1).unwrap();
    second.grow(1).unwrap();
    let total = owner.stats();
    assert_eq!(total.committed_bytes, 5 * PAGE);
    assert_eq!(total.peak_committed_bytes, 5 * PAGE);
    assert_eq!(total.grows, 2);
    assert_eq!(total.relocations, 1);
    assert_eq!(
        total.protection_calls_issued,
        first.stats().protection_calls_issued + second.stats().protection_calls_issued
    );
    drop(first);
    let after = owner.stats();
    assert_eq!(
        after.committed_bytes,
        2 * PAGE,
        "dropping gives the bytes back"
    );
    assert_eq!(
        after.peak_committed_bytes,
        5 * PAGE,
        "the high-water mark stays"
    );
    assert_eq!(other_owner.stats().committed_bytes, 8 * PAGE);
    drop((second, unrelated));
    assert_eq!(owner.stats().committed_bytes, 0);
}

#[test]
fn owners_are_shared_across_threads() {
    let owner = Accounting::new();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let owner = owner.clone();
            scope.spawn(move || {
                let memory = owned(&owner, dynamic(PAGE, 0, PAGE));
                for _ in 0..10 {
                    memory.grow(1).unwrap();
                }
            });
        }
    });
    let total = owner.stats();
    assert_eq!(total.grows, 40);
    assert_eq!(total.committed_bytes, 0);
    assert!(total.peak_committed_bytes >= 11 * PAGE);
    assert!(total.peak_committed_bytes <= 44 * PAGE);
}

#[test]
fn committed_bytes_count_host_pages_for_small_growth_units() {
    // A growth unit smaller than a host page still commits whole host pages.
    let memory = LinearMemory::new(MemoryConfig {
        page_size: 1,
        initial_bytes: 1,
        ..dynamic(0, 4 * host_page(), 0)
    })
    .unwrap();
    assert_eq!(memory.len_bytes(), 1);
    assert_eq!(memory.stats().committed_bytes, host_page());
    memory.grow(host_page()).unwrap();
    assert_eq!(memory.len_bytes(), host_page() + 1);
    assert_eq!(memory.stats().committed_bytes, 2 * host_page());
}
