//! A relocating memory of 64-bit size as a host sees it through a subscribed
//! notifier: after every relocation the view the notifier was handed equals
//! `view()`, the range it was told to drop was the old view, the written
//! bytes moved along, VmLck follows the pinned bytes, and the statistics are
//! exact.
//!
//! Pinning is of accessible pages, and locking several GiB is beyond any
//! usual `RLIMIT_MEMLOCK` (and would tie up that much RAM), so pinning is
//! tested with a memory whose base moves while it is small (at most 4 MiB
//! pinned), and growth past 4 GiB with an unpinned memory, sparsely touched.
//!
//! The tests read VmLck, so each takes `serial()`.

mod common;

use common::{can_pin, dynamic, locked_bytes_in, peek, poke, serial, status_bytes};
use remap_memory::{
    InvalidationNotifier, LinearMemory, MemoryConfig, MemoryStats, MemoryView, PinBudget,
    WASM_PAGE_SIZE,
};
use std::ops::Range;
use std::sync::{Arc, Mutex};

const PAGE: u64 = WASM_PAGE_SIZE;
const GIB: u64 = 1 << 30;

/// What a host caches: the memory's view, dropped at the start of every
/// change and replaced by the one the end hands over.
#[derive(Default)]
struct HostView {
    cached: Mutex<Option<MemoryView>>,
    /// The range of the last start notification.
    invalidated: Mutex<Option<Range<usize>>>,
    released: Mutex<bool>,
}

impl HostView {
    fn subscribe(memory: &LinearMemory) -> (Arc<HostView>, remap_memory::NotifierRegistration) {
        let host = Arc::new(HostView::default());
        let registration = memory.register_notifier(host.clone()).unwrap();
        *host.cached.lock().unwrap() = Some(memory.view());
        (host, registration)
    }

    fn cached(&self) -> Option<MemoryView> {
        *self.cached.lock().unwrap()
    }

    fn invalidated(&self) -> Option<Range<usize>> {
        self.invalidated.lock().unwrap().clone()
    }
}

impl InvalidationNotifier for HostView {
    fn invalidate_range_start(&self, range: Range<usize>) {
        *self.cached.lock().unwrap() = None;
        *self.invalidated.lock().unwrap() = Some(range);
    }
    fn invalidate_range_end(&self, _: Range<usize>, new_view: MemoryView) {
        *self.cached.lock().unwrap() = Some(new_view);
    }
    fn release(&self) {
        *self.released.lock().unwrap() = true;
    }
}

/// A dynamic memory of one page with no room, bounded only far past 4 GiB:
/// every growth past its size relocates.
fn memory64(pinned: bool, pin_budget: Option<PinBudget>) -> LinearMemory {
    LinearMemory::new(MemoryConfig {
        maximum_bytes: Some(1 << 40),
        pinned,
        pin_budget,
        ..dynamic(PAGE, 0, PAGE)
    })
    .unwrap()
}

/// One page past the memory's room: growing to it relocates.
fn past_the_room(memory: &LinearMemory) -> u64 {
    memory.capacity_bytes() + PAGE
}

/// Grows `memory` to `new_len` bytes, which must relocate it, writes a
/// marker at its new last byte, and checks what the host saw: the old view
/// invalidated, the new one handed over and equal to `view()`, every earlier
/// marker moved along. Returns the new view.
fn relocate_to(
    memory: &LinearMemory,
    host: &HostView,
    new_len: u64,
    markers: &mut Vec<(u64, u8)>,
) -> MemoryView {
    let old = memory.view();
    assert_eq!(host.cached(), Some(old));
    let relocations = memory.stats().relocations;
    memory.grow((new_len - old.len as u64) / PAGE).unwrap();
    let new = memory.view();
    assert_eq!(memory.stats().relocations, relocations + 1, "it relocated");
    assert_ne!(new.base, old.base);
    assert_eq!(new.len as u64, new_len);
    assert_eq!(host.cached(), Some(new), "the host's view is the memory's");
    assert_eq!(
        host.invalidated(),
        Some(old.range()),
        "the old view was dropped"
    );
    for &(offset, value) in markers.iter() {
        assert_eq!(peek(memory, offset), value, "byte at {offset:#x}");
    }
    let marker = (new_len - 1, markers.len() as u8 + 1);
    poke(memory, marker.0, marker.1);
    markers.push(marker);
    new
}

#[test]
fn a_pinned_memory_relocating_while_small_keeps_view_lock_and_stats_exact() {
    let _serial = serial();
    const MOST_PINNED: u64 = 64 * PAGE;
    if !can_pin(MOST_PINNED) {
        return;
    }
    let baseline = status_bytes("VmLck");
    let budget = PinBudget::new(MOST_PINNED);
    let memory = memory64(true, Some(budget.clone()));
    let (host, registration) = HostView::subscribe(&memory);
    let mut markers = vec![(0, 0xa0)];
    poke(&memory, 0, 0xa0);
    for moves in 1..=5 {
        let len = past_the_room(&memory);
        let view = relocate_to(&memory, &host, len, &mut markers);
        assert_eq!(
            memory.stats(),
            MemoryStats {
                committed_bytes: len,
                peak_committed_bytes: len,
                pinned_bytes: len,
                relocations: moves,
                grows: moves,
                ..memory.stats()
            }
        );
        assert_eq!(budget.used(), len);
        assert_eq!(
            status_bytes("VmLck"),
            baseline + len,
            "VmLck follows the pins"
        );
        assert_eq!(locked_bytes_in(view.range()), len, "locked where it now is");
    }
    assert!(memory.len_bytes() <= MOST_PINNED);
    drop(registration);
    drop(memory);
    assert_eq!(status_bytes("VmLck"), baseline, "unlocked on drop");
    assert_eq!(budget.used(), 0);
}

#[test]
fn an_unpinned_memory_relocating_past_4_gib_keeps_view_and_stats_exact() {
    let _serial = serial();
    let baseline = status_bytes("VmLck");
    let memory = memory64(false, None);
    let (host, _registration) = HostView::subscribe(&memory);
    let mut markers = vec![(0, 0xb0)];
    poke(&memory, 0, 0xb0);
    let sizes: [fn(&LinearMemory) -> u64; 3] = [|_| 2 * GIB, |_| 4 * GIB + PAGE, past_the_room];
    for (moves, size) in (1..).zip(sizes) {
        let len = size(&memory);
        relocate_to(&memory, &host, len, &mut markers);
        if len > 4 * GIB && markers.iter().all(|&(offset, _)| offset != 4 * GIB) {
            poke(&memory, 4 * GIB, 0xc0);
            markers.push((4 * GIB, 0xc0));
        }
        assert_eq!(
            memory.stats(),
            MemoryStats {
                committed_bytes: len,
                peak_committed_bytes: len,
                pinned_bytes: 0,
                relocations: moves,
                grows: moves,
                ..memory.stats()
            }
        );
        assert_eq!(status_bytes("VmLck"), baseline, "nothing is locked");
    }
    assert!(memory.len_bytes() > 8 * GIB);
    assert!(!*host.released.lock().unwrap());
    drop(memory);
    assert!(
        *host.released.lock().unwrap(),
        "the host hears the teardown"
    );
}
