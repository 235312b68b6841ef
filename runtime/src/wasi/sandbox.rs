//! Path resolution confined to a directory.
//!
//! A guest path is walked one component at a time from a directory descriptor: each
//! intermediate directory is opened with `O_NOFOLLOW` relative to the previous one, `..`
//! returns to the directory walked through before (and may not go above the start), and a
//! symlink met on the way is read and its target spliced into the remaining path. An
//! absolute path or symlink target, or a `..` that would leave the starting directory,
//! is refused with `ENOTCAPABLE`. The host never sees a joined path string.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno as HostErrno;

use super::errno::{Errno, WasiResult};

/// How many symlinks one lookup may expand before it is reported as a loop.
const MAX_SYMLINK_EXPANSIONS: u32 = 40;

/// The directory that holds the final component of a resolved path.
#[derive(Debug)]
pub(crate) enum ParentDir<'a> {
    /// The directory the lookup started from.
    Start(BorrowedFd<'a>),
    /// A directory opened during the walk.
    Opened(OwnedFd),
}

impl AsFd for ParentDir<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            ParentDir::Start(fd) => *fd,
            ParentDir::Opened(fd) => fd.as_fd(),
        }
    }
}

/// A path resolved to (directory, final name); the name holds no `/` and is never `..`.
#[derive(Debug)]
pub(crate) struct Resolved<'a> {
    pub parent: ParentDir<'a>,
    pub name: String,
    /// The guest path ended in `/`, so the final object must be a directory.
    pub must_be_dir: bool,
}

/// What resolution does with a symlink in the final component of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FinalSymlink {
    /// Follow it (within the sandbox).
    Follow,
    /// Keep it, unless the path ends in `/`: like a POSIX lookup (`open`, `stat`), a
    /// trailing slash asks for the directory the link points to.
    FollowIfTrailingSlash,
    /// Keep it even when the path ends in `/`: the call acts on the name itself (`mkdir`,
    /// `rmdir`, `unlink`, `rename`, a new link or symlink), which POSIX never follows.
    Keep,
}

/// How many directory descriptors one lookup keeps open. Deeper walks close the
/// oldest and reopen them from the start (downwards, without following symlinks) when
/// `..` climbs back to them, so a very deep guest path cannot exhaust host descriptors.
const MAX_OPEN_LEVELS: usize = 16;

const DIR_LOOKUP: OFlags = OFlags::PATH
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// The directories descended into so far, from the start: always a real descent, never
/// a `..` taken on the host, so popping a level cannot leave the start directory.
struct Walk<'a> {
    start: BorrowedFd<'a>,
    /// Each level's name and, for the newest levels, its open descriptor.
    levels: Vec<(String, Option<OwnedFd>)>,
}

impl<'a> Walk<'a> {
    fn current(&self) -> BorrowedFd<'_> {
        match self.levels.last() {
            Some((_, Some(fd))) => fd.as_fd(),
            // The newest level is always open; an empty walk is at the start.
            _ => self.start,
        }
    }

    fn descend(&mut self, name: String, fd: OwnedFd) {
        self.levels.push((name, Some(fd)));
        if self.levels.len() > MAX_OPEN_LEVELS {
            let oldest_open = self.levels.len() - MAX_OPEN_LEVELS - 1;
            self.levels[oldest_open].1 = None;
        }
    }

    /// Goes up one level: `ENOTCAPABLE` at the start.
    fn ascend(&mut self) -> WasiResult<()> {
        self.levels.pop().ok_or(Errno::NotCapable)?;
        if matches!(self.levels.last(), Some((_, None))) {
            self.reopen()?;
        }
        Ok(())
    }

    /// Reopens the newest levels by walking down from the start again.
    fn reopen(&mut self) -> WasiResult<()> {
        let keep_from = self.levels.len().saturating_sub(MAX_OPEN_LEVELS);
        let mut scratch: Option<OwnedFd> = None;
        for index in 0..self.levels.len() {
            let parent = match (index, &scratch) {
                (0, _) => self.start,
                (_, _) if index > keep_from => {
                    self.levels[index - 1].1.as_ref().ok_or(Errno::Io)?.as_fd()
                }
                (_, Some(fd)) => fd.as_fd(),
                (_, None) => return Err(Errno::Io),
            };
            let fd = rustix::fs::openat(
                parent,
                self.levels[index].0.as_str(),
                DIR_LOOKUP,
                Mode::empty(),
            )?;
            if index >= keep_from {
                self.levels[index].1 = Some(fd);
            } else {
                scratch = Some(fd);
            }
        }
        Ok(())
    }

    fn finish(mut self, name: String, must_be_dir: bool) -> Resolved<'a> {
        let parent = match self.levels.pop() {
            Some((_, Some(fd))) => ParentDir::Opened(fd),
            _ => ParentDir::Start(self.start),
        };
        Resolved {
            parent,
            name,
            must_be_dir,
        }
    }
}

