//! Issue 2, point 4: invalidation notifiers around every change, sequence
//! counters for racing readers, registration and unregistration, threads.

mod common;

use common::dynamic;
use remap_memory::{
    Accounting, InvalidationNotifier, LinearMemory, MAX_NOTIFIERS, MemoryConfig, MemoryError,
    MemoryView, WASM_PAGE_SIZE,
};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

const PAGE: u64 = WASM_PAGE_SIZE;

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Start {
        range: Range<usize>,
        view_now: MemoryView,
    },
    End {
        range: Range<usize>,
        new_view: MemoryView,
        view_now: MemoryView,
    },
    Release,
}

/// Records every callback together with what the memory itself reports at that moment.
#[derive(Default)]
struct Recorder {
    memory: Mutex<Weak<LinearMemory>>,
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    fn view_now(&self) -> MemoryView {
        self.memory
            .lock()
            .unwrap()
            .upgrade()
            .map_or(MemoryView::EMPTY, |memory| memory.view())
    }

    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.lock().unwrap())
    }
}

impl InvalidationNotifier for Recorder {
    fn invalidate_range_start(&self, range: Range<usize>) {
        let view_now = self.view_now();
        self.events
            .lock()
            .unwrap()
            .push(Event::Start { range, view_now });
    }
    fn invalidate_range_end(&self, range: Range<usize>, new_view: MemoryView) {
        let view_now = self.view_now();
        self.events.lock().unwrap().push(Event::End {
            range,
            new_view,
            view_now,
        });
    }
    fn release(&self) {
        self.events.lock().unwrap().push(Event::Release);
    }
}

fn watched(
    config: MemoryConfig,
) -> (
    Arc<LinearMemory>,
    Arc<Recorder>,
    remap_memory::NotifierRegistration,
) {
    let memory = Arc::new(LinearMemory::new(config).unwrap());
    let recorder = Arc::new(Recorder::default());
    *recorder.memory.lock().unwrap() = Arc::downgrade(&memory);
    let registration = memory.register_notifier(recorder.clone()).unwrap();
    (memory, recorder, registration)
}

#[test]
fn in_place_growth_is_bracketed_and_the_new_bound_arrives_at_end() {
    let (memory, recorder, _registration) = watched(dynamic(PAGE, 4 * PAGE, PAGE));
    let old = memory.view();
    memory.grow(2).unwrap();
    let new = memory.view();
    let base = old.base as usize;
    let grown = base + PAGE as usize..base + 3 * PAGE as usize;
    assert_eq!(
        recorder.take(),
        [
            Event::Start {
                range: grown.clone(),
                view_now: old
            },
            Event::End {
                range: grown,
                new_view: new,
                view_now: new
            },
        ],
        "start sees the old view, end delivers the complete new one"
    );
}

#[test]
fn relocation_is_bracketed_and_the_new_base_arrives_at_end() {
    let (memory, recorder, _registration) = watched(dynamic(2 * PAGE, 0, PAGE));
    let old = memory.view();
    memory.grow(1).unwrap();
    let new = memory.view();
    assert_ne!(new.base, old.base);
    assert_eq!(
        recorder.take(),
        [
            Event::Start {
                range: old.range(),
                view_now: old
            },
            Event::End {
                range: old.range(),
                new_view: new,
                view_now: new
            },
        ]
    );
}

#[test]
fn reset_and_failed_growth_are_bracketed() {
    let (memory, recorder, _registration) = watched(MemoryConfig {
        maximum_bytes: Some(4 * PAGE),
        ..dynamic(PAGE, 4 * PAGE, PAGE)
    });
    memory.grow(3).unwrap();
    recorder.take();
    let before = memory.view();
    memory.reset(1).unwrap();
    let after = memory.view();
    assert_eq!(
        recorder.take(),
        [
            Event::Start {
                range: before.range(),
                view_now: before
            },
            Event::End {
                range: before.range(),
                new_view: after,
                view_now: after
            },
        ]
    );
    // Refused before any change: nothing to invalidate.
    assert!(matches!(
        memory.grow(10),
        Err(MemoryError::ExceedsMaximum { .. })
    ));
    assert!(recorder.take().is_empty());
}

