//! `sock_*`: no sockets can be preopened, so each call answers for the descriptor it
//! names: `EBADF` when there is none, `ENOTSUP` otherwise.

use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};

fn no_sockets(ctx: &WasiCtx, fd: u32) -> WasiResult<()> {
    ctx.fds.get(fd)?;
    Err(Errno::NotSup)
}

/// `sock_accept(fd, flags, fd_out)`.
pub(crate) fn sock_accept(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    no_sockets(ctx, fd)
}

/// `sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_out, ro_flags_out)`.
pub(crate) fn sock_recv(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    no_sockets(ctx, fd)
}

/// `sock_send(fd, si_data, si_data_len, si_flags, so_datalen_out)`.
pub(crate) fn sock_send(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    no_sockets(ctx, fd)
}

/// `sock_shutdown(fd, how)`.
pub(crate) fn sock_shutdown(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    no_sockets(ctx, fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtxBuilder;

    #[test]
    fn sockets_are_absent() {
        let mut ctx = WasiCtxBuilder::new().build();
        assert_eq!(sock_accept(&mut ctx, 0), Err(Errno::NotSup));
        assert_eq!(sock_recv(&mut ctx, 1), Err(Errno::NotSup));
        assert_eq!(sock_send(&mut ctx, 2), Err(Errno::NotSup));
        assert_eq!(sock_shutdown(&mut ctx, 9), Err(Errno::Badf));
    }
}
