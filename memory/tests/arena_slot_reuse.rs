//! Issue 19: a slot released by one arena memory and taken by the next
//! reads as zero throughout, whatever the previous memory wrote, and the
//! arena stays one kernel mapping per chunk.

mod common;

use common::dynamic;
use remap_memory::{Arena, LinearMemory, WASM_PAGE_SIZE};

#[test]
fn a_reused_slot_reads_as_zero() {
    let arena = Arena::new(4 * WASM_PAGE_SIZE, 1).unwrap();
    let first = LinearMemory::in_arena(dynamic(WASM_PAGE_SIZE, 0, 0), &arena).unwrap();
    first.grow(1).unwrap();
    let view = first.view();
    // SAFETY: the view's bytes are accessible and only this test uses them.
    unsafe { std::ptr::write_bytes(view.base, 0xa5, view.len) };
    let base = view.base;
    drop(first);
    assert_eq!(arena.stats().free_slots, 1);

    let second = LinearMemory::in_arena(dynamic(3 * WASM_PAGE_SIZE, 0, 0), &arena).unwrap();
    let view = second.view();
    assert_eq!(view.base, base, "the one slot is reused");
    // SAFETY: as above.
    let bytes = unsafe { std::slice::from_raw_parts(view.base, view.len) };
    assert!(
        bytes.iter().all(|&byte| byte == 0),
        "no byte of the previous memory shows"
    );
    assert_eq!(second.stats().committed_bytes, 3 * WASM_PAGE_SIZE);
}
