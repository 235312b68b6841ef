//! Helpers shared by the runtime's integration tests of epoch interruption.

use remap::{Engine, StoreContextMut, UpdateDeadline};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// Advances `engine`'s epoch every millisecond until `stop` is set.
pub fn ticker(engine: &Engine, stop: &Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let engine = engine.clone();
    let stop = Arc::clone(stop);
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            engine.increment_epoch();
            thread::sleep(Duration::from_millis(1));
        }
    })
}

/// An epoch-deadline callback that counts its calls in the store's data,
/// moves the deadline two epochs on the first three times, and stops the
/// guest with "stopped after 4 deadlines" the fourth.
pub fn extend_three_times_then_stop(
    mut store: StoreContextMut<'_, u32>,
) -> anyhow::Result<UpdateDeadline> {
    *store.data_mut() += 1;
    if *store.data() <= 3 {
        Ok(UpdateDeadline::Continue(2))
    } else {
        anyhow::bail!("stopped after {} deadlines", store.data())
    }
}
