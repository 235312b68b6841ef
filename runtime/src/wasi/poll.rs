//! `poll_oneoff`: wait for clock deadlines and descriptor readiness.
//!
//! Files and in-memory streams are always ready. Streams backed by a host descriptor
//! (inherited stdin/stdout/stderr) are polled on the host, with the nearest clock
//! deadline as the timeout. The call returns one event per subscription that is ready.

use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use super::abi::{Rights, event, size};
use super::clocks::now;
use super::ctx::WasiCtx;
use super::errno::{Errno, WasiResult};
use super::fd_table::{Descriptor, Handle, Input, Output};
use super::memory::GuestMemory;

/// One decoded subscription.
enum Subscription {
    Clock { deadline: Result<Instant, Errno> },
    Fd { fd: u32, write: bool },
}

/// One event to report.
struct Event {
    userdata: u64,
    /// `None` for success.
    error: Option<Errno>,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

/// The readiness of an fd subscription that needs no waiting.
enum Readiness {
    /// Ready now, with the byte count to report.
    Now(u64),
    /// Ask the host.
    HostPoll,
    /// The subscription fails with this error.
    Fails(Errno),
}

fn readiness(descriptor: &Descriptor, write: bool) -> Readiness {
    if !descriptor.base.contains(Rights::POLL_FD_READWRITE) {
        return Readiness::Fails(Errno::NotCapable);
    }
    match &descriptor.handle {
        Handle::File(file) if !write => {
            let remaining = (|| {
                let size = file.metadata().ok()?.len();
                let position = rustix::fs::seek(file, rustix::fs::SeekFrom::Current(0)).ok()?;
                Some(size.saturating_sub(position))
            })();
            Readiness::Now(remaining.unwrap_or(0))
        }
        Handle::File(_) | Handle::Dir(_) => Readiness::Now(0),
        Handle::Input(Input::Pipe(pipe)) if !write => Readiness::Now(pipe.remaining()),
        Handle::Input(Input::Inherit(_)) if !write => Readiness::HostPoll,
        Handle::Output(Output::Pipe(_) | Output::Sink) if write => Readiness::Now(0),
        Handle::Output(_) if write => Readiness::HostPoll,
        Handle::TcpListener(_) | Handle::TcpStream(_) => Readiness::HostPoll,
        // Reading an output stream or writing an input stream never becomes possible.
        Handle::Input(_) | Handle::Output(_) => Readiness::Fails(Errno::Badf),
    }
}

fn decode(mem: &GuestMemory<'_>, at: u32, start: Instant) -> WasiResult<(u64, u8, Subscription)> {
    let userdata = mem.read_u64(at)?;
    let kind = mem.read_u8(at + 8)?;
    let subscription = match kind {
        event::CLOCK => {
            let clock = mem.read_u32(at + 16)?;
            let timeout = mem.read_u64(at + 24)?;
            let flags = mem.read_u16(at + 40)?;
            let deadline = now(clock).map(|current| {
                let wait = if flags & event::SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                    timeout.saturating_sub(current)
                } else {
                    timeout
                };
                start
                    .checked_add(Duration::from_nanos(wait))
                    .unwrap_or(start + Duration::from_secs(u32::MAX.into()))
            });
            Subscription::Clock { deadline }
        }
        event::FD_READ | event::FD_WRITE => Subscription::Fd {
            fd: mem.read_u32(at + 16)?,
            write: kind == event::FD_WRITE,
        },
        _ => return Err(Errno::Inval),
    };
    Ok((userdata, kind, subscription))
}

