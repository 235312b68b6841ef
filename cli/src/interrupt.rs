//! `-W timeout=`: a timer thread that advances the engine's epoch once the
//! time is up, which interrupts a guest whose store has a deadline of one
//! tick.
//!
//! The timer stops when its [`Timeout`] is dropped (the run ended first),
//! so it never ticks for a later run and never outlives the command.

use anyhow::{Context, Result};
use remap::Engine;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A running timer; dropping it stops the thread and waits for it.
pub struct Timeout {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Timeout {
    /// Starts a thread that calls `engine.increment_epoch()` once `after`
    /// has passed, unless the timer is dropped before.
    pub fn start(engine: &Engine, after: Duration) -> Result<Timeout> {
        let (stop, stopped) = mpsc::channel::<()>();
        let engine = engine.clone();
        let thread = thread::Builder::new()
            .name("remap timeout".to_owned())
            .spawn(move || {
                // A disconnected channel is the run ending first: no tick.
                if stopped.recv_timeout(after) == Err(RecvTimeoutError::Timeout) {
                    engine.increment_epoch();
                }
            })
            .context("cannot start the thread of -W timeout")?;
        Ok(Timeout {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread cannot panic; a join error would only mean it did.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remap::{Config, Module, Store, TrapKind};
    use std::time::Instant;

    /// An engine with epoch checks and a store whose deadline is one tick
    /// away, with an instance exporting an endless `spin` and an empty `nop`.
    fn interruptible() -> (Engine, Store<()>, remap::Instance) {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        let wat = r#"(module (func (export "spin") (loop (br 0))) (func (export "nop")))"#;
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(1);
        let instance = remap::Instance::new(&mut store, &module, &[]).unwrap();
        (engine, store, instance)
    }

    #[test]
    fn the_timer_interrupts_a_loop() {
        let (engine, mut store, instance) = interruptible();
        let spin = instance.get_func(&mut store, "spin").unwrap();
        let started = Instant::now();
        let _timer = Timeout::start(&engine, Duration::from_millis(50)).unwrap();
        let err = spin.call(&mut store, &[], &mut []).unwrap_err();
        let trap = err.downcast_ref::<remap::Trap>().expect("a trap");
        assert_eq!(trap.kind(), TrapKind::Interrupt);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn a_dropped_timer_never_ticks() {
        let (engine, mut store, instance) = interruptible();
        drop(Timeout::start(&engine, Duration::from_millis(10)).unwrap());
        thread::sleep(Duration::from_millis(50));
        // A tick would have reached the deadline, and `nop` would trap at entry.
        let nop = instance.get_func(&mut store, "nop").unwrap();
        nop.call(&mut store, &[], &mut []).unwrap();
    }
}
