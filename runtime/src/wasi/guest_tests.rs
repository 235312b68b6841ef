//! Tests that drive the function table the way a guest does: raw arguments, pointers
//! into a byte-array "linear memory", errno results. No Wasm engine is involved.

use std::time::{Duration, Instant};

use super::abi::{Rights, event, fdflags, filetype, lookupflags, oflags, whence};
use super::errno::Errno;
use super::host_fns::{Args, FUNCTIONS, MODULE};
use super::memory::GuestMemory;
use super::{I32Exit, ReadPipe, WasiCtx, WasiCtxBuilder, WritePipe};

const PREOPEN: u64 = 3;
const MEMORY_SIZE: usize = 1 << 20;
const ALL: u64 = u64::MAX;
/// Every right a directory can have (no FD_WRITE: writing a directory is EISDIR).
const DIRECTORY_RIGHTS: u64 = Rights::DIRECTORY.bits();

struct Guest {
    ctx: WasiCtx,
    mem: Vec<u8>,
    next_free: u32,
    _dir: Option<tempfile::TempDir>,
}

impl Guest {
    fn new(ctx: WasiCtx) -> Guest {
        Guest {
            ctx,
            mem: vec![0; MEMORY_SIZE],
            next_free: 1024,
            _dir: None,
        }
    }

    /// A guest with a temporary directory preopened as fd 3 ("/sandbox").
    fn with_dir() -> (Guest, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let ctx = WasiCtxBuilder::new()
            .preopened_dir(&root, "/sandbox")
            .unwrap()
            .build();
        let mut guest = Guest::new(ctx);
        guest._dir = Some(dir);
        (guest, root)
    }

    fn try_call(&mut self, name: &str, args: &[u64]) -> Result<u16, I32Exit> {
        let function = FUNCTIONS
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(function.params.len(), args.len(), "arity of {name}");
        let mut mem = GuestMemory::new(&mut self.mem);
        (function.body)(&mut self.ctx, &mut mem, &Args(args))
    }

    fn call(&mut self, name: &str, args: &[u64]) -> u16 {
        self.try_call(name, args).expect("no exit")
    }

    fn alloc(&mut self, bytes: &[u8]) -> u32 {
        let at = self.next_free;
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        self.next_free = (at + bytes.len() as u32 + 7) & !7;
        at
    }

    fn reserve(&mut self, len: u32) -> u32 {
        let at = self.next_free;
        self.next_free = (at + len + 7) & !7;
        at
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.mem[at as usize..at as usize + 8].try_into().unwrap())
    }

    fn bytes_at(&self, at: u32, len: u32) -> Vec<u8> {
        self.mem[at as usize..(at + len) as usize].to_vec()
    }

    fn open(
        &mut self,
        dir: u64,
        path: &str,
        oflags: u16,
        rights: u64,
        fdflags: u16,
    ) -> Result<u64, u16> {
        let p = self.alloc(path.as_bytes());
        let out = self.reserve(4);
        let args = [
            dir,
            0,
            p.into(),
            path.len() as u64,
            oflags.into(),
            rights,
            ALL,
            fdflags.into(),
            out.into(),
        ];
        match self.call("path_open", &args) {
            0 => Ok(self.u32_at(out).into()),
            err => Err(err),
        }
    }

    /// A new descriptor for the preopened directory that may only be listed.
    fn open_preopen_for_listing(&mut self) -> u64 {
        self.open(
            PREOPEN,
            ".",
            oflags::DIRECTORY,
            Rights::FD_READDIR.bits(),
            0,
        )
        .unwrap()
    }

    /// `path_rename` from `from` to `to`, both in the preopened directory.
    fn rename(&mut self, from: &str, to: &str) -> u16 {
        let (old, new) = (self.alloc(from.as_bytes()), self.alloc(to.as_bytes()));
        let args = [
            PREOPEN,
            old.into(),
            from.len() as u64,
            PREOPEN,
            new.into(),
            to.len() as u64,
        ];
        self.call("path_rename", &args)
    }

    fn path_call(&mut self, name: &str, dir: u64, path: &str) -> u16 {
        let p = self.alloc(path.as_bytes());
        self.call(name, &[dir, p.into(), path.len() as u64])
    }

    /// An array of iovecs, one per `(buf, len)`, in guest memory.
    fn iovec_table(&mut self, iovecs: impl IntoIterator<Item = (u32, u32)>) -> u32 {
        let mut table = Vec::new();
        for (buf, len) in iovecs {
            table.extend_from_slice(&buf.to_le_bytes());
            table.extend_from_slice(&len.to_le_bytes());
        }
        self.alloc(&table)
    }

    fn iovec(&mut self, buf: u32, len: u32) -> u32 {
        self.iovec_table([(buf, len)])
    }

    fn write(&mut self, fd: u64, data: &[u8]) -> Result<u32, u16> {
        let buf = self.alloc(data);
        let iov = self.iovec(buf, data.len() as u32);
        let out = self.reserve(4);
        match self.call("fd_write", &[fd, iov.into(), 1, out.into()]) {
            0 => Ok(self.u32_at(out)),
            err => Err(err),
        }
    }

    fn read(&mut self, fd: u64, len: u32) -> Result<Vec<u8>, u16> {
        let buf = self.reserve(len);
        let iov = self.iovec(buf, len);
        let out = self.reserve(4);
        match self.call("fd_read", &[fd, iov.into(), 1, out.into()]) {
            0 => Ok(self.bytes_at(buf, self.u32_at(out))),
            err => Err(err),
        }
    }

    fn seek(&mut self, fd: u64, offset: i64, how: u8) -> Result<u64, u16> {
        let out = self.reserve(8);
        match self.call("fd_seek", &[fd, offset as u64, how.into(), out.into()]) {
            0 => Ok(self.u64_at(out)),
            err => Err(err),
        }
    }

    fn filestat(&mut self, dir: u64, path: &str, follow: bool) -> Result<(u8, u64), u16> {
        let p = self.alloc(path.as_bytes());
        let out = self.reserve(64);
        let flags = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        match self.call(
            "path_filestat_get",
            &[dir, flags.into(), p.into(), path.len() as u64, out.into()],
        ) {
            0 => Ok((self.mem[out as usize + 16], self.u64_at(out + 32))),
            err => Err(err),
        }
    }

    /// Lists a directory the way wasi-libc's readdir does: fixed-size buffer, and when
    /// it comes back full, call again from the cookie of the last complete entry.
    fn list(&mut self, fd: u64, buf_len: u32) -> Vec<(String, u8)> {
        let buf = self.reserve(buf_len);
        let used = self.reserve(4);
        let mut cookie = 0u64;
        let mut names = Vec::new();
        loop {
            assert_eq!(
                self.call(
                    "fd_readdir",
                    &[fd, buf.into(), buf_len.into(), cookie, used.into()]
                ),
                0
            );
            let used = self.u32_at(used);
            let mut at = 0u32;
            let mut progressed = false;
            while at + 24 <= used {
                let next = self.u64_at(buf + at);
                let name_len = self.u32_at(buf + at + 16);
                let kind = self.mem[(buf + at + 20) as usize];
                if at + 24 + name_len > used {
                    break;
                }
                let name = String::from_utf8(self.bytes_at(buf + at + 24, name_len)).unwrap();
                names.push((name, kind));
                cookie = next;
                progressed = true;
                at += 24 + name_len;
            }
            if used < buf_len {
                return names;
            }
            assert!(progressed, "buffer too small for one entry");
        }
    }
}

