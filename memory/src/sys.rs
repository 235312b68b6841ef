//! The only module of this crate that calls the C library: thin, checked
//! wrappers over the Linux virtual-memory system calls, plus the
//! fault-injection hook that tests use to make any of them fail.
//!
//! Every wrapper reports failure as a `std::io::Error` carrying the errno;
//! callers turn it into a typed [`crate::MemoryError`].

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// The system calls this crate issues; named in errors and fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Syscall {
    /// `mmap` (reservations, code memory).
    Mmap,
    /// `munmap`.
    Munmap,
    /// `mprotect`.
    Mprotect,
    /// `madvise`.
    Madvise,
    /// `mremap`.
    Mremap,
    /// `mlock`.
    Mlock,
    /// `munlock`.
    Munlock,
    /// `memfd_create` (memory images).
    MemfdCreate,
    /// `ftruncate` (sizing a memory image).
    Ftruncate,
    /// `pwrite` (filling a memory image).
    Pwrite,
    /// `pread` (restoring a pinned memory from its image).
    Pread,
    /// `fcntl(F_ADD_SEALS)` (sealing a memory image).
    Fcntl,
}

impl std::fmt::Display for Syscall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Syscall::Mmap => "mmap",
            Syscall::Munmap => "munmap",
            Syscall::Mprotect => "mprotect",
            Syscall::Madvise => "madvise",
            Syscall::Mremap => "mremap",
            Syscall::Mlock => "mlock",
            Syscall::Munlock => "munlock",
            Syscall::MemfdCreate => "memfd_create",
            Syscall::Ftruncate => "ftruncate",
            Syscall::Pwrite => "pwrite",
            Syscall::Pread => "pread",
            Syscall::Fcntl => "fcntl",
        };
        f.write_str(name)
    }
}

/// Page protections this crate applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protection {
    /// No access: reservations and guards.
    None,
    /// Read only.
    Read,
    /// Read and write: accessible linear memory, code being written.
    ReadWrite,
    /// Read and execute: published code.
    ReadExecute,
}

impl Protection {
    fn to_prot(self) -> libc::c_int {
        match self {
            Protection::None => libc::PROT_NONE,
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        }
    }
}

/// Advice this crate gives the kernel about a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Advice {
    /// `MADV_DONTNEED`: drop the pages; private anonymous memory reads as zero afterwards.
    DontNeed,
}

impl Advice {
    fn to_advice(self) -> libc::c_int {
        match self {
            Advice::DontNeed => libc::MADV_DONTNEED,
        }
    }
}

/// The host's page size in bytes (what `mprotect` and `mlock` work in).
pub fn host_page_size() -> usize {
    static PAGE_SIZE: OnceLock<usize> = OnceLock::new();
    *PAGE_SIZE.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|size| size.is_power_of_two())
            .unwrap_or(4096)
    })
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// The result of a C-library call that returns 0 on success and -1 with `errno` set.
fn zero_or_errno(result: libc::c_int) -> io::Result<()> {
    if result == 0 {
        Ok(())
    } else {
        Err(last_error())
    }
}

/// Maps `len` bytes of private anonymous memory with the given protection.
/// `reserve_only` adds `MAP_NORESERVE` (address space without commit charge).
/// `hint` is only a hint: the kernel may place the mapping elsewhere.
pub fn map_anonymous(
    hint: usize,
    len: usize,
    protection: Protection,
    reserve_only: bool,
) -> io::Result<usize> {
    let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    if reserve_only {
        flags |= libc::MAP_NORESERVE;
    }
    mmap_anonymous(hint, len, protection.to_prot(), flags)
}

