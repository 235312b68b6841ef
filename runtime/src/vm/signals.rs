//! Signal handling and the thread's stack bounds: the runtime's only direct
//! use of signal and thread system calls.
//!
//! Handlers for SIGSEGV, SIGBUS, SIGILL and SIGFPE are installed once per
//! process. A fault is turned into a Wasm trap only when the current thread is
//! running Wasm, the faulting PC is a trap site in published code and, for
//! memory faults, the address lies inside a linear memory's reservation (or,
//! for any instruction of compiled code, in the guard page of the fiber the
//! thread runs: a stack overflow).
//! A signal someone sent (`kill`, `raise`, `sigqueue`) is never a trap, even
//! to a thread in Wasm. Anything else goes to the handler that was installed
//! before (or the default action), so the process behaves exactly as it would
//! without Remap; the interrupted code's `errno` is preserved either way.

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Once;

/// The signals that compiled code raises.
const HANDLED_SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// Usable size of the per-thread signal stack: the handler walks frames and
/// builds a backtrace, which needs more than the default `SIGSTKSZ`.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// The handlers that were installed before ours, by position in `HANDLED_SIGNALS`.
struct PreviousHandlers(std::cell::UnsafeCell<[MaybeUninit<libc::sigaction>; 4]>);

// SAFETY: written exactly once inside `INSTALL.call_once` before any of our
// handlers can run, and only read afterwards.
unsafe impl Sync for PreviousHandlers {}

static PREVIOUS: PreviousHandlers =
    PreviousHandlers(std::cell::UnsafeCell::new([MaybeUninit::uninit(); 4]));
static INSTALL: Once = Once::new();

/// The machine state at a fault that the trap machinery needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FaultContext {
    /// Program counter of the faulting instruction.
    pub pc: usize,
    /// Frame pointer at the fault.
    pub fp: usize,
    /// Faulting data address (SIGSEGV/SIGBUS only).
    pub address: Option<usize>,
}

/// Installs the process-wide handlers (idempotent).
pub(crate) fn install_handlers() {
    INSTALL.call_once(|| {
        for (slot, &signal) in HANDLED_SIGNALS.iter().enumerate() {
            // SAFETY: an all-zero sigaction is a valid starting value; every field
            // we rely on is then set explicitly.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handle_signal as *const () as usize;
            // SA_NODEFER: we leave the handler with siglongjmp, which does not
            // restore the mask, so the signal must not stay blocked.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
            // SAFETY: `action.sa_mask` is a valid sigset_t owned by this frame.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // The previous action is saved by a query of its own before ours is
            // installed: swapping both in one call would let a fault on another
            // thread run our handler before the kernel has written the slot the
            // handler forwards to.
            // SAFETY: `PREVIOUS` is written only here, once, while no handler of
            // ours is live for this signal; the pointer is valid for the call.
            let rc = unsafe {
                let previous = (*PREVIOUS.0.get())[slot].as_mut_ptr();
                libc::sigaction(signal, ptr::null(), previous)
            };
            assert_eq!(
                rc,
                0,
                "sigaction({signal}) query failed: {}",
                std::io::Error::last_os_error()
            );
            // SAFETY: `action` is a valid, fully initialised sigaction.
            let rc = unsafe { libc::sigaction(signal, &action, ptr::null_mut()) };
            assert_eq!(
                rc,
                0,
                "sigaction({signal}) failed: {}",
                std::io::Error::last_os_error()
            );
        }
    });
}

fn previous_handler(signal: libc::c_int) -> Option<&'static libc::sigaction> {
    let slot = HANDLED_SIGNALS.iter().position(|&s| s == signal)?;
    // SAFETY: our handler is only installed after `install_handlers` stored the
    // previous action in this slot, and the slot is never written again.
    Some(unsafe { (*PREVIOUS.0.get())[slot].assume_init_ref() })
}

extern "C" fn handle_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // The interrupted code may be between a failing call and its read of
    // errno; nothing this handler does on the way back may change it.
    let errno = SavedErrno::save();
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let cause = unsafe { SignalCause::of(&*info) };
    if cause == SignalCause::Fault {
        // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO handlers.
        let fault = unsafe { fault_context(signal, info, context) };
        // Jumps out of the handler when the fault is a Wasm trap; returns otherwise.
        crate::vm::traps::handle_fault(fault);
    }
    errno.restore();
    // SAFETY: forwarding with the unchanged arguments the kernel gave us.
    unsafe { forward(signal, info, context, cause) };
    errno.restore();
}

