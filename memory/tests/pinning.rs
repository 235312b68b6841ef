//! Issue 2, point 3: pinning with mlock, the shared budget, typed failures,
//! and the lock following the pages on relocation (checked with VmLck).
//!
//! VmLck is per process, so the tests that read it take `SERIAL`. The
//! RLIMIT_MEMLOCK tests run in a child process, because they drop the
//! process's CAP_IPC_LOCK and lower its limit for good.

mod common;

use common::{
    can_pin, dynamic, in_child, locked_bytes_in, page_is_accessible, pinning_unavailable,
    status_bytes,
};
use remap_memory::fault_injection;
use remap_memory::{
    LinearMemory, MemoryConfig, MemoryError, PinBudget, PinFailure, Syscall, WASM_PAGE_SIZE,
    memlock_limit,
};
use std::sync::Mutex;

const PAGE: u64 = WASM_PAGE_SIZE;
/// The most any test here pins at once: far below the 8 MiB default RLIMIT_MEMLOCK.
const MOST_PINNED: u64 = 16 * PAGE;

static SERIAL: Mutex<()> = Mutex::new(());

fn pinned(initial: u64, reserve: u64, budget: Option<PinBudget>) -> MemoryConfig {
    MemoryConfig {
        pinned: true,
        pin_budget: budget,
        ..dynamic(initial, reserve, PAGE)
    }
}

#[test]
fn pinned_memory_stays_locked_through_growth_relocation_and_drop() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_pin(MOST_PINNED) {
        return;
    }
    let baseline = status_bytes("VmLck");
    let budget = PinBudget::new(MOST_PINNED);
    let memory = LinearMemory::new(pinned(2 * PAGE, 2 * PAGE, Some(budget.clone()))).unwrap();
    assert!(memory.is_pinned());
    assert_eq!(
        status_bytes("VmLck"),
        baseline + 2 * PAGE,
        "locked at creation"
    );
    assert_eq!(budget.used(), 2 * PAGE);

    memory.grow(2).unwrap(); // in place
    assert_eq!(memory.stats().relocations, 0);
    assert_eq!(
        status_bytes("VmLck"),
        baseline + 4 * PAGE,
        "new pages locked"
    );

    let view = memory.view();
    // SAFETY: the view is accessible and owned by this test.
    unsafe { std::ptr::write_bytes(view.base, 0x5a, view.len) };
    memory.grow(4).unwrap(); // past the room: relocation
    let moved = memory.view();
    assert_eq!(memory.stats().relocations, 1);
    assert_ne!(moved.base, view.base);
    assert_eq!(
        status_bytes("VmLck"),
        baseline + 8 * PAGE,
        "the lock moved with the pages and the new ones are locked"
    );
    assert_eq!(locked_bytes_in(moved.range()), 8 * PAGE);
    // SAFETY: the moved view is accessible.
    let bytes = unsafe { std::slice::from_raw_parts(moved.base, moved.len) };
    assert!(bytes[..view.len].iter().all(|&b| b == 0x5a));
    assert!(bytes[view.len..].iter().all(|&b| b == 0));
    assert_eq!(budget.used(), 8 * PAGE);
    assert_eq!(memory.stats().pinned_bytes, 8 * PAGE);

    drop(memory);
    assert_eq!(status_bytes("VmLck"), baseline, "unlocked on drop");
    assert_eq!(budget.used(), 0);
}