fn errno(e: Errno) -> u16 {
    e.raw()
}

#[test]
fn the_table_has_every_preview1_function_once() {
    let expected = [
        "args_get",
        "args_sizes_get",
        "environ_get",
        "environ_sizes_get",
        "clock_res_get",
        "clock_time_get",
        "fd_advise",
        "fd_allocate",
        "fd_close",
        "fd_datasync",
        "fd_fdstat_get",
        "fd_fdstat_set_flags",
        "fd_fdstat_set_rights",
        "fd_filestat_get",
        "fd_filestat_set_size",
        "fd_filestat_set_times",
        "fd_pread",
        "fd_prestat_get",
        "fd_prestat_dir_name",
        "fd_pwrite",
        "fd_read",
        "fd_readdir",
        "fd_renumber",
        "fd_seek",
        "fd_sync",
        "fd_tell",
        "fd_write",
        "path_create_directory",
        "path_filestat_get",
        "path_filestat_set_times",
        "path_link",
        "path_open",
        "path_readlink",
        "path_remove_directory",
        "path_rename",
        "path_symlink",
        "path_unlink_file",
        "poll_oneoff",
        "proc_exit",
        "proc_raise",
        "sched_yield",
        "random_get",
        "sock_accept",
        "sock_recv",
        "sock_send",
        "sock_shutdown",
    ];
    let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    names.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(MODULE, "wasi_snapshot_preview1");
    let widest = FUNCTIONS.iter().map(|f| f.params.len()).max();
    assert_eq!(widest, Some(super::linker::MAX_PARAMS));
}

#[test]
fn file_round_trip_with_seek_tell_pread_pwrite() {
    let (mut g, root) = Guest::with_dir();
    let fd = g
        .open(PREOPEN, "data.txt", oflags::CREAT | oflags::EXCL, ALL, 0)
        .unwrap();
    assert_eq!(g.write(fd, b"hello, world").unwrap(), 12);
    assert_eq!(g.seek(fd, 7, whence::SET).unwrap(), 7);
    assert_eq!(g.read(fd, 100).unwrap(), b"world");
    assert_eq!(g.seek(fd, -5, whence::END).unwrap(), 7);
    let tell = g.reserve(8);
    assert_eq!(g.call("fd_tell", &[fd, tell.into()]), 0);
    assert_eq!(g.u64_at(tell), 7);
    assert_eq!(g.seek(fd, -100, whence::CUR), Err(errno(Errno::Inval)));

    let patch = g.alloc(b"W");
    let iov = g.iovec(patch, 1);
    let n = g.reserve(4);
    assert_eq!(g.call("fd_pwrite", &[fd, iov.into(), 1, 7, n.into()]), 0);
    let buf = g.reserve(5);
    let iov = g.iovec(buf, 5);
    assert_eq!(g.call("fd_pread", &[fd, iov.into(), 1, 7, n.into()]), 0);
    assert_eq!(g.bytes_at(buf, g.u32_at(n)), b"World");
    assert_eq!(
        std::fs::read(root.join("data.txt")).unwrap(),
        b"hello, World"
    );

    assert_eq!(g.call("fd_filestat_set_size", &[fd, 5]), 0);
    assert_eq!(g.call("fd_allocate", &[fd, 0, 4096]), 0);
    assert_eq!(g.call("fd_advise", &[fd, 0, 0, 1]), 0);
    assert_eq!(g.call("fd_advise", &[fd, 0, 0, 9]), errno(Errno::Inval));
    assert_eq!(g.call("fd_sync", &[fd]), 0);
    assert_eq!(g.call("fd_datasync", &[fd]), 0);
    assert_eq!(
        g.filestat(PREOPEN, "data.txt", true).unwrap(),
        (filetype::REGULAR_FILE, 4096)
    );
    assert_eq!(g.call("fd_close", &[fd]), 0);
    assert_eq!(g.call("fd_close", &[fd]), errno(Errno::Badf));
    assert_eq!(g.read(fd, 1), Err(errno(Errno::Badf)));
}

