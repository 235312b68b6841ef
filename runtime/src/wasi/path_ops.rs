//! `path_*` calls: every path is resolved inside the directory descriptor it is
//! relative to (see [`super::sandbox`]), then acted on with an fd-relative system call.

use rustix::fs::{AtFlags, Mode, OFlags};
use std::fs::File;

use super::abi::{Rights, fdflags, lookupflags, oflags};
use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::fd_table::{Descriptor, Handle};
use super::filestat::{encode_filestat, timestamps};
use super::memory::GuestMemory;
use super::sandbox::{FinalSymlink, Resolved, resolve};

/// What a lookup with `lookupflags` does with a final symlink.
fn final_symlink(lookup: u32) -> FinalSymlink {
    if lookup & lookupflags::SYMLINK_FOLLOW != 0 {
        FinalSymlink::Follow
    } else {
        FinalSymlink::FollowIfTrailingSlash
    }
}

/// Fails with `ENOTDIR` when a path written with a trailing `/` names a non-directory.
fn check_trailing_slash(resolved: &Resolved<'_>) -> WasiResult<()> {
    if resolved.must_be_dir {
        require_directory(resolved)
    } else {
        Ok(())
    }
}

/// Fails with `ENOTDIR` when `resolved` names something other than a directory; a
/// missing name passes, for the system call that follows to report.
fn require_directory(resolved: &Resolved<'_>) -> WasiResult<()> {
    match rustix::fs::statat(
        &resolved.parent,
        resolved.name.as_str(),
        AtFlags::SYMLINK_NOFOLLOW,
    ) {
        Ok(stat)
            if rustix::fs::FileType::from_raw_mode(stat.st_mode)
                != rustix::fs::FileType::Directory =>
        {
            Err(Errno::NotDir)
        }
        _ => Ok(()),
    }
}

/// Refuses to create a link or symlink under a name written with a trailing `/`, which
/// can only name a directory: `EEXIST` when the name exists, `ENOENT` when it does not,
/// as Linux answers. (The host call would otherwise see the name without its slash.)
fn refuse_new_name_with_trailing_slash(resolved: &Resolved<'_>) -> WasiResult<()> {
    if !resolved.must_be_dir {
        return Ok(());
    }
    match rustix::fs::statat(
        &resolved.parent,
        resolved.name.as_str(),
        AtFlags::SYMLINK_NOFOLLOW,
    ) {
        Ok(_) => Err(Errno::Exist),
        Err(err) => Err(err.into()),
    }
}

/// Reads the guest path at `path`, checks that descriptor `fd` is a directory holding
/// `needed`, and resolves the path beneath it.
fn resolve_guest_path<'c>(
    ctx: &'c WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    needed: Rights,
    path: u32,
    path_len: u32,
    final_symlink: FinalSymlink,
) -> WasiResult<Resolved<'c>> {
    let path = mem.read_str(path, path_len)?;
    let dir = ctx.fds.dir(fd, needed)?;
    resolve(dir, path, final_symlink)
}

/// One path argument of a call that takes two (`path_rename`, `path_link`).
struct PathArg {
    fd: u32,
    needed: Rights,
    path: u32,
    path_len: u32,
    final_symlink: FinalSymlink,
}

/// Resolves both paths of a two-path call: both strings are read and both
/// directories' rights checked before either path is walked.
fn resolve_guest_paths<'c>(
    ctx: &'c WasiCtx,
    mem: &GuestMemory<'_>,
    from: PathArg,
    to: PathArg,
) -> WasiResult<(Resolved<'c>, Resolved<'c>)> {
    let from_path = mem.read_str(from.path, from.path_len)?;
    let to_path = mem.read_str(to.path, to.path_len)?;
    let from_dir = ctx.fds.dir(from.fd, from.needed)?;
    let to_dir = ctx.fds.dir(to.fd, to.needed)?;
    Ok((
        resolve(from_dir, from_path, from.final_symlink)?,
        resolve(to_dir, to_path, to.final_symlink)?,
    ))
}

