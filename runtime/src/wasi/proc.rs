//! `proc_exit`, `proc_raise` and `sched_yield`.

use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};

/// The error a guest's `proc_exit` raises: it unwinds the guest and carries the status.
/// An embedder finds it with `err.downcast_ref::<I32Exit>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("guest exited with status {0}")]
pub struct I32Exit(pub i32);

/// `proc_raise(signal)`: signals are not part of the sandbox.
pub(crate) fn proc_raise(_ctx: &mut WasiCtx, _signal: u32) -> WasiResult<()> {
    Err(Errno::NoSys)
}

/// `sched_yield()`.
pub(crate) fn sched_yield(_ctx: &mut WasiCtx) -> WasiResult<()> {
    std::thread::yield_now();
    Ok(())
}
