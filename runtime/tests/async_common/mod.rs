//! Setup shared by the async integration tests whose guests nap in an async
//! host function: an engine with async support, a linker whose `host.nap`
//! awaits a tokio timer, and the 2-thread runtime they run on.

use remap::{Caller, Config, Engine, Linker};
use std::time::Duration;

/// An engine with `async_support` on.
pub fn async_engine() -> Engine {
    let mut config = Config::new();
    config.async_support(true);
    Engine::new(&config).unwrap()
}

/// A linker defining `host.nap`, an async host function that sleeps `nap`.
pub fn linker_with_nap(engine: &Engine, nap: Duration) -> Linker<()> {
    let mut linker = Linker::new(engine);
    linker
        .func_wrap_async("host", "nap", move |_: Caller<'_, ()>, ()| {
            Box::new(tokio::time::sleep(nap))
        })
        .unwrap();
    linker
}

/// A multi-thread tokio runtime with two workers and timers.
pub fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}
