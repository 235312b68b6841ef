//! Throwing Wasm exceptions: the `throw` and `throw_ref` builtins, the
//! search for a handler through compiled frames, and the jump to it.
//!
//! A throw starts at a frame of compiled code: the caller of the builtin
//! (whose return address and frame pointer the builtin's entry stub
//! captures), or the Wasm caller of a host function that returned a
//! [`ThrownException`] (the exit frame its host trampoline recorded). From
//! there the search follows the frame-pointer chain while the return
//! addresses lie in compiled code, i.e. up to the entry trampoline of the
//! innermost host->Wasm call. At each return address the module's exception
//! table lists the call site's handlers; a handler's tag index is resolved
//! through the vmctx its frame saved, so tags match by identity (an imported
//! tag is its exporter's). The first match resumes: stack and frame
//! pointers as at the call, the exception in the first payload register,
//! at the handler's code.
//!
//! Invariants: compiled code keeps frame pointers (`[fp]` is the caller's
//! frame pointer, `[fp + 8]` the return address); every frame skipped by a
//! resume is a compiled frame or a runtime frame that owns nothing by then.
//! Traps never reach this module: they unwind through `traps::raise`.
//!
//! Failure behaviour: no handler before the host boundary unwinds to the
//! innermost host->Wasm call, which returns the exception as a
//! `ThrownException` error (with the throw's Wasm backtrace as context).

use crate::exception::{ExnRef, ThrownException};
use crate::func::with_wasm_backtrace;
use crate::store::StoreOpaque;
use crate::values::ValRaw;
use crate::vm::builtins::context;
use crate::vm::entered_store::entered_store;
use crate::vm::registry;
use crate::vm::traps::{self, Unwind};
use crate::vm::vmctx::instance_of_vmctx;

/// Where a handler resumes.
struct Handler {
    pc: usize,
    sp: usize,
    fp: usize,
}

/// The `throw` builtin's entry: passes its return address and its caller's
/// frame pointer on to [`throw_from_wasm`] as two more arguments.
///
/// # Safety
/// Called only by compiled code, as the builtin it is declared as.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw(vmctx: *mut u8, tag: u32, payload: u64) {
    core::arch::naked_asm!(
        "mov rcx, [rsp]",
        "mov r8, rbp",
        "jmp {target}",
        target = sym throw_from_wasm,
    )
}

/// The `throw_ref` builtin's entry, as [`throw`].
///
/// # Safety
/// Called only by compiled code, as the builtin it is declared as.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw_ref(vmctx: *mut u8, exception: u64) {
    core::arch::naked_asm!(
        "mov rdx, [rsp]",
        "mov rcx, rbp",
        "jmp {target}",
        target = sym throw_ref_from_wasm,
    )
}

/// The `throw` builtin's entry: passes the link register and the frame
/// pointer on to [`throw_from_wasm`] as two more arguments.
///
/// # Safety
/// Called only by compiled code, as the builtin it is declared as.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw(vmctx: *mut u8, tag: u32, payload: u64) {
    core::arch::naked_asm!(
        "mov x3, x30",
        "mov x4, x29",
        "b {target}",
        target = sym throw_from_wasm,
    )
}

/// The `throw_ref` builtin's entry, as [`throw`].
///
/// # Safety
/// Called only by compiled code, as the builtin it is declared as.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw_ref(vmctx: *mut u8, exception: u64) {
    core::arch::naked_asm!(
        "mov x2, x30",
        "mov x3, x29",
        "b {target}",
        target = sym throw_ref_from_wasm,
    )
}

/// `throw`: makes the exception from the payload slots, then unwinds it
/// from the frame that returns to `pc` with frame pointer `fp`.
unsafe extern "C" fn throw_from_wasm(
    vmctx: *mut u8,
    tag: u32,
    payload: u64,
    pc: usize,
    fp: usize,
) -> ! {
    let exception = {
        // SAFETY: called by compiled code with its vmctx (through the stub).
        let (store, instance) = unsafe { context(vmctx) };
        let tag = instance.tag(tag);
        let count = tag.ty_in(store).params().len();
        // SAFETY: compiled code passes one slot per parameter of the tag.
        let values = unsafe { std::slice::from_raw_parts(payload as *const ValRaw, count) };
        store.new_exception(tag, values.into())
    };
    // SAFETY: everything this frame owned is dropped; (pc, fp) is the frame
    // of compiled code that called the builtin.
    unsafe { unwind(exception, pc, fp) }
}

/// `throw_ref` of a non-null exception (compiled code checks for null).
unsafe extern "C" fn throw_ref_from_wasm(
    _vmctx: *mut u8,
    exception: u64,
    pc: usize,
    fp: usize,
) -> ! {
    // SAFETY: as in `throw_from_wasm`.
    unsafe { unwind(exception, pc, fp) }
}