#[test]
fn append_and_truncate_flags() {
    let (mut g, root) = Guest::with_dir();
    std::fs::write(root.join("log"), b"abc").unwrap();
    let fd = g
        .open(PREOPEN, "log", 0, ALL, super::abi::fdflags::APPEND)
        .unwrap();
    g.write(fd, b"def").unwrap();
    assert_eq!(std::fs::read(root.join("log")).unwrap(), b"abcdef");
    let stat = g.reserve(24);
    assert_eq!(g.call("fd_fdstat_get", &[fd, stat.into()]), 0);
    assert_eq!(g.mem[stat as usize], filetype::REGULAR_FILE);
    assert_eq!(g.mem[stat as usize + 2], super::abi::fdflags::APPEND as u8);
    assert_eq!(g.call("fd_fdstat_set_flags", &[fd, 0]), 0);
    g.seek(fd, 0, whence::SET).unwrap();
    g.write(fd, b"X").unwrap();
    assert_eq!(std::fs::read(root.join("log")).unwrap(), b"Xbcdef");
    assert_eq!(
        g.call("fd_fdstat_set_flags", &[fd, 1 << 9]),
        errno(Errno::Inval)
    );
    let fd = g.open(PREOPEN, "log", oflags::TRUNC, ALL, 0).unwrap();
    assert_eq!(g.read(fd, 10).unwrap(), b"");
    assert_eq!(
        g.open(PREOPEN, "log", oflags::CREAT | oflags::EXCL, ALL, 0),
        Err(errno(Errno::Exist))
    );
    assert_eq!(
        g.open(PREOPEN, "missing", 0, ALL, 0),
        Err(errno(Errno::NoEnt))
    );
}

