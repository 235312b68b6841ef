//! Issue 16: a pinned memory that starts from a copy-on-write image keeps
//! every accessible page locked, the image's included (locking a writable
//! private mapping gives the memory its own copy of each page), reads the
//! image, and keeps it through growth and relocation.

mod common;

use common::{can_pin, dynamic, locked_bytes_in, peek, poke};
use remap_memory::{LinearMemory, MemoryConfig, MemoryImage, PinBudget, WASM_PAGE_SIZE};
use std::sync::Arc;

const PAGE: u64 = WASM_PAGE_SIZE;

#[test]
fn a_pinned_image_memory_is_locked_and_keeps_its_image_when_it_moves() {
    if !can_pin(8 * PAGE) {
        return;
    }
    let data = vec![0x3cu8; PAGE as usize];
    let image = Arc::new(
        MemoryImage::new([(PAGE, data.as_slice())])
            .unwrap()
            .unwrap(),
    );
    let budget = PinBudget::new(8 * PAGE);
    let config = MemoryConfig {
        pinned: true,
        pin_budget: Some(budget.clone()),
        ..dynamic(2 * PAGE, 0, PAGE)
    };
    let memory = LinearMemory::with_image(config, Some(image.clone())).unwrap();
    let view = memory.view();
    let base = view.base as usize;
    assert_eq!(locked_bytes_in(base..base + view.len), 2 * PAGE);
    assert_eq!(budget.used(), 2 * PAGE);
    assert_eq!(memory.stats().pinned_bytes, 2 * PAGE);
    assert_eq!(peek(&memory, PAGE - 1), 0);
    assert_eq!(peek(&memory, PAGE), 0x3c);
    poke(&memory, PAGE, 0x99);

    memory.grow(2).unwrap();
    assert_eq!(memory.stats().relocations, 1);
    let view = memory.view();
    let base = view.base as usize;
    assert_eq!(locked_bytes_in(base..base + view.len), 4 * PAGE);
    assert_eq!(budget.used(), 4 * PAGE);
    assert_eq!(peek(&memory, PAGE), 0x99);
    assert_eq!(peek(&memory, PAGE + 1), 0x3c);
    assert_eq!(peek(&memory, 3 * PAGE), 0);

    drop(memory);
    assert_eq!(budget.used(), 0);
    let fresh = LinearMemory::with_image(dynamic(2 * PAGE, 0, PAGE), Some(image)).unwrap();
    assert_eq!(
        peek(&fresh, PAGE),
        0x3c,
        "the pinned memory's writes were its own"
    );
}
