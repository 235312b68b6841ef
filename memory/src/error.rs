//! The typed errors of the memory subsystem.

use crate::process::ProcessLimit;
use crate::sys::Syscall;
use std::io;

/// For an `ENOMEM` from a call that asked for `requested` more bytes of
/// address space: which limit the process reached.
fn out_of_memory(source: &io::Error, requested: u64) -> Option<ProcessLimit> {
    (source.raw_os_error() == Some(libc::ENOMEM)).then(|| ProcessLimit::diagnose(requested))
}

/// Why an `mlock` was refused by the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinFailure {
    /// `ENOMEM`: the request exceeds `RLIMIT_MEMLOCK` (or the range is not mapped).
    LimitExceeded,
    /// `EAGAIN`: some of the pages could not be locked right now.
    Again,
    /// `EPERM`: the process may not lock memory at all (no `CAP_IPC_LOCK`, zero limit).
    NotPermitted,
    /// Any other errno.
    Other,
}

impl PinFailure {
    pub(crate) fn from_errno(errno: Option<i32>) -> PinFailure {
        match errno {
            Some(libc::ENOMEM) => PinFailure::LimitExceeded,
            Some(libc::EAGAIN) => PinFailure::Again,
            Some(libc::EPERM) => PinFailure::NotPermitted,
            _ => PinFailure::Other,
        }
    }
}

impl std::fmt::Display for PinFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            PinFailure::LimitExceeded => {
                "the locked-memory limit (RLIMIT_MEMLOCK) would be exceeded"
            }
            PinFailure::Again => "some pages could not be locked (EAGAIN)",
            PinFailure::NotPermitted => "the process is not permitted to lock memory (EPERM)",
            PinFailure::Other => "the kernel refused to lock the pages",
        };
        f.write_str(text)
    }
}

/// Everything that can go wrong in the memory subsystem. A failed operation
/// leaves the memory, its contents, notifiers and accounting as they were.
#[derive(thiserror::Error, Debug)]
pub enum MemoryError {
    /// The requested size is above the memory's declared maximum.
    #[error("memory of {requested_bytes} bytes exceeds its maximum of {maximum_bytes} bytes")]
    ExceedsMaximum {
        /// Size that was asked for.
        requested_bytes: u64,
        /// The memory's maximum.
        maximum_bytes: u64,
    },
    /// The requested size is above the embedder-configured limit.
    #[error(
        "memory of {requested_bytes} bytes exceeds the configured limit of {limit_bytes} bytes"
    )]
    ExceedsLimit {
        /// Size that was asked for.
        requested_bytes: u64,
        /// The configured limit.
        limit_bytes: u64,
    },
    /// A static memory cannot grow past its reservation (its base never moves).
    #[error(
        "memory of {requested_bytes} bytes does not fit the static reservation of {reservation_bytes} bytes"
    )]
    ExceedsReservation {
        /// Size that was asked for.
        requested_bytes: u64,
        /// The accessible part of the reservation.
        reservation_bytes: u64,
    },
    /// A size computation overflowed (e.g. growing by `u64::MAX` pages).
    #[error("size computation overflowed: {what}")]
    Overflow {
        /// Which computation.
        what: &'static str,
    },
    /// The configuration is not usable.
    #[error("invalid memory configuration: {0}")]
    InvalidConfig(String),
    /// Pinning these bytes would exceed the shared pin budget.
    #[error(
        "pinning {requested_bytes} more bytes exceeds the pin budget ({used_bytes} of {limit_bytes} bytes in use)"
    )]
    PinBudgetExceeded {
        /// Bytes the operation needed to pin.
        requested_bytes: u64,
        /// Bytes already charged to the budget.
        used_bytes: u64,
        /// The budget's limit.
        limit_bytes: u64,
    },
    /// `mlock` failed.
    #[error("could not pin {bytes} bytes: {kind} (RLIMIT_MEMLOCK: {})", display_limit(*.memlock_limit))]
    PinFailed {
        /// Bytes the operation tried to lock.
        bytes: u64,
        /// What the errno means.
        kind: PinFailure,
        /// The errno `mlock` returned.
        errno: i32,
        /// The process's `RLIMIT_MEMLOCK` at the time (`None` = unlimited).
        memlock_limit: Option<u64>,
        /// The underlying error (with errno).
        #[source]
        source: io::Error,
    },
    /// Reserving address space failed.
    #[error("could not reserve {bytes} bytes of address space{}", limit_hit(.limit))]
    MapFailed {
        /// Size of the reservation.
        bytes: u64,
        /// For `ENOMEM`: which limit of the process was reached.
        limit: Option<ProcessLimit>,
        /// The underlying error (with errno).
        #[source]
        source: io::Error,
    },
    /// The address space above [`crate::RESERVATION_FLOOR`] is exhausted:
    /// the kernel could only place a reservation below it.
    #[error(
        "the address space above {floor:#x} is exhausted: the kernel could only place a \
         reservation of {bytes} bytes at {address:#x}, below that floor (which keeps small \
         and null pointers out of linear memories); use fewer memories at once, or dynamic \
         memories, which reserve far less address space than static ones (8 GiB each)"
    )]
    LowAddress {
        /// Size of the reservation.
        bytes: u64,
        /// Where it was placed.
        address: usize,
        /// The lowest acceptable address.
        floor: usize,
    },
    /// Another system call failed.
    #[error("{call} failed{}", limit_hit(.limit))]
    SyscallFailed {
        /// Which call.
        call: Syscall,
        /// For `ENOMEM` from a call that maps or splits mappings: which
        /// limit of the process was reached.
        limit: Option<ProcessLimit>,
        /// The underlying error (with errno).
        #[source]
        source: io::Error,
    },
    /// Every slot of a memory arena is in use.
    #[error(
        "the memory arena is full: all {slots} slots of {slot_bytes} bytes are in use; raise \
         the arena's slot limit, drop some instances, or give memories their own reservations"
    )]
    ArenaFull {
        /// The arena's slot limit.
        slots: usize,
        /// Bytes per slot.
        slot_bytes: u64,
    },
    /// The memory is being torn down and accepts no new notifiers.
    #[error("the memory is being torn down; no notifier can be registered")]
    RegistrationClosed,
    /// The memory already has the maximum number of notifiers.
    #[error("the memory already has {limit} notifiers")]
    TooManyNotifiers {
        /// The maximum.
        limit: usize,
    },
    /// A protection request's range is not host-page aligned.
    #[error("range {start:#x}..{end:#x} is not aligned to host pages")]
    UnalignedRange {
        /// Start of the range.
        start: usize,
        /// End of the range.
        end: usize,
    },
    /// Code memory is already published read+execute and can no longer be written.
    #[error("code memory is already published and can no longer be written")]
    CodePublished,
}

