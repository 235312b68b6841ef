//! Constants and record layouts of `wasi_snapshot_preview1` (from the witx): rights, file
//! types, flag bits, and the sizes of the records the guest exchanges with us. Only the
//! values this implementation uses are defined (the socket rights and `socket_dgram` are
//! not, since no socket can be opened).

/// Access rights attached to a descriptor (`rights` in the witx): a 64-bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rights(u64);

impl Rights {
    pub const FD_DATASYNC: Rights = Rights(1 << 0);
    pub const FD_READ: Rights = Rights(1 << 1);
    pub const FD_SEEK: Rights = Rights(1 << 2);
    pub const FD_FDSTAT_SET_FLAGS: Rights = Rights(1 << 3);
    pub const FD_SYNC: Rights = Rights(1 << 4);
    pub const FD_TELL: Rights = Rights(1 << 5);
    pub const FD_WRITE: Rights = Rights(1 << 6);
    pub const FD_ADVISE: Rights = Rights(1 << 7);
    pub const FD_ALLOCATE: Rights = Rights(1 << 8);
    pub const PATH_CREATE_DIRECTORY: Rights = Rights(1 << 9);
    pub const PATH_CREATE_FILE: Rights = Rights(1 << 10);
    pub const PATH_LINK_SOURCE: Rights = Rights(1 << 11);
    pub const PATH_LINK_TARGET: Rights = Rights(1 << 12);
    pub const PATH_OPEN: Rights = Rights(1 << 13);
    pub const FD_READDIR: Rights = Rights(1 << 14);
    pub const PATH_READLINK: Rights = Rights(1 << 15);
    pub const PATH_RENAME_SOURCE: Rights = Rights(1 << 16);
    pub const PATH_RENAME_TARGET: Rights = Rights(1 << 17);
    pub const PATH_FILESTAT_GET: Rights = Rights(1 << 18);
    pub const PATH_FILESTAT_SET_SIZE: Rights = Rights(1 << 19);
    pub const PATH_FILESTAT_SET_TIMES: Rights = Rights(1 << 20);
    pub const FD_FILESTAT_GET: Rights = Rights(1 << 21);
    pub const FD_FILESTAT_SET_SIZE: Rights = Rights(1 << 22);
    pub const FD_FILESTAT_SET_TIMES: Rights = Rights(1 << 23);
    pub const PATH_SYMLINK: Rights = Rights(1 << 24);
    pub const PATH_REMOVE_DIRECTORY: Rights = Rights(1 << 25);
    pub const PATH_UNLINK_FILE: Rights = Rights(1 << 26);
    pub const POLL_FD_READWRITE: Rights = Rights(1 << 27);
    pub const SOCK_SHUTDOWN: Rights = Rights(1 << 28);
    pub const SOCK_ACCEPT: Rights = Rights(1 << 29);

    /// No rights at all.
    pub const NONE: Rights = Rights(0);

    /// Every right a regular file can carry.
    pub const REGULAR_FILE: Rights = Rights(
        Self::FD_DATASYNC.0
            | Self::FD_READ.0
            | Self::FD_SEEK.0
            | Self::FD_FDSTAT_SET_FLAGS.0
            | Self::FD_SYNC.0
            | Self::FD_TELL.0
            | Self::FD_WRITE.0
            | Self::FD_ADVISE.0
            | Self::FD_ALLOCATE.0
            | Self::FD_FILESTAT_GET.0
            | Self::FD_FILESTAT_SET_SIZE.0
            | Self::FD_FILESTAT_SET_TIMES.0
            | Self::POLL_FD_READWRITE.0,
    );

    /// Every right a directory can carry (on the directory itself).
    pub const DIRECTORY: Rights = Rights(
        Self::FD_FDSTAT_SET_FLAGS.0
            | Self::FD_SYNC.0
            | Self::FD_ADVISE.0
            | Self::PATH_CREATE_DIRECTORY.0
            | Self::PATH_CREATE_FILE.0
            | Self::PATH_LINK_SOURCE.0
            | Self::PATH_LINK_TARGET.0
            | Self::PATH_OPEN.0
            | Self::FD_READDIR.0
            | Self::PATH_READLINK.0
            | Self::PATH_RENAME_SOURCE.0
            | Self::PATH_RENAME_TARGET.0
            | Self::PATH_FILESTAT_GET.0
            | Self::PATH_FILESTAT_SET_SIZE.0
            | Self::PATH_FILESTAT_SET_TIMES.0
            | Self::FD_FILESTAT_GET.0
            | Self::FD_FILESTAT_SET_TIMES.0
            | Self::PATH_SYMLINK.0
            | Self::PATH_REMOVE_DIRECTORY.0
            | Self::PATH_UNLINK_FILE.0
            | Self::POLL_FD_READWRITE.0,
    );

