//! Issue 16: resetting a memory that starts from a copy-on-write image
//! brings its image back (not zero) and zero everywhere else, unpinned
//! through `MADV_DONTNEED` (which restores a private file mapping's pages
//! from the file) and pinned by reading the image in place; a reset that
//! would leave part of the image inaccessible is refused.

mod common;

use common::{can_pin, dynamic, peek, poke, resident_bytes};
use remap_memory::{LinearMemory, MemoryConfig, MemoryError, MemoryImage, WASM_PAGE_SIZE};
use std::sync::Arc;

const PAGE: u64 = WASM_PAGE_SIZE;

fn image() -> Arc<MemoryImage> {
    let data: Vec<u8> = (0..2 * PAGE).map(|i| (i % 251) as u8 + 1).collect();
    Arc::new(
        MemoryImage::new([(PAGE, data.as_slice())])
            .unwrap()
            .unwrap(),
    )
}

fn scribble_and_reset(memory: &LinearMemory) {
    for offset in [0, PAGE, PAGE + 77, 3 * PAGE - 1, 3 * PAGE] {
        poke(memory, offset, 0xee);
    }
    memory.grow(2).unwrap();
    poke(memory, 5 * PAGE, 0xee);
    memory.reset(4).unwrap();
    assert_eq!(memory.size_pages(), 4);
    assert_eq!(peek(memory, 0), 0);
    assert_eq!(peek(memory, PAGE), 1);
    assert_eq!(peek(memory, PAGE + 77), 78);
    assert_eq!(peek(memory, 3 * PAGE - 1), ((2 * PAGE - 1) % 251) as u8 + 1);
    assert_eq!(peek(memory, 3 * PAGE), 0);
    memory.grow(2).unwrap();
    assert_eq!(
        peek(memory, 5 * PAGE),
        0,
        "pages grown after a reset read as zero"
    );
}

#[test]
fn an_unpinned_reset_restores_the_image() {
    let memory =
        LinearMemory::with_image(dynamic(4 * PAGE, 4 * PAGE, PAGE), Some(image())).unwrap();
    scribble_and_reset(&memory);
}

#[test]
fn a_pinned_reset_restores_the_image() {
    if !can_pin(8 * PAGE) {
        return;
    }
    let config = MemoryConfig {
        pinned: true,
        ..dynamic(4 * PAGE, 4 * PAGE, PAGE)
    };
    let memory = LinearMemory::with_image(config, Some(image())).unwrap();
    scribble_and_reset(&memory);
}

#[test]
fn a_reset_below_the_image_is_refused_and_changes_nothing() {
    let memory = LinearMemory::with_image(dynamic(4 * PAGE, 0, PAGE), Some(image())).unwrap();
    poke(&memory, PAGE, 0xee);
    let error = memory.reset(2).unwrap_err();
    assert!(matches!(error, MemoryError::InvalidConfig(_)), "{error}");
    assert!(error.to_string().contains("cannot be reset"), "{error}");
    assert_eq!(memory.size_pages(), 4);
    assert_eq!(peek(&memory, PAGE), 0xee);
}

#[test]
fn a_reset_gives_back_the_private_copies() {
    let data = vec![7u8; 64 * PAGE as usize]; // 4 MiB
    let image = Arc::new(MemoryImage::new([(0, data.as_slice())]).unwrap().unwrap());
    let memory = LinearMemory::with_image(dynamic(64 * PAGE, 0, PAGE), Some(image)).unwrap();
    let view = memory.view();
    // SAFETY: the view is accessible and only this test uses the memory.
    unsafe { std::ptr::write_bytes(view.base, 9, view.len) };
    let before = resident_bytes();
    memory.reset(64).unwrap();
    let after = resident_bytes();
    assert!(
        before >= after + 3 * 1024 * 1024,
        "the written copies are released: {before} -> {after}"
    );
    assert_eq!(peek(&memory, 12345), 7);
}
