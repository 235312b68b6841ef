//! Helpers shared by the integration tests: configurations and probes of
//! the process's memory state through /proc and mincore.

#![allow(dead_code)] // each test binary uses a different subset

use remap_memory::{LinearMemory, MemoryConfig, MemoryStyle, fault_injection, host_page_size};

/// A dynamic memory of `initial` bytes with `reserve` bytes of room and a `guard`.
pub fn dynamic(initial: u64, reserve: u64, guard: u64) -> MemoryConfig {
    MemoryConfig {
        style: MemoryStyle::Dynamic {
            reserve_bytes: reserve,
            guard_bytes: guard,
        },
        initial_bytes: initial,
        ..MemoryConfig::default()
    }
}

/// A field of /proc/self/status in bytes (e.g. "VmLck", "VmRSS").
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .unwrap();
    kib * 1024
}

/// The process's resident set size in bytes.
pub fn resident_bytes() -> u64 {
    status_bytes("VmRSS")
}

/// Starts a new peak-resident-size measurement: the kernel's high-water
/// mark (VmHWM) falls back to the current resident size.
pub fn reset_peak_resident() {
    std::fs::write("/proc/self/clear_refs", "5").expect("cannot reset VmHWM");
}

/// The peak resident size in bytes since the last [`reset_peak_resident`].
pub fn peak_resident_bytes() -> u64 {
    status_bytes("VmHWM")
}

/// The protection string ("rw-p", "---p", ...) of the mapping containing `address`.
pub fn protection_at(address: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let perms = fields.next()?;
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        (start <= address && address < end).then(|| perms.to_string())
    })
}

/// Whether the host page containing `address` is mapped readable and writable.
pub fn page_is_accessible(address: usize) -> bool {
    protection_at(address).is_some_and(|perms| perms.starts_with("rw"))
}

/// Bytes reported "Locked:" in /proc/self/smaps for the mappings overlapping `range`.
pub fn locked_bytes_in(range: std::ops::Range<usize>) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    let mut total = 0;
    for line in smaps.lines() {
        if let Some((span, _)) = line.split_once(' ')
            && let Some((start, end)) = span.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            inside = start < range.end && range.start < end;
            continue;
        }
        if inside && let Some(rest) = line.strip_prefix("Locked:") {
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().unwrap();
            total += kib * 1024;
        }
    }
    total
}

/// The host page size as u64.
pub fn host_page() -> u64 {
    host_page_size() as u64
}

/// Called when this process may not lock the memory a pinning test needs:
/// fails the test with what to do, unless `REMAP_SKIP_PIN_TESTS` is set,
/// in which case it says the test is skipped and returns.
pub fn pinning_unavailable(why: &str) {
    if std::env::var_os("REMAP_SKIP_PIN_TESTS").is_some() {
        eprintln!("skipping (REMAP_SKIP_PIN_TESTS is set): {why}");
    } else {
        panic!(
            "{why}: raise the limit (`ulimit -l unlimited`, or run as root), or set \
             REMAP_SKIP_PIN_TESTS=1 to skip the pinning tests"
        );
    }
}

/// Whether this process may lock `bytes` more bytes: raises the soft
/// `RLIMIT_MEMLOCK` to the hard one first; root (`CAP_IPC_LOCK`) is not
/// bound by it. If it may not, reports that through [`pinning_unavailable`].
pub fn can_pin(bytes: u64) -> bool {
    let limit = fault_injection::raise_memlock_soft_limit().unwrap();
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"));
    match limit {
        Some(limit) if !root && limit < bytes + status_bytes("VmLck") => {
            pinning_unavailable(&format!(
                "RLIMIT_MEMLOCK is {limit} bytes, below the {bytes} bytes this test pins"
            ));
            false
        }
        _ => true,
    }
}

/// The byte at `offset` of `memory`'s current view.
pub fn peek(memory: &LinearMemory, offset: u64) -> u8 {
    let view = memory.view();
    let offset = usize::try_from(offset).unwrap();
    assert!(offset < view.len, "{offset:#x} is outside the memory");
    // SAFETY: the byte is inside the view, which is accessible while the
    // memory lives and the test does not change it concurrently.
    unsafe { view.base.add(offset).read() }
}

/// Writes `value` at `offset` of `memory`'s current view.
pub fn poke(memory: &LinearMemory, offset: u64, value: u8) {
    let view = memory.view();
    let offset = usize::try_from(offset).unwrap();
    assert!(offset < view.len, "{offset:#x} is outside the memory");
    // SAFETY: as in `peek`; the test owns the memory's contents.
    unsafe { view.base.add(offset).write(value) }
}

/// Serialises the tests of one binary that inspect the address space or
/// process-wide counters: while one of them looks at an address it just
/// unmapped (or at VmHWM), no other test may map memory there (or touch pages).
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs the calling test's body in a fresh child process, for a test that
/// changes the process for good (drops a capability, lowers a limit, uses up
/// its mappings): returns `true` in the child, which then runs the body; in
/// the parent, runs the child, asserts it passed and returns `false`.
pub fn in_child(test: &str) -> bool {
    if std::env::var_os("REMAP_TEST_CHILD").is_some() {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("REMAP_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "child did not run the test:\n{stdout}"
    );
    eprint!("{stderr}");
    false
}