    /// What descriptors opened beneath a directory may receive.
    pub const DIRECTORY_INHERITING: Rights = Rights(Self::DIRECTORY.0 | Self::REGULAR_FILE.0);

    /// Rights of an input stream such as stdin.
    pub const INPUT_STREAM: Rights = Rights(
        Self::FD_READ.0
            | Self::FD_FDSTAT_SET_FLAGS.0
            | Self::FD_FILESTAT_GET.0
            | Self::POLL_FD_READWRITE.0,
    );

    /// Rights of an output stream such as stdout.
    pub const OUTPUT_STREAM: Rights = Rights(
        Self::FD_WRITE.0
            | Self::FD_FDSTAT_SET_FLAGS.0
            | Self::FD_FILESTAT_GET.0
            | Self::POLL_FD_READWRITE.0,
    );

    /// Rights of a preopened listening socket.
    pub const SOCKET_LISTENER: Rights = Rights(
        Self::SOCK_ACCEPT.0
            | Self::FD_FDSTAT_SET_FLAGS.0
            | Self::FD_FILESTAT_GET.0
            | Self::POLL_FD_READWRITE.0,
    );

    /// Rights of a connected stream socket.
    pub const SOCKET_STREAM: Rights = Rights(
        Self::FD_READ.0
            | Self::FD_WRITE.0
            | Self::SOCK_SHUTDOWN.0
            | Self::FD_FDSTAT_SET_FLAGS.0
            | Self::FD_FILESTAT_GET.0
            | Self::POLL_FD_READWRITE.0,
    );

    /// The set from its bit representation.
    pub const fn from_bits(bits: u64) -> Rights {
        Rights(bits)
    }

    /// The bit representation.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// True when every right in `other` is in `self`.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when any right in `other` is in `self`.
    pub const fn intersects(self, other: Rights) -> bool {
        self.0 & other.0 != 0
    }

    /// The rights in both sets.
    pub const fn intersection(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }

    /// The rights in either set.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }
}

/// `filetype`.
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags`.
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    /// Every defined bit.
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags`.
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
}