/// `: WHICH LIMIT AND WHAT TO CHANGE` for an error that has hit one.
fn limit_hit(limit: &Option<ProcessLimit>) -> String {
    limit
        .as_ref()
        .map(|limit| format!(": {limit}"))
        .unwrap_or_default()
}

fn display_limit(limit: Option<u64>) -> String {
    match limit {
        Some(bytes) => format!("{bytes} bytes"),
        None => "unlimited".to_string(),
    }
}

impl MemoryError {
    pub(crate) fn syscall(call: Syscall, source: io::Error) -> MemoryError {
        // From madvise, ENOMEM means a range that is not mapped; every other
        // call here maps memory or may split a mapping, and may hit a limit.
        let limit = match call {
            Syscall::Madvise => None,
            _ => out_of_memory(&source, 0),
        };
        MemoryError::SyscallFailed {
            call,
            limit,
            source,
        }
    }

    pub(crate) fn map_failed(bytes: u64, source: io::Error) -> MemoryError {
        MemoryError::MapFailed {
            bytes,
            limit: out_of_memory(&source, bytes),
            source,
        }
    }

    pub(crate) fn pin(bytes: u64, source: io::Error) -> MemoryError {
        MemoryError::PinFailed {
            bytes,
            kind: PinFailure::from_errno(source.raw_os_error()),
            errno: source.raw_os_error().unwrap_or(0),
            memlock_limit: crate::sys::memlock_limit(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_errors_name_the_cause() {
        for (errno, kind) in [
            (libc::ENOMEM, PinFailure::LimitExceeded),
            (libc::EAGAIN, PinFailure::Again),
            (libc::EPERM, PinFailure::NotPermitted),
            (libc::EINVAL, PinFailure::Other),
        ] {
            let error = MemoryError::pin(4096, io::Error::from_raw_os_error(errno));
            match &error {
                MemoryError::PinFailed { kind: found, .. } => assert_eq!(*found, kind),
                other => panic!("unexpected {other:?}"),
            }
            assert!(error.to_string().contains("could not pin 4096 bytes"));
        }
    }
}