/// Throws the exception a host function returned into its Wasm caller,
/// whose exit frame the host trampoline recorded.
///
/// # Safety
/// Called from a host function's runtime frame that compiled code called,
/// with nothing left to drop; `exception` must belong to the entered store.
pub(crate) unsafe fn throw_from_host(exception: ExnRef) -> ! {
    let (raw, pc, fp) = {
        // SAFETY: Wasm of the entered store runs; the shared borrow ends here.
        let store = unsafe { &*entered_store() };
        let raw = ExnRef::option_to_raw(Some(&exception), store).expect("checked store");
        // SAFETY: the limits are the store's; compiled code is not running.
        let limits = unsafe { &*store.limits() };
        (raw, limits.last_wasm_exit_pc, limits.last_wasm_exit_fp)
    };
    // SAFETY: forwarded from the caller.
    unsafe { unwind(raw, pc, fp) }
}

/// Resumes at the handler of the raw exception `exception` found from the
/// frame returning to `pc` with frame pointer `fp`, or unwinds to the host.
///
/// # Safety
/// `(pc, fp)` must be a frame of compiled code on this thread's stack, in an
/// activation of the entered store, and every frame above it must own
/// nothing to drop.
unsafe fn unwind(exception: u64, pc: usize, fp: usize) -> ! {
    // SAFETY: Wasm of the entered store runs; the shared borrow ends before
    // the jump.
    let store = unsafe { &*entered_store() };
    // SAFETY: forwarded from the caller.
    match unsafe { find_handler(store, exception, pc, fp) } {
        // SAFETY: the handler's frame is live below us; the frames between
        // own nothing (caller's guarantee).
        Some(handler) => unsafe { resume(handler, exception) },
        None => {
            // SAFETY: the exception belongs to the store.
            let exception = unsafe { ExnRef::from_raw(store, exception) }.expect("non-null");
            // The Wasm frames of the throw, as a host error's, are its context.
            let error = with_wasm_backtrace(anyhow::Error::new(ThrownException::uncaught(
                store, exception,
            )));
            // SAFETY: inside `catch_traps`, from frames that own nothing
            // (the error moves into the unwind reason).
            unsafe { traps::raise(Unwind::Host(error)) }
        }
    }
}

/// The handler of `exception` in the frames from `(pc, fp)` up to the host
/// boundary, if any.
///
/// # Safety
/// As for [`unwind`].
unsafe fn find_handler(
    store: &StoreOpaque,
    exception: u64,
    mut pc: usize,
    mut fp: usize,
) -> Option<Handler> {
    // SAFETY: compiled code only holds exceptions of its store.
    let thrown = unsafe { store.exception_tag(exception) };
    loop {
        if pc == 0 || fp == 0 || !fp.is_multiple_of(8) {
            return None;
        }
        // The call before a return address may end the code image.
        let code = registry::lookup_code(pc - 1)?;
        if let Some(site) = code.exception_site(pc) {
            let sp = fp - site.frame_offset as usize;
            for handler in &site.handlers {
                let matches = match handler.tag {
                    None => true,
                    Some(tag) => {
                        // SAFETY: the call site saved its vmctx at this offset
                        // from its stack pointer; the instance lives while its
                        // code runs.
                        let instance = unsafe {
                            let vmctx = *((sp + site.vmctx_sp_offset as usize) as *const *mut u8);
                            &*instance_of_vmctx(vmctx)
                        };
                        instance.tag(tag) == thrown
                    }
                };
                if matches {
                    return Some(Handler {
                        pc: code.range.start + handler.code_offset as usize,
                        sp,
                        fp,
                    });
                }
            }
        }
        // SAFETY: compiled code keeps frame pointers (module invariant).
        unsafe {
            pc = *((fp + 8) as *const usize);
            fp = *(fp as *const usize);
        }
    }
}

/// Jumps to `handler` with `exception` in the first payload register.
///
/// # Safety
/// `handler` must be a handler of a live compiled frame on this stack, and
/// nothing above that frame may need dropping.
#[cfg(target_arch = "x86_64")]
unsafe fn resume(handler: Handler, exception: u64) -> ! {
    // SAFETY: guaranteed by the caller: the handler expects exactly this
    // stack and frame pointer, with the payload in rax (and rdx).
    unsafe {
        core::arch::asm!(
            "mov rsp, rcx",
            "mov rbp, rsi",
            "jmp rdi",
            in("rax") exception,
            in("rdx") 0u64,
            in("rcx") handler.sp,
            in("rsi") handler.fp,
            in("rdi") handler.pc,
            options(noreturn, nostack),
        )
    }
}

/// Jumps to `handler` with `exception` in the first payload register.
///
/// # Safety
/// As for the x86-64 version.
#[cfg(target_arch = "aarch64")]
unsafe fn resume(handler: Handler, exception: u64) -> ! {
    // SAFETY: guaranteed by the caller: the handler expects exactly this
    // stack and frame pointer, with the payload in x0 (and x1).
    unsafe {
        core::arch::asm!(
            "mov sp, x2",
            "mov x29, x3",
            "br x4",
            in("x0") exception,
            in("x1") 0u64,
            in("x2") handler.sp,
            in("x3") handler.fp,
            in("x4") handler.pc,
            options(noreturn, nostack),
        )
    }
}
