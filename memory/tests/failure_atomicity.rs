//! Issue 2, point 8: checked arithmetic, and failures (injected into the
//! system-call layer) that leave contents, protection, notifier state and
//! accounting exactly as before.

mod common;

use common::{dynamic, page_is_accessible, protection_at};
use remap_memory::fault_injection;
use remap_memory::{
    Accounting, InvalidationNotifier, LinearMemory, MemoryConfig, MemoryError, MemoryStats,
    MemoryStyle, MemoryView, Syscall, WASM_PAGE_SIZE,
};
use std::ops::Range;
use std::sync::{Arc, Mutex};

const PAGE: u64 = WASM_PAGE_SIZE;

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(&'static str, MemoryView)>>,
}

impl InvalidationNotifier for Recorder {
    fn invalidate_range_start(&self, _: Range<usize>) {
        self.events
            .lock()
            .unwrap()
            .push(("start", MemoryView::EMPTY));
    }
    fn invalidate_range_end(&self, _: Range<usize>, view: MemoryView) {
        self.events.lock().unwrap().push(("end", view));
    }
    fn release(&self) {
        self.events
            .lock()
            .unwrap()
            .push(("release", MemoryView::EMPTY));
    }
}

/// Everything observable about a memory that a failed operation must not change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    view: MemoryView,
    reservation: Range<usize>,
    capacity: u64,
    stats: MemoryStats,
    owner: MemoryStats,
    checksum: u64,
    first_inaccessible: Option<String>,
}

fn snapshot(memory: &LinearMemory, owner: &Accounting) -> Snapshot {
    let view = memory.view();
    // SAFETY: the view is accessible; only this test uses the memory.
    let bytes = unsafe { std::slice::from_raw_parts(view.base, view.len) };
    let mut stats = memory.stats();
    let mut owner = owner.stats();
    // Protection calls are attempts, not state: a failed attempt is counted.
    for s in [&mut stats, &mut owner] {
        s.protection_calls_requested = 0;
        s.protection_calls_issued = 0;
    }
    Snapshot {
        view,
        reservation: memory.reservation(),
        capacity: memory.capacity_bytes(),
        stats,
        owner,
        checksum: bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| (i as u64 + 1) * b as u64)
            .sum(),
        first_inaccessible: protection_at(view.base as usize + view.len),
    }
}

fn filled_memory(config: MemoryConfig) -> (LinearMemory, Accounting, Arc<Recorder>) {
    let owner = Accounting::new();
    let memory = LinearMemory::new(MemoryConfig {
        accounting: Some(owner.clone()),
        ..config
    })
    .unwrap();
    let view = memory.view();
    // SAFETY: the view is accessible; only this test uses the memory.
    let bytes = unsafe { std::slice::from_raw_parts_mut(view.base, view.len) };
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = (index * 7 % 256) as u8;
    }
    (memory, owner, Arc::new(Recorder::default()))
}

/// Runs `operation` with `call` failing (after `skip` successful calls) and
/// checks the memory is exactly as before and subscribers saw a closed bracket.
fn assert_atomic_failure(
    config: MemoryConfig,
    call: Syscall,
    skip: u32,
    operation: impl Fn(&LinearMemory) -> Result<(), MemoryError>,
) -> MemoryError {
    let (memory, owner, recorder) = filled_memory(config);
    let _registration = memory.register_notifier(recorder.clone()).unwrap();
    let before = snapshot(&memory, &owner);
    let error = {
        let _fault = fault_injection::fail(call, skip, libc::ENOMEM);
        let error = operation(&memory).unwrap_err();
        assert!(
            !fault_injection::pending(),
            "the injected {call} fault was not reached"
        );
        error
    };
    assert_eq!(
        snapshot(&memory, &owner),
        before,
        "after {call} failed: {error}"
    );
    let sequence = memory.read_begin();
    assert!(
        !memory.read_retry(sequence),
        "no invalidation left in progress"
    );
    let events = recorder.events.lock().unwrap().clone();
    assert!(
        events.is_empty()
            || (events.len() == 2 && events[0].0 == "start" && events[1] == ("end", before.view)),
        "subscribers saw {events:?}"
    );
    // The memory still works after the failure.
    operation(&memory).unwrap();
    error
}

#[test]
fn failed_in_place_growth_changes_nothing() {
    let error = assert_atomic_failure(
        dynamic(2 * PAGE, 8 * PAGE, PAGE),
        Syscall::Mprotect,
        0,
        |m| m.grow(3).map(drop),
    );
    assert!(matches!(
        error,
        MemoryError::SyscallFailed {
            call: Syscall::Mprotect,
            ..
        }
    ));
}

#[test]
fn relocation_failing_at_each_step_changes_nothing() {
    for (call, expected) in [
        (Syscall::Mmap, "could not reserve"),
        (Syscall::Mprotect, "mprotect failed"),
        (Syscall::Mremap, "mremap failed"),
    ] {
        let error =
            assert_atomic_failure(dynamic(4 * PAGE, 0, PAGE), call, 0, |m| m.grow(4).map(drop));
        assert!(error.to_string().contains(expected), "{call}: {error}");
    }
}

