//! The slot cache: a retired memory's reservation serves the next memory of
//! the same layout, with zeroed contents, exact accounting and pins, released
//! subscribers, a bounded size, and failures that leave nothing charged.

mod common;

use common::{
    dynamic, locked_bytes_in, page_is_accessible, pinning_unavailable, protection_at, serial,
};
use remap_memory::fault_injection;
use remap_memory::{
    Accounting, InvalidationNotifier, LinearMemory, MemoryConfig, MemoryError, MemoryStyle,
    MemoryView, PinBudget, SlotCache, Syscall, WASM_PAGE_SIZE,
};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const PAGE: u64 = WASM_PAGE_SIZE;

/// A static memory of `pages` pages with a small reservation, charged to `owner`.
fn small_static(pages: u64, owner: &Accounting) -> MemoryConfig {
    MemoryConfig {
        style: MemoryStyle::Static {
            reservation_bytes: 16 * PAGE,
            guard_bytes: PAGE,
        },
        initial_bytes: pages * PAGE,
        maximum_bytes: Some(16 * PAGE),
        accounting: Some(owner.clone()),
        ..MemoryConfig::default()
    }
}

fn fill(memory: &LinearMemory, value: u8) {
    let view = memory.view();
    // SAFETY: the view is accessible and only this test uses the memory.
    unsafe { std::ptr::write_bytes(view.base, value, view.len) };
}

fn all_zero(memory: &LinearMemory) -> bool {
    let view = memory.view();
    // SAFETY: the view is accessible.
    unsafe { std::slice::from_raw_parts(view.base, view.len) }
        .iter()
        .all(|&byte| byte == 0)
}

#[test]
fn a_recycled_reservation_serves_the_next_memory_without_mapping() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(4, 0);
    let first = cache.create(small_static(2, &owner)).unwrap();
    let (base, reservation) = (first.view().base, first.reservation());
    first.grow(3).unwrap();
    fill(&first, 0xa5);
    assert_eq!(owner.stats().committed_bytes, 5 * PAGE);

    let _record = fault_injection::record();
    cache.recycle(first);
    assert_eq!(cache.len(), 1);
    assert_eq!(
        owner.stats().committed_bytes,
        0,
        "a cached slot counts nothing"
    );
    let second = cache.create(small_static(2, &owner)).unwrap();
    assert_eq!(
        fault_injection::calls(),
        [Syscall::Madvise, Syscall::Mprotect],
        "one discard on retirement, one protection change for the smaller size; no mmap or munmap"
    );
    assert!(cache.is_empty());
    assert_eq!(second.view().base, base);
    assert_eq!(second.reservation(), reservation);
    assert_eq!(second.size_pages(), 2);
    assert!(all_zero(&second), "the last user's bytes are gone");
    assert!(!page_is_accessible(base as usize + 2 * PAGE as usize));
    let stats = second.stats();
    assert_eq!(stats.committed_bytes, 2 * PAGE);
    assert_eq!(
        stats.peak_committed_bytes,
        2 * PAGE,
        "own statistics start over"
    );
    assert_eq!(stats.grows, 0);
    assert_eq!(owner.stats().committed_bytes, 2 * PAGE);
    assert_eq!(owner.stats().peak_committed_bytes, 5 * PAGE);
    // The reused memory behaves like a fresh one.
    assert_eq!(second.grow(14).unwrap(), 2);
    assert!(all_zero(&second));
    assert!(matches!(
        second.grow(1),
        Err(MemoryError::ExceedsMaximum { .. })
    ));
}

#[test]
fn reuse_at_the_same_size_issues_no_system_call() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 0);
    let memory = cache.create(small_static(1, &owner)).unwrap();
    cache.recycle(memory);
    let _record = fault_injection::record();
    let memory = cache.create(small_static(1, &owner)).unwrap();
    assert!(fault_injection::calls().is_empty());
    assert_eq!(memory.size_pages(), 1);
    assert!(all_zero(&memory));
}

#[test]
fn a_kept_resident_prefix_is_zeroed_in_place_and_only_the_rest_is_discarded() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 2 * PAGE as usize);
    assert_eq!(cache.keep_resident_bytes(), 2 * PAGE as usize);
    let memory = cache.create(small_static(2, &owner)).unwrap();
    fill(&memory, 0x5a);
    let _record = fault_injection::record();
    cache.recycle(memory);
    assert!(
        fault_injection::calls().is_empty(),
        "a memory within the resident prefix is zeroed without a system call"
    );
    let memory = cache.create(small_static(2, &owner)).unwrap();
    assert!(fault_injection::calls().is_empty());
    assert!(all_zero(&memory));
    assert_eq!(owner.stats().committed_bytes, 2 * PAGE);

    memory.grow(3).unwrap();
    fill(&memory, 0x3c);
    let base = memory.view().base as usize;
    let _record = fault_injection::record();
    cache.recycle(memory);
    assert_eq!(
        fault_injection::calls(),
        [Syscall::Madvise],
        "the pages past the prefix are discarded"
    );
    assert_eq!(owner.stats().committed_bytes, 0);
    let memory = cache.create(small_static(5, &owner)).unwrap();
    assert_eq!(memory.view().base as usize, base);
    assert!(all_zero(&memory));
}