#[test]
fn teardown_brackets_then_releases() {
    let (memory, recorder, registration) = watched(dynamic(PAGE, 0, PAGE));
    let view = memory.view();
    drop(memory);
    assert_eq!(
        recorder.take(),
        [
            Event::Start {
                range: view.range(),
                view_now: MemoryView::EMPTY
            },
            Event::End {
                range: view.range(),
                new_view: MemoryView::EMPTY,
                view_now: MemoryView::EMPTY
            },
            Event::Release,
        ]
    );
    drop(registration); // after teardown, unregistration still succeeds
}

#[test]
fn dropping_the_registration_unsubscribes() {
    let (memory, recorder, registration) = watched(dynamic(PAGE, 4 * PAGE, PAGE));
    drop(registration);
    memory.grow(1).unwrap();
    drop(memory);
    assert!(recorder.take().is_empty());
}

#[test]
fn registration_can_fail_and_the_caller_sees_why() {
    let memory = LinearMemory::new(dynamic(PAGE, 0, PAGE)).unwrap();
    let recorder: Arc<dyn InvalidationNotifier> = Arc::new(Recorder::default());
    let registrations: Vec<_> = (0..MAX_NOTIFIERS)
        .map(|_| memory.register_notifier(recorder.clone()).unwrap())
        .collect();
    let error = memory.register_notifier(recorder.clone()).unwrap_err();
    assert!(matches!(
        error,
        MemoryError::TooManyNotifiers {
            limit: MAX_NOTIFIERS
        }
    ));
    drop(registrations);
    memory.register_notifier(recorder).unwrap();
}

#[test]
fn readers_detect_racing_invalidations() {
    let memory = LinearMemory::new(dynamic(PAGE, 4 * PAGE, PAGE)).unwrap();
    let sequence = memory.read_begin();
    assert!(!memory.read_retry(sequence), "no change: the read stands");
    memory.grow(1).unwrap();
    assert!(memory.read_retry(sequence), "a change happened: retry");
    let fresh = memory.read_begin();
    assert!(!memory.read_retry(fresh));
}

/// Checks from inside the bracket that readers are told to retry.
struct InsideReader {
    memory: Mutex<Weak<LinearMemory>>,
    retried: AtomicU64,
}

