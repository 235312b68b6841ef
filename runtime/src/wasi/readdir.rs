//! `fd_readdir`: directory listing in `dirent` records with resumable cookies.
//!
//! A cookie is the host's own directory offset (`d_off`) of the next entry, so a guest
//! that lists a large directory over several calls (as wasi-libc's `readdir` does when
//! its buffer fills) resumes exactly where it stopped, even if entries were removed in
//! between. Cookie 0 is the start.

use std::os::fd::AsFd;

use rustix::fs::{AtFlags, Dir, FileType};

use super::abi::{Rights, size};
use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::filestat::{filetype_of, filetype_of_mode};
use super::memory::GuestMemory;

/// `fd_readdir(fd, buf, buf_len, cookie, bufused_out)`. The last record may be cut
/// short; a `bufused` equal to `buf_len` tells the guest to call again.
pub(crate) fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> WasiResult<()> {
    mem.slice(buf, buf_len)?;
    mem.slice(bufused, 4)?;
    let dir_fd = ctx.fds.dir(fd, Rights::FD_READDIR)?;
    let mut dir = Dir::read_from(dir_fd)?;
    if cookie != 0 {
        dir.seek(i64::try_from(cookie).map_err(|_| Errno::Inval)?)?;
    }
    let capacity = buf_len as usize;
    let mut out = Vec::with_capacity(capacity.min(64 * 1024));
    while out.len() < capacity {
        let Some(entry) = dir.read() else { break };
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        let kind = match entry.file_type() {
            FileType::Unknown => {
                let stat = rustix::fs::statat(
                    dir.fd()?.as_fd(),
                    entry.file_name(),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
                filetype_of_mode(stat.st_mode)
            }
            known => filetype_of(known),
        };
        let mut record = [0u8; size::DIRENT];
        record[0..8].copy_from_slice(&(entry.offset() as u64).to_le_bytes());
        record[8..16].copy_from_slice(&entry.ino().to_le_bytes());
        record[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        record[20] = kind;
        out.extend_from_slice(&record);
        out.extend_from_slice(name);
    }
    out.truncate(capacity);
    mem.write_bytes(buf, &out)?;
    mem.write_u32(bufused, out.len() as u32)
}
