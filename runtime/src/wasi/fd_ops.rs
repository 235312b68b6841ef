//! `fd_*` calls that act on an open descriptor: I/O, positioning, metadata, flags,
//! rights, preopen discovery, closing and renumbering.

use std::io::{Seek, SeekFrom};
use std::num::NonZeroU64;
use std::os::unix::fs::FileExt;

use rustix::fs::{Advice, FallocateFlags, OFlags};

use super::abi::{PREOPENTYPE_DIR, Rights, advice, fdflags, size, whence};
use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::fd_table::Handle;
use super::filestat::{encode_filestat, encode_stream_filestat, timestamps};
use super::memory::{GuestBuf, GuestMemory};

/// Fills the guest buffers in turn with `read(buffer, bytes_read_so_far)`, stopping
/// at the first short read, and returns the byte count. An error after some bytes
/// were read ends the call with those bytes (the error shows up on the next call).
fn read_into_iovecs(
    mem: &mut GuestMemory<'_>,
    bufs: &[GuestBuf],
    mut read: impl FnMut(&mut [u8], u64) -> WasiResult<usize>,
) -> WasiResult<u32> {
    let mut total = 0u64;
    for buf in bufs.iter().filter(|buf| buf.len > 0) {
        let n = match read(mem.slice_mut(buf.ptr, buf.len)?, total) {
            Ok(n) => n,
            Err(_) if total > 0 => break,
            Err(err) => return Err(err),
        };
        total += n as u64;
        if n < buf.len as usize {
            break;
        }
    }
    // `GuestMemory::iovecs` refuses buffers that total more than a u32.
    Ok(total as u32)
}

/// Writes the guest buffers in turn with `write(buffer, bytes_written_so_far)` and
/// returns the byte count. An error after some bytes were written ends the call with
/// those bytes (the error shows up on the next call).
fn write_from_iovecs(
    mem: &GuestMemory<'_>,
    bufs: &[GuestBuf],
    mut write: impl FnMut(&[u8], u64) -> WasiResult<()>,
) -> WasiResult<u32> {
    let mut total = 0u64;
    for buf in bufs {
        match write(mem.slice(buf.ptr, buf.len)?, total) {
            Ok(()) => total += u64::from(buf.len),
            Err(_) if total > 0 => break,
            Err(err) => return Err(err),
        }
    }
    // `GuestMemory::iovecs` refuses buffers that total more than a u32.
    Ok(total as u32)
}

/// `fd_read(fd, iovs, iovs_len, nread_out)`.
pub(crate) fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult<()> {
    let bufs = mem.iovecs(iovs, iovs_len)?;
    mem.slice(nread, 4)?;
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(Rights::FD_READ)?;
    let total = read_into_iovecs(mem, &bufs, |buf, _| descriptor.read(buf))?;
    mem.write_u32(nread, total)
}

/// `fd_write(fd, iovs, iovs_len, nwritten_out)`.
pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult<()> {
    let bufs = mem.iovecs(iovs, iovs_len)?;
    mem.slice(nwritten, 4)?;
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(Rights::FD_WRITE)?;
    let total = write_from_iovecs(mem, &bufs, |buf, _| descriptor.write_all(buf))?;
    mem.write_u32(nwritten, total)
}

/// `fd_pread(fd, iovs, iovs_len, offset, nread_out)`: reads without moving the position.
pub(crate) fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult<()> {
    let bufs = mem.iovecs(iovs, iovs_len)?;
    mem.slice(nread, 4)?;
    let file = ctx.fds.file(fd, Rights::FD_READ.union(Rights::FD_SEEK))?;
    let total = read_into_iovecs(mem, &bufs, |buf, done| {
        let at = offset.checked_add(done).ok_or(Errno::Inval)?;
        Ok(file.read_at(buf, at)?)
    })?;
    mem.write_u32(nread, total)
}

/// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten_out)`: writes without moving the position.
pub(crate) fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult<()> {
    let bufs = mem.iovecs(iovs, iovs_len)?;
    mem.slice(nwritten, 4)?;
    let file = ctx.fds.file(fd, Rights::FD_WRITE.union(Rights::FD_SEEK))?;
    let total = write_from_iovecs(mem, &bufs, |buf, done| {
        let at = offset.checked_add(done).ok_or(Errno::Inval)?;
        Ok(file.write_all_at(buf, at)?)
    })?;
    mem.write_u32(nwritten, total)
}

