//! A grow that fails — over the maximum, over the limit, over the pin
//! budget, or with `mmap`, `mprotect`, `mremap` or `mlock` failing (injected)
//! — leaves size, view, reservation, contents, protection, pins and
//! statistics (committed, peak, pinned, grows, relocations) exactly as they
//! were: for a small memory, a memory past 4 GiB (Memory64), and a pinned one.
//! Subscribers see either nothing or a bracket that ends with the old view.
//!
//! The tests read VmLck and look at protections by address, so each takes `serial()`.

mod common;

use common::{can_pin, dynamic, page_is_accessible, peek, poke, serial, status_bytes};
use remap_memory::fault_injection;
use remap_memory::{
    Accounting, InvalidationNotifier, LinearMemory, MemoryConfig, MemoryError, MemoryStats,
    MemoryView, NotifierRegistration, PinBudget, Syscall, WASM_PAGE_SIZE,
};
use std::ops::Range;
use std::sync::{Arc, Mutex};

const PAGE: u64 = WASM_PAGE_SIZE;
const GIB: u64 = 1 << 30;

/// Records the view every bracket ends with.
#[derive(Default)]
struct EndViews(Mutex<Vec<MemoryView>>);

impl InvalidationNotifier for EndViews {
    fn invalidate_range_start(&self, _: Range<usize>) {}
    fn invalidate_range_end(&self, _: Range<usize>, new_view: MemoryView) {
        self.0.lock().unwrap().push(new_view);
    }
    fn release(&self) {}
}

/// A memory under test, with its owner, budget, subscriber and the offsets
/// of the bytes it was written at.
struct Subject {
    memory: LinearMemory,
    owner: Accounting,
    budget: Option<PinBudget>,
    ends: Arc<EndViews>,
    _registration: NotifierRegistration,
    probes: Vec<u64>,
}

/// Everything observable that a failed grow must leave as it was.
#[derive(Debug, PartialEq)]
struct Observed {
    len: u64,
    pages: u64,
    view: MemoryView,
    reservation: Range<usize>,
    capacity: u64,
    stats: MemoryStats,
    owner: MemoryStats,
    probes: Vec<u8>,
    /// Whether the host page after the accessible pages is accessible.
    past_end_accessible: bool,
    budget_used: Option<u64>,
    locked: u64,
}

/// Statistics without the protection-call counters: those count attempts,
/// and a failed attempt is one.
fn state_counters(mut stats: MemoryStats) -> MemoryStats {
    stats.protection_calls_requested = 0;
    stats.protection_calls_issued = 0;
    stats
}

impl Subject {
    /// Makes a memory from `config`, grows it by `grow_pages`, writes a
    /// distinct byte at its first and last offset, its middle and either
    /// side of 4 GiB (where it reaches them), and subscribes a notifier.
    fn new(config: MemoryConfig, grow_pages: u64) -> Subject {
        let owner = Accounting::new();
        let budget = config.pin_budget.clone();
        let memory = LinearMemory::new(MemoryConfig {
            accounting: Some(owner.clone()),
            ..config
        })
        .unwrap();
        memory.grow(grow_pages).unwrap();
        let len = memory.len_bytes();
        let probes: Vec<u64> = [0, len / 2, 4 * GIB - 1, 4 * GIB, len - 1]
            .into_iter()
            .filter(|&offset| offset < len)
            .collect();
        for (index, &offset) in probes.iter().enumerate() {
            poke(&memory, offset, index as u8 + 1);
        }
        let ends = Arc::new(EndViews::default());
        let registration = memory.register_notifier(ends.clone()).unwrap();
        Subject {
            memory,
            owner,
            budget,
            ends,
            _registration: registration,
            probes,
        }
    }

    fn observe(&self) -> Observed {
        let view = self.memory.view();
        let rounded = view.len.next_multiple_of(remap_memory::host_page_size());
        Observed {
            len: self.memory.len_bytes(),
            pages: self.memory.size_pages(),
            view,
            reservation: self.memory.reservation(),
            capacity: self.memory.capacity_bytes(),
            stats: state_counters(self.memory.stats()),
            owner: state_counters(self.owner.stats()),
            probes: self
                .probes
                .iter()
                .map(|&offset| peek(&self.memory, offset))
                .collect(),
            past_end_accessible: page_is_accessible(view.base as usize + rounded),
            budget_used: self.budget.as_ref().map(PinBudget::used),
            locked: status_bytes("VmLck"),
        }
    }

    /// Grows by `delta_pages` with `fault` injected (its call failing with
    /// `ENOMEM`), expects an error, checks nothing observable changed and
    /// the fault was reached, and returns the error.
    fn failed_grow(&self, delta_pages: u64, fault: Option<Syscall>) -> MemoryError {
        let before = self.observe();
        self.ends.0.lock().unwrap().clear();
        let error = {
            let _fault = fault.map(|call| fault_injection::fail(call, 0, libc::ENOMEM));
            let error = self.memory.grow(delta_pages).unwrap_err();
            assert!(
                !fault_injection::pending(),
                "the injected {fault:?} fault was not reached: {error}"
            );
            error
        };
        assert_eq!(self.observe(), before, "after grow({delta_pages}): {error}");
        let ends = self.ends.0.lock().unwrap().clone();
        assert!(
            ends.iter().all(|&view| view == before.view),
            "subscribers were told of a change: {ends:?}"
        );
        let sequence = self.memory.read_begin();
        assert!(
            !self.memory.read_retry(sequence),
            "no change left in flight"
        );
        error
    }

