//! Issue 19, point 3: once an arena has mapped a chunk of a size class,
//! creating a memory in that class makes no system call, and neither does dropping one that never
//! became accessible; dropping one with contents makes one `madvise`.

mod common;

use common::dynamic;
use remap_memory::{Arena, LinearMemory, Syscall, WASM_PAGE_SIZE, fault_injection};

#[test]
fn arena_memories_are_created_without_system_calls() {
    let arena = Arena::new(4 * WASM_PAGE_SIZE, 64).unwrap();
    let first = LinearMemory::in_arena(dynamic(WASM_PAGE_SIZE, 0, 0), &arena).unwrap();
    let first_empty = LinearMemory::in_arena(dynamic(0, 0, 0), &arena).unwrap();
    let recording = fault_injection::record();
    let memories: Vec<_> = (0..32)
        .map(|_| LinearMemory::in_arena(dynamic(WASM_PAGE_SIZE, 0, 0), &arena).unwrap())
        .collect();
    let empty = LinearMemory::in_arena(dynamic(0, 0, 0), &arena).unwrap();
    assert_eq!(fault_injection::calls(), []);
    drop(empty);
    assert_eq!(fault_injection::calls(), []);
    drop(first);
    assert_eq!(fault_injection::calls(), [Syscall::Madvise]);
    drop(recording);
    assert_eq!(arena.stats().chunks, 2, "one per size class used");
    assert_eq!(arena.stats().slots_in_use, memories.len() + 1);
    drop(first_empty);
}
