//! The guest's descriptor table: what each WASI fd refers to on the host, with its rights.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::abi::{Rights, filetype};
use super::errno::{Errno, WasiResult};
use super::filestat::filetype_of_mode;
use super::pipe::{ReadPipe, WritePipe};

/// Where a guest's input stream comes from.
#[derive(Debug)]
pub(crate) enum Input {
    /// The host process's stdin, read without `io::Stdin`'s buffer.
    Inherit(io::Stdin),
    /// Bytes supplied by the embedder.
    Pipe(ReadPipe),
}

/// Where a guest's output stream goes.
#[derive(Debug)]
pub(crate) enum Output {
    /// The host process's stdout.
    InheritStdout(io::Stdout),
    /// The host process's stderr.
    InheritStderr(io::Stderr),
    /// A buffer the embedder reads later.
    Pipe(WritePipe),
    /// Nowhere: the bytes are accepted and dropped.
    Sink,
}

/// The host object behind a descriptor.
#[derive(Debug)]
pub(crate) enum Handle {
    /// A regular file (or another non-directory object opened by path).
    File(File),
    /// A directory, opened for reading so it can be listed and used as a lookup base.
    Dir(OwnedFd),
    /// An input stream (stdin).
    Input(Input),
    /// An output stream (stdout, stderr).
    Output(Output),
    /// A listening TCP socket the embedder preopened.
    TcpListener(TcpListener),
    /// A connection accepted from a preopened listener.
    TcpStream(TcpStream),
}

/// One entry of the descriptor table.
#[derive(Debug)]
pub(crate) struct Descriptor {
    pub handle: Handle,
    /// Rights on this descriptor itself.
    pub base: Rights,
    /// Rights that descriptors opened through this one may receive.
    pub inheriting: Rights,
    /// The current `fdflags`.
    pub flags: u16,
    /// The guest path of a preopened directory.
    pub preopen: Option<String>,
}

impl Descriptor {
    /// `ENOTCAPABLE` unless every right in `needed` is held.
    pub fn require(&self, needed: Rights) -> WasiResult<()> {
        if self.base.contains(needed) {
            Ok(())
        } else {
            Err(Errno::NotCapable)
        }
    }

    /// The directory behind this descriptor (`ENOTDIR` for anything else).
    pub fn dir_fd(&self) -> WasiResult<BorrowedFd<'_>> {
        match &self.handle {
            Handle::Dir(fd) => Ok(fd.as_fd()),
            _ => Err(Errno::NotDir),
        }
    }

    /// The host file descriptor, when there is one to make system calls on.
    pub fn host_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.handle {
            Handle::File(file) => Some(file.as_fd()),
            Handle::Dir(fd) => Some(fd.as_fd()),
            Handle::Input(Input::Inherit(stdin)) => Some(stdin.as_fd()),
            Handle::Output(Output::InheritStdout(stdout)) => Some(stdout.as_fd()),
            Handle::Output(Output::InheritStderr(stderr)) => Some(stderr.as_fd()),
            Handle::TcpListener(listener) => Some(listener.as_fd()),
            Handle::TcpStream(stream) => Some(stream.as_fd()),
            Handle::Input(Input::Pipe(_)) | Handle::Output(Output::Pipe(_) | Output::Sink) => None,
        }
    }

    /// The WASI file type.
    pub fn filetype(&self) -> u8 {
        match &self.handle {
            Handle::File(file) => rustix::fs::fstat(file)
                .map(|stat| filetype_of_mode(stat.st_mode))
                .unwrap_or(filetype::UNKNOWN),
            Handle::Dir(_) => filetype::DIRECTORY,
            Handle::TcpListener(_) | Handle::TcpStream(_) => filetype::SOCKET_STREAM,
            _ => match self.host_fd() {
                Some(fd) => rustix::fs::fstat(fd)
                    .map(|stat| filetype_of_mode(stat.st_mode))
                    .unwrap_or(filetype::UNKNOWN),
                None => filetype::UNKNOWN,
            },
        }
    }

    /// Reads from a stream or a file at its current position.
    pub fn read(&mut self, buf: &mut [u8]) -> WasiResult<usize> {
        let n = match &mut self.handle {
            Handle::File(file) => file.read(buf)?,
            // Straight from the descriptor: `io::Stdin` would read ahead into
            // its own buffer, where `poll_oneoff` cannot see the bytes.
            Handle::Input(Input::Inherit(stdin)) => rustix::io::read(stdin.as_fd(), buf)?,
            Handle::Input(Input::Pipe(pipe)) => pipe.read(buf)?,
            Handle::TcpStream(stream) => stream.read(buf)?,
            Handle::Dir(_) => return Err(Errno::IsDir),
            Handle::Output(_) => return Err(Errno::Badf),
            Handle::TcpListener(_) => return Err(Errno::NotConn),
        };
        Ok(n)
    }

    /// Writes all of `buf` to a stream or a file at its current position.
    pub fn write_all(&mut self, buf: &[u8]) -> WasiResult<()> {
        match &mut self.handle {
            Handle::File(file) => file.write_all(buf)?,
            Handle::Output(Output::InheritStdout(stdout)) => {
                let mut out = stdout.lock();
                out.write_all(buf)?;
                out.flush()?;
            }
            Handle::Output(Output::InheritStderr(stderr)) => stderr.write_all(buf)?,
            Handle::Output(Output::Pipe(pipe)) => pipe.write_all(buf)?,
            Handle::Output(Output::Sink) => {}
            // std sends with MSG_NOSIGNAL: a closed peer is EPIPE, not a SIGPIPE.
            Handle::TcpStream(stream) => stream.write_all(buf)?,
            Handle::Dir(_) => return Err(Errno::IsDir),
            Handle::Input(_) => return Err(Errno::Badf),
            Handle::TcpListener(_) => return Err(Errno::NotConn),
        }
        Ok(())
    }

    /// The file behind this descriptor for positioned and metadata operations:
    /// `EISDIR` for a directory, `ESPIPE` for a stream.
    pub fn file(&self) -> WasiResult<&File> {
        match &self.handle {
            Handle::File(file) => Ok(file),
            Handle::Dir(_) => Err(Errno::IsDir),
            Handle::Input(_)
            | Handle::Output(_)
            | Handle::TcpListener(_)
            | Handle::TcpStream(_) => Err(Errno::Spipe),
        }
    }
}