#[test]
fn a_larger_initial_size_and_a_new_maximum_apply_to_the_reused_slot() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 0);
    cache.recycle(cache.create(small_static(1, &owner)).unwrap());
    let config = MemoryConfig {
        maximum_bytes: Some(4 * PAGE),
        ..small_static(3, &owner)
    };
    let memory = cache.create(config).unwrap();
    let base = memory.view().base as usize;
    assert_eq!(memory.size_pages(), 3);
    assert!(page_is_accessible(base + 3 * PAGE as usize - 1));
    assert!(!page_is_accessible(base + 3 * PAGE as usize));
    assert!(all_zero(&memory));
    assert_eq!(memory.maximum_bytes(), Some(4 * PAGE));
    assert!(matches!(
        memory.grow(2),
        Err(MemoryError::ExceedsMaximum { .. })
    ));
}

#[test]
fn only_a_matching_layout_reuses_a_slot() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(4, 0);
    let memory = cache.create(small_static(1, &owner)).unwrap();
    let reservation = memory.reservation();
    cache.recycle(memory);
    let other_guard = MemoryConfig {
        style: MemoryStyle::Static {
            reservation_bytes: 16 * PAGE,
            guard_bytes: 2 * PAGE,
        },
        ..small_static(1, &owner)
    };
    let other_owner = small_static(1, &Accounting::new());
    let pinned = MemoryConfig {
        pinned: true,
        ..small_static(1, &owner)
    };
    for config in [other_guard, other_owner, pinned, dynamic(PAGE, PAGE, PAGE)] {
        let memory = cache.create(config).unwrap();
        assert_ne!(memory.reservation(), reservation);
    }
    assert_eq!(cache.len(), 1, "the unmatched slot is still cached");
    assert_eq!(
        cache.create(small_static(1, &owner)).unwrap().reservation(),
        reservation
    );
}

#[test]
fn a_relocated_dynamic_memory_has_room_to_serve_again() {
    let _serial = serial();
    let cache = SlotCache::new(1, 0);
    let config = dynamic(PAGE, PAGE, PAGE);
    let memory = cache.create(config.clone()).unwrap();
    memory.grow(4).unwrap(); // relocates: more room than the layout asks for
    assert_eq!(memory.stats().relocations, 1);
    let reservation = memory.reservation();
    cache.recycle(memory);
    let memory = cache.create(config).unwrap();
    assert_eq!(memory.reservation(), reservation);
    assert_eq!(memory.size_pages(), 1);
    assert!(all_zero(&memory));
    assert_eq!(memory.stats().relocations, 0);
}

#[test]
fn the_cache_is_bounded_and_dropping_it_unmaps_every_slot() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(2, 0);
    assert_eq!(cache.max_slots(), 2);
    let memories: Vec<_> = (0..3)
        .map(|_| cache.create(small_static(1, &owner)).unwrap())
        .collect();
    let bases: Vec<usize> = memories.iter().map(|m| m.view().base as usize).collect();
    for memory in memories {
        cache.recycle(memory);
    }
    assert_eq!(cache.len(), 2, "the third memory was unmapped");
    assert_eq!(protection_at(bases[2]), None);
    assert!(protection_at(bases[0]).is_some());
    drop(cache);
    for base in bases {
        assert_eq!(protection_at(base), None, "{base:#x} is still mapped");
    }
    assert_eq!(owner.stats().committed_bytes, 0);

    let disabled = SlotCache::new(0, 0);
    disabled.recycle(disabled.create(small_static(1, &owner)).unwrap());
    assert!(disabled.is_empty());
}

/// Counts `release` calls and records the views `invalidate_range_end` delivers.
#[derive(Default)]
struct Subscriber {
    releases: AtomicUsize,
    ends: Mutex<Vec<MemoryView>>,
}

