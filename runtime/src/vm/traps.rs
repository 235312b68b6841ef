//! Trap machinery: catching traps at the host->Wasm boundary, raising them
//! from the runtime, turning a fault in compiled code into a trap, and
//! capturing the Wasm backtrace. The public types they produce (`Trap`,
//! `WasmBacktrace`) live in `crate::trap`.
//!
//! Every host->Wasm call runs inside [`catch_traps`], which publishes an
//! [`Activation`] for the thread and a jump buffer (C shim `jump_shim.c`,
//! `sigsetjmp`). A trap — from the signal handler, a builtin, or a host
//! function's error or panic — records why in the activation and jumps back
//! to the buffer. Only frames with nothing left to drop are skipped: JIT
//! frames, the C shim, and runtime frames that have already moved everything
//! they own into the activation.
//!
//! Inside an async call the activations and the jump buffer are on the
//! fiber's stack and travel with it (`fiber` swaps the thread's pointer at
//! every resume and suspension); a backtrace never walks past the fiber's
//! stack, and a fault of compiled code on the fiber's guard page is a stack
//! overflow trap.
//!
//! Failure behaviour: raising with no activation on the thread is a runtime
//! bug with nowhere to unwind to, and aborts the process; a fault that is not
//! a trap in Wasm code of this thread is left to the signal handler's
//! fallback (the handler that was installed before Remap's).

use crate::trap::{
    FrameInfo, KEPT_INNERMOST_FRAMES, KEPT_OUTERMOST_FRAMES, Trap, TrapKind, WasmBacktrace,
};
use crate::vm::registry::{self, CodeInfo, FrameLocation, FramePc};
use crate::vm::signals::{self, FaultContext};
use remap_compiler::vmctx::VMRuntimeLimits;
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::ops::Range;
use std::ptr;
use std::sync::Arc;

/// Stack the host keeps below the Wasm stack limit when the thread's stack is
/// smaller than `max_wasm_stack`: for host functions Wasm calls near the limit.
const HOST_STACK_RESERVE: usize = 128 * 1024;

unsafe extern "C" {
    fn remap_call_with_jump_buffer(
        slot: *mut *mut c_void,
        body: unsafe extern "C" fn(*mut c_void),
        data: *mut c_void,
    ) -> std::ffi::c_int;
    fn remap_jump_back(buffer: *mut c_void) -> !;
}

/// Why a call into Wasm was unwound.
pub(crate) enum Unwind {
    /// Wasm trapped.
    Trap(Trap),
    /// A host function returned this error.
    Host(anyhow::Error),
    /// A host function panicked; the payload is resumed on the host side.
    Panic(Box<dyn Any + Send>),
}

/// One host->Wasm call in progress on this thread.
pub(crate) struct Activation {
    jump_buffer: Cell<*mut c_void>,
    limits: *mut VMRuntimeLimits,
    previous: *const Activation,
    /// Exit record of the Wasm code that called the host function which made
    /// this call, when it runs in the same store (for backtraces).
    outer_exit: Option<(usize, usize)>,
    /// The store's exit record (fp, pc) when this call entered: where the
    /// store's previous activation on this thread, if any, left Wasm, also
    /// when other stores' activations lie between (the collector's scan).
    store_exit_at_entry: (usize, usize),
    unwind: UnsafeCell<Option<Unwind>>,
}

thread_local! {
    static ACTIVE: Cell<*const Activation> = const { Cell::new(ptr::null()) };
}

