//! When the kernel refuses to move and extend a memory's pages with one
//! `mremap` (`EFAULT`: they are several mappings after all, which the kernel
//! does not promise to merge), the relocation falls back to moving them in
//! pieces into a new reservation: the grow succeeds and the data survives.

mod common;

use common::{dynamic, page_is_accessible, peek, poke};
use remap_memory::fault_injection;
use remap_memory::{LinearMemory, Syscall, WASM_PAGE_SIZE};

const PAGE: u64 = WASM_PAGE_SIZE;

#[test]
fn a_refused_move_and_extend_falls_back_to_moving_in_pieces() {
    let memory = LinearMemory::new(dynamic(2 * PAGE, 0, PAGE)).unwrap();
    poke(&memory, 3, 0x44);
    poke(&memory, 2 * PAGE - 1, 0x55);
    let before = memory.view().base;
    let calls = {
        let _record = fault_injection::record();
        let _fault = fault_injection::fail(Syscall::Mremap, 0, libc::EFAULT);
        assert_eq!(memory.grow(2).unwrap(), 2);
        assert!(!fault_injection::pending(), "the one-call move was tried");
        fault_injection::calls()
    };
    let moves = calls
        .iter()
        .filter(|&&call| call == Syscall::Mremap)
        .count();
    assert_eq!(moves, 2, "refused, then one piece: {calls:?}");
    assert_eq!(memory.stats().relocations, 1);
    let view = memory.view();
    assert_ne!(view.base, before);
    assert_eq!(view.len as u64, 4 * PAGE);
    assert_eq!(
        [3, 2 * PAGE - 1, 2 * PAGE, 4 * PAGE - 1].map(|at| peek(&memory, at)),
        [0x44, 0x55, 0, 0]
    );
    assert!(!page_is_accessible(view.base as usize + view.len));
}
