//! `sock_*`: accept connections on listening TCP sockets the embedder preopened
//! ([`WasiCtxBuilder::preopened_socket`](super::WasiCtxBuilder::preopened_socket)),
//! and receive, send and shut down on the connections. Preview 1 cannot create,
//! bind or connect sockets, so a guest reaches the network only through those.
//! A descriptor that is not open is `EBADF` and one that is no socket is
//! `ENOTSOCK`, whether or not any socket was preopened.

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};

use super::abi::{Rights, fdflags, riflags, sdflags};
use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::fd_table::{Descriptor, Handle};
use super::memory::GuestMemory;

/// The connected stream behind `fd`, after checking it holds `needed`:
/// `ENOTSOCK` for anything that is not a socket, `ENOTCONN` for a listener.
fn stream(ctx: &WasiCtx, fd: u32, needed: Rights) -> WasiResult<&TcpStream> {
    let descriptor = ctx.fds.get(fd)?;
    let stream = match &descriptor.handle {
        Handle::TcpStream(stream) => stream,
        Handle::TcpListener(_) => return Err(Errno::NotConn),
        _ => return Err(Errno::NotSock),
    };
    descriptor.require(needed)?;
    Ok(stream)
}

/// `sock_accept(fd, flags, fd_out)`: the new connection gets the lowest free fd;
/// `flags` may only ask for a non-blocking connection.
pub(crate) fn sock_accept(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    fd_out: u32,
) -> WasiResult<()> {
    let flags = u16::try_from(flags)
        .ok()
        .filter(|f| f & !fdflags::NONBLOCK == 0)
        .ok_or(Errno::Inval)?;
    mem.slice(fd_out, 4)?;
    let descriptor = ctx.fds.get(fd)?;
    let Handle::TcpListener(listener) = &descriptor.handle else {
        return Err(Errno::NotSock);
    };
    descriptor.require(Rights::SOCK_ACCEPT)?;
    // The listener's own NONBLOCK flag (fd_fdstat_set_flags) decides whether
    // accept waits; it is kept in sync with the host descriptor.
    let (stream, _peer) = listener.accept()?;
    stream.set_nonblocking(flags & fdflags::NONBLOCK != 0)?;
    let accepted = ctx.fds.insert(Descriptor {
        handle: Handle::TcpStream(stream),
        base: Rights::SOCKET_STREAM,
        inheriting: Rights::NONE,
        flags,
        preopen: None,
    })?;
    mem.write_u32(fd_out, accepted)
}

/// The most bytes a `sock_recv` without `RECV_WAITALL` (or with
/// `RECV_PEEK`) takes at once: a stream socket may return fewer bytes than
/// asked for, and this bounds the host buffer a guest can make Remap allocate.
const RECV_CHUNK: usize = 1 << 20;

/// Fills `buf` from `stream` until it is full or the peer closes; an error
/// after some bytes ends the fill with those bytes.
fn receive_all(mut stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if filled > 0 => break,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// `sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen_out, ro_flags_out)`.
#[allow(clippy::too_many_arguments)] // The preview 1 signature.
pub(crate) fn sock_recv(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u32,
    datalen_out: u32,
    flags_out: u32,
) -> WasiResult<()> {
    let flags = u16::try_from(flags)
        .ok()
        .filter(|f| f & !(riflags::RECV_PEEK | riflags::RECV_WAITALL) == 0)
        .ok_or(Errno::Inval)?;
    let bufs = mem.iovecs(iovs, iovs_len)?;
    mem.slice(datalen_out, 4)?;
    mem.slice(flags_out, 2)?;
    let mut stream = stream(ctx, fd, Rights::FD_READ)?;
    let peek = flags & riflags::RECV_PEEK != 0;
    let received = if flags & riflags::RECV_WAITALL != 0 && !peek {
        // Straight into the guest's buffers, each filled in turn.
        let mut received = 0;
        for buf in bufs.iter().filter(|buf| buf.len > 0) {
            let n = match receive_all(stream, mem.slice_mut(buf.ptr, buf.len)?) {
                Ok(n) => n,
                Err(_) if received > 0 => break,
                Err(err) => return Err(err.into()),
            };
            received += n;
            if n < buf.len as usize {
                break;
            }
        }
        received
    } else {
        // One receive (a peek must see the data as a whole) through a bounded
        // contiguous buffer, scattered afterwards.
        let total: usize = bufs.iter().map(|buf| buf.len as usize).sum();
        let mut data = vec![0u8; total.min(RECV_CHUNK)];
        let received = if peek {
            stream.peek(&mut data)?
        } else {
            stream.read(&mut data)?
        };
        let mut rest = &data[..received];
        for buf in &bufs {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(rest.len().min(buf.len as usize));
            mem.write_bytes(buf.ptr, chunk)?;
            rest = tail;
        }
        received
    };
    // `GuestMemory::iovecs` refuses buffers that total more than a u32.
    mem.write_u32(datalen_out, received as u32)?;
    // roflags: RECV_DATA_TRUNCATED never applies to a stream socket.
    mem.write_bytes(flags_out, &0u16.to_le_bytes())
}

/// `sock_send(fd, si_data, si_data_len, si_flags, so_datalen_out)`.
pub(crate) fn sock_send(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u32,
    datalen_out: u32,
) -> WasiResult<()> {
    // Preview 1 defines no siflags.
    if flags != 0 {
        return Err(Errno::Inval);
    }
    let bufs = mem.iovecs(iovs, iovs_len)?;
    mem.slice(datalen_out, 4)?;
    let mut stream = stream(ctx, fd, Rights::FD_WRITE)?;
    let mut sent = 0u32;
    for buf in &bufs {
        let bytes = mem.slice(buf.ptr, buf.len)?;
        // std sends with MSG_NOSIGNAL: a closed peer is EPIPE, not a SIGPIPE.
        match io::Write::write(&mut stream, bytes) {
            Ok(n) => {
                sent += n as u32;
                if n < bytes.len() {
                    break;
                }
            }
            Err(_) if sent > 0 => break,
            Err(err) => return Err(err.into()),
        }
    }
    mem.write_u32(datalen_out, sent)
}

/// `sock_shutdown(fd, how)`.
pub(crate) fn sock_shutdown(ctx: &mut WasiCtx, fd: u32, how: u32) -> WasiResult<()> {
    let stream = stream(ctx, fd, Rights::SOCK_SHUTDOWN)?;
    let how = match u8::try_from(how).map_err(|_| Errno::Inval)? {
        sdflags::RD => Shutdown::Read,
        sdflags::WR => Shutdown::Write,
        both if both == sdflags::RD | sdflags::WR => Shutdown::Both,
        _ => return Err(Errno::Inval),
    };
    stream.shutdown(how)?;
    Ok(())
}
