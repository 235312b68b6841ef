//! File metadata in WASI form: `filestat` records, file types, and `fstflags` timestamps.

use rustix::fs::{FileType, Stat, Timestamps, UTIME_NOW, UTIME_OMIT};
use rustix::time::Timespec;

use super::abi::{filetype, fstflags, size};
use super::errno::{Errno, WasiResult};

/// The WASI file type of a host `st_mode`.
pub(crate) fn filetype_of_mode(mode: u32) -> u8 {
    filetype_of(FileType::from_raw_mode(mode))
}

/// The WASI file type of a host file type.
pub(crate) fn filetype_of(kind: FileType) -> u8 {
    match kind {
        FileType::RegularFile => filetype::REGULAR_FILE,
        FileType::Directory => filetype::DIRECTORY,
        FileType::Symlink => filetype::SYMBOLIC_LINK,
        FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        FileType::BlockDevice => filetype::BLOCK_DEVICE,
        // A host socket seen through a path is a stream socket as far as WASI can tell.
        FileType::Socket => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

fn nanos(seconds: i64, nanoseconds: u64) -> u64 {
    // Times before 1970 cannot be represented by WASI's unsigned timestamps.
    u64::try_from(seconds)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(nanoseconds)
}

/// The 64-byte `filestat` record of `stat`.
#[allow(clippy::unnecessary_cast)] // `Stat` field types differ between targets.
pub(crate) fn encode_filestat(stat: &Stat) -> [u8; size::FILESTAT] {
    let mut out = [0u8; size::FILESTAT];
    out[0..8].copy_from_slice(&(stat.st_dev as u64).to_le_bytes());
    out[8..16].copy_from_slice(&(stat.st_ino as u64).to_le_bytes());
    out[16] = filetype_of_mode(stat.st_mode as u32);
    out[24..32].copy_from_slice(&(stat.st_nlink as u64).to_le_bytes());
    out[32..40].copy_from_slice(&(stat.st_size as u64).to_le_bytes());
    let atim = nanos(stat.st_atime as i64, stat.st_atime_nsec as u64);
    let mtim = nanos(stat.st_mtime as i64, stat.st_mtime_nsec as u64);
    let ctim = nanos(stat.st_ctime as i64, stat.st_ctime_nsec as u64);
    out[40..48].copy_from_slice(&atim.to_le_bytes());
    out[48..56].copy_from_slice(&mtim.to_le_bytes());
    out[56..64].copy_from_slice(&ctim.to_le_bytes());
    out
}

/// A `filestat` record for an object with no host metadata (an in-memory stream).
pub(crate) fn encode_stream_filestat(kind: u8) -> [u8; size::FILESTAT] {
    let mut out = [0u8; size::FILESTAT];
    out[16] = kind;
    out
}

fn timespec(time: u16, set: u16, now: u16, value: u64) -> WasiResult<Timespec> {
    if time & set != 0 && time & now != 0 {
        return Err(Errno::Inval);
    }
    Ok(if time & set != 0 {
        Timespec {
            tv_sec: (value / 1_000_000_000) as i64,
            tv_nsec: (value % 1_000_000_000) as _,
        }
    } else if time & now != 0 {
        Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        }
    } else {
        Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        }
    })
}

/// The host timestamps for `fd_filestat_set_times`/`path_filestat_set_times`
/// (`EINVAL` when a time is both given and "now", or unknown flags are set).
pub(crate) fn timestamps(atim: u64, mtim: u64, flags: u16) -> WasiResult<Timestamps> {
    let known = fstflags::ATIM | fstflags::ATIM_NOW | fstflags::MTIM | fstflags::MTIM_NOW;
    if flags & !known != 0 {
        return Err(Errno::Inval);
    }
    Ok(Timestamps {
        last_access: timespec(flags, fstflags::ATIM, fstflags::ATIM_NOW, atim)?,
        last_modification: timespec(flags, fstflags::MTIM, fstflags::MTIM_NOW, mtim)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_map() {
        assert_eq!(filetype_of(FileType::Directory), filetype::DIRECTORY);
        assert_eq!(filetype_of(FileType::RegularFile), filetype::REGULAR_FILE);
        assert_eq!(filetype_of(FileType::Symlink), filetype::SYMBOLIC_LINK);
        assert_eq!(filetype_of(FileType::Fifo), filetype::UNKNOWN);
    }

    #[test]
    fn timestamps_reject_conflicting_flags() {
        assert_eq!(
            timestamps(0, 0, fstflags::ATIM | fstflags::ATIM_NOW).err(),
            Some(Errno::Inval)
        );
        assert_eq!(timestamps(0, 0, 1 << 4).err(), Some(Errno::Inval));
        let t = timestamps(1_500_000_000, 0, fstflags::ATIM | fstflags::MTIM_NOW).unwrap();
        assert_eq!(t.last_access.tv_sec, 1);
        assert_eq!(t.last_access.tv_nsec, 500_000_000);
        assert_eq!(t.last_modification.tv_nsec, UTIME_NOW);
    }

    #[test]
    fn filestat_layout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"12345").unwrap();
        let stat = rustix::fs::stat(dir.path().join("f")).unwrap();
        let record = encode_filestat(&stat);
        assert_eq!(record[16], filetype::REGULAR_FILE);
        assert_eq!(u64::from_le_bytes(record[32..40].try_into().unwrap()), 5);
        assert_eq!(u64::from_le_bytes(record[24..32].try_into().unwrap()), 1);
        assert!(u64::from_le_bytes(record[48..56].try_into().unwrap()) > 0);
    }
}
