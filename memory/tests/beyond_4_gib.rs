//! Memory64 sizes: a dynamic memory grown past 4 GiB and written sparsely
//! (its first and last byte, the bytes either side of 4 GiB) keeps those
//! bytes through a relocation, reads zero everywhere else, and stays sparse:
//! only the touched pages ever become resident, during the move too.
//!
//! The tests read VmRSS/VmHWM and look at addresses, so each takes `serial()`.

mod common;

use common::{
    dynamic, page_is_accessible, peak_resident_bytes, peek, poke, reset_peak_resident,
    resident_bytes, serial,
};
use remap_memory::{LinearMemory, MemoryConfig, MemoryStats, WASM_PAGE_SIZE};

const PAGE: u64 = WASM_PAGE_SIZE;
const FOUR_GIB: u64 = 1 << 32;
/// Resident growth allowed for a handful of touched pages and the page
/// tables above them: a copy of even one GiB would exceed it many times over.
const SPARSE_SLACK: u64 = 64 << 20;

/// A 64-bit-sized memory: no maximum below 4 GiB, a small reservation.
fn memory64(initial: u64, reserve: u64) -> LinearMemory {
    LinearMemory::new(MemoryConfig {
        maximum_bytes: Some(1 << 40),
        ..dynamic(initial, reserve, PAGE)
    })
    .unwrap()
}

/// Writes each `(offset, value)` after checking the byte read as zero.
fn write_probes(memory: &LinearMemory, probes: &[(u64, u8)]) {
    for &(offset, value) in probes {
        assert_eq!(peek(memory, offset), 0, "fresh byte at {offset:#x}");
        poke(memory, offset, value);
    }
}

fn assert_probes(memory: &LinearMemory, probes: &[(u64, u8)]) {
    for &(offset, value) in probes {
        assert_eq!(peek(memory, offset), value, "byte at {offset:#x}");
    }
}

#[test]
fn sparse_bytes_past_4_gib_survive_a_relocation_and_stay_sparse() {
    let _serial = serial();
    let resident_before = resident_bytes();
    let memory = memory64(PAGE, PAGE);
    // From a two-page reservation straight past 4 GiB: a relocation.
    assert_eq!(memory.grow(FOUR_GIB / PAGE).unwrap(), 1);
    let len = FOUR_GIB + PAGE;
    assert_eq!(memory.len_bytes(), len);
    assert_eq!(memory.size_pages(), len / PAGE);
    assert_eq!(memory.stats().relocations, 1);
    let probes = [
        (0, 0x11),
        (FOUR_GIB - 1, 0x22),
        (FOUR_GIB, 0x33),
        (len - 1, 0x44),
    ];
    write_probes(&memory, &probes);

    // One page past the room: the 4 GiB of pages move again.
    let old = memory.view();
    let capacity = memory.capacity_bytes();
    assert!(capacity > len && capacity.is_multiple_of(PAGE));
    let new_len = capacity + PAGE;
    reset_peak_resident();
    let resident_at_move = resident_bytes();
    assert_eq!(memory.grow((new_len - len) / PAGE).unwrap(), len / PAGE);
    let peak_during_move = peak_resident_bytes();

    let new = memory.view();
    assert_ne!(new.base, old.base, "the memory moved");
    assert_eq!(memory.len_bytes(), new_len);
    // Not `!page_is_accessible(old.base)`: once the pages moved away,
    // libtest may map the next test thread's stack at that address.
    assert!(
        !memory.reservation().contains(&(old.base as usize)),
        "the old range left the reservation"
    );
    assert_probes(&memory, &probes);
    for offset in [len, (len + new_len) / 2, new_len - 1] {
        assert_eq!(peek(&memory, offset), 0, "new byte at {offset:#x}");
    }
    poke(&memory, new_len - 1, 0x55);
    let end = new.base as usize + new.len;
    assert!(page_is_accessible(end - 1));
    assert!(
        !page_is_accessible(end),
        "the post-guard follows the memory"
    );
    assert_eq!(
        memory.stats(),
        MemoryStats {
            committed_bytes: new_len,
            peak_committed_bytes: new_len,
            pinned_bytes: 0,
            relocations: 2,
            grows: 2,
            ..memory.stats()
        }
    );
    assert!(
        peak_during_move < resident_at_move + SPARSE_SLACK,
        "moving {len} bytes raised the peak resident size by {} bytes",
        peak_during_move.saturating_sub(resident_at_move)
    );
    assert!(
        resident_bytes() < resident_before + SPARSE_SLACK,
        "{} bytes resident for a few touched pages",
        resident_bytes().saturating_sub(resident_before)
    );
}

#[test]
fn growth_in_place_past_4_gib_reaches_the_byte_at_4_gib() {
    let _serial = serial();
    let resident_before = resident_bytes();
    let memory = memory64(PAGE, FOUR_GIB + PAGE);
    let base = memory.view().base;
    assert_eq!(memory.grow(FOUR_GIB / PAGE + 1).unwrap(), 1);
    assert_eq!(memory.view().base, base, "the room sufficed: no move");
    assert_eq!(memory.stats().relocations, 0);
    let len = FOUR_GIB + 2 * PAGE;
    assert_eq!(memory.len_bytes(), len);
    write_probes(&memory, &[(FOUR_GIB, 0x66), (len - 1, 0x77)]);
    assert_eq!(peek(&memory, FOUR_GIB - 1), 0);
    assert!(!page_is_accessible(base as usize + len as usize));
    assert!(resident_bytes() < resident_before + SPARSE_SLACK);
}