/// Runs `body` (which calls into compiled code) with traps caught: returns the
/// trap or host error as the error, and resumes a host panic.
///
/// # Safety
/// `limits` must be the store's live `VMRuntimeLimits`, and `body` must own
/// nothing that needs dropping while compiled code runs (it may be abandoned).
pub(crate) unsafe fn catch_traps(
    limits: *mut VMRuntimeLimits,
    max_wasm_stack: usize,
    body: &mut dyn FnMut(),
) -> anyhow::Result<()> {
    signals::ensure_thread_alt_stack()
        .map_err(|error| anyhow::anyhow!("cannot set up a signal stack for Wasm: {error}"))?;
    let previous = ACTIVE.with(|a| a.get());
    let nested_in_store = same_store_activation(previous, limits);
    // SAFETY: the caller guarantees `limits` is live; compiled code is not running
    // on this thread at this moment, so nothing else accesses it.
    let saved = unsafe { *limits };
    if !nested_in_store {
        let mut stack_limit = approximate_stack_pointer().saturating_sub(max_wasm_stack);
        // On a thread whose stack is smaller than `max_wasm_stack`, deep Wasm
        // recursion must trap before it reaches the thread's guard page (a fault
        // there is not a Wasm trap and kills the process).
        // On a fiber, its own stack's end is the one that matters.
        let low_end =
            crate::vm::fiber::current_stack_low_end().or_else(signals::thread_stack_low_end);
        if let Some(low_end) = low_end {
            stack_limit = stack_limit.max(low_end.saturating_add(HOST_STACK_RESERVE));
        }
        // SAFETY: as above.
        unsafe { (*limits).stack_limit = stack_limit };
    }
    let activation = Activation {
        jump_buffer: Cell::new(ptr::null_mut()),
        limits,
        previous,
        outer_exit: nested_in_store.then_some((saved.last_wasm_exit_fp, saved.last_wasm_exit_pc)),
        store_exit_at_entry: (saved.last_wasm_exit_fp, saved.last_wasm_exit_pc),
        unwind: UnsafeCell::new(None),
    };
    ACTIVE.with(|a| a.set(&activation));
    let mut body_ref: &mut dyn FnMut() = body;
    // SAFETY: the shim calls `invoke_body` with our pointer to `body_ref`, which
    // outlives the call; the jump buffer slot lives in `activation`.
    let returned = unsafe {
        remap_call_with_jump_buffer(
            activation.jump_buffer.as_ptr(),
            invoke_body,
            (&mut body_ref as *mut &mut dyn FnMut()).cast(),
        )
    };
    ACTIVE.with(|a| a.set(previous));
    // SAFETY: compiled code has returned or been unwound; we are the only user.
    unsafe {
        (*limits).stack_limit = saved.stack_limit;
        (*limits).last_wasm_exit_fp = saved.last_wasm_exit_fp;
        (*limits).last_wasm_exit_pc = saved.last_wasm_exit_pc;
    }
    if returned != 0 {
        return Ok(());
    }
    match activation.unwind.into_inner() {
        Some(Unwind::Trap(trap)) => Err(anyhow::Error::new(trap)),
        Some(Unwind::Host(error)) => Err(error),
        Some(Unwind::Panic(payload)) => std::panic::resume_unwind(payload),
        None => unreachable!("jumped back without a reason"),
    }
}

unsafe extern "C" fn invoke_body(data: *mut c_void) {
    // SAFETY: `catch_traps` passes a pointer to a live `&mut dyn FnMut()`.
    let body = unsafe { &mut *data.cast::<&mut dyn FnMut()>() };
    body();
}

fn same_store_activation(mut activation: *const Activation, limits: *mut VMRuntimeLimits) -> bool {
    while !activation.is_null() {
        // SAFETY: activations on the chain live in frames below us on this thread.
        let current = unsafe { &*activation };
        if current.limits == limits {
            return true;
        }
        activation = current.previous;
    }
    false
}

/// Publishes `activation` as this thread's innermost one and returns the one
/// published before: how a fiber takes its activations along when it is
/// suspended and resumed (vm/fiber.rs).
pub(crate) fn swap_activation(activation: *const Activation) -> *const Activation {
    ACTIVE.replace(activation)
}

/// Unwinds to the innermost `catch_traps` with `unwind` as the reason.
///
/// # Safety
/// Must be called on a thread inside `catch_traps`, from a frame reached from
/// compiled code, where every frame up to the activation owns nothing to drop.
pub(crate) unsafe fn raise(unwind: Unwind) -> ! {
    let activation = ACTIVE.with(|a| a.get());
    if activation.is_null() {
        // Raising outside Wasm is a runtime bug; there is nothing to unwind to.
        std::process::abort();
    }
    // SAFETY: the activation lives in a frame of `catch_traps` below us, and
    // nothing else touches `unwind` while Wasm runs.
    unsafe {
        *(*activation).unwind.get() = Some(unwind);
        remap_jump_back((*activation).jump_buffer.get())
    }
}

