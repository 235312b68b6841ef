//! Bounds-checked access to a guest's linear memory.
//!
//! Every pointer and length a guest passes is checked against the memory's current size
//! before a byte is touched; anything outside gives `EFAULT`, never a host access.

use super::abi::size;
use super::errno::{Errno, WasiResult};

/// A guest's linear memory seen by a WASI call, for the duration of that call.
pub(crate) struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

/// One `iovec`/`ciovec`: a guest buffer address and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GuestBuf {
    pub ptr: u32,
    pub len: u32,
}

impl<'a> GuestMemory<'a> {
    /// Wraps the bytes of a linear memory.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> WasiResult<std::ops::Range<usize>> {
        let start = u64::from(ptr);
        let end = start + u64::from(len);
        if end > self.bytes.len() as u64 {
            return Err(Errno::Fault);
        }
        // Both ends are at most the memory's length, which is a usize.
        Ok(start as usize..end as usize)
    }

    /// The `len` bytes at `ptr`.
    pub fn slice(&self, ptr: u32, len: u32) -> WasiResult<&[u8]> {
        let range = self.range(ptr, len)?;
        Ok(&self.bytes[range])
    }

    /// The `len` bytes at `ptr`, writable.
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> WasiResult<&mut [u8]> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.bytes[range])
    }

    /// Copies `data` to `ptr`; nothing is written unless all of it fits.
    pub fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> WasiResult<()> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::Fault)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    fn read_array<const N: usize>(&self, ptr: u32) -> WasiResult<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.slice(ptr, N as u32)?);
        Ok(out)
    }

    /// The little-endian `u8` at `ptr`.
    pub fn read_u8(&self, ptr: u32) -> WasiResult<u8> {
        Ok(self.read_array::<1>(ptr)?[0])
    }

    /// The little-endian `u16` at `ptr`.
    pub fn read_u16(&self, ptr: u32) -> WasiResult<u16> {
        self.read_array(ptr).map(u16::from_le_bytes)
    }

    /// The little-endian `u32` at `ptr`.
    pub fn read_u32(&self, ptr: u32) -> WasiResult<u32> {
        self.read_array(ptr).map(u32::from_le_bytes)
    }

    /// The little-endian `u64` at `ptr`.
    pub fn read_u64(&self, ptr: u32) -> WasiResult<u64> {
        self.read_array(ptr).map(u64::from_le_bytes)
    }

    /// Stores a little-endian `u32` at `ptr`.
    pub fn write_u32(&mut self, ptr: u32, value: u32) -> WasiResult<()> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    /// Stores a little-endian `u64` at `ptr`.
    pub fn write_u64(&mut self, ptr: u32, value: u64) -> WasiResult<()> {
        self.write_bytes(ptr, &value.to_le_bytes())
    }

    /// The UTF-8 string of `len` bytes at `ptr` (`EILSEQ` when it is not UTF-8).
    pub fn read_str(&self, ptr: u32, len: u32) -> WasiResult<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    /// The `count` iovecs at `ptr`, each checked to lie inside memory (`EFAULT`), their
    /// total length checked to fit in a u32 (`EINVAL`).
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<GuestBuf>> {
        let table_len = count.checked_mul(size::IOVEC).ok_or(Errno::Fault)?;
        let table = self.slice(ptr, table_len)?;
        let bufs: Vec<GuestBuf> = table
            .chunks_exact(size::IOVEC as usize)
            .map(|entry| GuestBuf {
                ptr: u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]),
                len: u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]),
            })
            .collect();
        let mut total = 0u64;
        for buf in &bufs {
            self.range(buf.ptr, buf.len)?;
            total += u64::from(buf.len);
        }
        // The byte count a call returns is a u32; like POSIX `readv`/`writev` with more
        // than SSIZE_MAX bytes, a larger total is invalid.
        if total > u64::from(u32::MAX) {
            return Err(Errno::Inval);
        }
        Ok(bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_bounds_access_works() {
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        mem.write_u32(60, 0xdead_beef).unwrap();
        assert_eq!(mem.read_u32(60).unwrap(), 0xdead_beef);
        mem.write_u64(0, u64::MAX - 1).unwrap();
        assert_eq!(mem.read_u64(0).unwrap(), u64::MAX - 1);
        assert_eq!(mem.read_u16(0).unwrap(), 0xfffe);
        assert_eq!(mem.read_u8(1).unwrap(), 0xff);
        assert_eq!(mem.slice(64, 0).unwrap(), &[] as &[u8]);
    }

    #[test]
    fn out_of_bounds_is_efault() {
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_u32(61), Err(Errno::Fault));
        assert_eq!(mem.write_u64(57, 1), Err(Errno::Fault));
        assert_eq!(mem.slice(u32::MAX, u32::MAX).err(), Some(Errno::Fault));
        assert_eq!(mem.slice(65, 0).err(), Some(Errno::Fault));
        assert_eq!(mem.read_str(10, 100).err(), Some(Errno::Fault));
        assert_eq!(mem.iovecs(0, u32::MAX).err(), Some(Errno::Fault));
    }

    #[test]
    fn iovec_pointing_outside_is_efault() {
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        mem.write_u32(0, 40).unwrap();
        mem.write_u32(4, 24).unwrap();
        assert_eq!(
            mem.iovecs(0, 1).unwrap(),
            vec![GuestBuf { ptr: 40, len: 24 }]
        );
        mem.write_u32(4, 25).unwrap();
        assert_eq!(mem.iovecs(0, 1).err(), Some(Errno::Fault));
    }

    #[test]
    fn iovecs_totalling_more_than_u32_are_einval() {
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        // Two iovecs each covering all 64 bytes are fine; the total is what counts.
        for index in 0..2u32 {
            mem.write_u32(index * 8, 0).unwrap();
            mem.write_u32(index * 8 + 4, 64).unwrap();
        }
        assert_eq!(mem.iovecs(0, 2).unwrap().len(), 2);
        let mut big = vec![0u8; 1 << 31];
        let mut mem = GuestMemory::new(&mut big);
        for index in 0..3u32 {
            mem.write_u32(index * 8, 0).unwrap();
            mem.write_u32(index * 8 + 4, (1 << 31) - 1).unwrap();
        }
        assert_eq!(mem.iovecs(0, 2).unwrap().len(), 2);
        assert_eq!(mem.iovecs(0, 3).err(), Some(Errno::Inval));
    }

    #[test]
    fn strings_must_be_utf8() {
        let mut bytes = b"ok\xff".to_vec();
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_str(0, 2).unwrap(), "ok");
        assert_eq!(mem.read_str(0, 3).err(), Some(Errno::Ilseq));
    }
}