/// `path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags, fd_out)`.
#[allow(clippy::too_many_arguments)] // The preview 1 signature.
pub(crate) fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    open_flags: u32,
    rights_base: u64,
    rights_inheriting: u64,
    fd_flags: u32,
    fd_out: u32,
) -> WasiResult<()> {
    let path = mem.read_str(path, path_len)?;
    mem.slice(fd_out, 4)?;
    let known_oflags = oflags::CREAT | oflags::DIRECTORY | oflags::EXCL | oflags::TRUNC;
    let open_flags = u16::try_from(open_flags)
        .ok()
        .filter(|f| f & !known_oflags == 0)
        .ok_or(Errno::Inval)?;
    let fd_flags = u16::try_from(fd_flags)
        .ok()
        .filter(|f| f & !fdflags::ALL == 0)
        .ok_or(Errno::Inval)?;
    let dir = ctx.fds.get(fd)?;
    let mut needed = Rights::PATH_OPEN;
    if open_flags & oflags::CREAT != 0 {
        needed = needed.union(Rights::PATH_CREATE_FILE);
    }
    if open_flags & oflags::TRUNC != 0 {
        needed = needed.union(Rights::PATH_FILESTAT_SET_SIZE);
    }
    let dir_fd = dir.dir_fd()?;
    dir.require(needed)?;
    // Synchronous writes are the sync rights in another form: the new
    // descriptor must be allowed them.
    let mut sync_rights = Rights::NONE;
    if fd_flags & fdflags::DSYNC != 0 {
        sync_rights = sync_rights.union(Rights::FD_DATASYNC);
    }
    if fd_flags & (fdflags::RSYNC | fdflags::SYNC) != 0 {
        sync_rights = sync_rights.union(Rights::FD_SYNC);
    }
    if !dir.inheriting.contains(sync_rights) {
        return Err(Errno::NotCapable);
    }
    // A new descriptor gets at most what its directory may hand down.
    let base = Rights::from_bits(rights_base).intersection(dir.inheriting);
    let inheriting = Rights::from_bits(rights_inheriting).intersection(dir.inheriting);

    let resolved = resolve(dir_fd, path, final_symlink(dirflags))?;
    let mut flags = OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let reads = base.intersects(Rights::FD_READ.union(Rights::FD_READDIR));
    let writes = if open_flags & oflags::DIRECTORY == 0 {
        base.intersects(
            Rights::FD_WRITE
                .union(Rights::FD_ALLOCATE)
                .union(Rights::FD_FILESTAT_SET_SIZE),
        )
    } else {
        // A directory's other write rights are path rights, but asking to
        // write it is opening it for writing: the host answers EISDIR (or
        // ENOTDIR for a file), as Wasmtime does.
        base.contains(Rights::FD_WRITE)
    };
    flags |= match (reads, writes) {
        (_, false) => OFlags::RDONLY,
        (false, true) => OFlags::WRONLY,
        (true, true) => OFlags::RDWR,
    };
    for (wasi, host) in [
        (oflags::CREAT, OFlags::CREATE),
        (oflags::EXCL, OFlags::EXCL),
        (oflags::TRUNC, OFlags::TRUNC),
        (oflags::DIRECTORY, OFlags::DIRECTORY),
    ] {
        if open_flags & wasi != 0 {
            flags |= host;
        }
    }
    if resolved.must_be_dir {
        flags |= OFlags::DIRECTORY;
    }
    for (wasi, host) in [
        (fdflags::APPEND, OFlags::APPEND),
        (fdflags::NONBLOCK, OFlags::NONBLOCK),
        (fdflags::DSYNC, OFlags::DSYNC),
        (fdflags::RSYNC, OFlags::RSYNC),
        (fdflags::SYNC, OFlags::SYNC),
    ] {
        if fd_flags & wasi != 0 {
            flags |= host;
        }
    }
    let opened = rustix::fs::openat(
        &resolved.parent,
        resolved.name.as_str(),
        flags,
        Mode::from_raw_mode(0o666),
    )?;
    drop(resolved);
    let is_dir = rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(&opened)?.st_mode)
        == rustix::fs::FileType::Directory;
    let (handle, base) = if is_dir {
        (Handle::Dir(opened), base.intersection(Rights::DIRECTORY))
    } else {
        (
            Handle::File(File::from(opened)),
            base.intersection(Rights::REGULAR_FILE),
        )
    };
    let new_fd = ctx.fds.insert(Descriptor {
        handle,
        base,
        inheriting,
        flags: fd_flags,
        preopen: None,
    })?;
    mem.write_u32(fd_out, new_fd)
}

/// `path_create_directory(fd, path, path_len)`.
pub(crate) fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let resolved = resolve_guest_path(
        ctx,
        mem,
        fd,
        Rights::PATH_CREATE_DIRECTORY,
        path,
        path_len,
        FinalSymlink::Keep,
    )?;
    rustix::fs::mkdirat(
        &resolved.parent,
        resolved.name.as_str(),
        Mode::from_raw_mode(0o777),
    )?;
    Ok(())
}

/// `path_remove_directory(fd, path, path_len)`.
pub(crate) fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let resolved = resolve_guest_path(
        ctx,
        mem,
        fd,
        Rights::PATH_REMOVE_DIRECTORY,
        path,
        path_len,
        FinalSymlink::Keep,
    )?;
    rustix::fs::unlinkat(&resolved.parent, resolved.name.as_str(), AtFlags::REMOVEDIR)?;
    Ok(())
}

/// `path_unlink_file(fd, path, path_len)`.
pub(crate) fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let resolved = resolve_guest_path(
        ctx,
        mem,
        fd,
        Rights::PATH_UNLINK_FILE,
        path,
        path_len,
        FinalSymlink::Keep,
    )?;
    check_trailing_slash(&resolved)?;
    rustix::fs::unlinkat(&resolved.parent, resolved.name.as_str(), AtFlags::empty())?;
    Ok(())
}