/// The system calls of a failed relocation: reserve, try to move the pages
/// and extend them over the new room, try to take the destination back (the
/// failed call may have unmapped it; here it did not, so that is refused),
/// then unmap the new reservation around the destination, never the
/// destination itself, which another thread may have mapped into.
const FAILED_RELOCATION_CALLS: [Syscall; 5] = [
    Syscall::Mmap,
    Syscall::Mremap,
    Syscall::Mmap,
    Syscall::Munmap,
    Syscall::Munmap,
];

/// The system calls of a relocation: reserve, move the pages and extend
/// their mapping over the new room with one `mremap` (never a copy), close
/// the room past the new size, then unmap the old reservation around the
/// hole the move left (before it and after it), never the hole itself,
/// which another thread may have mapped into since.
const RELOCATION_CALLS: [Syscall; 5] = [
    Syscall::Mmap,
    Syscall::Mremap,
    Syscall::Mprotect,
    Syscall::Munmap,
    Syscall::Munmap,
];

#[test]
fn a_failed_relocation_unmaps_the_new_reservation() {
    let (memory, _owner, _) = filled_memory(dynamic(PAGE, 0, PAGE));
    let _record = fault_injection::record();
    let _fault = fault_injection::fail(Syscall::Mremap, 0, libc::ENOMEM);
    memory.grow(1).unwrap_err();
    assert_eq!(
        fault_injection::calls(),
        FAILED_RELOCATION_CALLS,
        "the failed move is followed by unmapping the new reservation"
    );
}

#[test]
fn relocation_issues_no_copy_only_one_mremap() {
    let (memory, _owner, _) = filled_memory(dynamic(4 * PAGE, 0, PAGE));
    let _record = fault_injection::record();
    memory.grow(4).unwrap();
    assert_eq!(
        fault_injection::calls(),
        RELOCATION_CALLS,
        "the move is followed by unmapping the old reservation around the hole"
    );
}

/// Fills the new tail of a memory that just relocated, and grows it once
/// more in place, so that its pages were made accessible three ways: the
/// moved ones, the tail the move extended them by, the page grown after.
fn relocated_with_data_in_every_part() -> (LinearMemory, Accounting, Arc<Recorder>) {
    let (memory, owner, recorder) = filled_memory(dynamic(4 * PAGE, 0, PAGE));
    memory.grow(3).unwrap();
    memory.grow(1).unwrap();
    assert_eq!(memory.stats().relocations, 1);
    let view = memory.view();
    // SAFETY: the view is accessible; only this test uses the memory.
    let bytes = unsafe { std::slice::from_raw_parts_mut(view.base, view.len) };
    for (index, byte) in bytes.iter_mut().enumerate().skip(4 * PAGE as usize) {
        *byte = (index * 13 % 256) as u8;
    }
    (memory, owner, recorder)
}

#[test]
fn a_second_relocation_moves_one_mapping_and_keeps_contents() {
    let (memory, _owner, _) = relocated_with_data_in_every_part();
    let capacity_pages = memory.capacity_bytes() / PAGE;
    let _record = fault_injection::record();
    memory.grow(capacity_pages).unwrap();
    assert_eq!(memory.stats().relocations, 2);
    let moves = fault_injection::calls()
        .into_iter()
        .filter(|&call| call == Syscall::Mremap)
        .count();
    assert_eq!(
        moves, 1,
        "the pages grown in place merged into the moved mapping"
    );
    let view = memory.view();
    // SAFETY: the view is accessible; only this test uses the memory.
    let bytes = unsafe { std::slice::from_raw_parts(view.base, view.len) };
    let (moved_twice, rest) = bytes.split_at(4 * PAGE as usize);
    let (moved_once, new_tail) = rest.split_at(4 * PAGE as usize);
    assert!(
        moved_twice
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i * 7 % 256) as u8)
    );
    assert!(
        moved_once
            .iter()
            .enumerate()
            .all(|(i, &b)| b == ((i + 4 * PAGE as usize) * 13 % 256) as u8)
    );
    assert!(new_tail.iter().all(|&b| b == 0), "new pages read as zero");
}

#[test]
fn a_relocation_failing_to_close_the_room_moves_the_pages_back() {
    let (memory, owner, recorder) = relocated_with_data_in_every_part();
    let _registration = memory.register_notifier(recorder.clone()).unwrap();
    let capacity_pages = memory.capacity_bytes() / PAGE;
    let before = snapshot(&memory, &owner);
    {
        // The pages move, the room past the new size cannot be closed: they
        // must come back.
        let _record = fault_injection::record();
        let _fault = fault_injection::fail(Syscall::Mprotect, 0, libc::ENOMEM);
        let error = memory.grow(capacity_pages).unwrap_err();
        assert!(error.to_string().contains("mprotect failed"), "{error}");
        assert!(!fault_injection::pending());
        let moves = fault_injection::calls()
            .into_iter()
            .filter(|&call| call == Syscall::Mremap)
            .count();
        assert_eq!(moves, 2, "moved there and back");
    }
    assert_eq!(snapshot(&memory, &owner), before);
    assert!(page_is_accessible(before.view.base as usize));
    let events = recorder.events.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], ("end", before.view));
    memory.grow(capacity_pages).unwrap();
    assert_eq!(memory.stats().relocations, 2);
}