#[test]
fn reset_of_a_pinned_memory_zeroes_and_unlocks_the_tail() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_pin(MOST_PINNED) {
        return;
    }
    let baseline = status_bytes("VmLck");
    let budget = PinBudget::new(MOST_PINNED);
    let memory = LinearMemory::new(pinned(PAGE, 4 * PAGE, Some(budget.clone()))).unwrap();
    memory.grow(3).unwrap();
    let view = memory.view();
    // SAFETY: the view is accessible and owned by this test.
    unsafe { std::ptr::write_bytes(view.base, 0x77, view.len) };
    memory.reset(1).unwrap();
    assert_eq!(memory.size_pages(), 1);
    assert_eq!(
        status_bytes("VmLck"),
        baseline + PAGE,
        "the shrunk tail is unlocked"
    );
    assert_eq!(budget.used(), PAGE);
    assert_eq!(memory.stats().pinned_bytes, PAGE);
    // SAFETY: the first page is accessible.
    let kept = unsafe { std::slice::from_raw_parts(view.base, PAGE as usize) };
    assert!(
        kept.iter().all(|&b| b == 0),
        "contents are zero after reset"
    );
    assert!(!page_is_accessible(view.base as usize + PAGE as usize));
    memory.reset(2).unwrap();
    assert_eq!(
        status_bytes("VmLck"),
        baseline + 2 * PAGE,
        "a larger reset locks the new pages"
    );
    // SAFETY: two pages are accessible now.
    let regrown = unsafe { std::slice::from_raw_parts(view.base, 2 * PAGE as usize) };
    assert!(
        regrown.iter().all(|&b| b == 0),
        "discarded pages come back zero"
    );
}

#[test]
fn over_budget_is_a_typed_error_and_changes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_pin(MOST_PINNED) {
        return;
    }
    let baseline = status_bytes("VmLck");
    let budget = PinBudget::new(3 * PAGE);
    let first = LinearMemory::new(pinned(2 * PAGE, 4 * PAGE, Some(budget.clone()))).unwrap();
    let error = LinearMemory::new(pinned(2 * PAGE, 0, Some(budget.clone()))).unwrap_err();
    assert!(
        matches!(error, MemoryError::PinBudgetExceeded { requested_bytes, used_bytes, limit_bytes }
            if requested_bytes == 2 * PAGE && used_bytes == 2 * PAGE && limit_bytes == 3 * PAGE),
        "{error}"
    );
    let view = first.view();
    for delta in [2, 4] {
        // in place (2) and past the room (4, a relocation)
        assert!(matches!(
            first.grow(delta),
            Err(MemoryError::PinBudgetExceeded { .. })
        ));
        assert_eq!(first.view(), view);
    }
    assert_eq!(budget.used(), 2 * PAGE);
    assert_eq!(status_bytes("VmLck"), baseline + 2 * PAGE);
    assert_eq!(first.stats().grows, 0);
    first.grow(1).unwrap();
    assert_eq!(budget.used(), 3 * PAGE);
}