/// `lookupflags`.
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags`.
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
}

/// `whence`.
pub mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// `advice`.
pub mod advice {
    pub const NORMAL: u8 = 0;
    pub const SEQUENTIAL: u8 = 1;
    pub const RANDOM: u8 = 2;
    pub const WILLNEED: u8 = 3;
    pub const DONTNEED: u8 = 4;
    pub const NOREUSE: u8 = 5;
}

/// `clockid`.
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `eventtype`, `subclockflags` and `eventrwflags`.
pub mod event {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
    pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1 << 0;
    pub const FD_READWRITE_HANGUP: u16 = 1 << 0;
}

/// `riflags`: how `sock_recv` reads.
pub mod riflags {
    pub const RECV_PEEK: u16 = 1 << 0;
    pub const RECV_WAITALL: u16 = 1 << 1;
}

/// `sdflags`: which directions `sock_shutdown` closes.
pub mod sdflags {
    pub const RD: u8 = 1 << 0;
    pub const WR: u8 = 1 << 1;
}

/// `preopentype`.
pub const PREOPENTYPE_DIR: u8 = 0;

/// Sizes of the records in guest memory.
pub mod size {
    pub const IOVEC: u32 = 8;
    pub const FDSTAT: usize = 24;
    pub const FILESTAT: usize = 64;
    pub const PRESTAT: usize = 8;
    pub const DIRENT: usize = 24;
    pub const SUBSCRIPTION: u32 = 48;
    pub const EVENT: u32 = 32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_set_operations() {
        let rw = Rights::FD_READ.union(Rights::FD_WRITE);
        assert!(rw.contains(Rights::FD_READ));
        assert!(!rw.contains(Rights::FD_SEEK));
        assert!(rw.intersects(Rights::FD_WRITE.union(Rights::FD_SEEK)));
        assert_eq!(rw.intersection(Rights::FD_WRITE), Rights::FD_WRITE);
        assert_eq!(Rights::POLL_FD_READWRITE.bits(), 1 << 27);
        assert!(!Rights::REGULAR_FILE.intersects(Rights::PATH_OPEN));
        assert!(!Rights::DIRECTORY.intersects(Rights::FD_READ));
    }

    /// The value of `#define __WASI_<name> ...` in wasi-libc's preview 1 header, whether
    /// written `(UINT8_C(n))` or `((type)(1 << n))`.
    fn header_value(header: &str, name: &str) -> u64 {
        let prefix = format!("#define __WASI_{name} ");
        let line = header
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("__WASI_{name} is not in the header"));
        let digits = |text: &str| -> u64 {
            let text: String = text.chars().filter(char::is_ascii_digit).collect();
            text.parse().unwrap()
        };
        match line.split_once("1 << ") {
            Some((_, shift)) => 1 << digits(shift),
            None => digits(
                line.trim_start_matches("(UINT8_C(")
                    .trim_start_matches("(UINT16_C(")
                    .trim_start_matches("(UINT32_C("),
            ),
        }
    }

    #[test]
    fn constants_match_the_preview1_header() {
        const HEADER: &str = "/usr/include/wasm32-wasi/wasi/api.h";
        let header = std::fs::read_to_string(HEADER).unwrap_or_else(|err| {
            panic!("cannot read {HEADER} ({err}): install the Debian package wasi-libc")
        });
        let ours: &[(&str, u64)] = &[
            ("RIGHTS_FD_DATASYNC", Rights::FD_DATASYNC.bits()),
            ("RIGHTS_FD_READ", Rights::FD_READ.bits()),
            ("RIGHTS_FD_SEEK", Rights::FD_SEEK.bits()),
            (
                "RIGHTS_FD_FDSTAT_SET_FLAGS",
                Rights::FD_FDSTAT_SET_FLAGS.bits(),
            ),
            ("RIGHTS_FD_SYNC", Rights::FD_SYNC.bits()),
            ("RIGHTS_FD_TELL", Rights::FD_TELL.bits()),
            ("RIGHTS_FD_WRITE", Rights::FD_WRITE.bits()),
            ("RIGHTS_FD_ADVISE", Rights::FD_ADVISE.bits()),
            ("RIGHTS_FD_ALLOCATE", Rights::FD_ALLOCATE.bits()),
            (
                "RIGHTS_PATH_CREATE_DIRECTORY",
                Rights::PATH_CREATE_DIRECTORY.bits(),
            ),
            ("RIGHTS_PATH_CREATE_FILE", Rights::PATH_CREATE_FILE.bits()),
            ("RIGHTS_PATH_LINK_SOURCE", Rights::PATH_LINK_SOURCE.bits()),
            ("RIGHTS_PATH_LINK_TARGET", Rights::PATH_LINK_TARGET.bits()),
            ("RIGHTS_PATH_OPEN", Rights::PATH_OPEN.bits()),
            ("RIGHTS_FD_READDIR", Rights::FD_READDIR.bits()),
            ("RIGHTS_PATH_READLINK", Rights::PATH_READLINK.bits()),
            (
                "RIGHTS_PATH_RENAME_SOURCE",
                Rights::PATH_RENAME_SOURCE.bits(),
            ),
            (
                "RIGHTS_PATH_RENAME_TARGET",
                Rights::PATH_RENAME_TARGET.bits(),
            ),
            ("RIGHTS_PATH_FILESTAT_GET", Rights::PATH_FILESTAT_GET.bits()),
            (
                "RIGHTS_PATH_FILESTAT_SET_SIZE",
                Rights::PATH_FILESTAT_SET_SIZE.bits(),
            ),
            (
                "RIGHTS_PATH_FILESTAT_SET_TIMES",
                Rights::PATH_FILESTAT_SET_TIMES.bits(),
            ),
            ("RIGHTS_FD_FILESTAT_GET", Rights::FD_FILESTAT_GET.bits()),
            (
                "RIGHTS_FD_FILESTAT_SET_SIZE",
                Rights::FD_FILESTAT_SET_SIZE.bits(),
            ),
            (
                "RIGHTS_FD_FILESTAT_SET_TIMES",
                Rights::FD_FILESTAT_SET_TIMES.bits(),
            ),
            ("RIGHTS_PATH_SYMLINK", Rights::PATH_SYMLINK.bits()),
            (
                "RIGHTS_PATH_REMOVE_DIRECTORY",
                Rights::PATH_REMOVE_DIRECTORY.bits(),
            ),
            ("RIGHTS_PATH_UNLINK_FILE", Rights::PATH_UNLINK_FILE.bits()),
            ("RIGHTS_POLL_FD_READWRITE", Rights::POLL_FD_READWRITE.bits()),
            ("FILETYPE_UNKNOWN", u64::from(filetype::UNKNOWN)),
            ("FILETYPE_BLOCK_DEVICE", u64::from(filetype::BLOCK_DEVICE)),
            (
                "FILETYPE_CHARACTER_DEVICE",
                u64::from(filetype::CHARACTER_DEVICE),
            ),
            ("FILETYPE_DIRECTORY", u64::from(filetype::DIRECTORY)),
            ("FILETYPE_REGULAR_FILE", u64::from(filetype::REGULAR_FILE)),
            ("FILETYPE_SOCKET_STREAM", u64::from(filetype::SOCKET_STREAM)),
            ("FILETYPE_SYMBOLIC_LINK", u64::from(filetype::SYMBOLIC_LINK)),
            ("FDFLAGS_APPEND", u64::from(fdflags::APPEND)),
            ("FDFLAGS_DSYNC", u64::from(fdflags::DSYNC)),
            ("FDFLAGS_NONBLOCK", u64::from(fdflags::NONBLOCK)),
            ("FDFLAGS_RSYNC", u64::from(fdflags::RSYNC)),
            ("FDFLAGS_SYNC", u64::from(fdflags::SYNC)),
            ("OFLAGS_CREAT", u64::from(oflags::CREAT)),
            ("OFLAGS_DIRECTORY", u64::from(oflags::DIRECTORY)),
            ("OFLAGS_EXCL", u64::from(oflags::EXCL)),
            ("OFLAGS_TRUNC", u64::from(oflags::TRUNC)),
            (
                "LOOKUPFLAGS_SYMLINK_FOLLOW",
                u64::from(lookupflags::SYMLINK_FOLLOW),
            ),
            ("FSTFLAGS_ATIM", u64::from(fstflags::ATIM)),
            ("FSTFLAGS_ATIM_NOW", u64::from(fstflags::ATIM_NOW)),
            ("FSTFLAGS_MTIM", u64::from(fstflags::MTIM)),
            ("FSTFLAGS_MTIM_NOW", u64::from(fstflags::MTIM_NOW)),
            ("WHENCE_SET", u64::from(whence::SET)),
            ("WHENCE_CUR", u64::from(whence::CUR)),
            ("WHENCE_END", u64::from(whence::END)),
            ("ADVICE_NORMAL", u64::from(advice::NORMAL)),
            ("ADVICE_SEQUENTIAL", u64::from(advice::SEQUENTIAL)),
            ("ADVICE_RANDOM", u64::from(advice::RANDOM)),
            ("ADVICE_WILLNEED", u64::from(advice::WILLNEED)),
            ("ADVICE_DONTNEED", u64::from(advice::DONTNEED)),
            ("ADVICE_NOREUSE", u64::from(advice::NOREUSE)),
            ("CLOCKID_REALTIME", u64::from(clockid::REALTIME)),
            ("CLOCKID_MONOTONIC", u64::from(clockid::MONOTONIC)),
            (
                "CLOCKID_PROCESS_CPUTIME_ID",
                u64::from(clockid::PROCESS_CPUTIME_ID),
            ),
            (
                "CLOCKID_THREAD_CPUTIME_ID",
                u64::from(clockid::THREAD_CPUTIME_ID),
            ),
            ("EVENTTYPE_CLOCK", u64::from(event::CLOCK)),
            ("EVENTTYPE_FD_READ", u64::from(event::FD_READ)),
            ("EVENTTYPE_FD_WRITE", u64::from(event::FD_WRITE)),
            (
                "SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME",
                u64::from(event::SUBSCRIPTION_CLOCK_ABSTIME),
            ),
            (
                "EVENTRWFLAGS_FD_READWRITE_HANGUP",
                u64::from(event::FD_READWRITE_HANGUP),
            ),
            ("PREOPENTYPE_DIR", u64::from(PREOPENTYPE_DIR)),
        ];
        for (name, value) in ours {
            assert_eq!(header_value(&header, name), *value, "__WASI_{name}");
        }
    }
}
