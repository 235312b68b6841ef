//! The table of `wasi_snapshot_preview1` functions: each entry's Wasm signature and the
//! body that decodes its raw arguments and calls the implementation. The linker glue
//! registers every entry; tests call entries by name without a Wasm engine.

use super::args_env::{args_get, args_sizes_get, environ_get, environ_sizes_get};
use super::clocks::{clock_res_get, clock_time_get};
use super::ctx::WasiCtx;
use super::errno::WasiResult;
use super::fd_ops::*;
use super::memory::GuestMemory;
use super::path_ops::*;
use super::poll::poll_oneoff;
use super::proc::{I32Exit, proc_raise, sched_yield};
use super::random::random_get;
use super::readdir::fd_readdir;
use super::sock::{sock_accept, sock_recv, sock_send, sock_shutdown};

/// The Wasm module name the functions are imported from.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

/// A parameter's Wasm type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    I32,
    I64,
}

/// The raw argument values of one call, as bit patterns (i32 values zero-extended).
pub(crate) struct Args<'a>(pub &'a [u64]);

impl Args<'_> {
    fn u32(&self, index: usize) -> u32 {
        self.0[index] as u32
    }

    fn u64(&self, index: usize) -> u64 {
        self.0[index]
    }

    fn i64(&self, index: usize) -> i64 {
        self.0[index] as i64
    }
}

/// What a call produces: an errno for the guest, or the guest's exit.
pub(crate) type Outcome = Result<u16, I32Exit>;

/// One host function.
pub(crate) struct HostFn {
    pub name: &'static str,
    pub params: &'static [Param],
    /// Every function returns an errno (`i32`) except `proc_exit`, which returns nothing.
    pub returns_errno: bool,
    pub body: fn(&mut WasiCtx, &mut GuestMemory<'_>, &Args<'_>) -> Outcome,
}

fn errno(result: WasiResult<()>) -> Outcome {
    Ok(result.err().map_or(0, |err| err.raw()))
}

use Param::{I32 as I, I64 as L};

macro_rules! host_fns {
    ($($name:literal ($($param:ident),*) => |$ctx:ident, $mem:ident, $a:ident| $body:expr;)*) => {
        /// Every preview 1 function, in witx order.
        pub(crate) static FUNCTIONS: &[HostFn] = &[$(
            HostFn {
                name: $name,
                params: &[$($param),*],
                returns_errno: true,
                #[allow(unused_variables)]
                body: |$ctx, $mem, $a| errno($body),
            },
        )*
            HostFn {
                name: "proc_exit",
                params: &[I],
                returns_errno: false,
                body: |_, _, a| Err(I32Exit(a.u32(0) as i32)),
            },
        ];
    };
}

