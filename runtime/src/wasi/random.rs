//! `random_get`: bytes from the host's cryptographic random source.

use rustix::rand::{GetRandomFlags, getrandom};

use super::ctx::WasiCtx;
use super::errno::WasiResult;
use super::memory::GuestMemory;

/// `random_get(buf, len)`.
pub(crate) fn random_get(
    _ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> WasiResult<()> {
    let mut out = mem.slice_mut(buf, len)?;
    while !out.is_empty() {
        // getrandom may return fewer bytes than asked for large requests.
        let filled = rustix::io::retry_on_intr(|| getrandom(&mut *out, GetRandomFlags::empty()))?;
        out = &mut out[filled..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtxBuilder;
    use crate::wasi::errno::Errno;

    #[test]
    fn fills_the_buffer() {
        let mut ctx = WasiCtxBuilder::new().build();
        let mut bytes = vec![0u8; 4096];
        let mut mem = GuestMemory::new(&mut bytes);
        random_get(&mut ctx, &mut mem, 0, 4096).unwrap();
        assert!(bytes.iter().filter(|&&b| b != 0).count() > 3000);
    }

    #[test]
    fn out_of_bounds_is_efault() {
        let mut ctx = WasiCtxBuilder::new().build();
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(random_get(&mut ctx, &mut mem, 8, 9), Err(Errno::Fault));
    }
}
