//! WASI preview 1 error numbers (`errno` in `wasi_snapshot_preview1.witx`) and the
//! translation of host errors into them.

use std::io;

/// A WASI preview 1 `errno`. The discriminants are the values the witx gives them;
/// a guest sees exactly these numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum Errno {
    TooBig = 1,
    Acces = 2,
    AddrInUse = 3,
    AddrNotAvail = 4,
    AfNoSupport = 5,
    Again = 6,
    Already = 7,
    Badf = 8,
    BadMsg = 9,
    Busy = 10,
    Canceled = 11,
    Child = 12,
    ConnAborted = 13,
    ConnRefused = 14,
    ConnReset = 15,
    Deadlk = 16,
    DestAddrReq = 17,
    Dom = 18,
    Dquot = 19,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    HostUnreach = 23,
    Idrm = 24,
    Ilseq = 25,
    InProgress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    IsConn = 30,
    IsDir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    MsgSize = 35,
    Multihop = 36,
    NameTooLong = 37,
    NetDown = 38,
    NetReset = 39,
    NetUnreach = 40,
    Nfile = 41,
    NoBufs = 42,
    NoDev = 43,
    NoEnt = 44,
    NoExec = 45,
    NoLck = 46,
    NoLink = 47,
    NoMem = 48,
    NoMsg = 49,
    NoProtoOpt = 50,
    NoSpc = 51,
    NoSys = 52,
    NotConn = 53,
    NotDir = 54,
    NotEmpty = 55,
    NotRecoverable = 56,
    NotSock = 57,
    NotSup = 58,
    NoTty = 59,
    Nxio = 60,
    Overflow = 61,
    OwnerDead = 62,
    Perm = 63,
    Pipe = 64,
    Proto = 65,
    ProtoNoSupport = 66,
    ProtoType = 67,
    Range = 68,
    Rofs = 69,
    Spipe = 70,
    Srch = 71,
    Stale = 72,
    TimedOut = 73,
    TxtBsy = 74,
    Xdev = 75,
    NotCapable = 76,
}

/// The result of a WASI host function body: `Ok` becomes errno 0 (`success`).
pub type WasiResult<T> = Result<T, Errno>;

impl Errno {
    /// The number the guest sees.
    pub fn raw(self) -> u16 {
        self as u16
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WASI errno {} ({:?})", self.raw(), self)
    }
}

impl std::error::Error for Errno {}

