//! What the kernel reports about this process's memory: its sizes and their
//! peaks (`/proc/self/status`), and, when the kernel refuses a mapping with
//! `ENOMEM`, which limit of the process was reached and what to change.
//!
//! `ENOMEM` from `mmap`, `mprotect`, `mremap` or `munmap` means one of: the
//! process has as many mappings as `vm.max_map_count` allows (changing the
//! protection of part of a mapping splits it in two or three), its address
//! space is full (`RLIMIT_AS`, or the whole user address space), or the
//! system cannot commit more memory. [`ProcessLimit::diagnose`] tells them
//! apart from the process's state right after the failure; reading it never
//! maps memory, so it works at the mapping limit too.

use std::fs::File;
use std::io::{self, Read};

/// Bytes of user address space a process has on x86-64 and AArch64 with
/// 4-level page tables (47 bits); mappings above it need an explicit hint.
const USER_ADDRESS_SPACE: u64 = 1 << 47;

/// Mappings a failed call may have needed on top of the ones that exist:
/// a protection change in the middle of a mapping splits it into three, and
/// `/proc/self/maps` lists the `[vsyscall]` page, which is no mapping.
const MAPPINGS_PER_CALL: u64 = 3;

/// The process's memory sizes as the kernel reports them (`/proc/self/status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessMemory {
    /// Address space in use now (`VmSize`), reservations included.
    pub virtual_bytes: u64,
    /// Peak of the address space in use (`VmPeak`).
    pub peak_virtual_bytes: u64,
    /// Resident size now (`VmRSS`): the RAM the process uses at this moment.
    pub resident_bytes: u64,
    /// Peak resident size (`VmHWM`): the most RAM the process has used at once.
    pub peak_resident_bytes: u64,
}

impl ProcessMemory {
    /// Reads the sizes from `/proc/self/status`.
    pub fn read() -> io::Result<ProcessMemory> {
        let mut buffer = [0u8; 8192];
        let text = read_small_file("/proc/self/status", &mut buffer)?;
        let field = |name: &str| {
            status_field_bytes(text, name).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("/proc/self/status has no {name}"),
                )
            })
        };
        Ok(ProcessMemory {
            virtual_bytes: field("VmSize")?,
            peak_virtual_bytes: field("VmPeak")?,
            resident_bytes: field("VmRSS")?,
            peak_resident_bytes: field("VmHWM")?,
        })
    }
}

