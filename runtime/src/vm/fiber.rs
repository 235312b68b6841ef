//! Fibers: the separate stacks async calls run Wasm on, so that an async
//! host function (or an epoch yield) can suspend the guest and an executor
//! can resume it later, on the same thread or another.
//!
//! A [`FiberFuture`] owns a `corosensei` coroutine whose stack is leased from
//! the engine's pool of guarded stacks (`remap_memory::FiberStackPool`),
//! tagged with the store: a store gets back a stack it used before without a
//! reset, and another store only a reset one. Each
//! `poll` resumes the coroutine; code on the fiber suspends it with
//! [`block_on`] (an async host function's future is not ready) or
//! [`yield_now`] (an epoch yield), and `poll` then returns `Pending`.
//!
//! Thread state: while Wasm runs, the runtime keeps per-thread pointers to
//! the innermost activation (`traps`), the entered store (`entered_store`)
//! and the current fiber (here). The ones set on a fiber belong to the
//! fiber, not to the thread: every resume swaps the fiber's saved values in
//! and the poller's out, and every suspension or completion swaps them
//! back. So a fiber starts with no activation below it (its backtraces and
//! unwinds never leave its stack), a suspended fiber leaves the thread as it
//! found it, and a fiber resumed on another thread brings its state along.
//! The Wasm stack limit on a fiber is computed from the fiber's stack bounds
//! ([`current_stack_low_end`]), and a fault on its guard page is a stack
//! overflow ([`is_current_guard_page`]).
//!
//! Dropping a suspended future *unwinds* the fiber rather than abandoning
//! it: it is resumed once more with [`Resume::Cancel`], the suspension point
//! returns a "cancelled" error, and that error leaves Wasm exactly as a host
//! function's error does (`traps::raise` back to the fiber's `catch_traps`,
//! which restores the store's runtime limits), up to the fiber's entry
//! function, which returns. Every frame that owns something (the host
//! function's future, the call's values) is dropped on the way; the only
//! frames skipped are the ones a trap skips. The stack is then idle and
//! goes back to the pool, and the store is usable as after a trap. Abandoning
//! would leak the host future and leave the store's limits pointing into a
//! stack that is about to be reused.
//!
//! Failure behaviour: a panic on a fiber is caught at its entry and resumed
//! by `poll`; a stack that cannot be mapped is an error before anything
//! runs; a suspension outside a fiber is an error, not a crash.

use crate::Engine;
use crate::store::{StoreId, StoreOpaque};
use crate::vm::entered_store;
use crate::vm::signals;
use crate::vm::traps::{self, Activation};
use anyhow::{Result, anyhow, bail};
use corosensei::stack::{Stack, StackPointer};
use corosensei::{Coroutine, CoroutineResult, Yielder};
use remap_memory::FiberStack;
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll};

/// What a suspended fiber is told when it is resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    /// Go on.
    Run,
    /// Its future was dropped: unwind to the fiber's entry (module docs).
    Cancel,
}

/// The message of the error a cancelled fiber unwinds with.
const CANCELLED: &str = "the async call was cancelled: its future was dropped";

/// A stack leased from the engine's pool for a store; goes back to it,
/// tagged with the store, when dropped.
struct LeasedStack {
    stack: Option<FiberStack>,
    engine: Engine,
    owner: StoreId,
}

impl Drop for LeasedStack {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            // SAFETY: the lease is dropped with its coroutine, which has then
            // finished or never started (`FiberFuture`'s drop cancels a
            // suspended one first), so no frame on the stack is live.
            unsafe {
                self.engine
                    .fiber_stacks()
                    .give_back(stack, self.owner.as_u64())
            };
        }
    }
}

impl LeasedStack {
    fn stack(&self) -> &FiberStack {
        self.stack
            .as_ref()
            .expect("a lease holds its stack until dropped")
    }
}

// SAFETY: `base` is the end of the usable range and `limit` the start of the
// guard page below it; both are page aligned (so 16-byte aligned), and the
// range between them is mapped for as long as the lease lives.
unsafe impl Stack for LeasedStack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.stack().usable().end).expect("a mapped stack is not at address 0")
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.stack().guard().start).expect("a mapped stack is not at address 0")
    }
}

/// The thread-local values that belong to whatever runs on the thread now:
/// the poller's while it polls, a fiber's while the fiber runs.
#[derive(Clone, Copy)]
struct ThreadState {
    activation: *const Activation,
    entered_store: *mut StoreOpaque,
    fiber: *const FiberState,
}

impl ThreadState {
    /// Publishes `self` for this thread; returns what was published before.
    fn swap_in(self) -> ThreadState {
        ThreadState {
            activation: traps::swap_activation(self.activation),
            entered_store: entered_store::swap_entered_store(self.entered_store),
            fiber: CURRENT_FIBER.replace(self.fiber),
        }
    }
}

