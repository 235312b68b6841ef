//! Code in a mapped file (a precompiled module) runs where it lies: one
//! protection change makes its pages read+execute, nothing is copied, and
//! the bytes before it stay readable data.

mod common;

use common::protection_at;
use remap_memory::fault_injection;
use remap_memory::{CodeMemory, MappedFile, MemoryError, Syscall, host_page_size};
use std::io::Write;
use std::sync::Arc;

/// x86-64: `mov eax, 42; ret`.
const RETURN_42: &[u8] = &[0xb8, 42, 0, 0, 0, 0xc3];

/// A file of one page of header bytes, then `code`.
fn file_with_code(code: &[u8]) -> Arc<MappedFile> {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&vec![7u8; host_page_size()]).unwrap();
    file.write_all(code).unwrap();
    Arc::new(MappedFile::map(&file).unwrap())
}

#[cfg(target_arch = "x86_64")]
#[test]
fn code_in_a_mapped_file_runs_in_place() {
    let page = host_page_size();
    let file = file_with_code(RETURN_42);
    let _record = fault_injection::record();
    let code = CodeMemory::in_mapped_file(file.clone(), page..page + RETURN_42.len()).unwrap();
    assert_eq!(fault_injection::calls(), [Syscall::Mprotect]);
    assert!(code.is_published() && code.is_mapped_file());
    assert_eq!(
        code.as_ptr() as usize,
        file.as_slice().as_ptr() as usize + page
    );
    assert_eq!(
        protection_at(code.as_ptr() as usize).as_deref(),
        Some("r-xp")
    );
    assert_eq!(
        protection_at(file.as_slice().as_ptr() as usize).as_deref(),
        Some("r--p")
    );
    assert!(file.as_slice()[..page].iter().all(|&byte| byte == 7));
    // SAFETY: the published bytes are `mov eax, 42; ret`, a complete function
    // of the C calling convention.
    let function: extern "C" fn() -> i32 = unsafe { std::mem::transmute(code.as_ptr()) };
    assert_eq!(function(), 42);
}

#[test]
fn unaligned_or_empty_code_is_refused() {
    let page = host_page_size();
    let file = file_with_code(RETURN_42);
    for range in [1..RETURN_42.len(), page..page, page..page + 4 * page] {
        assert!(
            matches!(
                CodeMemory::in_mapped_file(file.clone(), range.clone()),
                Err(MemoryError::UnalignedRange { .. })
            ),
            "{range:?}"
        );
    }
}
