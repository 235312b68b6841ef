//! One engine, many stores on many threads, each with its own epoch
//! deadline: every guest stops once the epoch reaches its own deadline and
//! not before, whichever order the deadlines were set in, while stores with
//! deadlines still pending are dropped along the way (the engine must
//! forget them, not write to them).

use remap::{Config, Engine, Instance, Module, Store, Trap, TrapKind};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

const WAT: &str = r#"
(module
  (func (export "spin") (loop $forever (br $forever))))
"#;

const THREADS: u64 = 6;

/// Ticks between two deadlines.
const SPACING: u64 = 10;

#[test]
fn each_store_stops_at_its_own_deadline() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let ready = Arc::new(Barrier::new(THREADS as usize + 1));
    let (stopped, stops) = mpsc::channel();
    let guests: Vec<_> = (0..THREADS)
        .map(|index| {
            let (engine, module) = (engine.clone(), module.clone());
            let (ready, stopped) = (Arc::clone(&ready), stopped.clone());
            thread::spawn(move || {
                let mut dropped = Store::new(&engine, ());
                dropped.set_epoch_deadline(1 + index);
                drop(dropped);
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[]).unwrap();
                let spin = instance
                    .get_typed_func::<(), ()>(&mut store, "spin")
                    .unwrap();
                // Later threads get earlier deadlines; the epoch is still 0.
                let deadline = SPACING * (THREADS - index);
                store.set_epoch_deadline(deadline);
                ready.wait();
                let error = spin.call(&mut store, ()).unwrap_err();
                let trap = error.downcast_ref::<Trap>().expect("a trap");
                assert_eq!(trap.kind(), TrapKind::Interrupt);
                stopped.send(deadline).unwrap();
            })
        })
        .collect();
    ready.wait();
    // This thread is the only one that advances the epoch: a guest that
    // reports before tick `epoch + 1` stopped at an epoch of at most `epoch`.
    let mut reported = 0;
    let mut epoch = 0;
    while reported < THREADS {
        engine.increment_epoch();
        epoch += 1;
        thread::sleep(Duration::from_millis(1));
        while let Ok(deadline) = stops.try_recv() {
            assert!(
                epoch >= deadline,
                "a guest with deadline {deadline} stopped by epoch {epoch}"
            );
            reported += 1;
        }
        assert!(epoch < 100_000, "guests still running at epoch {epoch}");
    }
    for guest in guests {
        guest.join().unwrap();
    }
}
