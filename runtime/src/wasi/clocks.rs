//! `clock_res_get` and `clock_time_get`: the four preview 1 clocks.

use rustix::time::{ClockId, Timespec};

use super::abi::clockid;
use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::memory::GuestMemory;

fn host_clock(id: u32) -> WasiResult<ClockId> {
    Ok(match id {
        clockid::REALTIME => ClockId::Realtime,
        clockid::MONOTONIC => ClockId::Monotonic,
        clockid::PROCESS_CPUTIME_ID => ClockId::ProcessCPUTime,
        clockid::THREAD_CPUTIME_ID => ClockId::ThreadCPUTime,
        _ => return Err(Errno::Inval),
    })
}

fn to_nanos(time: Timespec) -> u64 {
    u64::try_from(time.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(time.tv_nsec as u64)
}

/// The current time of clock `id` in nanoseconds (`EINVAL` for an unknown clock).
pub(crate) fn now(id: u32) -> WasiResult<u64> {
    Ok(to_nanos(rustix::time::clock_gettime(host_clock(id)?)))
}

/// `clock_res_get(id, resolution_out)`.
pub(crate) fn clock_res_get(
    _ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    out: u32,
) -> WasiResult<()> {
    let resolution = to_nanos(rustix::time::clock_getres(host_clock(id)?)).max(1);
    mem.write_u64(out, resolution)
}

/// `clock_time_get(id, precision, time_out)`; the precision hint is not needed.
pub(crate) fn clock_time_get(
    _ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    out: u32,
) -> WasiResult<()> {
    mem.write_u64(out, now(id)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasi::WasiCtxBuilder;

    #[test]
    fn every_clock_reads() {
        let mut ctx = WasiCtxBuilder::new().build();
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        for id in 0..4 {
            clock_res_get(&mut ctx, &mut mem, id, 0).unwrap();
            assert!(mem.read_u64(0).unwrap() >= 1);
            clock_time_get(&mut ctx, &mut mem, id, 0, 8).unwrap();
        }
        clock_time_get(&mut ctx, &mut mem, clockid::REALTIME, 0, 8).unwrap();
        // Later than 2020-01-01.
        assert!(mem.read_u64(8).unwrap() > 1_577_836_800 * 1_000_000_000);
        let a = now(clockid::MONOTONIC).unwrap();
        let b = now(clockid::MONOTONIC).unwrap();
        assert!(b >= a);
    }

    #[test]
    fn bad_clock_and_pointer() {
        let mut ctx = WasiCtxBuilder::new().build();
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(
            clock_time_get(&mut ctx, &mut mem, 4, 0, 0),
            Err(Errno::Inval)
        );
        assert_eq!(clock_res_get(&mut ctx, &mut mem, 99, 0), Err(Errno::Inval));
        assert_eq!(
            clock_time_get(&mut ctx, &mut mem, 0, 0, 9),
            Err(Errno::Fault)
        );
    }
}
