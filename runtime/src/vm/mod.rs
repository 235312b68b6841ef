//! The runtime's raw internals, beneath the public API: the instance context
//! (vmctx) and everything that reads or writes it, the builtins compiled code
//! calls, trap catching and raising, signal handling, and the process-wide
//! registry of compiled code and memory reservations. Most of the crate's
//! `unsafe` code lives here; the public types (`Instance`, `Func`, `Memory`,
//! `Trap`, ...) call into these modules. Wasm exceptions are thrown and
//! caught in [`throw`].
//!
//! Async calls run Wasm on fibers ([`fiber`]), which carry the per-thread
//! state below with them across suspension.
//!
//! Invariants shared by the modules:
//! - a vmctx is laid out by its module's `VMOffsets` and only written through
//!   [`vmctx::Vmctx`]; every pointer in it targets something its store owns;
//! - while Wasm runs on a thread, that thread has an activation
//!   ([`traps::catch_traps`]) and an entered store ([`entered_store`]), and
//!   code Wasm calls (builtins, host functions) reaches the store only
//!   through the entered store;
//! - [`signals`] is the only module that makes raw signal system calls.
//!
//! Failure behaviour: a trap in Wasm (a fault at a trap site, a builtin's
//! out-of-bounds access, a host function's error or panic) unwinds to the
//! innermost host->Wasm call and comes back as an error (a panic resumes);
//! a fault anywhere else is passed to the handler installed before Remap's,
//! so the process behaves as it would without Remap. Registry lookups never
//! allocate or block for long, so they are safe in the signal handler.

pub(crate) mod builtins;
pub(crate) mod code_tables;
pub(crate) mod entered_store;
pub(crate) mod epoch_deadlines;
pub(crate) mod fiber;
pub(crate) mod gc_builtins;
pub(crate) mod registry;
pub(crate) mod signals;
pub(crate) mod throw;
pub(crate) mod traps;
pub(crate) mod vmctx;
