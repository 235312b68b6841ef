//! `args_*` and `environ_*`: the guest's command line and environment.

use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::memory::GuestMemory;

/// Writes NUL-terminated `strings` to `buf` and a pointer to each into `ptrs`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    strings: &[String],
    ptrs: u32,
    buf: u32,
) -> WasiResult<()> {
    let mut cursor = buf;
    for (index, string) in strings.iter().enumerate() {
        let slot = ptrs.checked_add(index as u32 * 4).ok_or(Errno::Fault)?;
        mem.write_u32(slot, cursor)?;
        mem.write_bytes(cursor, string.as_bytes())?;
        let end = cursor
            .checked_add(string.len() as u32)
            .ok_or(Errno::Fault)?;
        mem.write_bytes(end, &[0])?;
        cursor = end.checked_add(1).ok_or(Errno::Fault)?;
    }
    Ok(())
}

/// Writes how many `strings` there are and how many bytes they take with terminators.
fn write_sizes(
    mem: &mut GuestMemory<'_>,
    strings: &[String],
    count_ptr: u32,
    size_ptr: u32,
) -> WasiResult<()> {
    let count = u32::try_from(strings.len()).map_err(|_| Errno::Overflow)?;
    let bytes: usize = strings.iter().map(|s| s.len() + 1).sum();
    let bytes = u32::try_from(bytes).map_err(|_| Errno::Overflow)?;
    mem.write_u32(count_ptr, count)?;
    mem.write_u32(size_ptr, bytes)
}

/// `args_get(argv, argv_buf)`.
pub(crate) fn args_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argv: u32,
    argv_buf: u32,
) -> WasiResult<()> {
    write_strings(mem, &ctx.args, argv, argv_buf)
}

/// `args_sizes_get(argc_out, argv_buf_size_out)`.
pub(crate) fn args_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    argc: u32,
    size: u32,
) -> WasiResult<()> {
    write_sizes(mem, &ctx.args, argc, size)
}

/// `environ_get(environ, environ_buf)`.
pub(crate) fn environ_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    env: u32,
    env_buf: u32,
) -> WasiResult<()> {
    write_strings(mem, &ctx.env, env, env_buf)
}

/// `environ_sizes_get(count_out, buf_size_out)`.
pub(crate) fn environ_sizes_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    count: u32,
    size: u32,
) -> WasiResult<()> {
    write_sizes(mem, &ctx.env, count, size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtxBuilder;

    #[test]
    fn args_round_trip() {
        let mut ctx = WasiCtxBuilder::new()
            .arg("prog")
            .arg("héllo")
            .env("K", "V")
            .build();
        let mut bytes = vec![0u8; 256];
        let mut mem = GuestMemory::new(&mut bytes);
        args_sizes_get(&mut ctx, &mut mem, 0, 4).unwrap();
        assert_eq!(mem.read_u32(0).unwrap(), 2);
        assert_eq!(mem.read_u32(4).unwrap(), 5 + 7);
        args_get(&mut ctx, &mut mem, 16, 64).unwrap();
        let second = mem.read_u32(20).unwrap();
        assert_eq!(second, 69);
        assert_eq!(mem.slice(second, 7).unwrap(), "héllo\0".as_bytes());
        environ_sizes_get(&mut ctx, &mut mem, 0, 4).unwrap();
        assert_eq!((mem.read_u32(0).unwrap(), mem.read_u32(4).unwrap()), (1, 4));
        environ_get(&mut ctx, &mut mem, 8, 128).unwrap();
        assert_eq!(mem.slice(128, 4).unwrap(), b"K=V\0");
    }

    #[test]
    fn out_of_bounds_buffers_are_efault() {
        let mut ctx = WasiCtxBuilder::new().arg("program-name").build();
        let mut bytes = vec![0u8; 32];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(args_get(&mut ctx, &mut mem, 0, 24), Err(Errno::Fault));
        assert_eq!(
            args_get(&mut ctx, &mut mem, u32::MAX - 1, 0),
            Err(Errno::Fault)
        );
        assert_eq!(args_sizes_get(&mut ctx, &mut mem, 30, 0), Err(Errno::Fault));
    }
}