/// `path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len)`.
#[allow(clippy::too_many_arguments)] // The preview 1 signature.
pub(crate) fn path_rename(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> WasiResult<()> {
    let (from, to) = resolve_guest_paths(
        ctx,
        mem,
        PathArg {
            fd: old_fd,
            needed: Rights::PATH_RENAME_SOURCE,
            path: old_path,
            path_len: old_path_len,
            final_symlink: FinalSymlink::Keep,
        },
        PathArg {
            fd: new_fd,
            needed: Rights::PATH_RENAME_TARGET,
            path: new_path,
            path_len: new_path_len,
            final_symlink: FinalSymlink::Keep,
        },
    )?;
    // As on Linux, a trailing `/` on either name demands that a directory is moved.
    if from.must_be_dir || to.must_be_dir {
        require_directory(&from)?;
    }
    rustix::fs::renameat(
        &from.parent,
        from.name.as_str(),
        &to.parent,
        to.name.as_str(),
    )?;
    Ok(())
}

/// `path_filestat_get(fd, flags, path, path_len, filestat_out)`.
pub(crate) fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    lookup: u32,
    path: u32,
    path_len: u32,
    out: u32,
) -> WasiResult<()> {
    let resolved = resolve_guest_path(
        ctx,
        mem,
        fd,
        Rights::PATH_FILESTAT_GET,
        path,
        path_len,
        final_symlink(lookup),
    )?;
    check_trailing_slash(&resolved)?;
    let stat = rustix::fs::statat(
        &resolved.parent,
        resolved.name.as_str(),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    let record = encode_filestat(&stat);
    mem.write_bytes(out, &record)
}

/// `path_filestat_set_times(fd, flags, path, path_len, atim, mtim, fst_flags)`.
#[allow(clippy::too_many_arguments)] // The preview 1 signature.
pub(crate) fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    lookup: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> WasiResult<()> {
    let path = mem.read_str(path, path_len)?;
    let dir = ctx.fds.dir(fd, Rights::PATH_FILESTAT_SET_TIMES)?;
    let times = timestamps(
        atim,
        mtim,
        u16::try_from(fst_flags).map_err(|_| Errno::Inval)?,
    )?;
    let resolved = resolve(dir, path, final_symlink(lookup))?;
    rustix::fs::utimensat(
        &resolved.parent,
        resolved.name.as_str(),
        &times,
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// `path_readlink(fd, path, path_len, buf, buf_len, bufused_out)`: the target is cut to
/// fit the buffer, as POSIX `readlink` does.
#[allow(clippy::too_many_arguments)] // The preview 1 signature.
pub(crate) fn path_readlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> WasiResult<()> {
    let path = mem.read_str(path, path_len)?;
    mem.slice(buf, buf_len)?;
    mem.slice(bufused, 4)?;
    let dir = ctx.fds.dir(fd, Rights::PATH_READLINK)?;
    let resolved = resolve(dir, path, FinalSymlink::FollowIfTrailingSlash)?;
    let target = rustix::fs::readlinkat(&resolved.parent, resolved.name.as_str(), Vec::new())?;
    let target = target.as_bytes();
    let n = target.len().min(buf_len as usize);
    mem.write_bytes(buf, &target[..n])?;
    mem.write_u32(bufused, n as u32)
}

/// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len)`. An absolute
/// target is refused: it could only ever point outside the sandbox.
pub(crate) fn path_symlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    target: u32,
    target_len: u32,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let target = mem.read_str(target, target_len)?;
    let path = mem.read_str(path, path_len)?;
    let dir = ctx.fds.dir(fd, Rights::PATH_SYMLINK)?;
    if target.starts_with('/') {
        return Err(Errno::NotCapable);
    }
    let resolved = resolve(dir, path, FinalSymlink::Keep)?;
    refuse_new_name_with_trailing_slash(&resolved)?;
    rustix::fs::symlinkat(target, &resolved.parent, resolved.name.as_str())?;
    Ok(())
}

/// `path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path, new_path_len)`.
#[allow(clippy::too_many_arguments)] // The preview 1 signature.
pub(crate) fn path_link(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> WasiResult<()> {
    let (from, to) = resolve_guest_paths(
        ctx,
        mem,
        PathArg {
            fd: old_fd,
            needed: Rights::PATH_LINK_SOURCE,
            path: old_path,
            path_len: old_path_len,
            final_symlink: final_symlink(old_flags),
        },
        PathArg {
            fd: new_fd,
            needed: Rights::PATH_LINK_TARGET,
            path: new_path,
            path_len: new_path_len,
            final_symlink: FinalSymlink::Keep,
        },
    )?;
    refuse_new_name_with_trailing_slash(&to)?;
    rustix::fs::linkat(
        &from.parent,
        from.name.as_str(),
        &to.parent,
        to.name.as_str(),
        AtFlags::empty(),
    )?;
    Ok(())
}