/// What code on a fiber needs to suspend it; allocated once per future so
/// its address is stable.
struct FiberState {
    /// Set by the fiber's entry function before anything else runs on it.
    yielder: Cell<*const Yielder<Resume, ()>>,
    /// The context of the `poll` in progress (null between polls).
    poll_context: Cell<*mut Context<'static>>,
    /// The fiber's thread state while it is suspended.
    saved: Cell<ThreadState>,
    /// The usable stack range.
    stack: Range<usize>,
    /// The guard page below it.
    guard: Range<usize>,
}

thread_local! {
    /// The fiber running on this thread (null on a thread's own stack).
    static CURRENT_FIBER: Cell<*const FiberState> = const { Cell::new(ptr::null()) };
}

/// The lowest usable address of the fiber running on this thread, if any.
pub(crate) fn current_stack_low_end() -> Option<usize> {
    let fiber = CURRENT_FIBER.get();
    // SAFETY: a published fiber state lives (owned by its future) while the
    // fiber runs, which it does while it is published.
    (!fiber.is_null()).then(|| unsafe { (*fiber).stack.start })
}

/// The usable stack of the fiber running on this thread, if any: frames of
/// this thread's Wasm lie inside it.
pub(crate) fn current_stack() -> Option<Range<usize>> {
    let fiber = CURRENT_FIBER.get();
    // SAFETY: as in `current_stack_low_end`.
    (!fiber.is_null()).then(|| unsafe { (*fiber).stack.clone() })
}

/// Whether `address` is in the guard page of the fiber running on this
/// thread. Reads only a thread-local and the fiber's state: safe in the
/// signal handler.
pub(crate) fn is_current_guard_page(address: usize) -> bool {
    let fiber = CURRENT_FIBER.get();
    // SAFETY: as in `current_stack_low_end`.
    !fiber.is_null() && unsafe { (*fiber).guard.contains(&address) }
}

/// Whether code runs on a fiber on this thread.
pub(crate) fn on_fiber() -> bool {
    !CURRENT_FIBER.get().is_null()
}

/// Suspends the running fiber until its future is polled again; fails when
/// not on a fiber, or when the future was dropped (then the caller must
/// unwind: module docs).
fn suspend() -> Result<()> {
    let fiber = CURRENT_FIBER.get();
    if fiber.is_null() {
        bail!("cannot suspend: not inside an async call (Config::async_support and call_async)");
    }
    // SAFETY: the fiber's state outlives its run, and the yielder was set by
    // its entry function on this very stack. `suspend` switches back to the
    // poller, which swaps the thread state (module docs).
    match unsafe { (*(*fiber).yielder.get()).suspend(()) } {
        Resume::Run => Ok(()),
        Resume::Cancel => Err(anyhow!(CANCELLED)),
    }
}

/// The context of the poll that runs the current fiber.
fn poll_context<'a>() -> Result<&'a mut Context<'a>> {
    let fiber = CURRENT_FIBER.get();
    if fiber.is_null() {
        bail!(
            "an async host function or epoch yield runs only inside an async call (Config::async_support and call_async)"
        );
    }
    // SAFETY: while a fiber runs, its `poll` set the context, which lives in
    // the poller's frame until the fiber suspends or finishes; callers use it
    // only before suspending.
    let context = unsafe { (*fiber).poll_context.get() };
    // SAFETY: as above.
    Ok(unsafe { &mut *context.cast::<Context<'a>>() })
}

/// Runs `future` to completion from code on a fiber, suspending the fiber
/// (and so the guest) each time it is not ready. Fails, having dropped the
/// future, when not on a fiber or when the call was cancelled.
pub(crate) fn block_on<F: Future + ?Sized>(mut future: Pin<&mut F>) -> Result<F::Output> {
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(poll_context()?) {
            return Ok(output);
        }
        suspend()?;
    }
}

/// Gives the executor a turn: wakes the poller's task and suspends once.
pub(crate) fn yield_now() -> Result<()> {
    poll_context()?.waker().wake_by_ref();
    suspend()
}

/// A panic's payload, carried from the fiber to its poller.
type Panic = Box<dyn Any + Send>;

/// A computation running on a fiber, as a future. `'a` is the lifetime of
/// what the computation borrows (the store).
pub(crate) struct FiberFuture<'a, R> {
    coroutine: Coroutine<Resume, (), std::result::Result<R, Panic>, LeasedStack>,
    /// From `Box::leak`, freed by `drop`: the fiber and the thread-local
    /// pointer reach it too, which a `Box` (unique) would not allow.
    state: NonNull<FiberState>,
    _borrows: PhantomData<&'a mut ()>,
}