#[test]
fn failed_reset_changes_nothing() {
    for call in [Syscall::Mprotect, Syscall::Madvise] {
        // Shrinking and growing resets, each failing at either step.
        assert_atomic_failure(dynamic(3 * PAGE, 4 * PAGE, PAGE), call, 0, |m| m.reset(1));
        assert_atomic_failure(dynamic(PAGE, 4 * PAGE, PAGE), call, 0, |m| m.reset(3));
    }
}

#[test]
fn failed_reset_to_a_smaller_size_keeps_contents_and_protection() {
    let (memory, owner, _) = filled_memory(dynamic(4 * PAGE, 0, PAGE));
    let before = snapshot(&memory, &owner);
    let _fault = fault_injection::fail(Syscall::Madvise, 0, libc::EINVAL);
    assert!(matches!(
        memory.reset(1),
        Err(MemoryError::SyscallFailed {
            call: Syscall::Madvise,
            ..
        })
    ));
    assert_eq!(snapshot(&memory, &owner), before);
    assert!(page_is_accessible(
        before.view.base as usize + 3 * PAGE as usize
    ));
}

#[test]
fn huge_deltas_are_refused_without_wrapping() {
    let memory = LinearMemory::new(dynamic(PAGE, 0, PAGE)).unwrap();
    let view = memory.view();
    for delta in [u64::MAX, u64::MAX / PAGE, u64::MAX / PAGE + 1, 1 << 48] {
        assert!(
            matches!(memory.grow(delta), Err(MemoryError::Overflow { .. })),
            "grow({delta})"
        );
        assert_eq!(memory.view(), view);
    }
    // Representable but far beyond any address space: the reservation fails.
    assert!(matches!(
        memory.grow(1 << 40),
        Err(MemoryError::MapFailed { .. })
    ));
    assert!(matches!(
        memory.reset(u64::MAX),
        Err(MemoryError::Overflow { .. })
    ));
    assert_eq!(memory.view(), view);
    assert_eq!(memory.stats().grows, 0);

    let static_memory = LinearMemory::new(MemoryConfig {
        style: MemoryStyle::Static {
            reservation_bytes: 4 * PAGE,
            guard_bytes: PAGE,
        },
        ..MemoryConfig::default()
    })
    .unwrap();
    assert!(matches!(
        static_memory.grow(u64::MAX),
        Err(MemoryError::Overflow { .. })
    ));
    assert!(matches!(
        static_memory.grow(1 << 20),
        Err(MemoryError::ExceedsReservation { .. })
    ));
}

#[test]
fn bad_configurations_are_errors() {
    let cases = [
        MemoryConfig {
            page_size: 0,
            ..MemoryConfig::default()
        },
        MemoryConfig {
            initial_bytes: PAGE + 1,
            ..MemoryConfig::default()
        },
        MemoryConfig {
            initial_bytes: 2 * PAGE,
            maximum_bytes: Some(PAGE),
            ..MemoryConfig::default()
        },
        MemoryConfig {
            style: MemoryStyle::Static {
                reservation_bytes: PAGE,
                guard_bytes: 0,
            },
            initial_bytes: 2 * PAGE,
            ..MemoryConfig::default()
        },
        MemoryConfig {
            style: MemoryStyle::Dynamic {
                reserve_bytes: u64::MAX,
                guard_bytes: 0,
            },
            initial_bytes: PAGE,
            ..MemoryConfig::default()
        },
        MemoryConfig {
            pre_guard_bytes: u64::MAX,
            ..MemoryConfig::default()
        },
    ];
    for config in cases {
        let error = LinearMemory::new(config.clone()).unwrap_err();
        assert!(!error.to_string().is_empty(), "{config:?}");
    }
}

#[test]
fn a_failed_initial_commit_is_an_error_and_leaks_nothing() {
    let owner = Accounting::new();
    let _record = fault_injection::record();
    let _fault = fault_injection::fail(Syscall::Mprotect, 0, libc::ENOMEM);
    let error = LinearMemory::new(MemoryConfig {
        accounting: Some(owner.clone()),
        ..dynamic(PAGE, 0, PAGE)
    })
    .unwrap_err();
    assert!(matches!(
        error,
        MemoryError::SyscallFailed {
            call: Syscall::Mprotect,
            ..
        }
    ));
    assert_eq!(fault_injection::calls().last(), Some(&Syscall::Munmap));
    assert_eq!(owner.stats().committed_bytes, 0);
}
