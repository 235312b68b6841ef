//! A thread blocked in `memory.atomic.wait` on a value nobody changes is
//! still stopped by epoch interruption: with the default behaviour the wait
//! traps with the interrupt once another thread advances the epoch past the
//! store's deadline; with a callback that lets the guest go on, the wait
//! returns 0 ("woken") after the callback ran, and the guest's own loop
//! waits again until the callback stops it. Without epoch interruption a
//! wait with a timeout still just times out (wait_timeout.rs).

mod epoch_common;

use epoch_common::{extend_three_times_then_stop, ticker};

use remap::{Config, Engine, Instance, Module, Store, Trap, TrapKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WAITER: &str = r#"
(module
  (memory (export "memory") 1 1 shared)
  (func (export "wait_forever") (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
  (func (export "wait_in_a_loop") (result i32)
    (local $wakeups i32)
    (loop $again
      (drop (memory.atomic.wait64 (i32.const 8) (i64.const 0) (i64.const -1)))
      (local.set $wakeups (i32.add (local.get $wakeups) (i32.const 1)))
      (br_if $again (i32.eqz (i32.load (i32.const 16)))))
    (local.get $wakeups)))
"#;

fn engine() -> Engine {
    let mut config = Config::new();
    config.epoch_interruption(true);
    Engine::new(&config).unwrap()
}

#[test]
fn a_wait_without_end_traps_at_the_deadline() {
    let engine = engine();
    let module = Module::new(&engine, WAITER).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let wait = instance
        .get_typed_func::<(), i32>(&mut store, "wait_forever")
        .unwrap();
    store.set_epoch_deadline(20);
    let stop = Arc::new(AtomicBool::new(false));
    let ticking = ticker(&engine, &stop);
    let started = Instant::now();
    let error = wait.call(&mut store, ()).unwrap_err();
    stop.store(true, Ordering::Relaxed);
    ticking.join().unwrap();
    let trap = error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {error:#}"));
    assert_eq!(trap.kind(), TrapKind::Interrupt);
    // A bound for the test, not a benchmark: 20 ticks plus polling.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The waiter left the queue: a notify finds nobody to wake.
    let memory = instance.get_shared_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.atomic_notify(0, 1).unwrap(), 0);
}

#[test]
fn a_callback_that_goes_on_wakes_the_wait_then_stops_it() {
    let engine = engine();
    let module = Module::new(&engine, WAITER).unwrap();
    let mut store = Store::new(&engine, 0u32);
    store.epoch_deadline_callback(extend_three_times_then_stop);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let wait = instance
        .get_typed_func::<(), i32>(&mut store, "wait_in_a_loop")
        .unwrap();
    store.set_epoch_deadline(1);
    let stop = Arc::new(AtomicBool::new(false));
    let ticking = ticker(&engine, &stop);
    let error = wait.call(&mut store, ()).unwrap_err();
    stop.store(true, Ordering::Relaxed);
    ticking.join().unwrap();
    assert!(
        format!("{error:#}").contains("stopped after 4 deadlines"),
        "{error:#}"
    );
    // Each deadline the callback let pass woke the wait once; the guest's
    // loop (whose header is itself an epoch check) waited again each time.
    assert_eq!(*store.data(), 4);
}