impl From<rustix::io::Errno> for Errno {
    fn from(host: rustix::io::Errno) -> Self {
        use rustix::io::Errno as H;
        match host {
            H::TOOBIG => Errno::TooBig,
            H::ACCESS => Errno::Acces,
            H::ADDRINUSE => Errno::AddrInUse,
            H::ADDRNOTAVAIL => Errno::AddrNotAvail,
            H::AFNOSUPPORT => Errno::AfNoSupport,
            H::AGAIN => Errno::Again,
            H::ALREADY => Errno::Already,
            H::BADF => Errno::Badf,
            H::BADMSG => Errno::BadMsg,
            H::BUSY => Errno::Busy,
            H::CANCELED => Errno::Canceled,
            H::CHILD => Errno::Child,
            H::CONNABORTED => Errno::ConnAborted,
            H::CONNREFUSED => Errno::ConnRefused,
            H::CONNRESET => Errno::ConnReset,
            H::DEADLK => Errno::Deadlk,
            H::DESTADDRREQ => Errno::DestAddrReq,
            H::DOM => Errno::Dom,
            H::DQUOT => Errno::Dquot,
            H::EXIST => Errno::Exist,
            H::FAULT => Errno::Fault,
            H::FBIG => Errno::Fbig,
            H::HOSTUNREACH => Errno::HostUnreach,
            H::IDRM => Errno::Idrm,
            H::ILSEQ => Errno::Ilseq,
            H::INPROGRESS => Errno::InProgress,
            H::INTR => Errno::Intr,
            H::INVAL => Errno::Inval,
            H::IO => Errno::Io,
            H::ISCONN => Errno::IsConn,
            H::ISDIR => Errno::IsDir,
            H::LOOP => Errno::Loop,
            H::MFILE => Errno::Mfile,
            H::MLINK => Errno::Mlink,
            H::MSGSIZE => Errno::MsgSize,
            H::MULTIHOP => Errno::Multihop,
            H::NAMETOOLONG => Errno::NameTooLong,
            H::NETDOWN => Errno::NetDown,
            H::NETRESET => Errno::NetReset,
            H::NETUNREACH => Errno::NetUnreach,
            H::NFILE => Errno::Nfile,
            H::NOBUFS => Errno::NoBufs,
            H::NODEV => Errno::NoDev,
            H::NOENT => Errno::NoEnt,
            H::NOEXEC => Errno::NoExec,
            H::NOLCK => Errno::NoLck,
            H::NOLINK => Errno::NoLink,
            H::NOMEM => Errno::NoMem,
            H::NOMSG => Errno::NoMsg,
            H::NOPROTOOPT => Errno::NoProtoOpt,
            H::NOSPC => Errno::NoSpc,
            H::NOSYS => Errno::NoSys,
            H::NOTCONN => Errno::NotConn,
            H::NOTDIR => Errno::NotDir,
            H::NOTEMPTY => Errno::NotEmpty,
            H::NOTRECOVERABLE => Errno::NotRecoverable,
            H::NOTSOCK => Errno::NotSock,
            H::NOTSUP => Errno::NotSup,
            H::NOTTY => Errno::NoTty,
            H::NXIO => Errno::Nxio,
            H::OVERFLOW => Errno::Overflow,
            H::OWNERDEAD => Errno::OwnerDead,
            H::PERM => Errno::Perm,
            H::PIPE => Errno::Pipe,
            H::PROTO => Errno::Proto,
            H::PROTONOSUPPORT => Errno::ProtoNoSupport,
            H::PROTOTYPE => Errno::ProtoType,
            H::RANGE => Errno::Range,
            H::ROFS => Errno::Rofs,
            H::SPIPE => Errno::Spipe,
            H::SRCH => Errno::Srch,
            H::STALE => Errno::Stale,
            H::TIMEDOUT => Errno::TimedOut,
            H::TXTBSY => Errno::TxtBsy,
            H::XDEV => Errno::Xdev,
            // Host errors with no WASI counterpart are reported as generic I/O failures.
            _ => Errno::Io,
        }
    }
}

impl From<io::Error> for Errno {
    fn from(err: io::Error) -> Self {
        if let Some(raw) = err.raw_os_error() {
            return rustix::io::Errno::from_raw_os_error(raw).into();
        }
        match err.kind() {
            io::ErrorKind::NotFound => Errno::NoEnt,
            io::ErrorKind::PermissionDenied => Errno::Acces,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::Unsupported => Errno::NotSup,
            io::ErrorKind::OutOfMemory => Errno::NoMem,
            _ => Errno::Io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_witx() {
        assert_eq!(Errno::TooBig.raw(), 1);
        assert_eq!(Errno::Badf.raw(), 8);
        assert_eq!(Errno::Fault.raw(), 21);
        assert_eq!(Errno::Inval.raw(), 28);
        assert_eq!(Errno::NoEnt.raw(), 44);
        assert_eq!(Errno::NoSys.raw(), 52);
        assert_eq!(Errno::NotDir.raw(), 54);
        assert_eq!(Errno::NotSup.raw(), 58);
        assert_eq!(Errno::Perm.raw(), 63);
        assert_eq!(Errno::Spipe.raw(), 70);
        assert_eq!(Errno::NotCapable.raw(), 76);
    }

    #[test]
    fn host_errors_translate() {
        assert_eq!(Errno::from(rustix::io::Errno::NOENT), Errno::NoEnt);
        assert_eq!(Errno::from(rustix::io::Errno::LOOP), Errno::Loop);
        let io_err = io::Error::from_raw_os_error(rustix::io::Errno::NOTEMPTY.raw_os_error());
        assert_eq!(Errno::from(io_err), Errno::NotEmpty);
        assert_eq!(Errno::from(io::Error::other("synthetic")), Errno::Io);
    }
}
