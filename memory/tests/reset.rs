//! Issue 2, point 6: reset for reuse, through the protection batch.

mod common;

use common::{dynamic, page_is_accessible, resident_bytes};
use remap_memory::fault_injection;
use remap_memory::{LinearMemory, MemoryError, Syscall, WASM_PAGE_SIZE};

const PAGE: u64 = WASM_PAGE_SIZE;

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
        .all(|&b| b == 0)
}

#[test]
fn reset_returns_to_the_initial_size_with_zeroed_contents_in_place() {
    let memory = LinearMemory::new(dynamic(2 * PAGE, 8 * PAGE, PAGE)).unwrap();
    let base = memory.view().base;
    let reservation = memory.reservation();
    memory.grow(4).unwrap();
    fill(&memory, 0xee);
    let _record = fault_injection::record();
    memory.reset(2).unwrap();
    assert_eq!(
        fault_injection::calls(),
        [Syscall::Mprotect, Syscall::Madvise],
        "one protection change for the tail, one MADV_DONTNEED, no unmapping"
    );
    assert_eq!(memory.size_pages(), 2);
    assert_eq!(memory.view().base, base);
    assert_eq!(memory.reservation(), reservation);
    assert!(all_zero(&memory));
    assert!(!page_is_accessible(base as usize + 2 * PAGE as usize));
    let stats = memory.stats();
    assert_eq!(stats.committed_bytes, 2 * PAGE);
    assert_eq!(stats.peak_committed_bytes, 6 * PAGE);
    // The slot is reusable.
    memory.grow(1).unwrap();
    assert!(all_zero(&memory));
}

#[test]
fn reset_releases_the_discarded_pages() {
    let pages = 128; // 8 MiB
    let memory = LinearMemory::new(dynamic(pages * PAGE, 0, PAGE)).unwrap();
    fill(&memory, 1);
    let before = resident_bytes();
    memory.reset(pages).unwrap();
    let after = resident_bytes();
    assert!(
        after + pages * PAGE / 2 < before,
        "MADV_DONTNEED gave back the pages: {before} -> {after}"
    );
    assert!(all_zero(&memory));
}

#[test]
fn reset_can_grow_within_the_reservation_but_never_relocates() {
    let memory = LinearMemory::new(dynamic(PAGE, 3 * PAGE, PAGE)).unwrap();
    fill(&memory, 3);
    memory.reset(4).unwrap();
    assert_eq!(memory.size_pages(), 4);
    assert!(all_zero(&memory));
    let view = memory.view();
    assert!(matches!(
        memory.reset(5),
        Err(MemoryError::ExceedsReservation { .. })
    ));
    assert_eq!(memory.view(), view);
    memory.reset(0).unwrap();
    assert_eq!(memory.len_bytes(), 0);
    assert_eq!(memory.stats().committed_bytes, 0);
}

#[test]
fn reset_respects_the_maximum() {
    let memory = LinearMemory::new(remap_memory::MemoryConfig {
        maximum_bytes: Some(2 * PAGE),
        ..dynamic(PAGE, 8 * PAGE, PAGE)
    })
    .unwrap();
    assert!(matches!(
        memory.reset(3),
        Err(MemoryError::ExceedsMaximum { .. })
    ));
}
