//! Remap's WASI errno numbers checked against the preview 1 C header that wasi-libc
//! ships (`wasi/api.h`, generated from the witx): every `__WASI_ERRNO_*` constant there
//! must have the same value here. Needs the Debian package wasi-libc.

use remap::wasi::Errno;

const HEADER: &str = "/usr/include/wasm32-wasi/wasi/api.h";

/// Each variant with its witx name as the header spells it.
const NAMES: &[(Errno, &str)] = &[
    (Errno::TooBig, "2BIG"),
    (Errno::Acces, "ACCES"),
    (Errno::AddrInUse, "ADDRINUSE"),
    (Errno::AddrNotAvail, "ADDRNOTAVAIL"),
    (Errno::AfNoSupport, "AFNOSUPPORT"),
    (Errno::Again, "AGAIN"),
    (Errno::Already, "ALREADY"),
    (Errno::Badf, "BADF"),
    (Errno::BadMsg, "BADMSG"),
    (Errno::Busy, "BUSY"),
    (Errno::Canceled, "CANCELED"),
    (Errno::Child, "CHILD"),
    (Errno::ConnAborted, "CONNABORTED"),
    (Errno::ConnRefused, "CONNREFUSED"),
    (Errno::ConnReset, "CONNRESET"),
    (Errno::Deadlk, "DEADLK"),
    (Errno::DestAddrReq, "DESTADDRREQ"),
    (Errno::Dom, "DOM"),
    (Errno::Dquot, "DQUOT"),
    (Errno::Exist, "EXIST"),
    (Errno::Fault, "FAULT"),
    (Errno::Fbig, "FBIG"),
    (Errno::HostUnreach, "HOSTUNREACH"),
    (Errno::Idrm, "IDRM"),
    (Errno::Ilseq, "ILSEQ"),
    (Errno::InProgress, "INPROGRESS"),
    (Errno::Intr, "INTR"),
    (Errno::Inval, "INVAL"),
    (Errno::Io, "IO"),
    (Errno::IsConn, "ISCONN"),
    (Errno::IsDir, "ISDIR"),
    (Errno::Loop, "LOOP"),
    (Errno::Mfile, "MFILE"),
    (Errno::Mlink, "MLINK"),
    (Errno::MsgSize, "MSGSIZE"),
    (Errno::Multihop, "MULTIHOP"),
    (Errno::NameTooLong, "NAMETOOLONG"),
    (Errno::NetDown, "NETDOWN"),
    (Errno::NetReset, "NETRESET"),
    (Errno::NetUnreach, "NETUNREACH"),
    (Errno::Nfile, "NFILE"),
    (Errno::NoBufs, "NOBUFS"),
    (Errno::NoDev, "NODEV"),
    (Errno::NoEnt, "NOENT"),
    (Errno::NoExec, "NOEXEC"),
    (Errno::NoLck, "NOLCK"),
    (Errno::NoLink, "NOLINK"),
    (Errno::NoMem, "NOMEM"),
    (Errno::NoMsg, "NOMSG"),
    (Errno::NoProtoOpt, "NOPROTOOPT"),
    (Errno::NoSpc, "NOSPC"),
    (Errno::NoSys, "NOSYS"),
    (Errno::NotConn, "NOTCONN"),
    (Errno::NotDir, "NOTDIR"),
    (Errno::NotEmpty, "NOTEMPTY"),
    (Errno::NotRecoverable, "NOTRECOVERABLE"),
    (Errno::NotSock, "NOTSOCK"),
    (Errno::NotSup, "NOTSUP"),
    (Errno::NoTty, "NOTTY"),
    (Errno::Nxio, "NXIO"),
    (Errno::Overflow, "OVERFLOW"),
    (Errno::OwnerDead, "OWNERDEAD"),
    (Errno::Perm, "PERM"),
    (Errno::Pipe, "PIPE"),
    (Errno::Proto, "PROTO"),
    (Errno::ProtoNoSupport, "PROTONOSUPPORT"),
    (Errno::ProtoType, "PROTOTYPE"),
    (Errno::Range, "RANGE"),
    (Errno::Rofs, "ROFS"),
    (Errno::Spipe, "SPIPE"),
    (Errno::Srch, "SRCH"),
    (Errno::Stale, "STALE"),
    (Errno::TimedOut, "TIMEDOUT"),
    (Errno::TxtBsy, "TXTBSY"),
    (Errno::Xdev, "XDEV"),
    (Errno::NotCapable, "NOTCAPABLE"),
];

#[test]
fn errno_values_match_the_preview1_header() {
    let header = std::fs::read_to_string(HEADER).unwrap_or_else(|err| {
        panic!("cannot read {HEADER} ({err}): install the Debian package wasi-libc")
    });
    let mut checked = 0;
    for line in header.lines() {
        let Some(rest) = line.strip_prefix("#define __WASI_ERRNO_") else {
            continue;
        };
        let (name, value) = rest.split_once(' ').unwrap();
        let value: u16 = value
            .trim_start_matches("(UINT16_C(")
            .trim_end_matches("))")
            .parse()
            .unwrap();
        if name == "SUCCESS" {
            assert_eq!(value, 0);
            continue;
        }
        let (errno, _) = NAMES
            .iter()
            .find(|(_, witx)| *witx == name)
            .unwrap_or_else(|| panic!("errno {name} is missing from remap::wasi::Errno"));
        assert_eq!(errno.raw(), value, "{name}");
        checked += 1;
    }
    assert_eq!(
        checked,
        NAMES.len(),
        "every Errno variant appears in the header"
    );
    assert_eq!(checked, 76);
}
