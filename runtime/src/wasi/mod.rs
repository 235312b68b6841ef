//! WASI preview 1 (`wasi_snapshot_preview1`): the host interface that programs compiled
//! for `wasm32-wasi` import.
//!
//! Build a [`WasiCtx`] with [`WasiCtxBuilder`], keep it in the store's data, and register
//! the functions with [`add_to_linker`]:
//!
//! ```ignore
//! let wasi = WasiCtxBuilder::new().inherit_stdio().arg("app.wasm").build();
//! let mut store = Store::new(&engine, wasi);
//! let mut linker = Linker::new(&engine);
//! remap::wasi::add_to_linker(&mut linker, |ctx| ctx)?;
//! ```
//!
//! A guest reaches the host file system only beneath its preopened directories (see the
//! `sandbox` module); every guest pointer is bounds-checked (`EFAULT` otherwise); a
//! descriptor's rights are checked before each use; `proc_exit` surfaces as an error whose
//! root is [`I32Exit`].

mod abi;
mod args_env;
mod clocks;
mod ctx;
mod errno;
mod fd_ops;
mod fd_table;
mod filestat;
#[cfg(test)]
mod guest_tests;
mod host_fns;
mod linker;
mod memory;
mod path_ops;
mod pipe;
mod poll;
mod proc;
mod random;
mod readdir;
mod sandbox;
mod sock;

pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use errno::Errno;
pub use linker::add_to_linker;
pub use pipe::{ReadPipe, WritePipe};
pub use proc::I32Exit;