/// Whether a signal comes from an instruction that faulted or was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignalCause {
    /// The kernel raised it for an instruction of the interrupted thread
    /// (`si_code > 0`: `SEGV_MAPERR`, `ILL_ILLOPN`, `FPE_INTDIV`, `SI_KERNEL`...).
    Fault,
    /// Someone sent it (`kill`, `tgkill`, `raise`, `sigqueue`: `si_code <= 0`).
    /// Its `si_addr` is not an address and no instruction faulted, so it is
    /// never a Wasm trap, whatever the thread was running.
    Sent,
}

impl SignalCause {
    fn of(info: &libc::siginfo_t) -> SignalCause {
        if info.si_code > 0 {
            SignalCause::Fault
        } else {
            SignalCause::Sent
        }
    }
}

/// The calling thread's `errno`, to put back after code that may change it.
struct SavedErrno(libc::c_int);

impl SavedErrno {
    fn save() -> SavedErrno {
        // SAFETY: `__errno_location` returns this thread's errno slot, valid
        // for the thread's lifetime; reading it is async-signal-safe.
        SavedErrno(unsafe { *libc::__errno_location() })
    }

    fn restore(&self) {
        // SAFETY: as in `save`.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

/// Reads the PC, FP and fault address out of the signal frame.
///
/// # Safety
/// `info` and `context` must be the pointers the kernel passed to a SA_SIGINFO handler.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe fn fault_context(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) -> FaultContext {
    // SAFETY: guaranteed by the caller.
    let (registers, address) = unsafe {
        let ucontext = &*(context as *const libc::ucontext_t);
        (ucontext.uc_mcontext.gregs, (*info).si_addr() as usize)
    };
    FaultContext {
        pc: registers[libc::REG_RIP as usize] as usize,
        fp: registers[libc::REG_RBP as usize] as usize,
        address: matches!(signal, libc::SIGSEGV | libc::SIGBUS).then_some(address),
    }
}

/// Hands a signal that is not a Wasm trap to whoever handled it before us, so
/// the process behaves as it would without Remap.
///
/// # Safety
/// Must be called from the signal handler with the kernel's arguments.
unsafe fn forward(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
    cause: SignalCause,
) {
    let Some(previous) = previous_handler(signal) else {
        return;
    };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_IGN && cause == SignalCause::Sent {
        // Ignored, as before Remap: keep our handler for the faults to come.
    } else if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the old disposition. A fault runs the faulting instruction
        // again on return, and the kernel then applies the default action
        // (normally death with a core; an ignored fault is not ignorable). A
        // sent signal has no instruction to rerun, so send it again.
        // SAFETY: `previous` is a valid sigaction saved by `install_handlers`;
        // `raise` is async-signal-safe, and SA_NODEFER left the signal unblocked.
        unsafe {
            libc::sigaction(signal, previous, ptr::null_mut());
            if cause == SignalCause::Sent {
                libc::raise(signal);
            }
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was registered as a SA_SIGINFO handler,
        // so this is its real signature.
        unsafe {
            let previous_fn: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(handler);
            previous_fn(signal, info, context);
        }
    } else {
        // SAFETY: a plain (non-SA_SIGINFO) handler takes only the signal number.
        unsafe {
            let previous_fn: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
            previous_fn(signal);
        }
    }
}

/// Writes `message` to standard error and aborts the process; safe to call
/// in a signal handler (only `write` and `abort`).
pub(crate) fn abort_with_message(message: &[u8]) -> ! {
    // SAFETY: `message` is a valid buffer of its length; a short or failed
    // write only loses the message.
    unsafe { libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len()) };
    std::process::abort()
}

/// A signal stack this thread installed; removed and unmapped at thread exit.
struct AltStack {
    mapping: *mut libc::c_void,
    mapping_len: usize,
    /// Whether the kernel was told to use it (and must be told to stop).
    installed: bool,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disabling the alternate stack is always valid; the mapping is
        // ours and no handler can run on it once it is disabled.
        unsafe {
            if self.installed {
                let disable = libc::stack_t {
                    ss_sp: ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&disable, ptr::null_mut());
            }
            libc::munmap(self.mapping, self.mapping_len);
        }
    }
}