/// Raises a trap of `kind` from a builtin: the backtrace starts at the exit
/// frame compiled code recorded before calling the builtin.
///
/// # Safety
/// As for [`raise`].
pub(crate) unsafe fn raise_trap(kind: TrapKind) -> ! {
    let backtrace = capture_backtrace(None);
    // SAFETY: forwarded from the caller.
    unsafe { raise(Unwind::Trap(Trap::new(kind, backtrace))) }
}

/// Called by the signal handler: if the fault is a trap in Wasm code on this
/// thread, records it and jumps out of the handler; otherwise returns.
pub(crate) fn handle_fault(fault: FaultContext) {
    let activation = ACTIVE.with(|a| a.get());
    if activation.is_null() {
        return;
    }
    let Some(code) = registry::lookup_code_in_handler(fault.pc) else {
        // Host code that overflowed a fiber's stack cannot be unwound (its
        // frames own things); stop as Rust does for a thread's stack, with a
        // message instead of a bare SIGSEGV.
        if fault
            .address
            .is_some_and(crate::vm::fiber::is_current_guard_page)
        {
            signals::abort_with_message(
                b"remap: host code overflowed the stack of an async call's fiber (raise Config::async_stack_size); aborting\n",
            );
        }
        return;
    };
    // Compiled code that runs into a fiber's guard page has overflowed the
    // fiber's stack, whichever instruction touched it.
    let hit_fiber_guard = fault
        .address
        .is_some_and(crate::vm::fiber::is_current_guard_page);
    let Some(kind) = code
        .trap_at(fault.pc)
        .or(hit_fiber_guard.then_some(TrapKind::StackOverflow))
    else {
        return;
    };
    // A fault is a Wasm trap when it hit a linear memory's reservation, or
    // the null page from an access whose Spectre-hardened bounds check
    // replaced its address with null (the access is at most 16 bytes).
    if let Some(address) = fault.address
        && !hit_fiber_guard
        && !registry::is_reserved_address(address)
        && !(kind == TrapKind::MemoryOutOfBounds && address < remap_memory::host_page_size())
    {
        return;
    }
    drop(code);
    // The stack check runs on function entry, before any instruction.
    let pc = if kind == TrapKind::StackOverflow && !hit_fiber_guard {
        FramePc::InFunction(fault.pc)
    } else {
        FramePc::Faulting(fault.pc)
    };
    let backtrace = capture_backtrace(Some((pc, fault.fp)));
    // SAFETY: the thread was running compiled code of a live activation; the
    // frames between here and `catch_traps` are the handler's (nothing owned
    // any more), the kernel's signal frame, and JIT frames.
    unsafe { raise(Unwind::Trap(Trap::new(kind, backtrace))) }
}

/// A frame found by the stack walk; its `FrameInfo` (which copies names) is
/// only built for the frames a backtrace keeps.
struct FoundFrame {
    code: Arc<registry::CodeInfo>,
    location: FrameLocation,
}

impl FoundFrame {
    fn info(&self) -> FrameInfo {
        let func_index = self.location.func_index;
        FrameInfo::new(
            func_index,
            self.code.names.get(func_index).map(str::to_owned),
            self.code.module_name.clone(),
            self.location.wasm_offset as usize,
            self.location.body_offset as usize,
        )
    }
}

/// Collects frames innermost first, keeping the first `KEPT_INNERMOST_FRAMES`
/// and the last `KEPT_OUTERMOST_FRAMES` and counting the rest, so that a
/// stack overflow's backtrace stays small (it is built in a signal handler).
#[derive(Default)]
struct FrameCollector {
    innermost: Vec<FoundFrame>,
    outermost: VecDeque<FoundFrame>,
    elided: usize,
}

impl FrameCollector {
    fn push(&mut self, frame: FoundFrame) {
        if self.innermost.len() < KEPT_INNERMOST_FRAMES {
            self.innermost.push(frame);
            return;
        }
        if self.outermost.len() == KEPT_OUTERMOST_FRAMES {
            self.outermost.pop_front();
            self.elided += 1;
        }
        self.outermost.push_back(frame);
    }

    fn finish(self) -> WasmBacktrace {
        let frames = self.innermost.iter().chain(&self.outermost);
        WasmBacktrace::new(frames.map(FoundFrame::info).collect(), self.elided)
    }
}

