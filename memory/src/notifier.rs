//! Invalidation notifiers (the MMU-notifier idea): everything that caches a
//! memory's base or bound subscribes, and every change that can make such a
//! cache stale is bracketed by `invalidate_range_start` / `invalidate_range_end`.
//!
//! A sequence counter and an in-progress counter let lock-free readers detect
//! an invalidation that raced with them (`read_begin` / `read_retry`).

use crate::{MemoryError, MemoryView};
use std::any::Any;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{self, ThreadId};

/// The most notifiers one memory accepts; registering more is an error.
pub const MAX_NOTIFIERS: usize = 4096;

/// A subscriber to a memory's changes. Callbacks run on the thread making the
/// change, one change at a time per memory. They may read the memory (view,
/// sizes, stats, sequence counters), register notifiers and drop any
/// [`NotifierRegistration`], their own included; they must not grow or reset
/// the same memory (that would deadlock). If a callback panics, the other
/// subscribers are still called, the change completes, and the panic then
/// reaches the caller of the change.
pub trait InvalidationNotifier: Send + Sync {
    /// The addresses in `range` are about to change (move, lose or gain
    /// access, lose contents). Stop using cached views of the memory.
    fn invalidate_range_start(&self, range: Range<usize>);
    /// The change that started with `invalidate_range_start(range)` is
    /// complete; `new_view` is the memory's view from now on (unchanged if
    /// the change failed). A notifier registered while the change was in
    /// progress gets this call without the matching start.
    fn invalidate_range_end(&self, range: Range<usize>, new_view: MemoryView);
    /// The memory is being torn down; no callback follows this one.
    fn release(&self);
}

/// One registered notifier. A dispatch calls a snapshot of the list, so
/// `registered` tells it to skip a subscriber unregistered since the snapshot
/// was taken (by a callback earlier in the same dispatch).
struct Subscriber {
    id: u64,
    notifier: Arc<dyn InvalidationNotifier>,
    registered: AtomicBool,
}

#[derive(Default)]
struct HubState {
    entries: Vec<Arc<Subscriber>>,
    next_id: u64,
    closed: bool,
    dispatching: Option<ThreadId>,
    /// Unregistrations waiting for `dispatching` to end: only then does the
    /// end of a dispatch wake anyone (a wake is a system call).
    waiters: usize,
}

/// The notifier list and the sequence counters of one memory.
#[derive(Default)]
pub(crate) struct NotifierHub {
    state: Mutex<HubState>,
    dispatch_done: Condvar,
    sequence: AtomicU64,
    in_progress: AtomicU64,
}