thread_local! {
    /// Whether this thread already has a big enough signal stack.
    static ALT_STACK_READY: Cell<bool> = const { Cell::new(false) };
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Makes sure this thread has a signal stack big enough for our handler, so a
/// fault near the end of the stack can still be handled.
pub(crate) fn ensure_thread_alt_stack() -> std::io::Result<()> {
    if ALT_STACK_READY.with(Cell::get) {
        return Ok(());
    }
    ALT_STACK.with(|slot| {
        if slot.borrow().is_some() || current_alt_stack_is_big_enough() {
            ALT_STACK_READY.with(|ready| ready.set(true));
            return Ok(());
        }
        let page = remap_memory::host_page_size();
        let mapping_len = ALT_STACK_SIZE + page;
        // SAFETY: a fresh anonymous private mapping; no existing memory is affected.
        let mapping = unsafe {
            libc::mmap(
                ptr::null_mut(),
                mapping_len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // From here on, dropping `stack` unmaps the region.
        let mut stack = AltStack {
            mapping,
            mapping_len,
            installed: false,
        };
        // SAFETY: the range lies inside the mapping we just created; the lowest
        // page stays PROT_NONE as a guard.
        let stack_base = unsafe { mapping.cast::<u8>().add(page) };
        // SAFETY: as above.
        let rc = unsafe {
            libc::mprotect(
                stack_base.cast(),
                ALT_STACK_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let descriptor = libc::stack_t {
            ss_sp: stack_base.cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: the stack memory is readable, writable and lives until `AltStack` drops.
        if unsafe { libc::sigaltstack(&descriptor, ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        stack.installed = true;
        *slot.borrow_mut() = Some(stack);
        ALT_STACK_READY.with(|ready| ready.set(true));
        Ok(())
    })
}

thread_local! {
    /// Lowest usable address of this thread's stack, once looked up (0 = not yet).
    static STACK_LOW_END: Cell<usize> = const { Cell::new(0) };
}

/// The lowest address of the current thread's stack (its guard page excluded
/// or not, depending on the C library), or `None` when it cannot be found.
pub(crate) fn thread_stack_low_end() -> Option<usize> {
    let cached = STACK_LOW_END.with(Cell::get);
    if cached != 0 {
        return Some(cached);
    }
    let mut attributes = MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `pthread_getattr_np` initialises `attributes` for the calling thread.
    if unsafe { libc::pthread_getattr_np(libc::pthread_self(), attributes.as_mut_ptr()) } != 0 {
        return None;
    }
    let mut low_end = ptr::null_mut();
    let mut size = 0;
    // SAFETY: `attributes` was initialised above and is destroyed exactly once.
    let rc = unsafe {
        let rc = libc::pthread_attr_getstack(attributes.as_ptr(), &mut low_end, &mut size);
        libc::pthread_attr_destroy(attributes.as_mut_ptr());
        rc
    };
    if rc != 0 || low_end.is_null() {
        return None;
    }
    STACK_LOW_END.with(|cached| cached.set(low_end as usize));
    Some(low_end as usize)
}

fn current_alt_stack_is_big_enough() -> bool {
    let mut current = MaybeUninit::<libc::stack_t>::uninit();
    // SAFETY: querying the current alternate stack into a valid out pointer.
    if unsafe { libc::sigaltstack(ptr::null(), current.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: sigaltstack succeeded, so it filled `current`.
    let current = unsafe { current.assume_init() };
    current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= ALT_STACK_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info_with_code(code: libc::c_int) -> libc::siginfo_t {
        // SAFETY: an all-zero siginfo_t is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        info.si_code = code;
        info
    }

    #[test]
    fn sent_signals_are_told_apart_from_faults() {
        const SEGV_MAPERR: libc::c_int = 1;
        const FPE_INTDIV: libc::c_int = 1;
        const ILL_ILLOPN: libc::c_int = 2;
        for code in [SEGV_MAPERR, FPE_INTDIV, ILL_ILLOPN, libc::SI_KERNEL] {
            assert_eq!(SignalCause::of(&info_with_code(code)), SignalCause::Fault);
        }
        for code in [libc::SI_USER, libc::SI_QUEUE, libc::SI_TKILL] {
            assert_eq!(SignalCause::of(&info_with_code(code)), SignalCause::Sent);
        }
    }

    #[test]
    fn saved_errno_is_put_back() {
        let saved = {
            // SAFETY: this thread's errno slot.
            unsafe { *libc::__errno_location() = libc::EINTR };
            SavedErrno::save()
        };
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = libc::EAGAIN };
        saved.restore();
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
}