/// Walks the Wasm frames of every activation of the current thread, starting
/// at `innermost` (pc, fp) or at the innermost activation's recorded exit frame.
fn capture_backtrace(innermost: Option<(FramePc, usize)>) -> WasmBacktrace {
    let mut frames = FrameCollector::default();
    // On a fiber, every frame of this thread's activations is on its stack.
    let stack = crate::vm::fiber::current_stack();
    let mut activation = ACTIVE.with(|a| a.get());
    let mut segment = innermost.or_else(|| {
        // SAFETY: a non-null activation lives in a frame below us; its limits are live.
        (!activation.is_null()).then(|| unsafe {
            let limits = &*(*activation).limits;
            (
                exit_frame_pc(limits.last_wasm_exit_pc),
                limits.last_wasm_exit_fp,
            )
        })
    });
    while !activation.is_null() {
        if let Some((pc, fp)) = segment {
            // SAFETY: (pc, fp) is a Wasm frame record of this thread's live stack.
            unsafe { walk_segment(pc, fp, stack.as_ref(), &mut frames) };
        }
        // SAFETY: as above.
        let current = unsafe { &*activation };
        segment = current.outer_exit.map(|(fp, pc)| (exit_frame_pc(pc), fp));
        activation = current.previous;
    }
    frames.finish()
}

/// What a recorded exit pc means: compiled code records its own start before
/// calling a builtin, and the host trampoline records its return address.
fn exit_frame_pc(pc: usize) -> FramePc {
    match registry::lookup_code(pc) {
        Some(code) if code.is_function_start(pc) => FramePc::InFunction(pc),
        _ => FramePc::Return(pc),
    }
}

/// Follows the frame-pointer chain from `(pc, fp)` while it stays in compiled
/// code (and on `stack`, the running fiber's, when given); every frame after
/// the first is at a return address.
///
/// # Safety
/// `fp` must be the frame pointer of the frame executing `pc`, in compiled code
/// that keeps frame pointers.
unsafe fn walk_segment(
    mut pc: FramePc,
    mut fp: usize,
    stack: Option<&Range<usize>>,
    frames: &mut FrameCollector,
) {
    loop {
        let address = match pc {
            FramePc::Faulting(address) | FramePc::InFunction(address) => address,
            // The call before a return address may end the code image.
            FramePc::Return(address) => address.saturating_sub(1),
        };
        if address == 0 || fp == 0 || !fp.is_multiple_of(8) {
            break;
        }
        // The walk never leaves a fiber's stack: above its base lies no
        // frame of this call.
        if stack.is_some_and(|stack| !stack.contains(&fp)) {
            break;
        }
        let Some(code) = registry::lookup_code(address) else {
            break;
        };
        if let Some(location) = code.locate(pc) {
            frames.push(FoundFrame { code, location });
        }
        // SAFETY: compiled code keeps frame pointers: [fp] is the caller's frame
        // pointer and [fp + 8] the return address.
        unsafe {
            pc = FramePc::Return(*((fp + 8) as *const usize));
            fp = *(fp as *const usize);
        }
    }
}

/// Calls `visit` with the code, pc and frame pointer of every Wasm frame
/// of this thread's activations in the store whose runtime limits are
/// `limits`, innermost first (the collector's stack scan). Activations of
/// other stores are skipped: their frames hold no reference into this
/// store's heap.
///
/// # Safety
/// Must run while the store's Wasm code is stopped in a call out of Wasm
/// (a builtin or host function), so every recorded frame is live.
pub(crate) unsafe fn visit_store_frames(
    limits: *mut VMRuntimeLimits,
    visit: &mut dyn FnMut(&CodeInfo, FramePc, usize),
) {
    let mut activation = ACTIVE.with(|a| a.get());
    // SAFETY: the caller guarantees the store's frames are live, and so
    // its limits.
    let mut segment = unsafe { ((*limits).last_wasm_exit_fp, (*limits).last_wasm_exit_pc) };
    while !activation.is_null() {
        // SAFETY: activations live in frames below us.
        let current = unsafe { &*activation };
        if std::ptr::eq(current.limits, limits) {
            let (mut fp, pc) = segment;
            let mut pc = exit_frame_pc(pc);
            loop {
                let address = match pc {
                    FramePc::Faulting(address) | FramePc::InFunction(address) => address,
                    FramePc::Return(address) => address.saturating_sub(1),
                };
                if address == 0 || fp == 0 || !fp.is_multiple_of(8) {
                    break;
                }
                let Some(code) = registry::lookup_code(address) else {
                    break;
                };
                visit(&code, pc, fp);
                // SAFETY: compiled code keeps frame pointers (as in `walk_segment`).
                unsafe {
                    pc = FramePc::Return(*((fp + 8) as *const usize));
                    fp = *(fp as *const usize);
                }
            }
            // The store's older activation, if any, exited Wasm here.
            segment = current.store_exit_at_entry;
        }
        activation = current.previous;
    }
}