impl InvalidationNotifier for Subscriber {
    fn invalidate_range_start(&self, _range: Range<usize>) {}
    fn invalidate_range_end(&self, _range: Range<usize>, new_view: MemoryView) {
        self.ends.lock().unwrap().push(new_view);
    }
    fn release(&self) {
        self.releases.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn retirement_releases_subscribers_and_the_next_memory_starts_with_none() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 0);
    let memory = cache.create(small_static(1, &owner)).unwrap();
    let old = Arc::new(Subscriber::default());
    let old_registration = memory.register_notifier(old.clone()).unwrap();
    cache.recycle(memory);
    assert_eq!(old.releases.load(Ordering::SeqCst), 1);
    assert_eq!(*old.ends.lock().unwrap(), [MemoryView::EMPTY]);

    let memory = cache.create(small_static(1, &owner)).unwrap();
    let new = Arc::new(Subscriber::default());
    let _new_registration = memory.register_notifier(new.clone()).unwrap();
    drop(old_registration); // a stale registration removes nothing
    memory.grow(1).unwrap();
    assert_eq!(new.ends.lock().unwrap().len(), 1);
    assert_eq!(
        old.ends.lock().unwrap().len(),
        1,
        "the old subscriber hears nothing more"
    );
}

#[test]
fn a_failed_discard_unmaps_the_memory_and_leaves_nothing_charged() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 0);
    let memory = cache.create(small_static(2, &owner)).unwrap();
    let base = memory.view().base as usize;
    let _fault = fault_injection::fail(Syscall::Madvise, 0, libc::EINVAL);
    cache.recycle(memory);
    assert!(cache.is_empty());
    assert_eq!(protection_at(base), None);
    assert_eq!(owner.stats().committed_bytes, 0);
}

#[test]
fn a_failed_reuse_is_an_error_unmaps_the_slot_and_charges_nothing() {
    let _serial = serial();
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 0);
    let memory = cache.create(small_static(1, &owner)).unwrap();
    let base = memory.view().base as usize;
    cache.recycle(memory);
    let failed = {
        let _fault = fault_injection::fail(Syscall::Mprotect, 0, libc::ENOMEM);
        cache.create(small_static(3, &owner))
    };
    assert!(
        matches!(
            failed,
            Err(MemoryError::SyscallFailed {
                call: Syscall::Mprotect,
                ..
            })
        ),
        "{failed:?}"
    );
    assert!(cache.is_empty());
    assert_eq!(protection_at(base), None);
    assert_eq!(owner.stats().committed_bytes, 0);
}

fn pinned_static(pages: u64, budget: &PinBudget, owner: &Accounting) -> MemoryConfig {
    MemoryConfig {
        pinned: true,
        pin_budget: Some(budget.clone()),
        ..small_static(pages, owner)
    }
}

#[test]
fn a_reused_pinned_slot_is_charged_and_locked_exactly() {
    let _serial = serial();
    let budget = PinBudget::new(3 * PAGE);
    let owner = Accounting::new();
    let cache = SlotCache::new(1, 0);
    let memory = match cache.create(pinned_static(2, &budget, &owner)) {
        Ok(memory) => memory,
        Err(error) => {
            pinning_unavailable(&format!("this process cannot lock 2 pages ({error})"));
            return;
        }
    };
    let base = memory.view().base as usize;
    let range = base..base + 2 * PAGE as usize;
    assert_eq!(budget.used(), 2 * PAGE);
    fill(&memory, 7);
    cache.recycle(memory);
    assert_eq!(budget.used(), 0, "a cached slot holds no pins");
    assert_eq!(locked_bytes_in(range.clone()), 0);

    // Over the budget: a clear error, nothing charged, the slot is gone.
    let refused = cache.create(pinned_static(4, &budget, &owner));
    assert!(
        matches!(refused, Err(MemoryError::PinBudgetExceeded { .. })),
        "{refused:?}"
    );
    assert_eq!(budget.used(), 0);
    assert!(cache.is_empty());

    let memory = cache.create(pinned_static(2, &budget, &owner)).unwrap();
    assert_eq!(budget.used(), 2 * PAGE);
    assert_eq!(memory.stats().pinned_bytes, 2 * PAGE);
    let base = memory.view().base as usize;
    assert_eq!(locked_bytes_in(base..base + 2 * PAGE as usize), 2 * PAGE);
    assert!(all_zero(&memory));
    cache.recycle(memory);
    let memory = cache.create(pinned_static(1, &budget, &owner)).unwrap();
    assert_eq!(memory.view().base as usize, base, "the slot was reused");
    assert_eq!(budget.used(), PAGE);
    assert_eq!(locked_bytes_in(base..base + 2 * PAGE as usize), PAGE);
    assert!(all_zero(&memory));
    drop(memory);
    assert_eq!(budget.used(), 0);
    assert_eq!(owner.stats().pinned_bytes, 0);
}
