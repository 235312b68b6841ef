//! WASI preview 1 (`wasi_snapshot_preview1`): the host interface that programs compiled
//! for `wasm32-wasi` import.
//!
//! Build a [`WasiCtx`] with [`WasiCtxBuilder`], keep it in the store's data, register the
//! functions with [`add_to_linker`], and call the program's `_start`:
//!
//! ```
//! use remap::wasi::{I32Exit, WasiCtxBuilder, WritePipe, add_to_linker};
//! use remap::{Engine, Linker, Module, Store};
//!
//! # fn main() -> anyhow::Result<()> {
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!       (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
//!       (memory (export "memory") 1)
//!       (data (i32.const 8) "\10\00\00\00\06\00\00\00hello\n")
//!       (func (export "_start")
//!         (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))
//!         (call $proc_exit (i32.const 3))))
//! "#)?;
//! let stdout = WritePipe::new_in_memory();
//! let wasi = WasiCtxBuilder::new().arg("hello.wasm").stdout(stdout.clone()).build();
//! let mut store = Store::new(&engine, wasi);
//! let mut linker = Linker::new(&engine);
//! add_to_linker(&mut linker, |ctx| ctx)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! let exit = start.call(&mut store, ()).unwrap_err();
//! assert_eq!(exit.downcast_ref::<I32Exit>(), Some(&I32Exit(3)));
//! assert_eq!(stdout.contents(), b"hello\n");
//! # Ok(())
//! # }
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
