//! `LinearMemory::discard_pages` gives whole host pages back to the kernel:
//! they stay accessible and read as zero, partial pages at the ends keep
//! their contents, and the resident size drops.

mod common;

use common::{dynamic, host_page, peek, poke, resident_bytes};
use remap_memory::{LinearMemory, WASM_PAGE_SIZE};

#[test]
fn discarded_pages_read_as_zero_and_leave_ram() {
    let bytes = 16 << 20;
    let memory = LinearMemory::new(dynamic(bytes, 0, WASM_PAGE_SIZE)).unwrap();
    let view = memory.view();
    // SAFETY: the view is accessible and only this test uses the memory.
    unsafe { std::ptr::write_bytes(view.base, 0xaa, view.len) };
    let page = host_page();
    let before = resident_bytes();
    // From the middle of the first page to the middle of the last one: only
    // the whole pages in between go.
    let range = page / 2..bytes - page / 2;
    // SAFETY: nothing refers into the memory and the test gives up its
    // contents.
    let discarded = unsafe { memory.discard_pages(range) }.unwrap();
    assert_eq!(discarded, bytes - 2 * page);
    let after = resident_bytes();
    assert!(
        before - after >= 8 << 20,
        "resident {before} -> {after} bytes"
    );
    assert_eq!(peek(&memory, 0), 0xaa);
    assert_eq!(peek(&memory, page - 1), 0xaa);
    assert_eq!(peek(&memory, page), 0);
    assert_eq!(peek(&memory, bytes - page - 1), 0);
    assert_eq!(peek(&memory, bytes - 1), 0xaa);
    assert_eq!(memory.len_bytes(), bytes);
    // Still accessible: writing faults a fresh page in.
    poke(&memory, page, 7);
    assert_eq!(peek(&memory, page), 7);
    // A range of no whole page discards nothing.
    // SAFETY: as above.
    assert_eq!(unsafe { memory.discard_pages(1..page) }.unwrap(), 0);
}