/// `fd_seek(fd, offset, whence, newoffset_out)`.
pub(crate) fn fd_seek(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: i64,
    how: u32,
    out: u32,
) -> WasiResult<()> {
    mem.slice(out, 8)?;
    // Asking for the current position is what `fd_tell` does, and needs only its right.
    let needed = if how == u32::from(whence::CUR) && offset == 0 {
        Rights::FD_TELL
    } else {
        Rights::FD_SEEK
    };
    let mut file = ctx.fds.file(fd, needed)?;
    let target = match u8::try_from(how).map_err(|_| Errno::Inval)? {
        whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
        whence::CUR => SeekFrom::Current(offset),
        whence::END => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    let position = file.seek(target)?;
    mem.write_u64(out, position)
}

/// `fd_tell(fd, offset_out)`.
pub(crate) fn fd_tell(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    mem.slice(out, 8)?;
    let mut file = ctx.fds.file(fd, Rights::FD_TELL)?;
    let position = file.stream_position()?;
    mem.write_u64(out, position)
}

/// `fd_close(fd)`.
pub(crate) fn fd_close(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    ctx.fds.remove(fd).map(drop)
}

/// `fd_renumber(from, to)`.
pub(crate) fn fd_renumber(ctx: &mut WasiCtx, from: u32, to: u32) -> WasiResult<()> {
    ctx.fds.renumber(from, to)
}

fn sync(ctx: &mut WasiCtx, fd: u32, right: Rights, data_only: bool) -> WasiResult<()> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(right)?;
    match &descriptor.handle {
        Handle::File(file) if data_only => file.sync_data()?,
        Handle::File(file) => file.sync_all()?,
        Handle::Dir(dir) if data_only => rustix::fs::fdatasync(dir)?,
        Handle::Dir(dir) => rustix::fs::fsync(dir)?,
        Handle::Input(_) | Handle::Output(_) | Handle::TcpListener(_) | Handle::TcpStream(_) => {
            return Err(Errno::Inval);
        }
    }
    Ok(())
}

/// `fd_sync(fd)`.
pub(crate) fn fd_sync(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    sync(ctx, fd, Rights::FD_SYNC, false)
}

/// `fd_datasync(fd)`.
pub(crate) fn fd_datasync(ctx: &mut WasiCtx, fd: u32) -> WasiResult<()> {
    sync(ctx, fd, Rights::FD_DATASYNC, true)
}

/// `fd_advise(fd, offset, len, advice)`.
pub(crate) fn fd_advise(
    ctx: &mut WasiCtx,
    fd: u32,
    offset: u64,
    len: u64,
    hint: u32,
) -> WasiResult<()> {
    let file = ctx.fds.file(fd, Rights::FD_ADVISE)?;
    let hint = match u8::try_from(hint).map_err(|_| Errno::Inval)? {
        advice::NORMAL => Advice::Normal,
        advice::SEQUENTIAL => Advice::Sequential,
        advice::RANDOM => Advice::Random,
        advice::WILLNEED => Advice::WillNeed,
        advice::DONTNEED => Advice::DontNeed,
        advice::NOREUSE => Advice::NoReuse,
        _ => return Err(Errno::Inval),
    };
    rustix::fs::fadvise(file, offset, NonZeroU64::new(len), hint)?;
    Ok(())
}

