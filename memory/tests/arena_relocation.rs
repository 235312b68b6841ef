//! Issue 19: an arena memory that outgrows its slot moves out of the arena
//! by mremap into a reservation of its own, keeping its data, telling its
//! notifiers, and giving its slot back (reading as zero) to the arena.

mod common;

use common::dynamic;
use remap_memory::{
    Arena, InvalidationNotifier, LinearMemory, MemoryView, WASM_PAGE_SIZE, host_page_size,
};
use std::ops::Range;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct LastView(Mutex<Option<MemoryView>>);

/// Records the last view a change ended with.
impl InvalidationNotifier for LastView {
    fn invalidate_range_start(&self, _range: Range<usize>) {}
    fn invalidate_range_end(&self, _range: Range<usize>, view: MemoryView) {
        *self.0.lock().unwrap() = Some(view);
    }
    fn release(&self) {}
}

#[test]
fn a_memory_that_outgrows_its_slot_relocates_and_keeps_its_data() {
    let arena = Arena::new(2 * WASM_PAGE_SIZE, 4).unwrap();
    let memory = LinearMemory::in_arena(dynamic(WASM_PAGE_SIZE, 0, 0), &arena).unwrap();
    let notifier = Arc::new(LastView::default());
    let _registration = memory.register_notifier(notifier.clone()).unwrap();
    let slot = memory.view().base as usize;
    let page = host_page_size();
    for offset in (0..WASM_PAGE_SIZE as usize).step_by(page) {
        // SAFETY: the first Wasm page is accessible and only this test uses it.
        unsafe { *memory.view().base.add(offset) = (offset / page) as u8 + 1 };
    }
    assert_eq!(memory.grow(1).unwrap(), 1, "fills the slot");
    assert!(memory.is_in_arena());
    assert_eq!(memory.grow(1).unwrap(), 2, "outgrows the slot");
    assert!(!memory.is_in_arena());
    let view = memory.view();
    assert_ne!(view.base as usize, slot);
    assert_eq!(view.len as u64, 3 * WASM_PAGE_SIZE);
    assert_eq!(*notifier.0.lock().unwrap(), Some(view));
    for offset in (0..WASM_PAGE_SIZE as usize).step_by(page) {
        // SAFETY: as above, at the memory's new base.
        assert_eq!(unsafe { *view.base.add(offset) }, (offset / page) as u8 + 1);
    }
    // SAFETY: the grown pages are accessible.
    let grown = unsafe {
        std::slice::from_raw_parts(
            view.base.add(WASM_PAGE_SIZE as usize),
            view.len - WASM_PAGE_SIZE as usize,
        )
    };
    assert!(grown.iter().all(|&byte| byte == 0));
    let stats = memory.stats();
    assert_eq!(stats.relocations, 1);
    assert_eq!(stats.committed_bytes, 3 * WASM_PAGE_SIZE);
    assert!(!memory.reservation().contains(&slot));

    // The slot is back in the arena, reads as zero, and serves the next memory.
    assert_eq!(arena.stats().slots_in_use, 0);
    let next = LinearMemory::in_arena(dynamic(2 * WASM_PAGE_SIZE, 0, 0), &arena).unwrap();
    assert_eq!(next.view().base as usize, slot);
    // SAFETY: the next memory's pages are accessible.
    let bytes = unsafe { std::slice::from_raw_parts(next.view().base, next.view().len) };
    assert!(bytes.iter().all(|&byte| byte == 0));
    // The relocated memory grows on as a dynamic one.
    assert_eq!(memory.grow(4).unwrap(), 3);
    // SAFETY: its first page is still accessible.
    assert_eq!(unsafe { *memory.view().base }, 1);
}