impl NotifierHub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Callbacks run outside this lock, so a panicking subscriber cannot
        // leave the list half-updated: recovering from poison is sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn register(
        self: &Arc<Self>,
        notifier: Arc<dyn InvalidationNotifier>,
    ) -> Result<NotifierRegistration, MemoryError> {
        let mut state = self.lock();
        if state.closed {
            return Err(MemoryError::RegistrationClosed);
        }
        if state.entries.len() >= MAX_NOTIFIERS {
            return Err(MemoryError::TooManyNotifiers {
                limit: MAX_NOTIFIERS,
            });
        }
        let id = state.next_id;
        state.next_id += 1;
        state.entries.push(Arc::new(Subscriber {
            id,
            notifier,
            registered: AtomicBool::new(true),
        }));
        Ok(NotifierRegistration {
            hub: Arc::downgrade(self),
            id,
        })
    }

    fn unregister(&self, id: u64) {
        let mut state = self.lock();
        state.entries.retain(|subscriber| {
            let keep = subscriber.id != id;
            if !keep {
                subscriber.registered.store(false, Ordering::Release);
            }
            keep
        });
        // Once unregistration returns, the notifier is never called again:
        // wait out a dispatch in flight on another thread. A callback that
        // unregisters on the dispatching thread itself need not wait.
        let me = thread::current().id();
        while state.dispatching.is_some_and(|thread| thread != me) {
            state.waiters += 1;
            state = self
                .dispatch_done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiters -= 1;
        }
    }

    /// Calls `call` on every registered notifier, outside the list lock, so
    /// that callbacks may register and unregister. A notifier unregistered by
    /// an earlier callback of the same dispatch is skipped. A panicking
    /// subscriber does not stop the others: the first panic is kept in
    /// `panic` to be resumed once the memory is consistent. With nobody
    /// registered it only takes the list lock once.
    fn dispatch(
        &self,
        panic: &mut Option<Box<dyn Any + Send>>,
        call: impl Fn(&dyn InvalidationNotifier),
    ) {
        let snapshot: Vec<Arc<Subscriber>> = {
            let mut state = self.lock();
            if state.entries.is_empty() {
                return;
            }
            state.dispatching = Some(thread::current().id());
            state.entries.clone()
        };
        let _done = DispatchDone(self);
        for subscriber in &snapshot {
            if !subscriber.registered.load(Ordering::Acquire) {
                continue;
            }
            // Unwind safety: a subscriber that panics may leave its own state
            // torn, which is its business; the hub's state is not touched here.
            let notifier = subscriber.notifier.as_ref();
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| call(notifier))) {
                panic.get_or_insert(payload);
            }
        }
    }

    /// Runs `change` bracketed by start/end notifications for `range`.
    /// `change` returns its result and the view after it (the old view if it
    /// failed); subscribers see that view only once the change is complete.
    /// `change` must finish all of its bookkeeping itself: if a subscriber
    /// panicked, the panic resumes here after the bracket is closed.
    pub(crate) fn invalidate<T>(
        &self,
        range: Range<usize>,
        change: impl FnOnce() -> (T, MemoryView),
    ) -> T {
        let mut panic = None;
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        self.sequence.fetch_add(1, Ordering::SeqCst);
        // Pairs with the fence in `read_retry`: a reader that sees any store
        // made during the change (a subscriber's cache, the view) also sees
        // the counters above, whatever order the hardware loads in.
        fence(Ordering::Release);
        self.dispatch(&mut panic, |notifier| {
            notifier.invalidate_range_start(range.clone())
        });
        let (result, view) = change();
        // Everyone registered now hears the outcome, including a notifier
        // that registered during the change (it gets an end without a start).
        self.dispatch(&mut panic, |notifier| {
            notifier.invalidate_range_end(range.clone(), view)
        });
        self.sequence.fetch_add(1, Ordering::SeqCst);
        self.in_progress.fetch_sub(1, Ordering::SeqCst);
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
        result
    }

    /// Teardown: refuses new registrations, brackets the end of the memory
    /// with start/end (new view empty), then calls `release` on everyone.
    /// A subscriber's panic is resumed only after everyone was released.
    pub(crate) fn close(&self, range: Range<usize>) {
        self.lock().closed = true;
        let bracket = panic::catch_unwind(AssertUnwindSafe(|| {
            self.invalidate(range, || ((), MemoryView::EMPTY))
        }));
        let mut panic = bracket.err();
        self.dispatch(&mut panic, |notifier| notifier.release());
        self.lock().entries.clear();
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
    }

    /// Accepts registrations again after [`Self::close`], for a memory whose
    /// reservation is reused. Registrations from before the close stay dead:
    /// ids are never reused, so dropping one later finds nothing to remove.
    pub(crate) fn reopen(&self) {
        let mut state = self.lock();
        debug_assert!(state.entries.is_empty(), "close cleared the list");
        state.closed = false;
    }

    pub(crate) fn read_begin(&self) -> u64 {
        self.sequence.load(Ordering::SeqCst)
    }

    pub(crate) fn read_retry(&self, sequence: u64) -> bool {
        // Keeps the reader's loads of its cached data before the counter
        // loads (the read side of a sequence lock; see `invalidate`).
        fence(Ordering::Acquire);
        self.in_progress.load(Ordering::SeqCst) != 0
            || self.sequence.load(Ordering::SeqCst) != sequence
    }

    pub(crate) fn count(&self) -> usize {
        self.lock().entries.len()
    }
}

impl std::fmt::Debug for NotifierHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierHub")
            .field("notifiers", &self.count())
            .finish()
    }
}

/// Marks the end of a dispatch (also if a callback panics) and wakes unregistrations.
struct DispatchDone<'a>(&'a NotifierHub);

impl Drop for DispatchDone<'_> {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.0.lock();
            state.dispatching = None;
            state.waiters > 0
        };
        // A waiter counts itself under the lock before it sleeps, so one that
        // is not counted here has not started waiting and will see `None`.
        if waiting {
            self.0.dispatch_done.notify_all();
        }
    }
}

/// A registered notifier. Dropping it unregisters the notifier, which always
/// succeeds; after the drop returns the notifier is never called again. To
/// keep that promise a drop on one thread waits for a dispatch running on
/// another, so never drop a registration while holding a lock that the
/// notifier's callbacks take: the two threads would wait for each other.
pub struct NotifierRegistration {
    hub: Weak<NotifierHub>,
    id: u64,
}

impl Drop for NotifierRegistration {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.unregister(self.id);
        }
    }
}