host_fns! {
    "args_get" (I, I) => |c, m, a| args_get(c, m, a.u32(0), a.u32(1));
    "args_sizes_get" (I, I) => |c, m, a| args_sizes_get(c, m, a.u32(0), a.u32(1));
    "environ_get" (I, I) => |c, m, a| environ_get(c, m, a.u32(0), a.u32(1));
    "environ_sizes_get" (I, I) => |c, m, a| environ_sizes_get(c, m, a.u32(0), a.u32(1));
    "clock_res_get" (I, I) => |c, m, a| clock_res_get(c, m, a.u32(0), a.u32(1));
    "clock_time_get" (I, L, I) => |c, m, a| clock_time_get(c, m, a.u32(0), a.u64(1), a.u32(2));
    "fd_advise" (I, L, L, I) => |c, m, a| fd_advise(c, a.u32(0), a.u64(1), a.u64(2), a.u32(3));
    "fd_allocate" (I, L, L) => |c, m, a| fd_allocate(c, a.u32(0), a.u64(1), a.u64(2));
    "fd_close" (I) => |c, m, a| fd_close(c, a.u32(0));
    "fd_datasync" (I) => |c, m, a| fd_datasync(c, a.u32(0));
    "fd_fdstat_get" (I, I) => |c, m, a| fd_fdstat_get(c, m, a.u32(0), a.u32(1));
    "fd_fdstat_set_flags" (I, I) => |c, m, a| fd_fdstat_set_flags(c, a.u32(0), a.u32(1));
    "fd_fdstat_set_rights" (I, L, L) => |c, m, a| fd_fdstat_set_rights(c, a.u32(0), a.u64(1), a.u64(2));
    "fd_filestat_get" (I, I) => |c, m, a| fd_filestat_get(c, m, a.u32(0), a.u32(1));
    "fd_filestat_set_size" (I, L) => |c, m, a| fd_filestat_set_size(c, a.u32(0), a.u64(1));
    "fd_filestat_set_times" (I, L, L, I) => |c, m, a| fd_filestat_set_times(c, a.u32(0), a.u64(1), a.u64(2), a.u32(3));
    "fd_pread" (I, I, I, L, I) => |c, m, a| fd_pread(c, m, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4));
    "fd_prestat_get" (I, I) => |c, m, a| fd_prestat_get(c, m, a.u32(0), a.u32(1));
    "fd_prestat_dir_name" (I, I, I) => |c, m, a| fd_prestat_dir_name(c, m, a.u32(0), a.u32(1), a.u32(2));
    "fd_pwrite" (I, I, I, L, I) => |c, m, a| fd_pwrite(c, m, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4));
    "fd_read" (I, I, I, I) => |c, m, a| fd_read(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3));
    "fd_readdir" (I, I, I, L, I) => |c, m, a| fd_readdir(c, m, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4));
    "fd_renumber" (I, I) => |c, m, a| fd_renumber(c, a.u32(0), a.u32(1));
    "fd_seek" (I, L, I, I) => |c, m, a| fd_seek(c, m, a.u32(0), a.i64(1), a.u32(2), a.u32(3));
    "fd_sync" (I) => |c, m, a| fd_sync(c, a.u32(0));
    "fd_tell" (I, I) => |c, m, a| fd_tell(c, m, a.u32(0), a.u32(1));
    "fd_write" (I, I, I, I) => |c, m, a| fd_write(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3));
    "path_create_directory" (I, I, I) => |c, m, a| path_create_directory(c, m, a.u32(0), a.u32(1), a.u32(2));
    "path_filestat_get" (I, I, I, I, I) => |c, m, a| path_filestat_get(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4));
    "path_filestat_set_times" (I, I, I, I, L, L, I) => |c, m, a| path_filestat_set_times(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u64(4), a.u64(5), a.u32(6));
    "path_link" (I, I, I, I, I, I, I) => |c, m, a| path_link(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), a.u32(5), a.u32(6));
    "path_open" (I, I, I, I, I, L, L, I, I) => |c, m, a| path_open(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), a.u64(5), a.u64(6), a.u32(7), a.u32(8));
    "path_readlink" (I, I, I, I, I, I) => |c, m, a| path_readlink(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), a.u32(5));
    "path_remove_directory" (I, I, I) => |c, m, a| path_remove_directory(c, m, a.u32(0), a.u32(1), a.u32(2));
    "path_rename" (I, I, I, I, I, I) => |c, m, a| path_rename(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), a.u32(5));
    "path_symlink" (I, I, I, I, I) => |c, m, a| path_symlink(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4));
    "path_unlink_file" (I, I, I) => |c, m, a| path_unlink_file(c, m, a.u32(0), a.u32(1), a.u32(2));
    "poll_oneoff" (I, I, I, I) => |c, m, a| poll_oneoff(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3));
    "proc_raise" (I) => |c, m, a| proc_raise(c, a.u32(0));
    "sched_yield" () => |c, m, a| sched_yield(c);
    "random_get" (I, I) => |c, m, a| random_get(c, m, a.u32(0), a.u32(1));
    "sock_accept" (I, I, I) => |c, m, a| sock_accept(c, m, a.u32(0), a.u32(1), a.u32(2));
    "sock_recv" (I, I, I, I, I, I) => |c, m, a| sock_recv(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), a.u32(5));
    "sock_send" (I, I, I, I, I) => |c, m, a| sock_send(c, m, a.u32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4));
    "sock_shutdown" (I, I) => |c, m, a| sock_shutdown(c, a.u32(0), a.u32(1));
}
