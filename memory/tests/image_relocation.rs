//! Issue 16: a memory that starts from a copy-on-write image relocates with
//! `mremap` like any other (one move per kernel mapping: the image's runs
//! are private file mappings between anonymous ones), keeping both the
//! image's bytes and its own writes, while another memory mapping the same
//! image still reads the image.

mod common;

use common::{dynamic, peek, poke};
use remap_memory::fault_injection;
use remap_memory::{LinearMemory, MemoryImage, Syscall, WASM_PAGE_SIZE};
use std::sync::Arc;

const PAGE: u64 = WASM_PAGE_SIZE;

#[test]
fn an_image_memory_relocates_with_its_image_and_its_writes() {
    let head = vec![0x11u8; 100];
    let far = vec![0x22u8; 3000];
    // Two runs far apart: two file mappings with an anonymous gap between.
    let image = Arc::new(
        MemoryImage::new([(5, head.as_slice()), (3 * PAGE + 7, far.as_slice())])
            .unwrap()
            .unwrap(),
    );
    assert_eq!(image.ranges().len(), 2);
    let memory = LinearMemory::with_image(dynamic(4 * PAGE, 0, PAGE), Some(image.clone())).unwrap();
    let neighbour =
        LinearMemory::with_image(dynamic(4 * PAGE, 0, PAGE), Some(image.clone())).unwrap();
    assert!(Arc::ptr_eq(&memory.image().unwrap(), &image));

    assert_eq!(peek(&memory, 4), 0);
    assert_eq!(peek(&memory, 5), 0x11);
    assert_eq!(peek(&memory, 104), 0x11);
    assert_eq!(peek(&memory, 105), 0);
    assert_eq!(peek(&memory, 2 * PAGE), 0, "between the runs: zero");
    assert_eq!(peek(&memory, 3 * PAGE + 7), 0x22);
    poke(&memory, 6, 0xaa); // a private copy of an image page
    poke(&memory, 2 * PAGE, 0xbb); // an anonymous page between the runs
    poke(&memory, 3 * PAGE + 8, 0xcc);

    let before = memory.view().base;
    let record = fault_injection::record();
    assert_eq!(memory.grow(4).unwrap(), 4, "no room: the pages move");
    let moves = fault_injection::calls()
        .into_iter()
        .filter(|&call| call == Syscall::Mremap)
        .count();
    drop(record);
    let mut bounds: Vec<usize> = image
        .ranges()
        .iter()
        .flat_map(|run| [run.start, run.end])
        .chain([0, 4 * PAGE as usize])
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    assert_eq!(
        moves,
        bounds.len() - 1,
        "one move per mapping: runs and the gaps around them"
    );
    assert_ne!(memory.view().base, before);
    assert_eq!(memory.stats().relocations, 1);
    assert_eq!(peek(&memory, 5), 0x11);
    assert_eq!(peek(&memory, 6), 0xaa);
    assert_eq!(peek(&memory, 7), 0x11);
    assert_eq!(peek(&memory, 2 * PAGE), 0xbb);
    assert_eq!(peek(&memory, 3 * PAGE + 7), 0x22);
    assert_eq!(peek(&memory, 3 * PAGE + 8), 0xcc);
    assert_eq!(peek(&memory, 3 * PAGE + 3007), 0);
    for offset in [4 * PAGE, 6 * PAGE, 8 * PAGE - 1] {
        assert_eq!(peek(&memory, offset), 0, "grown pages read as zero");
    }

    // Again, now that the moved pages are mappings of their own.
    assert_eq!(memory.grow(16).unwrap(), 8);
    assert_eq!(memory.stats().relocations, 2);
    assert_eq!(peek(&memory, 6), 0xaa);
    assert_eq!(peek(&memory, 3 * PAGE + 9), 0x22);

    for offset in [5, 6, 3 * PAGE + 7, 3 * PAGE + 8] {
        let expected = if offset < PAGE { 0x11 } else { 0x22 };
        assert_eq!(
            peek(&neighbour, offset),
            expected,
            "the image never changes"
        );
    }
    assert_eq!(peek(&neighbour, 2 * PAGE), 0);
}
