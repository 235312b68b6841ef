//! Issue 2, point 9: executable memory for compiled code.

mod common;

use common::protection_at;
use remap_memory::fault_injection;
use remap_memory::{CodeMemory, MemoryError, RESERVATION_FLOOR, Syscall};

/// x86-64: `mov eax, 42; ret`.
#[cfg(target_arch = "x86_64")]
const RETURN_42: &[u8] = &[0xb8, 42, 0, 0, 0, 0xc3];

#[cfg(target_arch = "x86_64")]
#[test]
fn written_code_runs_after_one_protection_change() {
    let mut code = CodeMemory::new(RETURN_42.len()).unwrap();
    assert_eq!(
        protection_at(code.as_ptr() as usize).as_deref(),
        Some("rw-p")
    );
    assert!(code.as_ptr() as usize >= RESERVATION_FLOOR);
    code.as_mut_slice().unwrap().copy_from_slice(RETURN_42);
    let _record = fault_injection::record();
    code.publish().unwrap();
    assert_eq!(
        fault_injection::calls(),
        [Syscall::Mprotect],
        "one protection change"
    );
    assert_eq!(
        protection_at(code.as_ptr() as usize).as_deref(),
        Some("r-xp")
    );
    assert!(code.is_published());
    assert_eq!(code.len(), RETURN_42.len());
    let stats = code.stats();
    assert_eq!(
        (
            stats.protection_calls_requested,
            stats.protection_calls_issued
        ),
        (1, 1)
    );
    // SAFETY: the bytes are a complete function with the C ABI, now executable.
    let function: extern "C" fn() -> i32 = unsafe { std::mem::transmute(code.as_ptr()) };
    assert_eq!(function(), 42);
}

#[test]
fn published_code_cannot_be_written_or_republished() {
    let mut code = CodeMemory::new(16).unwrap();
    code.publish().unwrap();
    assert!(matches!(
        code.as_mut_slice(),
        Err(MemoryError::CodePublished)
    ));
    assert!(matches!(code.publish(), Err(MemoryError::CodePublished)));
}

#[test]
fn a_failed_publish_leaves_the_code_writable() {
    let mut code = CodeMemory::new(16).unwrap();
    let _fault = fault_injection::fail(Syscall::Mprotect, 0, libc::EACCES);
    assert!(matches!(
        code.publish(),
        Err(MemoryError::SyscallFailed {
            call: Syscall::Mprotect,
            ..
        })
    ));
    assert!(!code.is_published());
    code.as_mut_slice().unwrap()[0] = 1;
}

#[test]
fn code_memory_is_released_on_drop() {
    let code = CodeMemory::new(4096).unwrap();
    let _record = fault_injection::record();
    drop(code);
    assert_eq!(fault_injection::calls(), [Syscall::Munmap]);
}

#[test]
fn impossible_sizes_are_errors() {
    assert!(matches!(
        CodeMemory::new(usize::MAX),
        Err(MemoryError::Overflow { .. })
    ));
    assert!(matches!(
        CodeMemory::new(usize::MAX / 2),
        Err(MemoryError::MapFailed { .. })
    ));
    let empty = CodeMemory::new(0).unwrap();
    assert!(empty.is_empty());
}