/// The current stack pointer, approximately (the address of a local).
#[inline(never)]
fn approximate_stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(ptr::addr_of!(marker)) as usize
}

/// The Wasm frames below the host call in progress on this thread, innermost
/// first: the context a host function's error carries out of Wasm.
pub(crate) fn capture_host_call_backtrace() -> WasmBacktrace {
    capture_backtrace(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::code_tables::{AddressMap, FunctionNames, TrapTable};

    fn found_frames(count: u32) -> Vec<FoundFrame> {
        let code = Arc::new(registry::CodeInfo {
            range: 0..1,
            functions: Vec::new(),
            traps: TrapTable::from_records(&[]),
            address_map: AddressMap::from_entries(&[]),
            names: FunctionNames::from_names(&[(0, "outermost".to_string())].into()),
            module_name: None,
            exception_table: Vec::new(),
            stack_maps: Vec::new(),
        });
        // Innermost first: depth `count - 1 - i` calls function `count - 1 - i`.
        (0..count)
            .rev()
            .map(|func_index| FoundFrame {
                code: code.clone(),
                location: FrameLocation {
                    func_index,
                    body_offset: 0,
                    wasm_offset: 0,
                },
            })
            .collect()
    }

    #[test]
    fn a_deep_backtrace_keeps_both_ends_and_counts_the_rest() {
        let mut collector = FrameCollector::default();
        for frame in found_frames(1000) {
            collector.push(frame);
        }
        let backtrace = collector.finish();
        let kept = KEPT_INNERMOST_FRAMES + KEPT_OUTERMOST_FRAMES;
        assert_eq!(backtrace.frames().len(), kept);
        assert_eq!(
            backtrace.elided_frames(),
            Some((KEPT_INNERMOST_FRAMES, 1000 - kept))
        );
        let indices: Vec<u32> = backtrace.frames().iter().map(|f| f.func_index()).collect();
        assert_eq!(indices[0], 999);
        assert_eq!(indices[KEPT_INNERMOST_FRAMES - 1], 999 - 127);
        assert_eq!(indices[KEPT_INNERMOST_FRAMES], 31);
        assert_eq!(indices[kept - 1], 0);
        let text = backtrace.to_string();
        assert!(
            text.contains(
                "  127: 0x0 - <wasm function 872>\n      ... 840 frames elided\n  968: 0x0 - <wasm function 31>"
            ),
            "{text}"
        );
        assert!(text.ends_with("  999: 0x0 - outermost"), "{text}");
    }

    #[test]
    fn a_shallow_backtrace_is_kept_whole() {
        let mut collector = FrameCollector::default();
        let count = (KEPT_INNERMOST_FRAMES + KEPT_OUTERMOST_FRAMES) as u32;
        for frame in found_frames(count) {
            collector.push(frame);
        }
        let backtrace = collector.finish();
        assert_eq!(backtrace.frames().len(), count as usize);
        assert_eq!(backtrace.elided_frames(), None);
        assert!(!backtrace.to_string().contains("elided"));
    }

    #[test]
    fn raising_inside_catch_traps_returns_the_error() {
        let mut limits = VMRuntimeLimits::default();
        let mut body = || {
            // SAFETY: inside catch_traps; this closure owns nothing.
            unsafe { raise(Unwind::Host(anyhow::anyhow!("boom"))) }
        };
        // SAFETY: `limits` is live for the call.
        let result = unsafe { catch_traps(&mut limits, 1 << 20, &mut body) };
        assert_eq!(result.unwrap_err().to_string(), "boom");
        assert!(ACTIVE.with(|a| a.get()).is_null());
        assert_eq!(limits.stack_limit, 0);
    }
}