/// `fd_allocate(fd, offset, len)`: makes sure the file has room for the range.
pub(crate) fn fd_allocate(ctx: &mut WasiCtx, fd: u32, offset: u64, len: u64) -> WasiResult<()> {
    let file = ctx.fds.file(fd, Rights::FD_ALLOCATE)?;
    let end = offset
        .checked_add(len)
        .filter(|&end| end <= i64::MAX as u64)
        .ok_or(Errno::Fbig)?;
    if len == 0 {
        return Err(Errno::Inval);
    }
    match rustix::fs::fallocate(file, FallocateFlags::empty(), offset, len) {
        Ok(()) => Ok(()),
        // File systems without fallocate get the same visible effect: the size grows.
        Err(rustix::io::Errno::OPNOTSUPP) => {
            if file.metadata()?.len() < end {
                file.set_len(end)?;
            }
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// `fd_fdstat_get(fd, fdstat_out)`.
pub(crate) fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    let descriptor = ctx.fds.get(fd)?;
    let mut record = [0u8; size::FDSTAT];
    record[0] = descriptor.filetype();
    record[2..4].copy_from_slice(&descriptor.flags.to_le_bytes());
    record[8..16].copy_from_slice(&descriptor.base.bits().to_le_bytes());
    record[16..24].copy_from_slice(&descriptor.inheriting.bits().to_le_bytes());
    mem.write_bytes(out, &record)
}

/// `fd_fdstat_set_flags(fd, flags)`: `APPEND` and `NONBLOCK` can change; the sync
/// flags are fixed when the file is opened.
pub(crate) fn fd_fdstat_set_flags(ctx: &mut WasiCtx, fd: u32, flags: u32) -> WasiResult<()> {
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(Rights::FD_FDSTAT_SET_FLAGS)?;
    let flags = u16::try_from(flags)
        .ok()
        .filter(|f| f & !fdflags::ALL == 0)
        .ok_or(Errno::Inval)?;
    let fixed = fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC;
    if flags & fixed != descriptor.flags & fixed {
        return Err(Errno::NotSup);
    }
    let nonblocking = flags & fdflags::NONBLOCK != 0;
    match &descriptor.handle {
        Handle::File(file) => {
            let mut host = rustix::fs::fcntl_getfl(file)?;
            host.set(OFlags::APPEND, flags & fdflags::APPEND != 0);
            host.set(OFlags::NONBLOCK, nonblocking);
            rustix::fs::fcntl_setfl(file, host)?;
        }
        Handle::TcpListener(listener) => listener.set_nonblocking(nonblocking)?,
        Handle::TcpStream(stream) => stream.set_nonblocking(nonblocking)?,
        Handle::Dir(_) | Handle::Input(_) | Handle::Output(_) => {}
    }
    descriptor.flags = flags;
    Ok(())
}

/// `fd_fdstat_set_rights(fd, base, inheriting)`: rights can be dropped, never gained.
pub(crate) fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> WasiResult<()> {
    let descriptor = ctx.fds.get_mut(fd)?;
    let (base, inheriting) = (Rights::from_bits(base), Rights::from_bits(inheriting));
    if !descriptor.base.contains(base) || !descriptor.inheriting.contains(inheriting) {
        return Err(Errno::NotCapable);
    }
    descriptor.base = base;
    descriptor.inheriting = inheriting;
    Ok(())
}

/// `fd_filestat_get(fd, filestat_out)`.
pub(crate) fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(Rights::FD_FILESTAT_GET)?;
    let record = match descriptor.host_fd() {
        Some(host) => encode_filestat(&rustix::fs::fstat(host)?),
        None => encode_stream_filestat(descriptor.filetype()),
    };
    mem.write_bytes(out, &record)
}

/// `fd_filestat_set_size(fd, size)`.
pub(crate) fn fd_filestat_set_size(ctx: &mut WasiCtx, fd: u32, size: u64) -> WasiResult<()> {
    let file = ctx.fds.file(fd, Rights::FD_FILESTAT_SET_SIZE)?;
    file.set_len(size)?;
    Ok(())
}

/// `fd_filestat_set_times(fd, atim, mtim, fst_flags)`.
pub(crate) fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> WasiResult<()> {
    let descriptor = ctx.fds.get(fd)?;
    descriptor.require(Rights::FD_FILESTAT_SET_TIMES)?;
    let times = timestamps(atim, mtim, u16::try_from(flags).map_err(|_| Errno::Inval)?)?;
    let host = descriptor.host_fd().ok_or(Errno::Badf)?;
    rustix::fs::futimens(host, &times)?;
    Ok(())
}

/// `fd_prestat_get(fd, prestat_out)`: `EBADF` for anything but a preopened directory,
/// which is how wasi-libc learns where the preopens end.
pub(crate) fn fd_prestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    let name = ctx.fds.get(fd)?.preopen.as_ref().ok_or(Errno::Badf)?;
    let mut record = [0u8; size::PRESTAT];
    record[0] = PREOPENTYPE_DIR;
    record[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
    mem.write_bytes(out, &record)
}

/// `fd_prestat_dir_name(fd, path, path_len)`.
pub(crate) fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let name = ctx.fds.get(fd)?.preopen.as_ref().ok_or(Errno::Badf)?;
    if (path_len as usize) < name.len() {
        return Err(Errno::NameTooLong);
    }
    mem.write_bytes(path, name.as_bytes())
}
