//! The fallback relocation: a memory whose pages are several kernel mappings
//! (here an image's private file mapping between anonymous ones) cannot be
//! moved and extended with one `mremap`, so it moves one piece per mapping;
//! a piece that fails to move brings the moved ones back, leaving the memory
//! exactly as it was, and the next try succeeds.

mod common;

use common::{dynamic, page_is_accessible, peek, poke};
use remap_memory::fault_injection;
use remap_memory::{LinearMemory, MemoryImage, Syscall, WASM_PAGE_SIZE};
use std::sync::Arc;

const PAGE: u64 = WASM_PAGE_SIZE;

#[test]
fn a_piece_failing_to_move_brings_the_moved_pieces_back() {
    let image = Arc::new(
        MemoryImage::new([(PAGE + 3, [0x5au8; 100].as_slice())])
            .unwrap()
            .unwrap(),
    );
    let memory = LinearMemory::with_image(dynamic(4 * PAGE, 0, PAGE), Some(image)).unwrap();
    poke(&memory, 7, 0x11); // the anonymous piece before the image
    poke(&memory, PAGE + 4, 0x22); // a private copy of an image page
    poke(&memory, 3 * PAGE, 0x33); // the anonymous piece after it
    let (view, reservation) = (memory.view(), memory.reservation());
    {
        // The first piece moves, the second fails: the first must come back.
        let _record = fault_injection::record();
        let _fault = fault_injection::fail(Syscall::Mremap, 1, libc::ENOMEM);
        let error = memory.grow(4).unwrap_err();
        assert!(error.to_string().contains("mremap failed"), "{error}");
        assert!(!fault_injection::pending(), "the second piece was tried");
    }
    assert_eq!(memory.view(), view);
    assert_eq!(memory.reservation(), reservation);
    assert_eq!(memory.stats().relocations, 0);
    assert!(page_is_accessible(view.base as usize));
    assert_eq!(
        [peek(&memory, 7), peek(&memory, PAGE + 3)],
        [0x11, 0x5a],
        "the moved piece is back"
    );
    assert_eq!(
        [peek(&memory, PAGE + 4), peek(&memory, 3 * PAGE)],
        [0x22, 0x33]
    );

    assert_eq!(memory.grow(4).unwrap(), 4);
    assert_eq!(memory.stats().relocations, 1);
    assert_ne!(memory.view().base, view.base);
    assert_eq!(
        [7, PAGE + 3, PAGE + 4, 3 * PAGE, 4 * PAGE, 8 * PAGE - 1].map(|at| peek(&memory, at)),
        [0x11, 0x5a, 0x22, 0x33, 0, 0]
    );
}