/// Resolves `path` beneath `start`. Symlinks in intermediate components are always
/// followed (within the sandbox); one in the final component as `final_symlink` says.
pub(crate) fn resolve<'a>(
    start: BorrowedFd<'a>,
    path: &str,
    final_symlink: FinalSymlink,
) -> WasiResult<Resolved<'a>> {
    if path.is_empty() {
        return Err(Errno::NoEnt);
    }
    if path.contains('\0') {
        return Err(Errno::Inval);
    }
    let must_be_dir = path.ends_with('/');
    let follow_final = match final_symlink {
        FinalSymlink::Follow => true,
        FinalSymlink::FollowIfTrailingSlash => must_be_dir,
        FinalSymlink::Keep => false,
    };
    let mut pending = Vec::new();
    push_components(&mut pending, path)?;
    // `pending` holds the components still to walk, the next one last.
    let mut walk = Walk {
        start,
        levels: Vec::new(),
    };
    let mut expansions = 0;

    loop {
        let Some(component) = pending.pop() else {
            // The path was only `.` and `..` components, or a symlink to one: the
            // object is the current directory itself.
            return Ok(walk.finish(".".to_owned(), must_be_dir));
        };
        let is_last = pending.is_empty();
        match component.as_str() {
            "." => continue,
            ".." => {
                walk.ascend()?;
                continue;
            }
            _ => {}
        }
        let dir = walk.current();
        if is_last {
            if follow_final && let Some(target) = read_symlink(dir, &component)? {
                expand(&mut pending, &mut expansions, &target)?;
                continue;
            }
            return Ok(walk.finish(component, must_be_dir));
        }
        match rustix::fs::openat(dir, component.as_str(), DIR_LOOKUP, Mode::empty()) {
            Ok(fd) => walk.descend(component, fd),
            Err(HostErrno::NOTDIR | HostErrno::LOOP) => match read_symlink(dir, &component)? {
                Some(target) => expand(&mut pending, &mut expansions, &target)?,
                None => return Err(Errno::NotDir),
            },
            Err(err) => return Err(err.into()),
        }
    }
}

/// Pushes the components of `path` onto `pending` so that the first is popped first.
fn push_components(pending: &mut Vec<String>, path: &str) -> WasiResult<()> {
    if path.starts_with('/') {
        return Err(Errno::NotCapable);
    }
    let components = path.split('/').filter(|c| !c.is_empty());
    let first_pushed = pending.len();
    pending.extend(components.map(str::to_owned));
    pending[first_pushed..].reverse();
    Ok(())
}

fn expand(pending: &mut Vec<String>, expansions: &mut u32, target: &str) -> WasiResult<()> {
    *expansions += 1;
    if *expansions > MAX_SYMLINK_EXPANSIONS {
        return Err(Errno::Loop);
    }
    if target.is_empty() {
        return Err(Errno::NoEnt);
    }
    push_components(pending, target)
}