#[test]
fn directories_rename_unlink_links_and_times() {
    let (mut g, root) = Guest::with_dir();
    assert_eq!(g.path_call("path_create_directory", PREOPEN, "sub"), 0);
    assert_eq!(
        g.path_call("path_create_directory", PREOPEN, "sub"),
        errno(Errno::Exist)
    );
    let fd = g.open(PREOPEN, "sub/f", oflags::CREAT, ALL, 0).unwrap();
    g.write(fd, b"x").unwrap();
    assert_eq!(
        g.path_call("path_remove_directory", PREOPEN, "sub"),
        errno(Errno::NotEmpty)
    );

    assert_eq!(g.rename("sub/f", "g"), 0);
    assert!(root.join("g").exists() && !root.join("sub/f").exists());
    assert_eq!(g.path_call("path_remove_directory", PREOPEN, "sub"), 0);
    assert_eq!(
        g.path_call("path_remove_directory", PREOPEN, "g"),
        errno(Errno::NotDir)
    );

    let (source, link) = (g.alloc(b"g"), g.alloc(b"hard"));
    assert_eq!(
        g.call(
            "path_link",
            &[PREOPEN, 0, source.into(), 1, PREOPEN, link.into(), 4]
        ),
        0
    );
    let (target, sym) = (g.alloc(b"g"), g.alloc(b"soft"));
    assert_eq!(
        g.call("path_symlink", &[target.into(), 1, PREOPEN, sym.into(), 4]),
        0
    );
    let buf = g.reserve(16);
    let used = g.reserve(4);
    assert_eq!(
        g.call(
            "path_readlink",
            &[PREOPEN, sym.into(), 4, buf.into(), 16, used.into()]
        ),
        0
    );
    assert_eq!(g.bytes_at(buf, g.u32_at(used)), b"g");
    assert_eq!(
        g.filestat(PREOPEN, "soft", false).unwrap().0,
        filetype::SYMBOLIC_LINK
    );
    assert_eq!(
        g.filestat(PREOPEN, "soft", true).unwrap().0,
        filetype::REGULAR_FILE
    );

    let stat_path = g.alloc(b"hard");
    let flags = u64::from(super::abi::fstflags::MTIM | super::abi::fstflags::ATIM_NOW);
    let mtim = 1_000_000_000_000_000_000u64;
    assert_eq!(
        g.call(
            "path_filestat_set_times",
            &[PREOPEN, 0, stat_path.into(), 4, 0, mtim, flags]
        ),
        0
    );
    let modified = std::fs::metadata(root.join("g"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        modified.duration_since(std::time::UNIX_EPOCH).unwrap(),
        Duration::from_nanos(mtim)
    );
    assert_eq!(
        g.call("fd_filestat_set_times", &[fd, 0, 0, 3]),
        errno(Errno::Inval)
    );

    assert_eq!(g.path_call("path_unlink_file", PREOPEN, "hard"), 0);
    assert_eq!(
        g.path_call("path_unlink_file", PREOPEN, "hard"),
        errno(Errno::NoEnt)
    );
    assert_eq!(
        g.path_call("path_unlink_file", PREOPEN, "g/"),
        errno(Errno::NotDir)
    );
}

#[test]
fn readdir_lists_many_entries_across_calls() {
    let (mut g, root) = Guest::with_dir();
    let mut expected: Vec<String> = (0..300)
        .map(|i| format!("entry-with-a-longish-name-{i:04}"))
        .collect();
    for name in &expected {
        std::fs::write(root.join(name), b"").unwrap();
    }
    std::fs::create_dir(root.join("subdir")).unwrap();
    expected.extend(["subdir", ".", ".."].map(str::to_owned));
    expected.sort();
    let dir = g.open_preopen_for_listing();
    for buf_len in [4096, 128, 70] {
        let listing = g.list(dir, buf_len);
        let mut names: Vec<String> = listing.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        assert_eq!(names, expected, "buffer of {buf_len} bytes");
        let kind = |name: &str| listing.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(kind("subdir"), filetype::DIRECTORY);
        assert_eq!(
            kind("entry-with-a-longish-name-0000"),
            filetype::REGULAR_FILE
        );
    }
    let file = g
        .open(
            PREOPEN,
            "subdir/../entry-with-a-longish-name-0001",
            0,
            ALL,
            0,
        )
        .unwrap();
    let buf = g.reserve(64);
    assert_eq!(
        g.call("fd_readdir", &[file, buf.into(), 64, 0, buf.into()]),
        errno(Errno::NotDir)
    );
}

#[test]
fn readdir_cookies_survive_removals_between_calls() {
    let (mut g, root) = Guest::with_dir();
    let names: Vec<String> = (0..200).map(|i| format!("file-{i:03}")).collect();
    for name in &names {
        std::fs::write(root.join(name), b"").unwrap();
    }
    let dir = g.open_preopen_for_listing();
    // Read one small batch at a time, deleting every entry as soon as it is seen,
    // like `rm -r` does.
    let (buf, used) = (g.reserve(100), g.reserve(4));
    let mut cookie = 0;
    let mut seen = Vec::new();
    loop {
        let args = [dir, buf.into(), 100, cookie, used.into()];
        assert_eq!(g.call("fd_readdir", &args), 0);
        let used = g.u32_at(used);
        let name_len = g.u32_at(buf + 16);
        if used < 24 + name_len {
            break;
        }
        let name = String::from_utf8(g.bytes_at(buf + 24, name_len)).unwrap();
        cookie = g.u64_at(buf);
        if name != "." && name != ".." {
            std::fs::remove_file(root.join(&name)).unwrap();
            seen.push(name);
        }
    }
    seen.sort();
    assert_eq!(seen, names);
}

#[test]
fn symlinks_inside_the_sandbox_work() {
    let (mut g, root) = Guest::with_dir();
    std::fs::create_dir(root.join("real")).unwrap();
    std::os::unix::fs::symlink("real", root.join("alias")).unwrap();
    std::os::unix::fs::symlink("real/new-file", root.join("dangling")).unwrap();
    std::os::unix::fs::symlink("loop-b", root.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", root.join("loop-b")).unwrap();
    let fd = g.open(PREOPEN, "alias/x", oflags::CREAT, ALL, 0).unwrap();
    g.write(fd, b"through the alias").unwrap();
    assert_eq!(
        std::fs::read(root.join("real/x")).unwrap(),
        b"through the alias"
    );
    // O_CREAT through a dangling link, following it, creates the target.
    let p = g.alloc(b"dangling");
    let out = g.reserve(4);
    let follow = u64::from(lookupflags::SYMLINK_FOLLOW);
    let args = [
        PREOPEN,
        follow,
        p.into(),
        8,
        oflags::CREAT.into(),
        ALL,
        ALL,
        0,
        out.into(),
    ];
    assert_eq!(g.call("path_open", &args), 0);
    assert!(root.join("real/new-file").exists());
    assert_eq!(g.filestat(PREOPEN, "loop-a", true), Err(errno(Errno::Loop)));
    assert_eq!(
        g.open(PREOPEN, "loop-a/x", 0, ALL, 0),
        Err(errno(Errno::Loop))
    );
    assert_eq!(
        g.open(PREOPEN, "x", 1 << 4, ALL, 0),
        Err(errno(Errno::Inval))
    );
}

#[test]
fn a_trailing_slash_does_not_turn_name_calls_onto_a_symlinks_target() {
    // As on Linux: a lookup of `link/` (open, stat) reaches the directory the link
    // points to, but mkdir, rmdir, unlink and rename act on the name `link` itself.
    let (mut g, root) = Guest::with_dir();
    std::fs::create_dir(root.join("real")).unwrap();
    std::os::unix::fs::symlink("real", root.join("link")).unwrap();
    std::os::unix::fs::symlink("new-dir", root.join("dangling")).unwrap();
    let not_dir = errno(Errno::NotDir);
    assert_eq!(
        g.path_call("path_remove_directory", PREOPEN, "link/"),
        not_dir
    );
    assert_eq!(g.path_call("path_unlink_file", PREOPEN, "link/"), not_dir);
    assert_eq!(g.rename("link/", "moved"), not_dir);
    assert_eq!(
        g.path_call("path_create_directory", PREOPEN, "dangling/"),
        errno(Errno::Exist)
    );
    std::fs::write(root.join("file"), b"").unwrap();
    assert_eq!(
        g.rename("file", "renamed/"),
        not_dir,
        "only a directory can be renamed to a name ending in /"
    );
    assert!(root.join("file").exists() && !root.join("renamed").exists());
    // A new link or symlink cannot take a name ending in /, existing or not.
    for (new_name, expected) in [("fresh/", Errno::NoEnt), ("real/", Errno::Exist)] {
        let (source, name) = (g.alloc(b"file"), g.alloc(new_name.as_bytes()));
        let new_len = new_name.len() as u64;
        assert_eq!(
            g.call(
                "path_link",
                &[PREOPEN, 0, source.into(), 4, PREOPEN, name.into(), new_len]
            ),
            errno(expected),
            "path_link to {new_name}"
        );
        assert_eq!(
            g.call(
                "path_symlink",
                &[source.into(), 4, PREOPEN, name.into(), new_len]
            ),
            errno(expected),
            "path_symlink at {new_name}"
        );
    }
    assert!(!root.join("fresh").exists());
    assert!(root.join("real").is_dir(), "the link's target is untouched");
    assert!(!root.join("moved").exists());
    assert!(
        !root.join("new-dir").exists(),
        "mkdir did not follow the link"
    );
    assert_eq!(
        g.filestat(PREOPEN, "link/", false).unwrap().0,
        filetype::DIRECTORY
    );
    assert!(
        g.open(PREOPEN, "link/", oflags::DIRECTORY, DIRECTORY_RIGHTS, 0)
            .is_ok()
    );
    assert_eq!(
        g.rename("real/", "real-moved/"),
        0,
        "a directory may be renamed with trailing slashes"
    );
    assert!(root.join("real-moved").is_dir());
}

#[test]
fn sandbox_escapes_are_refused() {
    let (mut g, root) = Guest::with_dir();
    std::fs::write(root.parent().unwrap().join("secret"), b"s").unwrap();
    std::os::unix::fs::symlink("../secret", root.join("up")).unwrap();
    std::os::unix::fs::symlink(root.parent().unwrap(), root.join("outside")).unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
    let not_capable = errno(Errno::NotCapable);
    for path in [
        "../secret",
        "/etc/passwd",
        "d/../../secret",
        "outside/secret",
        "outside/",
        "d/../..",
    ] {
        assert_eq!(g.open(PREOPEN, path, 0, ALL, 0), Err(not_capable), "{path}");
    }
    let follow = lookupflags::SYMLINK_FOLLOW;
    let p = g.alloc(b"up");
    let out = g.reserve(4);
    let args = [
        PREOPEN,
        follow.into(),
        p.into(),
        2,
        0,
        ALL,
        ALL,
        0,
        out.into(),
    ];
    assert_eq!(g.call("path_open", &args), not_capable);
    // Without following, the final symlink itself is opened with O_NOFOLLOW: refused too.
    assert_eq!(g.open(PREOPEN, "up", 0, ALL, 0), Err(errno(Errno::Loop)));
    assert_eq!(
        g.path_call("path_create_directory", PREOPEN, "../escaped"),
        not_capable
    );
    assert_eq!(
        g.path_call("path_unlink_file", PREOPEN, "outside/secret"),
        not_capable
    );
    let (target, name) = (g.alloc(b"/etc/passwd"), g.alloc(b"abs"));
    assert_eq!(
        g.call(
            "path_symlink",
            &[target.into(), 11, PREOPEN, name.into(), 3]
        ),
        not_capable
    );
    assert_eq!(g.rename("d", "../moved"), not_capable);
    assert_eq!(
        g.filestat(PREOPEN, "outside/secret", true),
        Err(not_capable)
    );
    // Every other path call goes through the same resolution.
    std::fs::create_dir(root.parent().unwrap().join("emptydir")).unwrap();
    assert_eq!(
        g.path_call("path_remove_directory", PREOPEN, "../emptydir"),
        not_capable
    );
    assert_eq!(g.rename("../secret", "stolen"), not_capable);
    assert_eq!(g.rename("/etc/passwd", "stolen"), not_capable);
    let (old, new) = (g.alloc(b"outside/secret"), g.alloc(b"linked"));
    assert_eq!(
        g.call(
            "path_link",
            &[PREOPEN, 0, old.into(), 14, PREOPEN, new.into(), 6]
        ),
        not_capable
    );
    let (path, buf, used) = (g.alloc(b"outside/secret"), g.reserve(64), g.reserve(4));
    assert_eq!(
        g.call(
            "path_readlink",
            &[PREOPEN, path.into(), 14, buf.into(), 64, used.into()]
        ),
        not_capable
    );
    let path = g.alloc(b"../secret");
    assert_eq!(
        g.call(
            "path_filestat_set_times",
            &[PREOPEN, 0, path.into(), 9, 0, 0, 0]
        ),
        not_capable
    );
    assert!(root.parent().unwrap().join("secret").exists());
    assert!(root.parent().unwrap().join("emptydir").exists());
    assert!(!root.parent().unwrap().join("escaped").exists());
    assert!(!root.join("stolen").exists() && !root.join("linked").exists());
}

#[test]
fn a_directory_opened_for_writing_is_eisdir() {
    let (mut g, root) = Guest::with_dir();
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::write(root.join("f"), b"x").unwrap();
    let write = Rights::FD_WRITE.bits();
    let read_write = write | Rights::FD_READ.bits();
    for path in [".", "d"] {
        for rights in [write, read_write, ALL] {
            assert_eq!(
                g.open(PREOPEN, path, oflags::DIRECTORY, rights, 0),
                Err(errno(Errno::IsDir)),
                "{path} with rights {rights:#x}"
            );
            assert_eq!(
                g.open(PREOPEN, path, 0, rights, 0),
                Err(errno(Errno::IsDir)),
                "{path} without OFLAGS_DIRECTORY"
            );
        }
        // Reading, or the rights a directory has, is fine.
        assert!(g.open(PREOPEN, path, oflags::DIRECTORY, 0, 0).is_ok());
        let read = Rights::FD_READ.bits();
        assert!(g.open(PREOPEN, path, oflags::DIRECTORY, read, 0).is_ok());
        assert!(
            g.open(PREOPEN, path, oflags::DIRECTORY, DIRECTORY_RIGHTS, 0)
                .is_ok()
        );
    }
    // A file named as a directory is ENOTDIR, whatever the rights.
    assert_eq!(
        g.open(PREOPEN, "f", oflags::DIRECTORY, write, 0),
        Err(errno(Errno::NotDir))
    );
}

#[test]
fn rights_are_honoured() {
    let (mut g, root) = Guest::with_dir();
    std::fs::write(root.join("ro"), b"data").unwrap();
    let read_only = Rights::FD_READ.union(Rights::FD_SEEK).bits();
    let fd = g.open(PREOPEN, "ro", 0, read_only, 0).unwrap();
    assert_eq!(g.read(fd, 4).unwrap(), b"data");
    assert_eq!(g.write(fd, b"x"), Err(errno(Errno::NotCapable)));
    assert_eq!(
        g.call("fd_filestat_set_size", &[fd, 0]),
        errno(Errno::NotCapable)
    );
    let tell = g.reserve(8);
    assert_eq!(
        g.call("fd_tell", &[fd, tell.into()]),
        errno(Errno::NotCapable)
    );
    // Rights can be dropped, never regained.
    assert_eq!(
        g.call("fd_fdstat_set_rights", &[fd, Rights::FD_SEEK.bits(), 0]),
        0
    );
    assert_eq!(g.read(fd, 1), Err(errno(Errno::NotCapable)));
    assert_eq!(
        g.call("fd_fdstat_set_rights", &[fd, read_only, 0]),
        errno(Errno::NotCapable)
    );
    // A directory stripped of PATH_OPEN can no longer open anything.
    let sub = g
        .open(PREOPEN, ".", oflags::DIRECTORY, DIRECTORY_RIGHTS, 0)
        .unwrap();
    let without_open = Rights::DIRECTORY.bits() & !Rights::PATH_OPEN.bits();
    assert_eq!(
        g.call(
            "fd_fdstat_set_rights",
            &[sub, without_open, Rights::DIRECTORY_INHERITING.bits()]
        ),
        0
    );
    assert_eq!(g.open(sub, "ro", 0, ALL, 0), Err(errno(Errno::NotCapable)));
    // Synchronous-write flags need the sync rights the directory hands down.
    assert!(g.open(PREOPEN, "ro", 0, read_only, fdflags::DSYNC).is_ok());
    let no_sync = Rights::DIRECTORY_INHERITING.bits()
        & !(Rights::FD_SYNC.bits() | Rights::FD_DATASYNC.bits());
    let sub = g
        .open(PREOPEN, ".", oflags::DIRECTORY, DIRECTORY_RIGHTS, 0)
        .unwrap();
    assert_eq!(
        g.call(
            "fd_fdstat_set_rights",
            &[sub, Rights::DIRECTORY.bits(), no_sync]
        ),
        0
    );
    for flags in [fdflags::DSYNC, fdflags::RSYNC, fdflags::SYNC] {
        assert_eq!(
            g.open(sub, "ro", 0, read_only, flags),
            Err(errno(Errno::NotCapable))
        );
    }
    assert!(g.open(sub, "ro", 0, read_only, 0).is_ok());
    // Path calls on a file descriptor are ENOTDIR.
    assert_eq!(g.open(fd, "x", 0, ALL, 0), Err(errno(Errno::NotDir)));
}

#[test]
fn bad_pointers_are_efault_not_crashes() {
    let (mut g, _root) = Guest::with_dir();
    let fault = errno(Errno::Fault);
    let huge = u64::from(u32::MAX - 3);
    assert_eq!(g.call("fd_write", &[1, huge, 1, 0]), fault);
    let iov = g.iovec(MEMORY_SIZE as u32 - 2, 16);
    assert_eq!(g.call("fd_write", &[1, iov.into(), 1, 0]), fault);
    assert_eq!(g.call("fd_read", &[0, iov.into(), 1, 0]), fault);
    assert_eq!(g.call("fd_write", &[1, 0, u64::from(u32::MAX), 0]), fault);
    assert_eq!(
        g.call("path_open", &[PREOPEN, 0, huge, 100, 0, ALL, ALL, 0, 0]),
        fault
    );
    assert_eq!(g.call("args_sizes_get", &[huge, 0]), fault);
    assert_eq!(g.call("fd_prestat_get", &[PREOPEN, huge]), fault);
    assert_eq!(g.call("fd_readdir", &[PREOPEN, huge, 4096, 0, 0]), fault);
    assert_eq!(g.call("random_get", &[huge, 64]), fault);
    assert_eq!(g.call("poll_oneoff", &[huge, 0, 1, 0]), fault);
    assert_eq!(g.call("clock_time_get", &[0, 0, huge]), fault);
    let bad_utf8 = g.alloc(b"\xff\xfe");
    assert_eq!(
        g.call("path_create_directory", &[PREOPEN, bad_utf8.into(), 2]),
        errno(Errno::Ilseq)
    );
}

#[test]
fn preopens_are_discoverable() {
    let (mut g, _root) = Guest::with_dir();
    let out = g.reserve(8);
    assert_eq!(g.call("fd_prestat_get", &[PREOPEN, out.into()]), 0);
    assert_eq!((g.mem[out as usize], g.u32_at(out + 4)), (0, 8));
    let name = g.reserve(8);
    assert_eq!(g.call("fd_prestat_dir_name", &[PREOPEN, name.into(), 8]), 0);
    assert_eq!(g.bytes_at(name, 8), b"/sandbox");
    assert_eq!(
        g.call("fd_prestat_dir_name", &[PREOPEN, name.into(), 3]),
        errno(Errno::NameTooLong)
    );
    assert_eq!(
        g.call("fd_prestat_get", &[4, out.into()]),
        errno(Errno::Badf)
    );
    assert_eq!(
        g.call("fd_prestat_get", &[1, out.into()]),
        errno(Errno::Badf)
    );
}

#[test]
fn stdio_pipes_and_renumber() {
    let stdout = WritePipe::new_in_memory();
    let ctx = WasiCtxBuilder::new()
        .stdin(ReadPipe::from_bytes("input"))
        .stdout(stdout.clone())
        .build();
    let mut g = Guest::new(ctx);
    assert_eq!(g.read(0, 3).unwrap(), b"inp");
    assert_eq!(g.read(0, 10).unwrap(), b"ut");
    assert_eq!(g.read(0, 10).unwrap(), b"");
    g.write(1, b"out").unwrap();
    assert_eq!(g.write(0, b"x"), Err(errno(Errno::NotCapable)));
    assert_eq!(g.seek(1, 0, whence::SET), Err(errno(Errno::Spipe)));
    assert_eq!(g.call("fd_renumber", &[1, 2]), 0);
    g.write(2, b"!").unwrap();
    assert_eq!(g.write(1, b"?"), Err(errno(Errno::Badf)));
    assert_eq!(stdout.contents(), b"out!");
    assert_eq!(g.call("fd_renumber", &[2, 9]), errno(Errno::Badf));
}

#[test]
fn poll_oneoff_sleeps_and_reports_readiness() {
    let mut g = Guest::new(
        WasiCtxBuilder::new()
            .stdin(ReadPipe::from_bytes("xy"))
            .build(),
    );
    let mut sub = vec![0u8; 48 * 2];
    sub[0..8].copy_from_slice(&7u64.to_le_bytes());
    sub[8] = event::CLOCK;
    sub[16..20].copy_from_slice(&1u32.to_le_bytes());
    sub[24..32].copy_from_slice(&30_000_000u64.to_le_bytes());
    let subs = g.alloc(&sub[..48]);
    let events = g.reserve(64);
    let n = g.reserve(4);
    let start = Instant::now();
    assert_eq!(
        g.call("poll_oneoff", &[subs.into(), events.into(), 1, n.into()]),
        0
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(g.u32_at(n), 1);
    assert_eq!(g.u64_at(events), 7);
    assert_eq!(g.mem[events as usize + 10], event::CLOCK);

    // An fd that is ready wins over a long clock, and reports its byte count.
    sub[24..32].copy_from_slice(&60_000_000_000u64.to_le_bytes());
    sub[48..56].copy_from_slice(&9u64.to_le_bytes());
    sub[56] = event::FD_READ;
    sub[64..68].copy_from_slice(&0u32.to_le_bytes());
    let subs = g.alloc(&sub);
    assert_eq!(
        g.call("poll_oneoff", &[subs.into(), events.into(), 2, n.into()]),
        0
    );
    assert_eq!(g.u32_at(n), 1);
    assert_eq!((g.u64_at(events), g.u64_at(events + 16)), (9, 2));

    // An absolute deadline in the past fires at once; bad input is rejected.
    sub[16..20].copy_from_slice(&0u32.to_le_bytes());
    sub[24..32].copy_from_slice(&1u64.to_le_bytes());
    sub[40..42].copy_from_slice(&event::SUBSCRIPTION_CLOCK_ABSTIME.to_le_bytes());
    let subs = g.alloc(&sub[..48]);
    assert_eq!(
        g.call("poll_oneoff", &[subs.into(), events.into(), 1, n.into()]),
        0
    );
    assert_eq!(g.u32_at(n), 1);
    assert_eq!(
        g.call("poll_oneoff", &[subs.into(), events.into(), 0, n.into()]),
        errno(Errno::Inval)
    );
    sub[56] = 9;
    let subs = g.alloc(&sub);
    assert_eq!(
        g.call("poll_oneoff", &[subs.into(), events.into(), 2, n.into()]),
        errno(Errno::Inval)
    );
}

#[test]
fn exit_raise_yield_and_sockets() {
    let mut g = Guest::new(WasiCtxBuilder::new().build());
    assert_eq!(g.try_call("proc_exit", &[3]).unwrap_err(), I32Exit(3));
    assert_eq!(g.call("proc_raise", &[2]), errno(Errno::NoSys));
    assert_eq!(g.call("sched_yield", &[]), 0);
}

#[test]
fn socket_calls_without_sockets_name_the_descriptor_problem() {
    // No socket is preopened: a descriptor that is not open is EBADF, and one
    // that is open but no socket (stdio, a directory) is ENOTSOCK, as the
    // WASI test suite expects (sock_shutdown-invalid_fd, sock_shutdown-not_sock).
    let (mut g, _root) = Guest::with_dir();
    let out = g.reserve(4).into();
    let buf = g.reserve(8);
    let iov = g.iovec_table([(buf, 8)]).into();
    let (datalen, roflags) = (g.reserve(4).into(), g.reserve(4).into());
    for (fd, expected) in [
        (42, Errno::Badf),
        (0, Errno::NotSock),
        (1, Errno::NotSock),
        (PREOPEN, Errno::NotSock),
    ] {
        assert_eq!(g.call("sock_accept", &[fd, 0, out]), errno(expected));
        assert_eq!(g.call("sock_shutdown", &[fd, 2]), errno(expected));
        assert_eq!(
            g.call("sock_send", &[fd, iov, 1, 0, datalen]),
            errno(expected)
        );
        assert_eq!(
            g.call("sock_recv", &[fd, iov, 1, 0, datalen, roflags]),
            errno(expected)
        );
    }
}

/// A guest with a listening socket on a free loopback port preopened as fd 3,
/// and a directory after it as fd 4.
fn with_socket() -> (Guest, std::net::SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopened_dir(dir.path(), "/sandbox")
        .unwrap()
        .preopened_socket(listener)
        .build();
    let mut guest = Guest::new(ctx);
    guest._dir = Some(dir);
    (guest, address)
}

impl Guest {
    fn accept(&mut self, listener: u64, flags: u64) -> Result<u64, u16> {
        let out = self.reserve(4);
        match self.call("sock_accept", &[listener, flags, out.into()]) {
            0 => Ok(self.u32_at(out).into()),
            err => Err(err),
        }
    }

    fn recv(&mut self, fd: u64, lens: &[u32], flags: u64) -> Result<Vec<u8>, u16> {
        let bufs: Vec<u32> = lens.iter().map(|&len| self.reserve(len)).collect();
        let iovs = self.iovec_table(bufs.iter().copied().zip(lens.iter().copied()));
        let (datalen, roflags) = (self.reserve(4), self.reserve(4));
        let args = [
            fd,
            iovs.into(),
            lens.len() as u64,
            flags,
            datalen.into(),
            roflags.into(),
        ];
        match self.call("sock_recv", &args) {
            0 => {
                assert_eq!(self.u32_at(roflags) & 0xffff, 0, "roflags");
                let mut left = self.u32_at(datalen);
                let mut data = Vec::new();
                for (&buf, &len) in bufs.iter().zip(lens) {
                    let take = left.min(len);
                    data.extend(self.bytes_at(buf, take));
                    left -= take;
                }
                Ok(data)
            }
            err => Err(err),
        }
    }

    fn send(&mut self, fd: u64, data: &[u8], flags: u64) -> Result<u32, u16> {
        let buf = self.alloc(data);
        let iov = self.iovec(buf, data.len() as u32);
        let out = self.reserve(4);
        match self.call("sock_send", &[fd, iov.into(), 1, flags, out.into()]) {
            0 => Ok(self.u32_at(out)),
            err => Err(err),
        }
    }
}

#[test]
fn preopened_sockets_come_before_directories() {
    let (mut g, _) = with_socket();
    let stat = g.reserve(24);
    assert_eq!(g.call("fd_fdstat_get", &[3, stat.into()]), 0);
    assert_eq!(g.mem[stat as usize], filetype::SOCKET_STREAM);
    let rights = Rights::from_bits(g.u64_at(stat + 8));
    assert!(rights.contains(Rights::SOCK_ACCEPT));
    assert!(!rights.contains(Rights::FD_READ));
    // wasi-libc stops looking for preopened directories at the first EBADF.
    let prestat = g.reserve(8);
    assert_eq!(
        g.call("fd_prestat_get", &[3, prestat.into()]),
        errno(Errno::Badf)
    );
    assert_eq!(g.call("fd_prestat_get", &[4, prestat.into()]), 0);
}

#[test]
fn a_guest_accepts_receives_sends_and_shuts_down() {
    use std::io::{Read, Write};
    let (mut g, address) = with_socket();
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.write_all(b"ping, then more").unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        reply
    });
    let conn = g.accept(3, 0).unwrap();
    let stat = g.reserve(24);
    assert_eq!(g.call("fd_fdstat_get", &[conn, stat.into()]), 0);
    assert_eq!(g.mem[stat as usize], filetype::SOCKET_STREAM);
    // Peek leaves the bytes queued; waitall fills every buffer of the request.
    assert_eq!(g.recv(conn, &[4], 1).unwrap(), b"ping");
    assert_eq!(g.recv(conn, &[4, 11], 2).unwrap(), b"ping, then more");
    assert_eq!(g.send(conn, b"pong", 0), Ok(4));
    assert_eq!(g.write(conn, b" via fd_write"), Ok(13));
    assert_eq!(g.call("sock_shutdown", &[conn, 2]), 0);
    assert_eq!(client.join().unwrap(), b"pong via fd_write");
    // The client closed its end: a read sees end of stream.
    assert_eq!(g.recv(conn, &[8], 0).unwrap(), b"");
    assert_eq!(g.call("fd_close", &[conn]), 0);
}

#[test]
fn a_receive_into_overlapping_buffers_is_bounded_and_correct() {
    use std::io::Write;
    let (mut g, address) = with_socket();
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.write_all(b"hello").unwrap();
        stream
    });
    let conn = g.accept(3, 0).unwrap();
    let _client = client.join().unwrap();
    // 4,096 iovecs over the same 32 KiB ask for 128 MiB in all: the host
    // takes in what one receive gives, never a buffer of the full sum.
    let buf = g.reserve(32 << 10);
    let iovs = g.iovec_table(std::iter::repeat_n((buf, 32 << 10), 4096));
    let (datalen, roflags) = (g.reserve(4), g.reserve(4));
    let args = [conn, iovs.into(), 4096, 0, datalen.into(), roflags.into()];
    assert_eq!(g.call("sock_recv", &args), 0);
    assert_eq!(g.u32_at(datalen), 5);
    assert_eq!(g.bytes_at(buf, 5), b"hello");
}