/// Maps `len` bytes of inaccessible address space exactly at `address`, or
/// fails (`EEXIST`) if anything is mapped there already: never replaces a
/// mapping (`MAP_FIXED_NOREPLACE`; a kernel without it places the mapping
/// elsewhere, which is undone and reported as `EEXIST` too).
pub fn reserve_at(address: usize, len: usize) -> io::Result<()> {
    let flags =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
    let placed = mmap_anonymous(address, len, libc::PROT_NONE, flags)?;
    if placed != address {
        // SAFETY: the kernel just made this mapping for us elsewhere.
        let _ = unsafe { libc::munmap(placed as *mut libc::c_void, len) };
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    Ok(())
}

/// Maps `len` bytes of read/write anonymous memory (`MAP_NORESERVE`, reading
/// as zero) exactly at `address`, or fails (`EEXIST`) if anything is mapped
/// there already, as [`reserve_at`] does.
pub fn map_read_write_at(address: usize, len: usize) -> io::Result<()> {
    let flags =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
    let placed = mmap_anonymous(address, len, libc::PROT_READ | libc::PROT_WRITE, flags)?;
    if placed != address {
        // SAFETY: the kernel just made this mapping for us elsewhere.
        let _ = unsafe { libc::munmap(placed as *mut libc::c_void, len) };
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    Ok(())
}

/// `mmap` of anonymous memory; `flags` must not contain `MAP_FIXED`.
fn mmap_anonymous(
    hint: usize,
    len: usize,
    protection: libc::c_int,
    flags: libc::c_int,
) -> io::Result<usize> {
    fault_point(Syscall::Mmap)?;
    debug_assert_eq!(flags & libc::MAP_FIXED, 0);
    // SAFETY: without MAP_FIXED (MAP_FIXED_NOREPLACE included) the kernel
    // never replaces an existing mapping, so this cannot invalidate memory
    // anyone else uses.
    let address = unsafe { libc::mmap(hint as *mut libc::c_void, len, protection, flags, -1, 0) };
    if address == libc::MAP_FAILED {
        Err(last_error())
    } else {
        Ok(address as usize)
    }
}

/// The kernel's id of the calling thread (what `perf` records as its tid).
pub fn current_thread_id() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    tid as u32
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock `perf record -k mono`
/// stamps its samples with, so records stamped with it line up.
pub fn monotonic_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; CLOCK_MONOTONIC always exists.
    let _ = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

/// Maps the first `len` bytes of the open file `fd` read-only and private
/// (a write would copy the page, never reach the file), with its pages read
/// in at once (`MAP_POPULATE`). Returns the mapping's address.
pub fn map_file_read_only(fd: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    map_file_anywhere(
        fd,
        len,
        libc::PROT_READ,
        libc::MAP_PRIVATE | libc::MAP_POPULATE,
    )
}

/// Maps the first `len` bytes of the open file `fd` readable, executable
/// and private, for the life of the process. The mapping is never used: it
/// marks the file in the process's memory map, which is how `perf record`
/// finds a jitdump file (perf's jitdump specification). Returns its address.
pub fn map_jitdump_marker(fd: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    map_file_anywhere(
        fd,
        len,
        libc::PROT_READ | libc::PROT_EXEC,
        libc::MAP_PRIVATE,
    )
}

/// `mmap` of the start of a file where the kernel chooses; `flags` must
/// not contain `MAP_FIXED`.
fn map_file_anywhere(
    fd: BorrowedFd<'_>,
    len: usize,
    protection: libc::c_int,
    flags: libc::c_int,
) -> io::Result<usize> {
    fault_point(Syscall::Mmap)?;
    debug_assert_eq!(flags & libc::MAP_FIXED, 0);
    // SAFETY: without MAP_FIXED the kernel picks a free range, so no
    // existing mapping is replaced; `fd` is open for the call's duration.
    let address = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            protection,
            flags,
            fd.as_raw_fd(),
            0,
        )
    };
    if address == libc::MAP_FAILED {
        Err(last_error())
    } else {
        Ok(address as usize)
    }
}

/// Maps `len` bytes of `file` from `file_offset` privately (copy-on-write)
/// and read/write exactly at `address`, replacing whatever the caller had
/// mapped there (`MAP_PRIVATE | MAP_FIXED`). Writes through the mapping stay
/// in this process's private copies; the file never changes.
///
/// # Safety
/// `[address, address + len)` must be owned by the caller, and nothing may
/// rely on its previous contents (they are replaced by the file's).
pub unsafe fn map_file_private_fixed(
    address: usize,
    len: usize,
    file: BorrowedFd<'_>,
    file_offset: usize,
) -> io::Result<()> {
    fault_point(Syscall::Mmap)?;
    let offset = libc::off_t::try_from(file_offset)
        .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    // SAFETY: MAP_FIXED replaces only the caller's own range (see the
    // function's contract); the descriptor is valid for the call.
    let placed = unsafe {
        libc::mmap(
            address as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            file.as_raw_fd(),
            offset,
        )
    };
    if placed == libc::MAP_FAILED {
        Err(last_error())
    } else {
        debug_assert_eq!(placed as usize, address);
        Ok(())
    }
}

