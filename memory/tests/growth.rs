//! Issue 2, points 1 and 2: guarded reservations, growth in place and by relocation.

mod common;

use common::{
    dynamic, page_is_accessible, peak_resident_bytes, reset_peak_resident, resident_bytes, serial,
};
use remap_memory::{
    LinearMemory, MemoryConfig, MemoryError, MemoryStyle, RESERVATION_FLOOR, WASM_PAGE_SIZE,
    host_page_size,
};

const PAGE: u64 = WASM_PAGE_SIZE;

#[test]
fn static_memory_reserves_4_gib_plus_guard_and_never_moves() {
    let _serial = serial();
    let memory = LinearMemory::new(MemoryConfig {
        initial_bytes: PAGE,
        ..MemoryConfig::default()
    })
    .unwrap();
    let reservation = memory.reservation();
    let view = memory.view();
    assert!(reservation.start >= RESERVATION_FLOOR);
    // pre-guard (64 KiB) + 4 GiB + 4 GiB guard, plus room to align the base.
    let alignment_slack = (2 << 20) - host_page_size();
    assert_eq!(
        reservation.len(),
        64 * 1024 + alignment_slack + (8usize << 30)
    );
    let pre_guard = view.base as usize - reservation.start;
    assert!((64 * 1024..=64 * 1024 + alignment_slack).contains(&pre_guard));
    let post_guard = reservation.end - (view.base as usize + (4usize << 30));
    assert!(post_guard >= 4usize << 30);
    assert!(
        !page_is_accessible(reservation.start),
        "pre-guard is PROT_NONE"
    );
    assert!(!page_is_accessible(view.base as usize - 1));
    assert!(page_is_accessible(view.base as usize));
    assert!(!page_is_accessible(view.base as usize + PAGE as usize));
    assert_eq!(memory.grow(10).unwrap(), 1);
    assert_eq!(
        memory.view().base,
        view.base,
        "a static memory's base never moves"
    );
    assert_eq!(memory.size_pages(), 11);
    assert_eq!(memory.stats().relocations, 0);
}

#[test]
fn default_pre_guard_is_not_zero_and_is_page_rounded() {
    let _serial = serial();
    assert!(MemoryConfig::default().pre_guard_bytes > 0);
    let memory = LinearMemory::new(MemoryConfig {
        pre_guard_bytes: 1,
        ..dynamic(PAGE, 0, PAGE)
    })
    .unwrap();
    let base = memory.view().base as usize;
    assert!(base - memory.reservation().start >= host_page_size());
    assert!(
        !page_is_accessible(base - 1),
        "a one-byte pre-guard is a whole page"
    );
    assert_eq!(
        base % (2 << 20),
        0,
        "bases are aligned for page-table moves"
    );
}

#[test]
fn static_memory_cannot_outgrow_its_reservation() {
    let _serial = serial();
    let memory = LinearMemory::new(MemoryConfig {
        style: MemoryStyle::Static {
            reservation_bytes: 4 * PAGE,
            guard_bytes: PAGE,
        },
        initial_bytes: PAGE,
        ..MemoryConfig::default()
    })
    .unwrap();
    assert!(matches!(
        memory.grow(4),
        Err(MemoryError::ExceedsReservation { .. })
    ));
    assert_eq!(memory.size_pages(), 1);
    assert_eq!(memory.grow(3).unwrap(), 1);
}

#[test]
fn growth_in_place_changes_protection_only() {
    let _serial = serial();
    let memory = LinearMemory::new(dynamic(PAGE, 4 * PAGE, PAGE)).unwrap();
    let base = memory.view().base;
    assert_eq!(memory.grow(2).unwrap(), 1);
    let view = memory.view();
    assert_eq!(view.base, base);
    assert_eq!(view.len as u64, 3 * PAGE);
    // SAFETY: the view is accessible and this test owns the memory.
    let bytes = unsafe { std::slice::from_raw_parts_mut(view.base, view.len) };
    assert!(bytes.iter().all(|&b| b == 0), "new pages read as zero");
    bytes[view.len - 1] = 9;
    assert!(!page_is_accessible(view.base as usize + view.len));
    let stats = memory.stats();
    assert_eq!((stats.grows, stats.relocations), (1, 0));
}