    /// Grows by one page past the current room, which relocates.
    fn pages_to_relocate(&self) -> u64 {
        (self.memory.capacity_bytes() - self.memory.len_bytes()) / PAGE + 1
    }

    /// Grows by `delta_pages` for real and checks the written bytes survived.
    fn grow_and_check(&self, delta_pages: u64) {
        let before = self.observe();
        self.memory.grow(delta_pages).unwrap();
        let after = self.observe();
        assert_eq!(after.len, before.len + delta_pages * PAGE);
        assert_eq!(after.probes, before.probes);
    }
}

fn is_syscall(error: &MemoryError, expected: Syscall) -> bool {
    matches!(error, MemoryError::SyscallFailed { call, .. } if *call == expected)
        || matches!(error, MemoryError::MapFailed { .. } if expected == Syscall::Mmap)
}

/// Every failure a grow of an unpinned memory can meet, in place and by
/// relocation, each leaving the memory unchanged; then a real relocation.
fn assert_every_failure_changes_nothing(subject: &Subject, maximum: u64, limit: u64) {
    let len = subject.memory.len_bytes();
    let error = subject.failed_grow((maximum - len) / PAGE + 1, None);
    assert!(
        matches!(error, MemoryError::ExceedsMaximum { maximum_bytes, .. } if maximum_bytes == maximum),
        "{error}"
    );
    let error = subject.failed_grow((limit - len) / PAGE + 1, None);
    assert!(
        matches!(error, MemoryError::ExceedsLimit { limit_bytes, .. } if limit_bytes == limit),
        "{error}"
    );
    let error = subject.failed_grow(u64::MAX, None);
    assert!(matches!(error, MemoryError::Overflow { .. }), "{error}");
    // In place: the new tail's mprotect.
    let error = subject.failed_grow(1, Some(Syscall::Mprotect));
    assert!(is_syscall(&error, Syscall::Mprotect), "{error}");
    // Relocation: the new reservation, the move, closing the room past the new size.
    let relocate = subject.pages_to_relocate();
    for call in [Syscall::Mmap, Syscall::Mprotect, Syscall::Mremap] {
        let error = subject.failed_grow(relocate, Some(call));
        assert!(is_syscall(&error, call), "{call}: {error}");
    }
    let relocations = subject.memory.stats().relocations;
    subject.grow_and_check(relocate);
    assert_eq!(subject.memory.stats().relocations, relocations + 1);
}

#[test]
fn failed_grows_of_a_small_memory_change_nothing() {
    let _serial = serial();
    let (maximum, limit) = (64 * PAGE, 32 * PAGE);
    let subject = Subject::new(
        MemoryConfig {
            maximum_bytes: Some(maximum),
            limit_bytes: Some(limit),
            ..dynamic(4 * PAGE, 4 * PAGE, PAGE)
        },
        2,
    );
    assert_every_failure_changes_nothing(&subject, maximum, limit);
}

#[test]
fn failed_grows_of_a_memory_past_4_gib_change_nothing() {
    let _serial = serial();
    let (maximum, limit) = (64 * GIB, 32 * GIB);
    let subject = Subject::new(
        MemoryConfig {
            maximum_bytes: Some(maximum),
            limit_bytes: Some(limit),
            ..dynamic(PAGE, PAGE, PAGE)
        },
        4 * GIB / PAGE,
    );
    assert!(subject.memory.len_bytes() > 4 * GIB);
    assert_eq!(
        subject.probes.len(),
        5,
        "bytes either side of 4 GiB written"
    );
    assert_eq!(subject.memory.stats().relocations, 1);
    assert_every_failure_changes_nothing(&subject, maximum, limit);
    assert!(subject.memory.len_bytes() > 8 * GIB);
}

#[test]
fn failed_grows_of_a_pinned_memory_change_nothing() {
    let _serial = serial();
    let budget_bytes = 16 * PAGE;
    if !can_pin(budget_bytes) {
        return;
    }
    let (maximum, limit) = (64 * PAGE, 32 * PAGE);
    let subject = Subject::new(
        MemoryConfig {
            maximum_bytes: Some(maximum),
            limit_bytes: Some(limit),
            pinned: true,
            pin_budget: Some(PinBudget::new(budget_bytes)),
            ..dynamic(2 * PAGE, 2 * PAGE, PAGE)
        },
        1,
    );
    let pinned = 3 * PAGE;
    assert_eq!(subject.memory.stats().pinned_bytes, pinned);
    assert_eq!(subject.budget.as_ref().map(PinBudget::used), Some(pinned));
    // Over the budget, with the limit and maximum still far.
    let error = subject.failed_grow(budget_bytes / PAGE - 2, None);
    assert!(
        matches!(error, MemoryError::PinBudgetExceeded { .. }),
        "{error}"
    );
    // mlock failing in place and in a relocation.
    for delta in [1, subject.pages_to_relocate()] {
        let error = subject.failed_grow(delta, Some(Syscall::Mlock));
        assert!(matches!(error, MemoryError::PinFailed { .. }), "{error}");
    }
    assert_every_failure_changes_nothing(&subject, maximum, limit);
    let len = subject.memory.len_bytes();
    assert_eq!(subject.memory.stats().pinned_bytes, len);
    assert_eq!(subject.budget.as_ref().map(PinBudget::used), Some(len));
}
