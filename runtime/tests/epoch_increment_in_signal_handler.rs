//! `Engine::increment_epoch` is async-signal-safe, as Wasmtime's is: here
//! it runs only in a SIGUSR1 handler, on a thread that keeps moving another
//! store's deadline (so the signal often lands while that thread holds the
//! engine's deadline lock). The handler must neither deadlock nor lose the
//! increment, and a guest spinning on a third thread must stop at its
//! deadline.

use remap::{Config, Engine, Instance, Module, Store, Trap, TrapKind};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

const WAT: &str = r#"
(module
  (func (export "spin") (loop $forever (br $forever))))
"#;

static ENGINE: OnceLock<Engine> = OnceLock::new();

extern "C" fn increment_epoch(_signal: libc::c_int) {
    if let Some(engine) = ENGINE.get() {
        engine.increment_epoch();
    }
}

#[test]
fn increments_from_a_signal_handler_stop_the_guest() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = ENGINE.get_or_init(|| Engine::new(&config).unwrap()).clone();
    // SAFETY: a zeroed sigaction is valid; the handler only calls the
    // async-signal-safe `increment_epoch`.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = increment_epoch as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mover = {
        let (engine, stop) = (engine.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut store = Store::new(&engine, ());
            let mut ticks = 0;
            while !stop.load(Ordering::Relaxed) {
                ticks = ticks % 1000 + 1;
                store.set_epoch_deadline(ticks);
            }
        })
    };

    let (stopped, stops) = mpsc::channel();
    let guest = {
        let engine = engine.clone();
        thread::spawn(move || {
            let module = Module::new(&engine, WAT).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let spin = instance
                .get_typed_func::<(), ()>(&mut store, "spin")
                .unwrap();
            store.set_epoch_deadline(50);
            let error = spin.call(&mut store, ()).unwrap_err();
            let kind = error.downcast_ref::<Trap>().map(Trap::kind);
            stopped.send(kind).unwrap();
        })
    };

    let started = Instant::now();
    let kind = loop {
        // SAFETY: the mover thread is alive until `stop` is set below.
        unsafe { libc::pthread_kill(mover.as_pthread_t(), libc::SIGUSR1) };
        if let Ok(kind) = stops.recv_timeout(Duration::from_micros(200)) {
            break kind;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the guest still runs: increments in the handler were lost"
        );
    };
    assert_eq!(kind, Some(TrapKind::Interrupt));
    stop.store(true, Ordering::Relaxed);
    mover.join().unwrap();
    guest.join().unwrap();
}