/// The table of open descriptors, indexed by WASI fd number.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<Descriptor>>,
}

impl FdTable {
    /// Installs `descriptor` at the lowest free number and returns that number.
    pub fn insert(&mut self, descriptor: Descriptor) -> WasiResult<u32> {
        let index = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let fd = u32::try_from(index).map_err(|_| Errno::Mfile)?;
        self.slots[index] = Some(descriptor);
        Ok(fd)
    }

    /// The descriptor numbered `fd` (`EBADF` when there is none).
    pub fn get(&self, fd: u32) -> WasiResult<&Descriptor> {
        self.slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    /// The descriptor numbered `fd`, mutable (`EBADF` when there is none).
    pub fn get_mut(&mut self, fd: u32) -> WasiResult<&mut Descriptor> {
        self.slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// The directory numbered `fd`, after checking it holds `needed`.
    pub fn dir(&self, fd: u32, needed: Rights) -> WasiResult<BorrowedFd<'_>> {
        let descriptor = self.get(fd)?;
        let dir = descriptor.dir_fd()?;
        descriptor.require(needed)?;
        Ok(dir)
    }

    /// The file numbered `fd` (`EISDIR` for a directory, `ESPIPE` for a stream), after
    /// checking it holds `needed`.
    pub fn file(&self, fd: u32, needed: Rights) -> WasiResult<&File> {
        let descriptor = self.get(fd)?;
        let file = descriptor.file()?;
        descriptor.require(needed)?;
        Ok(file)
    }

    /// Removes and returns the descriptor numbered `fd`.
    pub fn remove(&mut self, fd: u32) -> WasiResult<Descriptor> {
        let slot = self.slots.get_mut(fd as usize).ok_or(Errno::Badf)?;
        let descriptor = slot.take().ok_or(Errno::Badf)?;
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Ok(descriptor)
    }

    /// Moves descriptor `from` to number `to`, closing whatever `to` held.
    pub fn renumber(&mut self, from: u32, to: u32) -> WasiResult<()> {
        self.get(from)?;
        self.get(to)?;
        if from == to {
            return Ok(());
        }
        let moved = self.remove(from)?;
        self.slots[to as usize] = Some(moved);
        Ok(())
    }

    /// Every `(fd, descriptor)` pair, in fd order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Descriptor)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(fd, slot)| slot.as_ref().map(|d| (fd as u32, d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> Descriptor {
        Descriptor {
            handle: Handle::Output(Output::Sink),
            base: Rights::OUTPUT_STREAM,
            inheriting: Rights::NONE,
            flags: 0,
            preopen: None,
        }
    }

    #[test]
    fn insert_uses_the_lowest_free_number() {
        let mut table = FdTable::default();
        assert_eq!(table.insert(sink()).unwrap(), 0);
        assert_eq!(table.insert(sink()).unwrap(), 1);
        assert_eq!(table.insert(sink()).unwrap(), 2);
        table.remove(1).unwrap();
        assert_eq!(table.insert(sink()).unwrap(), 1);
    }

    #[test]
    fn missing_descriptors_are_ebadf() {
        let mut table = FdTable::default();
        table.insert(sink()).unwrap();
        assert_eq!(table.get(7).err(), Some(Errno::Badf));
        assert_eq!(table.remove(7).err(), Some(Errno::Badf));
        assert_eq!(table.renumber(0, 7).err(), Some(Errno::Badf));
        table.remove(0).unwrap();
        assert_eq!(table.get(0).err(), Some(Errno::Badf));
    }

    #[test]
    fn renumber_replaces_the_target() {
        let mut table = FdTable::default();
        table.insert(sink()).unwrap();
        let mut second = sink();
        second.flags = 5;
        table.insert(second).unwrap();
        table.renumber(1, 0).unwrap();
        assert_eq!(table.get(0).unwrap().flags, 5);
        assert_eq!(table.get(1).err(), Some(Errno::Badf));
    }

    #[test]
    fn rights_and_kinds_are_checked() {
        let mut table = FdTable::default();
        table.insert(sink()).unwrap();
        assert_eq!(table.dir(0, Rights::NONE).err(), Some(Errno::NotDir));
        let d = table.get(0).unwrap();
        assert_eq!(d.require(Rights::FD_READ), Err(Errno::NotCapable));
        assert!(d.require(Rights::FD_WRITE).is_ok());
        assert_eq!(d.file().err(), Some(Errno::Spipe));
        assert_eq!(table.file(0, Rights::NONE).err(), Some(Errno::Spipe));
        assert_eq!(table.file(1, Rights::NONE).err(), Some(Errno::Badf));
    }
}