/// The target of `name` in `dir` when it is a symlink; `None` when it is anything else
/// or does not exist.
fn read_symlink(dir: BorrowedFd<'_>, name: &str) -> WasiResult<Option<String>> {
    match rustix::fs::readlinkat(dir, name, Vec::new()) {
        Ok(target) => target.into_string().map(Some).map_err(|_| Errno::Ilseq),
        Err(HostErrno::INVAL | HostErrno::NOENT | HostErrno::NOTDIR) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};
    use std::os::unix::fs::symlink;

    struct Fixture {
        _outer: tempfile::TempDir,
        root: File,
    }

    /// outer/secret, outer/root/{a/b/, file, links...}; the sandbox is outer/root.
    fn fixture() -> Fixture {
        let outer = tempfile::tempdir().unwrap();
        fs::write(outer.path().join("secret"), b"s").unwrap();
        let root = outer.path().join("root");
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("file"), b"f").unwrap();
        fs::write(root.join("a/b/deep"), b"d").unwrap();
        symlink("a/b", root.join("to_b")).unwrap();
        symlink("../secret", root.join("up")).unwrap();
        symlink(outer.path().join("secret"), root.join("abs")).unwrap();
        symlink("../../..", root.join("a/b/climb")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        let dir = File::open(&root).unwrap();
        Fixture {
            _outer: outer,
            root: dir,
        }
    }

    fn resolve_name(f: &Fixture, path: &str, follow: bool) -> WasiResult<String> {
        let final_symlink = if follow {
            FinalSymlink::Follow
        } else {
            FinalSymlink::FollowIfTrailingSlash
        };
        resolve(f.root.as_fd(), path, final_symlink).map(|r| r.name)
    }

    fn stat_ino(f: &Fixture, path: &str) -> WasiResult<u64> {
        let r = resolve(f.root.as_fd(), path, FinalSymlink::Follow)?;
        let stat = rustix::fs::statat(
            &r.parent,
            r.name.as_str(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )?;
        Ok(stat.st_ino)
    }

    #[test]
    fn plain_paths_resolve() {
        let f = fixture();
        assert_eq!(resolve_name(&f, "file", false).unwrap(), "file");
        assert_eq!(resolve_name(&f, "a/b/deep", false).unwrap(), "deep");
        assert_eq!(resolve_name(&f, "a//b/./deep", false).unwrap(), "deep");
        assert_eq!(resolve_name(&f, ".", false).unwrap(), ".");
        assert_eq!(resolve_name(&f, "a/..", false).unwrap(), ".");
        assert_eq!(
            stat_ino(&f, "a/b/../b/deep").unwrap(),
            stat_ino(&f, "a/b/deep").unwrap()
        );
        assert_eq!(
            stat_ino(&f, "to_b/deep").unwrap(),
            stat_ino(&f, "a/b/deep").unwrap()
        );
        assert!(
            resolve(f.root.as_fd(), "a/", FinalSymlink::Keep)
                .unwrap()
                .must_be_dir
        );
    }

    #[test]
    fn a_trailing_slash_follows_a_final_symlink_only_for_lookups() {
        let f = fixture();
        assert_eq!(resolve_name(&f, "to_b/", false).unwrap(), "b");
        let kept = resolve(f.root.as_fd(), "to_b/", FinalSymlink::Keep).unwrap();
        assert_eq!((kept.name.as_str(), kept.must_be_dir), ("to_b", true));
        assert_eq!(
            resolve(f.root.as_fd(), "up/", FinalSymlink::Keep)
                .unwrap()
                .name,
            "up",
            "a kept link is never read, wherever it points"
        );
    }

    #[test]
    fn escapes_are_refused() {
        let f = fixture();
        for path in [
            "..",
            "../secret",
            "a/../../secret",
            "a/b/../../..",
            "/etc/passwd",
            "/",
        ] {
            assert_eq!(
                resolve_name(&f, path, true).err(),
                Some(Errno::NotCapable),
                "{path}"
            );
        }
        assert_eq!(resolve_name(&f, "up", true).err(), Some(Errno::NotCapable));
        assert_eq!(resolve_name(&f, "abs", true).err(), Some(Errno::NotCapable));
        assert_eq!(
            resolve_name(&f, "a/b/climb/secret", false).err(),
            Some(Errno::NotCapable)
        );
        assert_eq!(
            resolve_name(&f, "up/x", false).err(),
            Some(Errno::NotCapable)
        );
    }

    #[test]
    fn final_symlink_is_kept_without_follow() {
        let f = fixture();
        assert_eq!(resolve_name(&f, "up", false).unwrap(), "up");
        assert_eq!(resolve_name(&f, "abs", false).unwrap(), "abs");
    }

    #[test]
    fn deep_paths_climb_back_through_closed_levels() {
        let f = fixture();
        let depth = MAX_OPEN_LEVELS * 3 + 1;
        let deep = vec!["d"; depth].join("/");
        let root_path = f._outer.path().join("root");
        fs::create_dir_all(root_path.join(&deep)).unwrap();
        let up = vec![".."; depth].join("/");
        assert_eq!(
            stat_ino(&f, &format!("{deep}/{up}/file")).unwrap(),
            stat_ino(&f, "file").unwrap()
        );
        let partial = vec![".."; depth - 2].join("/");
        assert_eq!(
            stat_ino(&f, &format!("{deep}/{partial}")).unwrap(),
            stat_ino(&f, "d/d").unwrap()
        );
        assert_eq!(
            resolve_name(&f, &format!("{deep}/{up}/../secret"), false).err(),
            Some(Errno::NotCapable)
        );
    }

    #[test]
    fn bad_paths_give_clear_errors() {
        let f = fixture();
        assert_eq!(resolve_name(&f, "", false).err(), Some(Errno::NoEnt));
        assert_eq!(resolve_name(&f, "a\0b", false).err(), Some(Errno::Inval));
        assert_eq!(resolve_name(&f, "file/x", false).err(), Some(Errno::NotDir));
        assert_eq!(
            resolve_name(&f, "missing/x", false).err(),
            Some(Errno::NoEnt)
        );
        assert_eq!(resolve_name(&f, "loop1", true).err(), Some(Errno::Loop));
        assert_eq!(resolve_name(&f, "missing", true).unwrap(), "missing");
    }
}
