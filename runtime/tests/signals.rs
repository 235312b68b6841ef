//! Signals someone sends (kill, raise, sigqueue) are not faults: they reach
//! the handler the embedder installed before Remap or take their default
//! action, never become Wasm traps, and leave the interrupted code's errno as
//! it was. Each test runs in a child process, since it changes the process's
//! signal dispositions.

use remap::{Engine, Instance, Linker, Module, Store};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

/// Runs this binary's test `name` alone in a child process with
/// `REMAP_SIGNAL_CHILD` set, and returns how the child ended.
fn run_in_child(name: &str) -> ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("REMAP_SIGNAL_CHILD", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap()
}

fn in_child() -> bool {
    std::env::var_os("REMAP_SIGNAL_CHILD").is_some()
}

/// Exit code of a child whose embedder handler saw a real fault.
const UNEXPECTED_FAULT: i32 = 3;

static HANDLED: AtomicUsize = AtomicUsize::new(0);
static ERRNO_AT_ENTRY: AtomicI32 = AtomicI32::new(0);
static LAST_SI_CODE: AtomicI32 = AtomicI32::new(0);

/// The embedder's SIGSEGV handler: counts sent signals, notes the errno it
/// interrupted, then changes errno (a careless handler) and returns. A real
/// fault cannot be returned from, so it ends the process with a known code.
extern "C" fn embedder_handler(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; errno is this thread's slot;
    // `_exit` is async-signal-safe.
    unsafe {
        let code = (*info).si_code;
        if code > 0 {
            libc::_exit(UNEXPECTED_FAULT);
        }
        LAST_SI_CODE.store(code, Ordering::SeqCst);
        ERRNO_AT_ENTRY.store(*libc::__errno_location(), Ordering::SeqCst);
        *libc::__errno_location() = libc::EBADF;
    }
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Sets the process's SIGSEGV action (before any Engine exists, so Remap
/// saves it as the action to forward to).
fn set_sigsegv_action(handler: usize) {
    // SAFETY: a zeroed sigaction is valid; `handler` is SIG_DFL or a function
    // with the SA_SIGINFO signature.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_SIGINFO;
        assert_eq!(
            libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// Runs a little Wasm on this thread, so Remap's handlers are installed.
fn run_some_wasm() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 1);
}

fn set_errno(value: i32) {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = value };
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap()
}

#[test]
fn a_sent_sigsegv_outside_wasm_reaches_the_embedder_handler_and_keeps_errno() {
    if !in_child() {
        let status = run_in_child(
            "a_sent_sigsegv_outside_wasm_reaches_the_embedder_handler_and_keeps_errno",
        );
        assert!(status.success(), "{status:?}");
        return;
    }
    set_sigsegv_action(embedder_handler as *const () as usize);
    run_some_wasm();

    set_errno(libc::EXDEV);
    // SAFETY: raising a signal whose handler returns.
    assert_eq!(unsafe { libc::raise(libc::SIGSEGV) }, 0);
    assert_eq!(HANDLED.load(Ordering::SeqCst), 1);
    assert_eq!(LAST_SI_CODE.load(Ordering::SeqCst), libc::SI_TKILL);
    assert_eq!(ERRNO_AT_ENTRY.load(Ordering::SeqCst), libc::EXDEV);
    assert_eq!(errno(), libc::EXDEV, "the handler chain changed errno");

    // SAFETY: as above; the signal goes to some thread of this process.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGSEGV) }, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while HANDLED.load(Ordering::SeqCst) < 2 {
        assert!(std::time::Instant::now() < deadline, "kill never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(LAST_SI_CODE.load(Ordering::SeqCst), libc::SI_USER);

    // Remap's handler is still in place: Wasm traps are still caught.
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (func (export "f") unreachable))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    assert!(f.call(&mut store, ()).is_err());
}

#[test]
fn a_sent_sigsegv_with_the_default_action_still_kills_the_process() {
    if !in_child() {
        let status = run_in_child("a_sent_sigsegv_with_the_default_action_still_kills_the_process");
        assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
        return;
    }
    // Replace std's stack-overflow handler by the default action.
    set_sigsegv_action(libc::SIG_DFL);
    run_some_wasm();
    // SAFETY: deliberately ends this child process.
    unsafe { libc::raise(libc::SIGSEGV) };
    std::thread::sleep(Duration::from_secs(1));
    panic!("the process survived a SIGSEGV with the default action");
}

/// Spins over memory loads (each one a trap site) and asks the host after
/// every thousand whether to go on; returns the sum of what it loaded.
const SPIN: &str = r#"
(module
  (import "host" "keep_going" (func $keep_going (result i32)))
  (memory (export "memory") 1)
  (func (export "spin") (result i32)
    (local $sum i32) (local $i i32)
    (loop $outer
      (local.set $i (i32.const 1000))
      (loop $inner
        (local.set $sum
          (i32.add (local.get $sum)
                   (i32.load (local.get $i))))
        (br_if $inner (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
      (br_if $outer (call $keep_going)))
    (local.get $sum)))
"#;

#[test]
fn a_sigsegv_queued_to_a_thread_in_wasm_is_not_a_trap() {
    const SIGNALS: usize = 300;
    if !in_child() {
        let status = run_in_child("a_sigsegv_queued_to_a_thread_in_wasm_is_not_a_trap");
        assert!(status.success(), "{status:?}");
        return;
    }
    set_sigsegv_action(embedder_handler as *const () as usize);
    static STOP: AtomicBool = AtomicBool::new(false);

    let engine = Engine::default();
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "keep_going", || {
            i32::from(!STOP.load(Ordering::SeqCst))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let spin = instance
        .get_typed_func::<(), i32>(&mut store, "spin")
        .unwrap();
    // An address inside the memory's reservation, as a guard fault would report.
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let reserved_address = memory.data_ptr(&store) as usize + 8;

    let (tid_sender, tid_receiver) = std::sync::mpsc::channel();
    let spinner = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_sender.send(unsafe { libc::gettid() }).unwrap();
        spin.call(&mut store, ())
    });
    let tid = tid_receiver.recv().unwrap();
    for _ in 0..SIGNALS {
        if spinner.is_finished() {
            break;
        }
        // SAFETY: an all-zero siginfo_t is valid; the fields written are those
        // of the x86_64 Linux layout (si_addr's union starts at byte 16).
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            info.si_signo = libc::SIGSEGV;
            info.si_code = libc::SI_QUEUE;
            (&raw mut info)
                .cast::<u8>()
                .add(16)
                .cast::<usize>()
                .write(reserved_address);
            let rc = libc::syscall(
                libc::SYS_rt_tgsigqueueinfo,
                libc::getpid(),
                tid,
                libc::SIGSEGV,
                &raw const info,
            );
            assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    STOP.store(true, Ordering::SeqCst);
    let outcome = spinner.join().unwrap();
    assert_eq!(outcome.unwrap(), 0, "a sent signal became a trap");
    assert!(HANDLED.load(Ordering::SeqCst) > 0);
}