/// `poll_oneoff(in, out, nsubscriptions, nevents_out)`.
pub(crate) fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    subs: u32,
    events_out: u32,
    count: u32,
    nevents: u32,
) -> WasiResult<()> {
    if count == 0 {
        return Err(Errno::Inval);
    }
    mem.slice(
        subs,
        count.checked_mul(size::SUBSCRIPTION).ok_or(Errno::Fault)?,
    )?;
    mem.slice(
        events_out,
        count.checked_mul(size::EVENT).ok_or(Errno::Fault)?,
    )?;
    mem.slice(nevents, 4)?;
    let start = Instant::now();
    let mut decoded = Vec::with_capacity(count as usize);
    for index in 0..count {
        decoded.push(decode(mem, subs + index * size::SUBSCRIPTION, start)?);
    }

    let mut events = Vec::new();
    let mut host_waits = Vec::new(); // (userdata, kind, fd, write)
    let mut earliest: Option<Instant> = None;
    for (userdata, kind, subscription) in &decoded {
        let (userdata, kind) = (*userdata, *kind);
        match subscription {
            Subscription::Clock { deadline: Err(err) } => {
                events.push(Event {
                    userdata,
                    error: Some(*err),
                    kind,
                    nbytes: 0,
                    flags: 0,
                });
            }
            Subscription::Clock {
                deadline: Ok(deadline),
            } => {
                earliest = Some(earliest.map_or(*deadline, |e| e.min(*deadline)));
            }
            Subscription::Fd { fd, write } => {
                match ctx.fds.get(*fd).map(|d| readiness(d, *write)) {
                    Err(err) | Ok(Readiness::Fails(err)) => events.push(Event {
                        userdata,
                        error: Some(err),
                        kind,
                        nbytes: 0,
                        flags: 0,
                    }),
                    Ok(Readiness::Now(nbytes)) => events.push(Event {
                        userdata,
                        error: None,
                        kind,
                        nbytes,
                        flags: 0,
                    }),
                    Ok(Readiness::HostPoll) => host_waits.push((userdata, kind, *fd, *write)),
                }
            }
        }
    }

    // Wait only when nothing is ready yet.
    let timeout = if events.is_empty() {
        earliest.map(|deadline| deadline.saturating_duration_since(Instant::now()))
    } else {
        Some(Duration::ZERO)
    };
    if host_waits.is_empty() {
        if let Some(wait) = timeout {
            std::thread::sleep(wait);
        }
    } else {
        let mut pollfds = Vec::with_capacity(host_waits.len());
        for (_, _, fd, write) in &host_waits {
            // Checked above: each of these has a host descriptor.
            let host = ctx.fds.get(*fd)?.host_fd().ok_or(Errno::Badf)?;
            let interest = if *write {
                PollFlags::OUT
            } else {
                PollFlags::IN
            };
            pollfds.push(PollFd::from_borrowed_fd(host, interest));
        }
        let host_timeout = timeout.map(|wait| rustix::time::Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: wait.subsec_nanos().into(),
        });
        match rustix::event::poll(&mut pollfds, host_timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
        for ((userdata, kind, _, _), pollfd) in host_waits.iter().zip(&pollfds) {
            let revents = pollfd.revents();
            if revents.is_empty() {
                continue;
            }
            let flags = if revents.contains(PollFlags::HUP) {
                event::FD_READWRITE_HANGUP
            } else {
                0
            };
            let error = revents
                .intersects(PollFlags::ERR | PollFlags::NVAL)
                .then_some(Errno::Io);
            events.push(Event {
                userdata: *userdata,
                error,
                kind: *kind,
                nbytes: 0,
                flags,
            });
        }
    }

    let after = Instant::now();
    for (userdata, kind, subscription) in &decoded {
        if let Subscription::Clock {
            deadline: Ok(deadline),
        } = subscription
            && *deadline <= after
        {
            events.push(Event {
                userdata: *userdata,
                error: None,
                kind: *kind,
                nbytes: 0,
                flags: 0,
            });
        }
    }

    for (index, event) in events.iter().enumerate() {
        let mut record = [0u8; size::EVENT as usize];
        record[0..8].copy_from_slice(&event.userdata.to_le_bytes());
        let errno = event.error.map_or(0, Errno::raw);
        record[8..10].copy_from_slice(&errno.to_le_bytes());
        record[10] = event.kind;
        record[16..24].copy_from_slice(&event.nbytes.to_le_bytes());
        record[24..26].copy_from_slice(&event.flags.to_le_bytes());
        mem.write_bytes(events_out + index as u32 * size::EVENT, &record)?;
    }
    mem.write_u32(nevents, events.len() as u32)
}