#[test]
fn a_failed_mlock_leaves_the_memory_unchanged() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_pin(MOST_PINNED) {
        return;
    }
    let baseline = status_bytes("VmLck");
    let budget = PinBudget::new(MOST_PINNED);
    let memory = LinearMemory::new(pinned(PAGE, 2 * PAGE, Some(budget.clone()))).unwrap();
    let view = memory.view();
    let stats = memory.stats();
    for (errno, kind, delta) in [
        (libc::EAGAIN, PinFailure::Again, 1),         // in place
        (libc::ENOMEM, PinFailure::LimitExceeded, 4), // relocation
        (libc::EPERM, PinFailure::NotPermitted, 1),
    ] {
        let _fault = fault_injection::fail(Syscall::Mlock, 0, errno);
        match memory.grow(delta) {
            Err(MemoryError::PinFailed {
                kind: found, bytes, ..
            }) => {
                assert_eq!(found, kind);
                assert_eq!(bytes, delta * PAGE);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(memory.view(), view);
        assert!(
            !page_is_accessible(view.base as usize + PAGE as usize),
            "tail back to PROT_NONE"
        );
        assert_eq!(budget.used(), PAGE, "the charge was given back");
        assert_eq!(status_bytes("VmLck"), baseline + PAGE);
        let after = memory.stats();
        assert_eq!(after.committed_bytes, stats.committed_bytes);
        assert_eq!(after.pinned_bytes, stats.pinned_bytes);
        assert_eq!(after.grows, 0);
    }
}

#[test]
fn mlock_past_rlimit_memlock_is_a_typed_error() {
    if !in_child("mlock_past_rlimit_memlock_is_a_typed_error") {
        return;
    }
    match fault_injection::restrict_memlock(2 * PAGE) {
        Err(error) if error.raw_os_error() == Some(libc::EPERM) => {
            pinning_unavailable(&format!(
                "the hard RLIMIT_MEMLOCK is below {} bytes and this process may not raise it",
                2 * PAGE
            ));
            return;
        }
        result => result.unwrap(),
    }
    assert_eq!(memlock_limit(), Some(2 * PAGE));
    let memory = LinearMemory::new(pinned(PAGE, 4 * PAGE, None)).unwrap();
    let view = memory.view();
    for delta in [2, 8] {
        // in place, then past the room (relocation)
        match memory.grow(delta) {
            Err(
                error @ MemoryError::PinFailed {
                    kind: PinFailure::LimitExceeded,
                    ..
                },
            ) => {
                assert!(error.to_string().contains("RLIMIT_MEMLOCK"), "{error}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(memory.view(), view);
        assert_eq!(status_bytes("VmLck"), PAGE);
    }
    memory.grow(1).unwrap();
    assert_eq!(status_bytes("VmLck"), 2 * PAGE);
    let error = LinearMemory::new(pinned(PAGE, 0, None)).unwrap_err();
    assert!(matches!(
        error,
        MemoryError::PinFailed {
            kind: PinFailure::LimitExceeded,
            ..
        }
    ));
}

#[test]
fn mlock_without_permission_is_a_typed_error() {
    if !in_child("mlock_without_permission_is_a_typed_error") {
        return;
    }
    fault_injection::restrict_memlock(0).unwrap();
    match LinearMemory::new(pinned(PAGE, 0, None)) {
        Err(MemoryError::PinFailed {
            kind: PinFailure::NotPermitted,
            memlock_limit,
            ..
        }) => {
            assert_eq!(memlock_limit, Some(0))
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(status_bytes("VmLck"), 0);
    let unpinned = LinearMemory::new(dynamic(PAGE, 0, PAGE)).unwrap();
    assert!(!unpinned.is_pinned());
}

#[test]
fn a_failed_pinned_reset_leaves_the_memory_unchanged() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_pin(MOST_PINNED) {
        return;
    }
    let baseline = status_bytes("VmLck");
    let budget = PinBudget::new(MOST_PINNED);
    let memory = LinearMemory::new(pinned(3 * PAGE, 2 * PAGE, Some(budget.clone()))).unwrap();
    let view = memory.view();
    // SAFETY: the view is accessible and owned by this test.
    unsafe { std::ptr::write_bytes(view.base, 0x33, view.len) };
    for (call, pages) in [
        (Syscall::Munlock, 1),
        (Syscall::Mprotect, 1),
        (Syscall::Madvise, 1),
        (Syscall::Mlock, 5),
    ] {
        let _fault = fault_injection::fail(call, 0, libc::ENOMEM);
        assert!(memory.reset(pages).is_err(), "{call}");
        assert!(!fault_injection::pending(), "{call} was not reached");
        assert_eq!(memory.view(), view, "{call}");
        // SAFETY: the view is still accessible.
        let bytes = unsafe { std::slice::from_raw_parts(view.base, view.len) };
        assert!(bytes.iter().all(|&b| b == 0x33), "{call}: contents intact");
        assert_eq!(status_bytes("VmLck"), baseline + 3 * PAGE, "{call}");
        assert_eq!(budget.used(), 3 * PAGE, "{call}");
        assert!(
            page_is_accessible(view.base as usize + 2 * PAGE as usize),
            "{call}"
        );
        assert!(
            !page_is_accessible(view.base as usize + 3 * PAGE as usize),
            "{call}"
        );
    }
    memory.reset(1).unwrap();
    assert_eq!(status_bytes("VmLck"), baseline + PAGE);
}