/// Replaces `[address, address + len)` with fresh read/write private
/// anonymous memory (reading as zero, `MAP_NORESERVE` like a reservation),
/// exactly in place (`MAP_FIXED`).
///
/// # Safety
/// The range must be owned by the caller, and nothing may rely on its
/// previous contents.
pub unsafe fn map_anonymous_fixed(address: usize, len: usize) -> io::Result<()> {
    fault_point(Syscall::Mmap)?;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED;
    // SAFETY: MAP_FIXED replaces only the caller's own range (see the
    // function's contract).
    let placed = unsafe {
        libc::mmap(
            address as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if placed == libc::MAP_FAILED {
        Err(last_error())
    } else {
        debug_assert_eq!(placed as usize, address);
        Ok(())
    }
}

/// Creates an anonymous in-memory file (`memfd_create`) that can be sealed,
/// closed on exec. `name` only shows in /proc/*/maps.
pub fn memfd_create_sealable(name: &CStr) -> io::Result<OwnedFd> {
    fault_point(Syscall::MemfdCreate)?;
    // SAFETY: `name` is a valid C string; the call creates a new descriptor.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets the size of `file` (`ftruncate`); grown bytes are holes reading as zero.
pub fn set_file_len(file: BorrowedFd<'_>, len: usize) -> io::Result<()> {
    fault_point(Syscall::Ftruncate)?;
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: ftruncate has no memory-safety preconditions.
    zero_or_errno(unsafe { libc::ftruncate(file.as_raw_fd(), len) })
}

/// Writes all of `bytes` to `file` at `offset` (`pwrite`, retried until done).
pub fn write_all_at(file: BorrowedFd<'_>, mut bytes: &[u8], mut offset: usize) -> io::Result<()> {
    while !bytes.is_empty() {
        fault_point(Syscall::Pwrite)?;
        let at =
            libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
        // SAFETY: pwrite reads `bytes.len()` bytes from a valid slice.
        let written =
            unsafe { libc::pwrite(file.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), at) };
        match written {
            n if n > 0 => {
                bytes = &bytes[n as usize..];
                offset += n as usize;
            }
            0 => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            _ => {
                let error = last_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
    Ok(())
}

/// Fills all of `buffer` from `file` at `offset` (`pread`, retried until
/// done); holes read as zero.
///
/// # Safety
/// `[buffer, buffer + len)` must be writable memory owned by the caller.
pub unsafe fn read_exact_at(
    file: BorrowedFd<'_>,
    mut buffer: usize,
    mut len: usize,
    mut offset: usize,
) -> io::Result<()> {
    while len > 0 {
        fault_point(Syscall::Pread)?;
        let at =
            libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
        // SAFETY: the caller owns the writable range `[buffer, buffer + len)`.
        let read = unsafe { libc::pread(file.as_raw_fd(), buffer as *mut libc::c_void, len, at) };
        match read {
            n if n > 0 => {
                buffer += n as usize;
                len -= n as usize;
                offset += n as usize;
            }
            0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            _ => {
                let error = last_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
    Ok(())
}

/// Seals `file` against any change of size or contents, and against
/// further sealing (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL`).
/// Private (copy-on-write) mappings stay allowed.
pub fn seal_contents(file: BorrowedFd<'_>) -> io::Result<()> {
    fault_point(Syscall::Fcntl)?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: F_ADD_SEALS takes an integer argument and touches no memory.
    let result = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    zero_or_errno(if result == -1 { -1 } else { 0 })
}

/// Unmaps `[address, address + len)`.
///
/// # Safety
/// The range must be owned by the caller and nothing may use it afterwards.
pub unsafe fn unmap(address: usize, len: usize) -> io::Result<()> {
    fault_point(Syscall::Munmap)?;
    // SAFETY: the caller owns the range and guarantees it is no longer used.
    zero_or_errno(unsafe { libc::munmap(address as *mut libc::c_void, len) })
}

/// Changes the protection of `[address, address + len)`.
///
/// # Safety
/// The range must be owned by the caller; removing access from memory that
/// live references point into is the caller's responsibility.
pub unsafe fn protect(address: usize, len: usize, protection: Protection) -> io::Result<()> {
    fault_point(Syscall::Mprotect)?;
    // SAFETY: the caller owns the range (see the function's contract).
    zero_or_errno(unsafe {
        libc::mprotect(address as *mut libc::c_void, len, protection.to_prot())
    })
}

/// Gives the kernel advice about `[address, address + len)`.
///
/// # Safety
/// The range must be owned by the caller; `MADV_DONTNEED` discards its contents.
pub unsafe fn advise(address: usize, len: usize, advice: Advice) -> io::Result<()> {
    fault_point(Syscall::Madvise)?;
    // SAFETY: the caller owns the range (see the function's contract).
    zero_or_errno(unsafe { libc::madvise(address as *mut libc::c_void, len, advice.to_advice()) })
}

/// Moves the pages of `[from, from + len)` to `[to, to + len)` by moving page
/// table entries (`mremap(MREMAP_MAYMOVE | MREMAP_FIXED)`): no byte is copied.
/// Whatever was mapped at the destination is replaced; the source range is
/// left unmapped.
///
/// # Safety
/// Both ranges must be owned by the caller; nothing may use the source range afterwards.
pub unsafe fn move_pages(from: usize, len: usize, to: usize) -> io::Result<()> {
    // SAFETY: the caller's contract is this function's.
    unsafe { move_and_resize(from, len, to, len) }
}

/// Moves the one kernel mapping `[from, from + old_len)` to `to` and resizes
/// it to `new_len` in the same call (`mremap(MREMAP_MAYMOVE | MREMAP_FIXED)`
/// with different sizes): the pages move by their page-table entries, and
/// bytes past `old_len` become part of the *same* mapping, reading as zero,
/// with its protection (and lock, if it is locked). Whatever was mapped at
/// `[to, to + new_len)` is replaced; the source range is left unmapped. On
/// failure the source is intact, but the destination may already have been
/// unmapped (the kernel clears it before it checks everything else).
///
/// # Safety
/// Both ranges must be owned by the caller; nothing may use the source range afterwards.
pub unsafe fn move_and_resize(
    from: usize,
    old_len: usize,
    to: usize,
    new_len: usize,
) -> io::Result<()> {
    fault_point(Syscall::Mremap)?;
    // SAFETY: both ranges are owned by the caller; MREMAP_FIXED only replaces
    // the destination, which the caller owns.
    let moved = unsafe {
        libc::mremap(
            from as *mut libc::c_void,
            old_len,
            new_len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            to as *mut libc::c_void,
        )
    };
    if moved == libc::MAP_FAILED {
        Err(last_error())
    } else {
        debug_assert_eq!(moved as usize, to);
        Ok(())
    }
}

/// Locks `[address, address + len)` into RAM (faulting it in).
///
/// # Safety
/// The range must be owned by the caller.
pub unsafe fn lock(address: usize, len: usize) -> io::Result<()> {
    fault_point(Syscall::Mlock)?;
    // SAFETY: mlock does not change contents or access; the caller owns the range.
    zero_or_errno(unsafe { libc::mlock(address as *const libc::c_void, len) })
}

/// Unlocks `[address, address + len)`.
///
/// # Safety
/// The range must be owned by the caller.
pub unsafe fn unlock(address: usize, len: usize) -> io::Result<()> {
    fault_point(Syscall::Munlock)?;
    // SAFETY: munlock does not change contents or access; the caller owns the range.
    zero_or_errno(unsafe { libc::munlock(address as *const libc::c_void, len) })
}

/// The process's `RLIMIT_MEMLOCK` soft limit in bytes (`None` = unlimited or unknown).
pub fn memlock_limit() -> Option<u64> {
    soft_limit(libc::RLIMIT_MEMLOCK)
}

/// The process's `RLIMIT_AS` soft limit in bytes (`None` = unlimited or unknown).
pub(crate) fn address_space_limit() -> Option<u64> {
    soft_limit(libc::RLIMIT_AS)
}

fn soft_limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct we pass.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return None;
    }
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
fn fault_point(_call: Syscall) -> io::Result<()> {
    Ok(())
}

#[cfg(feature = "fault-injection")]
fn fault_point(call: Syscall) -> io::Result<()> {
    fault_injection::take(call)
}

/// Test-only hook: make a chosen system call fail with a chosen errno.
///
/// Faults are per thread (each test runs on its own thread) and are removed
/// when the returned guard drops.
#[cfg(feature = "fault-injection")]
pub mod fault_injection {
    use super::Syscall;
    use std::cell::{Cell, RefCell};
    use std::io;

    struct Fault {
        call: Syscall,
        skip: u32,
        errno: i32,
    }

    thread_local! {
        static FAULTS: RefCell<Vec<Fault>> = const { RefCell::new(Vec::new()) };
        static CALLS: RefCell<Vec<Syscall>> = const { RefCell::new(Vec::new()) };
        static RECORDING: Cell<bool> = const { Cell::new(false) };
    }

    /// Removes this thread's injected faults and call log when dropped.
    #[must_use = "the fault is removed when the guard drops"]
    pub struct FaultGuard(());

    impl Drop for FaultGuard {
        fn drop(&mut self) {
            FAULTS.with(|faults| faults.borrow_mut().clear());
            CALLS.with(|calls| calls.borrow_mut().clear());
            RECORDING.with(|recording| recording.set(false));
        }
    }

    /// Makes the `skip + 1`-th next call of `call` on this thread fail with `errno`
    /// (without reaching the kernel). Several faults may be armed at once.
    pub fn fail(call: Syscall, skip: u32, errno: i32) -> FaultGuard {
        FAULTS.with(|faults| faults.borrow_mut().push(Fault { call, skip, errno }));
        FaultGuard(())
    }

    /// Starts recording the system calls this thread issues (see [`calls`]).
    pub fn record() -> FaultGuard {
        CALLS.with(|calls| calls.borrow_mut().clear());
        RECORDING.with(|recording| recording.set(true));
        FaultGuard(())
    }

    /// The system calls this thread issued since [`record`].
    pub fn calls() -> Vec<Syscall> {
        CALLS.with(|calls| calls.borrow().clone())
    }

    /// Whether any armed fault has not fired yet.
    pub fn pending() -> bool {
        FAULTS.with(|faults| !faults.borrow().is_empty())
    }

    /// Raises this process's `RLIMIT_MEMLOCK` soft limit to its hard limit and
    /// returns the new soft limit (`None` = unlimited).
    pub fn raise_memlock_soft_limit() -> io::Result<Option<u64>> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        unsafe {
            super::zero_or_errno(libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit))?;
            limit.rlim_cur = limit.rlim_max;
            super::zero_or_errno(libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit))?;
        }
        Ok(super::memlock_limit())
    }

    /// Subjects the calling thread to `RLIMIT_MEMLOCK = limit_bytes` even when
    /// running as root, by setting the limit and dropping `CAP_IPC_LOCK` from
    /// the thread's capabilities. Irreversible: call it only in a child process.
    pub fn restrict_memlock(limit_bytes: u64) -> io::Result<()> {
        #[repr(C)]
        struct CapHeader {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        struct CapData {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
        const CAP_IPC_LOCK: u32 = 14;

        let limit = libc::rlimit {
            rlim_cur: limit_bytes,
            rlim_max: limit_bytes,
        };
        let mut header = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: setrlimit reads the struct passed; capget/capset read and
        // write exactly the version-3 header and two data structs passed.
        unsafe {
            super::zero_or_errno(libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit))?;
            super::zero_or_errno(
                libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) as libc::c_int,
            )?;
            data[0].effective &= !(1 << CAP_IPC_LOCK);
            data[0].permitted &= !(1 << CAP_IPC_LOCK);
            super::zero_or_errno(
                libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) as libc::c_int
            )?;
        }
        Ok(())
    }

    pub(super) fn take(call: Syscall) -> io::Result<()> {
        if RECORDING.with(Cell::get) {
            CALLS.with(|calls| calls.borrow_mut().push(call));
        }
        FAULTS.with(|faults| {
            let mut faults = faults.borrow_mut();
            let Some(index) = faults.iter().position(|fault| fault.call == call) else {
                return Ok(());
            };
            if faults[index].skip > 0 {
                faults[index].skip -= 1;
                return Ok(());
            }
            let fault = faults.remove(index);
            Err(io::Error::from_raw_os_error(fault.errno))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(host_page_size().is_power_of_two());
        assert!(host_page_size() >= 4096);
    }

    #[test]
    fn map_protect_unmap_round_trip() {
        let page = host_page_size();
        let address = map_anonymous(0, 2 * page, Protection::None, true).unwrap();
        // SAFETY: the mapping was created above and is only used here.
        unsafe {
            protect(address, page, Protection::ReadWrite).unwrap();
            *(address as *mut u8) = 7;
            assert_eq!(*(address as *const u8), 7);
            advise(address, page, Advice::DontNeed).unwrap();
            assert_eq!(*(address as *const u8), 0, "MADV_DONTNEED reads back zero");
            unmap(address, 2 * page).unwrap();
        }
    }

    #[test]
    fn failures_carry_the_errno() {
        // SAFETY: mprotect of an unaligned address fails with EINVAL without touching memory.
        let error = unsafe { protect(1, 1, Protection::Read) }.unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EINVAL));
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn injected_fault_fires_once_after_skips() {
        let _guard = fault_injection::fail(Syscall::Mmap, 1, libc::ENOMEM);
        let page = host_page_size();
        let first = map_anonymous(0, page, Protection::None, true).unwrap();
        let second = map_anonymous(0, page, Protection::None, true).unwrap_err();
        assert_eq!(second.raw_os_error(), Some(libc::ENOMEM));
        let third = map_anonymous(0, page, Protection::None, true).unwrap();
        // SAFETY: both mappings were created above and are unused.
        unsafe {
            unmap(first, page).unwrap();
            unmap(third, page).unwrap();
        }
    }
}