#[test]
fn growth_past_the_maximum_or_limit_is_refused() {
    let _serial = serial();
    let memory = LinearMemory::new(MemoryConfig {
        maximum_bytes: Some(2 * PAGE),
        limit_bytes: Some(3 * PAGE),
        ..dynamic(PAGE, 8 * PAGE, PAGE)
    })
    .unwrap();
    assert!(matches!(
        memory.grow(2),
        Err(MemoryError::ExceedsMaximum {
            requested_bytes,
            maximum_bytes
        }) if requested_bytes == 3 * PAGE && maximum_bytes == 2 * PAGE
    ));
    assert_eq!(memory.grow(1).unwrap(), 1);
    let limited = LinearMemory::new(MemoryConfig {
        limit_bytes: Some(2 * PAGE),
        ..dynamic(PAGE, 8 * PAGE, PAGE)
    })
    .unwrap();
    assert!(matches!(
        limited.grow(2),
        Err(MemoryError::ExceedsLimit { .. })
    ));
    assert_eq!(limited.size_pages(), 1);
    assert_eq!(
        limited.grow(0).unwrap(),
        1,
        "growing by zero reports the size"
    );
}

#[test]
fn relocation_moves_pages_without_copying() {
    let _serial = serial();
    let pages = 256u64; // 16 MiB of written data
    let memory = LinearMemory::new(dynamic(pages * PAGE, 0, PAGE)).unwrap();
    let old = memory.view();
    // SAFETY: the view is accessible and this test owns the memory.
    let bytes = unsafe { std::slice::from_raw_parts_mut(old.base, old.len) };
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = (index % 251) as u8;
    }
    let resident_before = resident_bytes();
    reset_peak_resident();
    assert_eq!(memory.grow(pages).unwrap(), pages);
    // The peak, not the end state: a copy followed by unmapping the old
    // pages would end at the same size but pass through twice the data.
    let resident_after = peak_resident_bytes();
    let new = memory.view();
    assert_ne!(new.base, old.base, "the memory moved");
    assert_eq!(new.len as u64, 2 * pages * PAGE);
    // Not `!page_is_accessible(old.base)`: once the pages moved away,
    // libtest may map the next test thread's stack at that address.
    assert!(
        !memory.reservation().contains(&(old.base as usize)),
        "the old range left the reservation"
    );
    // SAFETY: the new view is accessible and this test owns the memory.
    let moved = unsafe { std::slice::from_raw_parts(new.base, new.len) };
    assert!(
        moved[..old.len]
            .iter()
            .enumerate()
            .all(|(index, &byte)| byte == (index % 251) as u8),
        "contents survived"
    );
    assert!(
        moved[old.len..].iter().all(|&b| b == 0),
        "new pages read as zero"
    );
    let data = pages * PAGE;
    assert!(
        resident_after < resident_before + data / 2,
        "peak resident size grew by {} bytes for {data} bytes moved: the data was copied",
        resident_after.saturating_sub(resident_before)
    );
    let stats = memory.stats();
    assert_eq!((stats.grows, stats.relocations), (1, 1));
    let reservation = memory.reservation();
    assert!(reservation.start >= RESERVATION_FLOOR);
    assert!(
        reservation.start < new.base as usize,
        "the new reservation has a pre-guard"
    );
    assert!(
        !page_is_accessible(new.base as usize + new.len),
        "and a post-guard"
    );
}

#[test]
fn relocation_of_an_empty_memory_works() {
    let _serial = serial();
    let memory = LinearMemory::new(dynamic(0, 0, PAGE)).unwrap();
    assert_eq!(memory.grow(1).unwrap(), 0);
    assert_eq!(memory.len_bytes(), PAGE);
    // SAFETY: the first page is accessible.
    unsafe { *memory.view().base = 1 };
}

#[test]
fn repeated_growth_relocates_logarithmically() {
    let _serial = serial();
    let memory = LinearMemory::new(dynamic(PAGE, 0, PAGE)).unwrap();
    for _ in 0..63 {
        memory.grow(1).unwrap();
    }
    assert_eq!(memory.size_pages(), 64);
    let stats = memory.stats();
    assert_eq!(stats.grows, 63);
    assert!(stats.relocations <= 7, "{} relocations", stats.relocations);
}

#[test]
fn relocation_respects_the_maximum_when_sizing_room() {
    let _serial = serial();
    let memory = LinearMemory::new(MemoryConfig {
        maximum_bytes: Some(3 * PAGE),
        ..dynamic(PAGE, 0, PAGE)
    })
    .unwrap();
    memory.grow(1).unwrap();
    assert_eq!(memory.capacity_bytes(), 3 * PAGE);
}