// SAFETY: the coroutine's closure is `Send` and so is its result; while it
// is suspended its stack holds frames of the runtime (raw pointers standing
// for the `&mut` store borrow the future holds, whose data is `Send`), Wasm
// frames and `Send` host futures, and no thread-local value (the thread
// state is swapped out at every suspension: module docs). It runs on one
// thread at a time, whichever polls it.
unsafe impl<R: Send> Send for FiberFuture<'_, R> {}

impl<'a, R> FiberFuture<'a, R> {
    /// A future that runs `body` for the store `owner` of `engine`, on a
    /// fiber, when first polled.
    pub(crate) fn new(
        engine: Engine,
        owner: StoreId,
        body: impl FnOnce() -> R + Send + 'a,
    ) -> Result<FiberFuture<'a, R>> {
        let stack = engine
            .fiber_stacks()
            .take(owner.as_u64())
            .map_err(|error| anyhow!("cannot map a stack for an async call: {error}"))?;
        let (usable, guard) = (stack.usable(), stack.guard());
        let lease = LeasedStack {
            stack: Some(stack),
            engine,
            owner,
        };
        let state = NonNull::from(Box::leak(Box::new(FiberState {
            yielder: Cell::new(ptr::null()),
            poll_context: Cell::new(ptr::null_mut()),
            saved: Cell::new(ThreadState {
                activation: ptr::null(),
                entered_store: ptr::null_mut(),
                fiber: ptr::null(),
            }),
            stack: usable,
            guard,
        })));
        // A fiber starts with no activation and no entered store, and is
        // itself the current fiber while it runs.
        // SAFETY: just allocated; only shared references are ever made.
        let state_ref = unsafe { state.as_ref() };
        let mut initial = state_ref.saved.get();
        initial.fiber = state.as_ptr();
        state_ref.saved.set(initial);
        let state_address = state.as_ptr() as usize;
        let entry = move |yielder: &Yielder<Resume, ()>, _first: Resume| {
            // SAFETY: the state lives until the future is dropped, after the
            // fiber's last run.
            let state = unsafe { &*(state_address as *const FiberState) };
            state.yielder.set(yielder);
            panic::catch_unwind(AssertUnwindSafe(body))
        };
        // SAFETY: `entry` borrows for `'a`, which the future carries: it
        // finishes or is cancelled (dropping everything it borrows) before the
        // future is dropped; a forgotten future never runs it again, so the
        // borrows are never used after `'a`.
        let coroutine = unsafe { Coroutine::with_stack_unchecked(lease, entry) };
        Ok(FiberFuture {
            coroutine,
            state,
            _borrows: PhantomData,
        })
    }

    fn state(&self) -> &FiberState {
        // SAFETY: allocated in `new`, freed only in `drop`.
        unsafe { self.state.as_ref() }
    }

    /// Runs the fiber until it suspends or finishes, with its thread state.
    fn resume(&mut self, input: Resume) -> CoroutineResult<(), std::result::Result<R, Panic>> {
        let outer = self.state().saved.get().swap_in();
        let result = self.coroutine.resume(input);
        self.state().saved.set(outer.swap_in());
        result
    }

    /// Unwinds a suspended fiber to its entry (module docs).
    fn cancel(&mut self) {
        while self.coroutine.started() && !self.coroutine.done() {
            // The unwind passes no suspension point that waits (each one
            // returns the cancellation error at once), so no poll context
            // is needed; its result (the error, or a panic of a host
            // future's destructor) has nobody to go to.
            drop(self.resume(Resume::Cancel));
        }
    }
}

impl<R> Future for FiberFuture<'_, R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<R>> {
        let this = self.get_mut();
        // A fiber resumed on a new thread needs that thread's signal stack
        // for a fault on its guard page to be handled.
        if let Err(error) = signals::ensure_thread_alt_stack() {
            this.cancel();
            return Poll::Ready(Err(anyhow!(
                "cannot set up a signal stack for Wasm: {error}"
            )));
        }
        let context: *mut Context<'_> = context;
        this.state().poll_context.set(context.cast());
        let result = this.resume(Resume::Run);
        this.state().poll_context.set(ptr::null_mut());
        match result {
            CoroutineResult::Yield(()) => Poll::Pending,
            CoroutineResult::Return(Ok(output)) => Poll::Ready(Ok(output)),
            CoroutineResult::Return(Err(payload)) => panic::resume_unwind(payload),
        }
    }
}

impl<R> Drop for FiberFuture<'_, R> {
    fn drop(&mut self) {
        self.cancel();
        // SAFETY: from `Box::leak` in `new`; the fiber has finished or never
        // started, so nothing uses the state any more (the coroutine, dropped
        // next, only holds its address).
        drop(unsafe { Box::from_raw(self.state.as_ptr()) });
    }
}

impl<R> Unpin for FiberFuture<'_, R> {}