#[test]
fn socket_calls_refuse_bad_descriptors_flags_and_rights() {
    let (mut g, address) = with_socket();
    assert_eq!(g.accept(1, 0), Err(errno(Errno::NotSock)));
    assert_eq!(g.accept(4, 0), Err(errno(Errno::NotSock)));
    assert_eq!(g.accept(9, 0), Err(errno(Errno::Badf)));
    assert_eq!(g.accept(3, 1), Err(errno(Errno::Inval)));
    assert_eq!(g.recv(3, &[4], 0), Err(errno(Errno::NotConn)));
    assert_eq!(g.recv(1, &[4], 0), Err(errno(Errno::NotSock)));
    assert_eq!(g.send(3, b"x", 0), Err(errno(Errno::NotConn)));
    assert_eq!(g.call("sock_shutdown", &[3, 3]), errno(Errno::NotConn));
    assert_eq!(g.call("fd_seek", &[3, 0, 0, 0]), errno(Errno::Spipe));
    // A non-blocking listener with nothing pending says so instead of waiting.
    assert_eq!(g.call("fd_fdstat_set_flags", &[3, 4]), 0);
    assert_eq!(g.accept(3, 0), Err(errno(Errno::Again)));
    assert_eq!(g.call("fd_fdstat_set_flags", &[3, 0]), 0);

    let _client = std::net::TcpStream::connect(address).unwrap();
    // poll_oneoff reports the pending connection as the listener being readable.
    let mut sub = vec![0u8; 48];
    sub[0..8].copy_from_slice(&7u64.to_le_bytes());
    sub[8] = event::FD_READ;
    sub[16..20].copy_from_slice(&3u32.to_le_bytes());
    let subs = g.alloc(&sub);
    let (events, n) = (g.reserve(32), g.reserve(4));
    assert_eq!(
        g.call("poll_oneoff", &[subs.into(), events.into(), 1, n.into()]),
        0
    );
    assert_eq!(g.u32_at(n), 1);
    assert_eq!(g.u64_at(events), 7);

    let conn = g.accept(3, 4).unwrap();
    assert_eq!(g.recv(conn, &[4], 0), Err(errno(Errno::Again)));
    assert_eq!(g.recv(conn, &[4], 4), Err(errno(Errno::Inval)));
    assert_eq!(g.send(conn, b"x", 1), Err(errno(Errno::Inval)));
    assert_eq!(g.call("sock_shutdown", &[conn, 0]), errno(Errno::Inval));
    assert_eq!(g.call("sock_shutdown", &[conn, 4]), errno(Errno::Inval));
    let read_only = Rights::FD_READ.bits();
    assert_eq!(g.call("fd_fdstat_set_rights", &[conn, read_only, 0]), 0);
    assert_eq!(g.send(conn, b"x", 0), Err(errno(Errno::NotCapable)));
    assert_eq!(
        g.call("sock_shutdown", &[conn, 3]),
        errno(Errno::NotCapable)
    );
}

#[test]
fn every_function_survives_extreme_arguments() {
    let i32_values = [
        0u64,
        1,
        2,
        3,
        4,
        0xffff_ffff,
        0x8000_0000,
        MEMORY_SIZE as u64 - 1,
        MEMORY_SIZE as u64,
    ];
    let i64_values = [0u64, 1, u64::MAX, 1 << 63, 1 << 40];
    // A fixed-seed linear congruential generator keeps the run reproducible.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |bound: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % bound
    };
    for function in FUNCTIONS.iter().filter(|f| f.returns_errno) {
        let (mut g, _root) = Guest::with_dir();
        for _ in 0..300 {
            let args: Vec<u64> = function
                .params
                .iter()
                .map(|param| match param {
                    super::host_fns::Param::I32 => i32_values[next(i32_values.len())],
                    super::host_fns::Param::I64 => i64_values[next(i64_values.len())],
                })
                .collect();
            let errno = g.call(function.name, &args);
            assert!(
                errno <= Errno::NotCapable.raw(),
                "{}{args:?} gave {errno}",
                function.name
            );
        }
    }
}
