//! Issue 19: an arena memory grows inside its slot by moving its bound
//! only: no system call, the base stays, and the new bytes read as zero,
//! also after a reset discarded what was written there.

mod common;

use common::dynamic;
use remap_memory::{Arena, LinearMemory, WASM_PAGE_SIZE, fault_injection};

#[test]
fn growth_inside_the_slot_reads_zero_and_makes_no_system_call() {
    let arena = Arena::new(4 * WASM_PAGE_SIZE, 8).unwrap();
    let memory = LinearMemory::in_arena(dynamic(WASM_PAGE_SIZE, 0, 0), &arena).unwrap();
    let base = memory.view().base;
    let calls = fault_injection::record();
    assert_eq!(memory.grow(2).unwrap(), 1);
    assert!(
        fault_injection::calls().is_empty(),
        "{:?}",
        fault_injection::calls()
    );
    drop(calls);
    let view = memory.view();
    assert_eq!(view.base, base);
    assert_eq!(view.len as u64, 3 * WASM_PAGE_SIZE);
    assert!(memory.is_in_arena());
    assert_eq!(memory.stats().relocations, 0);
    assert_eq!(memory.stats().committed_bytes, 3 * WASM_PAGE_SIZE);
    // SAFETY: the view's bytes are accessible and only this test uses them.
    let bytes = unsafe { std::slice::from_raw_parts_mut(view.base, view.len) };
    assert!(bytes.iter().all(|&byte| byte == 0));
    bytes.fill(0x5a);

    // A reset discards the contents; growing again reads zero.
    memory.reset(1).unwrap();
    assert_eq!(memory.grow(3).unwrap(), 1);
    let view = memory.view();
    // SAFETY: as above.
    let bytes = unsafe { std::slice::from_raw_parts(view.base, view.len) };
    assert!(bytes.iter().all(|&byte| byte == 0));
}