impl InvalidationNotifier for InsideReader {
    fn invalidate_range_start(&self, _: Range<usize>) {
        if let Some(memory) = self.memory.lock().unwrap().upgrade() {
            let sequence = memory.read_begin();
            if memory.read_retry(sequence) {
                self.retried.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {}
    fn release(&self) {}
}

#[test]
fn a_read_during_an_invalidation_must_retry() {
    let memory = Arc::new(LinearMemory::new(dynamic(PAGE, 4 * PAGE, PAGE)).unwrap());
    let reader = Arc::new(InsideReader {
        memory: Mutex::new(Arc::downgrade(&memory)),
        retried: AtomicU64::new(0),
    });
    let _registration = memory.register_notifier(reader.clone()).unwrap();
    memory.grow(1).unwrap();
    assert_eq!(reader.retried.load(Ordering::SeqCst), 1);
}

/// Keeps its own cached view, like an instance context does.
struct CachedView {
    view: Mutex<MemoryView>,
    starts: AtomicU64,
    ends: AtomicU64,
}

impl InvalidationNotifier for CachedView {
    fn invalidate_range_start(&self, _: Range<usize>) {
        self.starts.fetch_add(1, Ordering::SeqCst);
    }
    fn invalidate_range_end(&self, _: Range<usize>, new_view: MemoryView) {
        assert_eq!(
            self.starts.load(Ordering::SeqCst),
            self.ends.load(Ordering::SeqCst) + 1
        );
        *self.view.lock().unwrap() = new_view;
        self.ends.fetch_add(1, Ordering::SeqCst);
    }
    fn release(&self) {}
}

/// A subscriber that may come in during a change: its first end may have
/// no start, every other end has one.
#[derive(Default)]
struct Transient {
    starts: AtomicU64,
    ends: AtomicU64,
}

impl InvalidationNotifier for Transient {
    fn invalidate_range_start(&self, _: Range<usize>) {
        self.starts.fetch_add(1, Ordering::SeqCst);
    }
    fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {
        let ends = self.ends.fetch_add(1, Ordering::SeqCst);
        assert!(ends <= self.starts.load(Ordering::SeqCst));
    }
    fn release(&self) {}
}

#[test]
fn threads_grow_one_memory_and_caches_stay_true() {
    let threads = 4;
    let grows_each = 40;
    let memory = Arc::new(LinearMemory::new(dynamic(PAGE, 8 * PAGE, PAGE)).unwrap());
    let cache = Arc::new(CachedView {
        view: Mutex::new(memory.view()),
        starts: AtomicU64::new(0),
        ends: AtomicU64::new(0),
    });
    let _registration = memory.register_notifier(cache.clone()).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let memory = &memory;
            scope.spawn(move || {
                for _ in 0..grows_each {
                    memory.grow(1).unwrap();
                    // A view validated by the sequence counters is never torn.
                    loop {
                        let sequence = memory.read_begin();
                        let view = memory.view();
                        if !memory.read_retry(sequence) {
                            assert!(view.len as u64 >= 2 * PAGE);
                            break;
                        }
                    }
                }
            });
        }
        // Short-lived subscribers come and go while the memory changes.
        let memory = &memory;
        scope.spawn(move || {
            for _ in 0..200 {
                let registration = memory
                    .register_notifier(Arc::new(Transient::default()))
                    .unwrap();
                drop(registration);
            }
        });
    });
    let total = (threads * grows_each) as u64;
    assert_eq!(memory.size_pages(), 1 + total);
    assert_eq!(memory.stats().grows, total);
    assert_eq!(cache.ends.load(Ordering::SeqCst), total);
    assert_eq!(
        *cache.view.lock().unwrap(),
        memory.view(),
        "the cached copy is current"
    );
    assert!(memory.stats().relocations >= 1);
}

struct PanicsOnEnd;

impl InvalidationNotifier for PanicsOnEnd {
    fn invalidate_range_start(&self, _: Range<usize>) {}
    fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {
        panic!("a buggy subscriber");
    }
    fn release(&self) {}
}

#[test]
fn a_panicking_subscriber_sees_the_panic_reach_the_caller_after_the_change() {
    let (memory, recorder, _registration) = watched(dynamic(PAGE, 0, PAGE));
    let buggy = memory.register_notifier(Arc::new(PanicsOnEnd)).unwrap();
    let grown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| memory.grow(1)));
    assert!(grown.is_err(), "the subscriber's panic reaches the caller");
    let view = memory.view();
    assert_eq!(view.len as u64, 2 * PAGE, "the relocation completed");
    let stats = memory.stats();
    assert_eq!(
        (stats.grows, stats.relocations, stats.committed_bytes),
        (1, 1, 2 * PAGE)
    );
    let events = recorder.take();
    assert!(matches!(events.last(), Some(Event::End { new_view, .. }) if *new_view == view));
    let sequence = memory.read_begin();
    assert!(!memory.read_retry(sequence));
    drop(buggy);
    memory.grow(1).unwrap();
}

#[test]
fn a_panicking_subscriber_at_teardown_leaves_no_committed_bytes_charged() {
    let owner = Accounting::new();
    let memory = LinearMemory::new(MemoryConfig {
        accounting: Some(owner.clone()),
        ..dynamic(2 * PAGE, 0, PAGE)
    })
    .unwrap();
    let _buggy = memory.register_notifier(Arc::new(PanicsOnEnd)).unwrap();
    assert_eq!(owner.stats().committed_bytes, 2 * PAGE);
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(memory)));
    assert!(
        dropped.is_err(),
        "the subscriber's panic reaches the caller"
    );
    assert_eq!(
        owner.stats().committed_bytes,
        0,
        "the owner's accounting was updated despite the panic"
    );
}

#[test]
fn memories_and_code_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<LinearMemory>();
    shareable::<remap_memory::CodeMemory>();
    shareable::<remap_memory::PinBudget>();
    shareable::<remap_memory::Accounting>();
    shareable::<MemoryView>();
}