/// The value of `NAME:   123 kB` in `/proc/self/status` text, in bytes.
fn status_field_bytes(status: &str, name: &str) -> Option<u64> {
    let line = status
        .lines()
        .find(|line| line.split(':').next() == Some(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Reads a small text file into `buffer`, without allocating (at the
/// mapping limit, an allocation could need a new mapping and fail too).
fn read_small_file<'a>(path: &str, buffer: &'a mut [u8]) -> io::Result<&'a str> {
    let mut file = File::open(path)?;
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    std::str::from_utf8(&buffer[..filled])
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// What `/proc/self/maps` says about the process's mappings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mappings {
    /// How many there are.
    count: u64,
    /// The largest range of user address space that no mapping uses.
    largest_gap: u64,
    /// Where the previous mapping in the user address space ended.
    previous_end: u64,
}

impl Mappings {
    /// Reads `/proc/self/maps`.
    fn read() -> io::Result<Mappings> {
        Mappings::summarize(File::open("/proc/self/maps")?)
    }

    /// Goes through `maps` (in the format of `/proc/self/maps`) a block at
    /// a time, keeping only each line's `START-END` field.
    fn summarize(mut maps: impl Read) -> io::Result<Mappings> {
        let mut mappings = Mappings::default();
        let mut block = [0u8; 8192];
        // `START-END` in hex is at most 33 bytes; longer text is no range.
        let mut range = [0u8; 40];
        let (mut len, mut in_range) = (0, true);
        loop {
            let n = maps.read(&mut block)?;
            if n == 0 {
                break;
            }
            for &byte in &block[..n] {
                match byte {
                    b'\n' => (len, in_range) = (0, true),
                    b' ' if in_range => {
                        in_range = false;
                        mappings.add(&range[..len])?;
                    }
                    _ if in_range && len < range.len() => {
                        range[len] = byte;
                        len += 1;
                    }
                    _ => {}
                }
            }
        }
        mappings.largest_gap = mappings
            .largest_gap
            .max(USER_ADDRESS_SPACE.saturating_sub(mappings.previous_end));
        Ok(mappings)
    }

    /// Counts the mapping whose `START-END` field is `range`.
    fn add(&mut self, range: &[u8]) -> io::Result<()> {
        let invalid =
            || io::Error::new(io::ErrorKind::InvalidData, "a bad line in /proc/self/maps");
        let range = std::str::from_utf8(range).map_err(|_| invalid())?;
        let (start, end) = range.split_once('-').ok_or_else(invalid)?;
        let start = u64::from_str_radix(start, 16).map_err(|_| invalid())?;
        let end = u64::from_str_radix(end, 16).map_err(|_| invalid())?;
        self.count += 1;
        // `[vsyscall]` lies above the user address space.
        if start < USER_ADDRESS_SPACE {
            self.largest_gap = self
                .largest_gap
                .max(start.saturating_sub(self.previous_end));
            self.previous_end = end;
        }
        Ok(())
    }
}

/// The most mappings the kernel allows a process (`vm.max_map_count`).
fn max_mapping_count() -> io::Result<u64> {
    let mut buffer = [0u8; 32];
    read_small_file("/proc/sys/vm/max_map_count", &mut buffer)?
        .trim()
        .parse()
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Which limit an `ENOMEM` from the kernel points to, with what to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessLimit {
    /// The process has as many mappings as `vm.max_map_count` allows.
    MappingCount {
        /// Mappings the process has.
        mappings: u64,
        /// `vm.max_map_count`.
        limit: u64,
    },
    /// The address-space limit (`RLIMIT_AS`, `ulimit -v`) leaves no room
    /// for the request.
    AddressSpaceLimit {
        /// Address space in use.
        in_use: u64,
        /// Bytes the failed call asked for.
        requested: u64,
        /// `RLIMIT_AS`.
        limit: u64,
    },
    /// No free range of the user address space is large enough.
    AddressSpaceFull {
        /// The largest free range.
        largest_free: u64,
        /// Bytes the failed call asked for.
        requested: u64,
    },
    /// No limit of the process is plainly reached: the system may be short
    /// of memory it can commit.
    Undetermined {
        /// Mappings the process has, if known.
        mappings: Option<u64>,
        /// `vm.max_map_count`, if known.
        limit: Option<u64>,
    },
}

impl ProcessLimit {
    /// Which limit a call that asked for `requested` more bytes of address
    /// space (0 for a call that only changes existing mappings) ran into,
    /// judged from the process's state now.
    pub fn diagnose(requested: u64) -> ProcessLimit {
        ProcessLimit::classify(
            Mappings::read().ok(),
            max_mapping_count().ok(),
            ProcessMemory::read()
                .ok()
                .map(|memory| memory.virtual_bytes),
            crate::sys::address_space_limit(),
            requested,
        )
    }

    fn classify(
        mappings: Option<Mappings>,
        max_mappings: Option<u64>,
        in_use: Option<u64>,
        address_space_limit: Option<u64>,
        requested: u64,
    ) -> ProcessLimit {
        let count = mappings.map(|mappings| mappings.count);
        if let (Some(count), Some(limit)) = (count, max_mappings)
            && count.saturating_add(MAPPINGS_PER_CALL) >= limit
        {
            return ProcessLimit::MappingCount {
                mappings: count,
                limit,
            };
        }
        if requested > 0 {
            if let (Some(in_use), Some(limit)) = (in_use, address_space_limit)
                && in_use.saturating_add(requested) > limit
            {
                return ProcessLimit::AddressSpaceLimit {
                    in_use,
                    requested,
                    limit,
                };
            }
            if let Some(mappings) = mappings
                && mappings.largest_gap < requested
            {
                return ProcessLimit::AddressSpaceFull {
                    largest_free: mappings.largest_gap,
                    requested,
                };
            }
        }
        ProcessLimit::Undetermined {
            mappings: count,
            limit: max_mappings,
        }
    }
}

impl std::fmt::Display for ProcessLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ProcessLimit::MappingCount { mappings, limit } => write!(
                f,
                "the process has reached the kernel's limit on memory mappings \
                 ({mappings} mappings, vm.max_map_count = {limit}); raise it \
                 (as root: `sysctl -w vm.max_map_count={}`) or use fewer memories at once",
                limit.saturating_mul(4)
            ),
            ProcessLimit::AddressSpaceLimit {
                in_use,
                requested,
                limit,
            } => write!(
                f,
                "the process's address-space limit (RLIMIT_AS, `ulimit -v`) of {limit} bytes \
                 leaves no room for {requested} more ({in_use} in use); raise it, or use \
                 dynamic memories, which reserve far less address space than static ones \
                 (8 GiB each)"
            ),
            ProcessLimit::AddressSpaceFull {
                largest_free,
                requested,
            } => write!(
                f,
                "the process's address space is full (its largest free range is \
                 {largest_free} bytes, {requested} were asked for); use fewer memories at \
                 once, or dynamic memories, which reserve far less address space than static \
                 ones (8 GiB each)"
            ),
            ProcessLimit::Undetermined { mappings, limit } => {
                write!(
                    f,
                    "the kernel is out of memory for mappings: the system may be short \
                     of memory it can commit, or the mapping count limit \
                     (vm.max_map_count) may have been reached"
                )?;
                if let (Some(mappings), Some(limit)) = (mappings, limit) {
                    write!(f, " ({mappings} of {limit} mappings in use)")?;
                }
                write!(
                    f,
                    "; it is raised with `sysctl -w vm.max_map_count=N` as root"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    /// A process with `count` mappings whose largest free range is `largest_gap`.
    fn mappings(count: u64, largest_gap: u64) -> Option<Mappings> {
        Some(Mappings {
            count,
            largest_gap,
            previous_end: 0,
        })
    }

    #[test]
    fn reads_this_processs_sizes_and_mappings() {
        let memory = ProcessMemory::read().unwrap();
        assert!(memory.virtual_bytes > 0);
        assert!(memory.peak_virtual_bytes >= memory.virtual_bytes);
        assert!(memory.peak_resident_bytes > 0);
        let mappings = Mappings::read().unwrap();
        assert!(mappings.count > 0);
        assert!(mappings.largest_gap > GIB, "{mappings:?}");
        assert!(max_mapping_count().unwrap() > 0);
    }

    #[test]
    fn status_fields_are_read_in_bytes() {
        let status = "VmPeak:\t  2048 kB\nVmSize:\t   1024 kB\nVmHWM:\t      12 kB\n";
        assert_eq!(status_field_bytes(status, "VmPeak"), Some(2 << 20));
        assert_eq!(status_field_bytes(status, "VmHWM"), Some(12 << 10));
        assert_eq!(status_field_bytes(status, "VmRSS"), None);
    }

    #[test]
    fn maps_give_the_count_and_the_largest_free_range() {
        let maps = "\
00400000-00500000 r-xp 00000000 08:01 42 /usr/bin/a program with spaces
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
7ffffff00000-7ffffffff000 rw-p 00000000 00:00 0 [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]
";
        let mappings = Mappings::summarize(maps.as_bytes()).unwrap();
        assert_eq!(mappings.count, 4);
        assert_eq!(mappings.largest_gap, 0x7f0000000000 - 0x500000);
        // The free range after the last mapping counts too.
        let mappings = Mappings::summarize(&b"1000-2000 rw-p 0 0:0 0\n"[..]).unwrap();
        assert_eq!(mappings.largest_gap, USER_ADDRESS_SPACE - 0x2000);
        assert!(Mappings::summarize(&b"zz-2000 rw-p\n"[..]).is_err());
    }

    #[test]
    fn a_process_at_its_mapping_limit_is_told_to_raise_vm_max_map_count() {
        let limit =
            ProcessLimit::classify(mappings(65_530, GIB), Some(65_530), Some(GIB), None, 4096);
        assert_eq!(
            limit,
            ProcessLimit::MappingCount {
                mappings: 65_530,
                limit: 65_530
            }
        );
        let text = limit.to_string();
        assert!(text.contains("vm.max_map_count = 65530"), "{text}");
        assert!(text.contains("sysctl -w vm.max_map_count=262120"), "{text}");
    }

    #[test]
    fn a_request_past_rlimit_as_names_ulimit_v() {
        let limit = ProcessLimit::classify(
            mappings(100, 100 * GIB),
            Some(65_530),
            Some(GIB),
            Some(4 * GIB),
            8 * GIB,
        );
        assert!(
            matches!(limit, ProcessLimit::AddressSpaceLimit { .. }),
            "{limit:?}"
        );
        let text = limit.to_string();
        assert!(text.contains("RLIMIT_AS, `ulimit -v`"), "{text}");
        assert!(text.contains("dynamic memories"), "{text}");
    }

    #[test]
    fn a_request_larger_than_any_free_range_says_the_address_space_is_full() {
        let limit = ProcessLimit::classify(
            mappings(100, 2 * GIB),
            Some(65_530),
            Some(GIB),
            None,
            8 * GIB,
        );
        assert_eq!(
            limit,
            ProcessLimit::AddressSpaceFull {
                largest_free: 2 * GIB,
                requested: 8 * GIB
            }
        );
        assert!(
            limit.to_string().contains("address space is full"),
            "{limit}"
        );
    }

    #[test]
    fn otherwise_the_message_still_names_the_mapping_limit() {
        for requested in [0, 4096] {
            let limit = ProcessLimit::classify(
                mappings(100, GIB),
                Some(65_530),
                Some(GIB),
                None,
                requested,
            );
            let text = limit.to_string();
            assert!(text.contains("(100 of 65530 mappings in use)"), "{text}");
            assert!(text.contains("sysctl -w vm.max_map_count=N"), "{text}");
        }
        let unknown = ProcessLimit::classify(None, None, None, None, 0).to_string();
        assert!(unknown.contains("vm.max_map_count"), "{unknown}");
        assert!(!unknown.contains("in use)"), "{unknown}");
    }
}