impl std::fmt::Debug for NotifierRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifierRegistration")
            .field("id", &self.id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct Log(StdMutex<Vec<String>>);

    impl InvalidationNotifier for Log {
        fn invalidate_range_start(&self, range: Range<usize>) {
            self.0.lock().unwrap().push(format!("start {range:?}"));
        }
        fn invalidate_range_end(&self, range: Range<usize>, view: MemoryView) {
            self.0
                .lock()
                .unwrap()
                .push(format!("end {range:?} {}", view.len));
        }
        fn release(&self) {
            self.0.lock().unwrap().push("release".to_string());
        }
    }

    fn view(len: usize) -> MemoryView {
        MemoryView {
            base: std::ptr::null_mut(),
            len,
        }
    }

    #[test]
    fn brackets_changes_and_counts_sequence() {
        let hub = Arc::new(NotifierHub::default());
        let log = Arc::new(Log::default());
        let _registration = hub.register(log.clone()).unwrap();
        let before = hub.read_begin();
        assert!(!hub.read_retry(before));
        let inside = hub.invalidate(0..10, || {
            let seq = hub.read_begin();
            (hub.read_retry(seq), view(10))
        });
        assert!(inside, "a read during an invalidation must retry");
        assert!(
            hub.read_retry(before),
            "a read across an invalidation must retry"
        );
        let after = hub.read_begin();
        assert!(!hub.read_retry(after));
        assert_eq!(*log.0.lock().unwrap(), ["start 0..10", "end 0..10 10"]);
    }

    #[test]
    fn unregistered_notifiers_are_not_called() {
        let hub = Arc::new(NotifierHub::default());
        let log = Arc::new(Log::default());
        let registration = hub.register(log.clone()).unwrap();
        drop(registration);
        hub.invalidate(0..1, || ((), view(1)));
        assert!(log.0.lock().unwrap().is_empty());
        assert_eq!(hub.count(), 0);
    }

    #[test]
    fn a_notifier_registered_mid_change_hears_the_outcome() {
        let hub = Arc::new(NotifierHub::default());
        let log = Arc::new(Log::default());
        let registration = hub.invalidate(0..1, || (hub.register(log.clone()).unwrap(), view(1)));
        assert_eq!(*log.0.lock().unwrap(), ["end 0..1 1"]);
        drop(registration);
    }

    #[test]
    fn close_refuses_registration_and_releases() {
        let hub = Arc::new(NotifierHub::default());
        let log = Arc::new(Log::default());
        let _registration = hub.register(log.clone()).unwrap();
        hub.close(0..4);
        assert_eq!(
            *log.0.lock().unwrap(),
            ["start 0..4", "end 0..4 0", "release"]
        );
        assert!(matches!(
            hub.register(log.clone()),
            Err(MemoryError::RegistrationClosed)
        ));
    }

    #[test]
    fn registration_limit_is_an_error() {
        let hub = Arc::new(NotifierHub::default());
        let log: Arc<dyn InvalidationNotifier> = Arc::new(Log::default());
        let registrations: Vec<_> = (0..MAX_NOTIFIERS)
            .map(|_| hub.register(log.clone()).unwrap())
            .collect();
        assert!(matches!(
            hub.register(log.clone()),
            Err(MemoryError::TooManyNotifiers {
                limit: MAX_NOTIFIERS
            })
        ));
        drop(registrations);
        assert!(hub.register(log).is_ok());
    }

    struct Panicking;

    impl InvalidationNotifier for Panicking {
        fn invalidate_range_start(&self, _: Range<usize>) {
            panic!("subscriber bug");
        }
        fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {}
        fn release(&self) {
            panic!("subscriber bug in release");
        }
    }

    #[test]
    fn a_panicking_subscriber_cannot_wedge_the_memory() {
        let hub = Arc::new(NotifierHub::default());
        let _panicking = hub.register(Arc::new(Panicking)).unwrap();
        let log = Arc::new(Log::default());
        let _log = hub.register(log.clone()).unwrap();
        let changed = std::sync::atomic::AtomicBool::new(false);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            hub.invalidate(0..1, || {
                changed.store(true, Ordering::SeqCst);
                ((), view(1))
            })
        }));
        assert!(outcome.is_err(), "the panic reaches the caller");
        assert!(changed.load(Ordering::SeqCst), "the change still ran");
        assert_eq!(*log.0.lock().unwrap(), ["start 0..1", "end 0..1 1"]);
        let sequence = hub.read_begin();
        assert!(
            !hub.read_retry(sequence),
            "no invalidation left in progress"
        );
        assert!(panic::catch_unwind(AssertUnwindSafe(|| hub.close(0..1))).is_err());
        assert_eq!(
            log.0.lock().unwrap().last().map(String::as_str),
            Some("release")
        );
    }

    struct SelfRemoving(StdMutex<Option<NotifierRegistration>>);

    impl InvalidationNotifier for SelfRemoving {
        fn invalidate_range_start(&self, _: Range<usize>) {
            drop(self.0.lock().unwrap().take());
        }
        fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {}
        fn release(&self) {}
    }

    /// Drops another subscriber's registration from inside a callback.
    struct RemovesOther(StdMutex<Option<NotifierRegistration>>);

    impl InvalidationNotifier for RemovesOther {
        fn invalidate_range_start(&self, _: Range<usize>) {
            drop(self.0.lock().unwrap().take());
        }
        fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {}
        fn release(&self) {}
    }

    #[test]
    fn a_notifier_unregistered_by_an_earlier_callback_is_not_called() {
        let hub = Arc::new(NotifierHub::default());
        let remover = Arc::new(RemovesOther(StdMutex::new(None)));
        let _remover = hub.register(remover.clone()).unwrap();
        let log = Arc::new(Log::default());
        // Registered after the remover, so the same dispatch reaches it next.
        *remover.0.lock().unwrap() = Some(hub.register(log.clone()).unwrap());
        hub.invalidate(0..1, || ((), view(1)));
        assert!(
            log.0.lock().unwrap().is_empty(),
            "called after its registration was dropped: {:?}",
            log.0.lock().unwrap()
        );
        assert_eq!(hub.count(), 1);
    }

    #[test]
    fn a_callback_may_drop_its_own_registration() {
        let hub = Arc::new(NotifierHub::default());
        let notifier = Arc::new(SelfRemoving(StdMutex::new(None)));
        let registration = hub.register(notifier.clone()).unwrap();
        *notifier.0.lock().unwrap() = Some(registration);
        hub.invalidate(0..1, || ((), view(1)));
        assert_eq!(hub.count(), 0);
    }

    /// Blocks in `invalidate_range_start` until told to go on.
    struct Gate {
        entered: std::sync::mpsc::SyncSender<()>,
        go: StdMutex<std::sync::mpsc::Receiver<()>>,
    }

    impl InvalidationNotifier for Gate {
        fn invalidate_range_start(&self, _: Range<usize>) {
            self.entered.send(()).unwrap();
            self.go.lock().unwrap().recv().unwrap();
        }
        fn invalidate_range_end(&self, _: Range<usize>, _: MemoryView) {}
        fn release(&self) {}
    }

    #[test]
    fn an_unregistration_on_another_thread_waits_for_the_dispatch_and_is_woken() {
        let hub = Arc::new(NotifierHub::default());
        let (entered_tx, entered) = std::sync::mpsc::sync_channel(1);
        let (go, go_rx) = std::sync::mpsc::sync_channel(1);
        let gate = Arc::new(Gate {
            entered: entered_tx,
            go: StdMutex::new(go_rx),
        });
        let _gate = hub.register(gate).unwrap();
        let log = Arc::new(Log::default());
        let registration = hub.register(log.clone()).unwrap();
        let changer = {
            let hub = hub.clone();
            thread::spawn(move || hub.invalidate(0..1, || ((), view(1))))
        };
        entered.recv().unwrap();
        let unregistering = thread::spawn(move || drop(registration));
        // The unregistration counts itself as a waiter before it sleeps.
        while hub.lock().waiters == 0 {
            thread::yield_now();
        }
        assert!(!unregistering.is_finished());
        go.send(()).unwrap();
        unregistering.join().unwrap();
        changer.join().unwrap();
        let state = hub.lock();
        assert_eq!(state.waiters, 0);
        assert_eq!(state.entries.len(), 1);
        assert!(state.dispatching.is_none());
    }

    #[test]
    fn a_dispatch_to_nobody_marks_no_dispatch_in_flight() {
        let hub = Arc::new(NotifierHub::default());
        let during = hub.invalidate(0..1, || (hub.lock().dispatching, view(1)));
        assert_eq!(during, None);
        assert!(hub.read_retry(0), "the sequence still advanced");
    }

    #[test]
    fn a_reopened_hub_takes_new_registrations_and_ignores_stale_ones() {
        let hub = Arc::new(NotifierHub::default());
        let old = Arc::new(Log::default());
        let stale = hub.register(old.clone()).unwrap();
        hub.close(0..1);
        hub.reopen();
        let new = Arc::new(Log::default());
        let _fresh = hub.register(new.clone()).unwrap();
        drop(stale);
        assert_eq!(hub.count(), 1);
        hub.invalidate(0..2, || ((), view(2)));
        assert_eq!(*new.0.lock().unwrap(), ["start 0..2", "end 0..2 2"]);
        assert_eq!(
            old.0.lock().unwrap().last().map(String::as_str),
            Some("release")
        );
    }
}
