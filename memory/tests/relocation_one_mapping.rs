//! Issue 19, point 2: a memory that relocates (and grows in place) many
//! times stays one kernel mapping, with its data intact.

mod common;

use common::{dynamic, page_is_accessible};
use remap_memory::{LinearMemory, MemoryConfig, host_page_size};

const RELOCATIONS: u64 = 20;

/// The /proc/self/maps lines that overlap `[start, end)`.
fn mappings_overlapping(start: usize, end: usize) -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|line| {
            let range = line.split_whitespace().next().unwrap();
            let (first, last) = range.split_once('-').unwrap();
            let first = usize::from_str_radix(first, 16).unwrap();
            let last = usize::from_str_radix(last, 16).unwrap();
            first < end && start < last
        })
        .map(str::to_owned)
        .collect()
}

/// The byte written at the start and end of the `index`-th grown range.
fn marker(index: usize) -> u8 {
    (index % 250) as u8 + 1
}

#[test]
fn a_memory_relocated_20_times_is_one_kernel_mapping() {
    let page = host_page_size() as u64;
    let memory = LinearMemory::new(MemoryConfig {
        page_size: page,
        ..dynamic(page, 0, page)
    })
    .unwrap();
    // Every grown range, as offsets, with the marker written at both ends.
    let mut grown: Vec<(usize, usize)> = vec![(0, page as usize)];
    let write_markers = |range: (usize, usize), index: usize| {
        let view = memory.view();
        // SAFETY: the range is inside the accessible view, and only this
        // test uses the memory.
        unsafe {
            *view.base.add(range.0) = marker(index);
            *view.base.add(range.1 - 1) = marker(index);
        }
    };
    write_markers(grown[0], 0);
    let mut grow = |delta_pages: u64| {
        let start = memory.len_bytes() as usize;
        memory.grow(delta_pages).unwrap();
        let range = (start, memory.len_bytes() as usize);
        grown.push(range);
        write_markers(range, grown.len() - 1);
    };
    for relocation in 1..=RELOCATIONS {
        // Past the room: relocates. Then a page in place, into the room
        // the relocation left.
        let room = (memory.capacity_bytes() - memory.len_bytes()) / page;
        grow(room + 1);
        assert_eq!(memory.stats().relocations, relocation);
        grow(1);
        assert_eq!(memory.stats().relocations, relocation);
        let view = memory.view();
        let (start, end) = (view.base as usize, view.base as usize + view.len);
        let mappings = mappings_overlapping(start, end);
        assert_eq!(
            mappings.len(),
            1,
            "after {relocation} relocations the accessible bytes are one mapping: {mappings:#?}"
        );
        assert!(page_is_accessible(end - 1));
        assert!(!page_is_accessible(end), "the room past the size is closed");
    }
    let view = memory.view();
    for (index, &(start, end)) in grown.iter().enumerate() {
        // SAFETY: every grown range is inside the accessible view.
        let (first, last) = unsafe { (*view.base.add(start), *view.base.add(end - 1)) };
        assert_eq!(
            (first, last),
            (marker(index), marker(index)),
            "range {index} survived"
        );
        if end - start > 2 {
            // SAFETY: as above.
            let inside = unsafe { *view.base.add(start + 1) };
            assert_eq!(inside, 0, "untouched bytes of range {index} read as zero");
        }
    }
}
