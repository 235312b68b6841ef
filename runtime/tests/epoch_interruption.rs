//! Epoch interruption: an endless loop and an endless recursion stop when
//! another thread advances the epoch past the store's deadline; a callback
//! can extend the deadline (three times here) and then stop the guest with
//! its own error; a store's deadline starts at 0. In both memory styles.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind, UpdateDeadline};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

const WAT: &str = r#"
(module
  (func (export "spin") (loop $forever (br $forever)))
  (func $recurse (export "recurse") (return_call $recurse))
  (func (export "count") (param $n i64) (result i64)
    (local $i i64)
    (loop $next
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))
"#;

fn engine(style: MemoryStyle) -> Engine {
    let mut config = Config::new();
    config.memory_style(style).epoch_interruption(true);
    Engine::new(&config).unwrap()
}

fn trap_kind(error: &anyhow::Error) -> TrapKind {
    error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {error:#}"))
        .kind()
}

/// Advances `engine`'s epoch every millisecond until `stop` is set.
fn ticker(engine: &Engine, stop: &Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let engine = engine.clone();
    let stop = Arc::clone(stop);
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            engine.increment_epoch();
            thread::sleep(Duration::from_millis(1));
        }
    })
}

#[test]
fn an_endless_loop_and_an_endless_recursion_are_interrupted() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = ticker(&engine, &stop);
        for name in ["spin", "recurse"] {
            store.set_epoch_deadline(5);
            let func = instance.get_typed_func::<(), ()>(&mut store, name).unwrap();
            let error = func.call(&mut store, ()).unwrap_err();
            assert_eq!(trap_kind(&error), TrapKind::Interrupt, "{name}");
        }
        stop.store(true, Ordering::Relaxed);
        ticking.join().unwrap();
    }
}

#[test]
fn a_callback_extends_the_deadline_three_times_then_stops_the_guest() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, 0u32);
        store.epoch_deadline_callback(|mut store| {
            *store.data_mut() += 1;
            if *store.data() <= 3 {
                Ok(UpdateDeadline::Continue(2))
            } else {
                anyhow::bail!("stopped after {} deadlines", store.data())
            }
        });
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = ticker(&engine, &stop);
        store.set_epoch_deadline(1);
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let error = spin.call(&mut store, ()).unwrap_err();
        stop.store(true, Ordering::Relaxed);
        ticking.join().unwrap();
        assert!(
            format!("{error:#}").contains("stopped after 4 deadlines"),
            "{error:#}"
        );
        assert_eq!(*store.data(), 4);
    }
}

#[test]
fn a_deadline_far_enough_lets_the_guest_finish() {
    let engine = engine(MemoryStyle::Static);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i64, i64>(&mut store, "count")
        .unwrap();
    store.set_epoch_deadline(1);
    assert_eq!(count.call(&mut store, 1_000_000).unwrap(), 1_000_000);
    // The epoch reaching the deadline stops the next call at its entry.
    engine.increment_epoch();
    let error = count.call(&mut store, 10).unwrap_err();
    assert_eq!(trap_kind(&error), TrapKind::Interrupt);
}

#[test]
fn a_store_starts_with_its_deadline_reached() {
    let engine = engine(MemoryStyle::Dynamic);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i64, i64>(&mut store, "count")
        .unwrap();
    let error = count.call(&mut store, 10).unwrap_err();
    assert_eq!(trap_kind(&error), TrapKind::Interrupt);
    store.set_epoch_deadline(10);
    assert_eq!(count.call(&mut store, 10).unwrap(), 10);
}

#[test]
fn a_panicking_callback_resumes_on_the_host_side() {
    let engine = engine(MemoryStyle::Static);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    store.epoch_deadline_callback(|_| panic!("callback panicked"));
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = spin.call(&mut store, ());
    }));
    assert!(outcome.is_err());
    // The store survives the panic and runs guests again.
    store.epoch_deadline_trap();
    let error = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_kind(&error), TrapKind::Interrupt);
}
