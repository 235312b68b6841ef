//! In-memory standard streams, for embedders and tests that feed a guest's stdin or
//! capture its stdout/stderr.

use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// Bytes a guest reads as its standard input; reads past the end see end-of-file.
#[derive(Debug, Default)]
pub struct ReadPipe {
    data: Cursor<Vec<u8>>,
}

impl ReadPipe {
    /// A stream that yields `bytes` and then end-of-file.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        ReadPipe {
            data: Cursor::new(bytes.into()),
        }
    }

    /// How many bytes are left to read.
    pub fn remaining(&self) -> u64 {
        (self.data.get_ref().len() as u64).saturating_sub(self.data.position())
    }
}

impl Read for ReadPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.data.read(buf)
    }
}

/// A growable buffer that collects what a guest writes. Clones share the buffer, so the
/// embedder keeps one clone and reads [`WritePipe::contents`] after the guest ran.
#[derive(Clone, Debug, Default)]
pub struct WritePipe {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl WritePipe {
    /// An empty capture buffer.
    pub fn new_in_memory() -> Self {
        WritePipe::default()
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A writer that panicked mid-append leaves bytes that are still worth reading.
        self.buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Write for WritePipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_pipe_yields_bytes_then_eof() {
        let mut pipe = ReadPipe::from_bytes("abc");
        let mut buf = [0u8; 2];
        assert_eq!(pipe.read(&mut buf).unwrap(), 2);
        assert_eq!(pipe.remaining(), 1);
        assert_eq!(pipe.read(&mut buf).unwrap(), 1);
        assert_eq!(pipe.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn write_pipe_clones_share_the_buffer() {
        let pipe = WritePipe::new_in_memory();
        let mut writer = pipe.clone();
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        assert_eq!(pipe.contents(), b"hello world");
    }
}
