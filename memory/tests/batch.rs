//! Issue 2, point 5: lazy batched protection changes.

use remap_memory::fault_injection;
use remap_memory::{Advice, CodeMemory, Protection, ProtectionBatch, Syscall, host_page_size};

#[test]
fn a_thousand_adjacent_single_page_requests_become_one_system_call() {
    let page = host_page_size();
    let mut code = CodeMemory::new(1000 * page).unwrap();
    let start = code.as_mut_slice().unwrap().as_mut_ptr() as usize;
    let _record = fault_injection::record();
    let mut batch = ProtectionBatch::lazy();
    for index in 0..1000 {
        let at = start + index * page;
        // SAFETY: the range belongs to `code`, which nothing else references.
        unsafe { batch.protect(at..at + page, Protection::Read) }.unwrap();
    }
    assert!(
        fault_injection::calls().is_empty(),
        "nothing issued while lazy"
    );
    batch.leave_lazy().unwrap();
    assert_eq!(fault_injection::calls(), [Syscall::Mprotect]);
    assert_eq!((batch.requested(), batch.issued()), (1000, 1));
    // SAFETY: the last page is readable now.
    assert_eq!(unsafe { *((start + 999 * page) as *const u8) }, 0);
}

#[test]
fn madvise_requests_merge_and_a_dependent_protect_flushes_first() {
    let page = host_page_size();
    let mut code = CodeMemory::new(8 * page).unwrap();
    let bytes = code.as_mut_slice().unwrap();
    bytes.fill(9);
    let start = bytes.as_mut_ptr() as usize;
    let _record = fault_injection::record();
    let mut batch = ProtectionBatch::lazy();
    // SAFETY: the ranges belong to `code`; its slice is not used across the changes.
    unsafe {
        batch
            .advise(start..start + 2 * page, Advice::DontNeed)
            .unwrap();
        batch
            .advise(start + 2 * page..start + 4 * page, Advice::DontNeed)
            .unwrap();
        assert!(fault_injection::calls().is_empty());
        // Depends on the discard having happened: the batch flushes it first.
        batch
            .protect(start..start + page, Protection::Read)
            .unwrap();
        assert_eq!(fault_injection::calls(), [Syscall::Madvise]);
    }
    batch.flush().unwrap();
    assert_eq!(
        fault_injection::calls(),
        [Syscall::Madvise, Syscall::Mprotect]
    );
    assert_eq!((batch.requested(), batch.issued()), (3, 2));
    // SAFETY: the pages are still mapped (read-only or read/write).
    let zeroed = unsafe { std::slice::from_raw_parts(start as *const u8, 4 * page) };
    assert!(zeroed.iter().all(|&b| b == 0));
}

#[test]
fn dropping_a_lazy_batch_issues_what_is_queued() {
    let page = host_page_size();
    let mut code = CodeMemory::new(page).unwrap();
    let start = code.as_mut_slice().unwrap().as_mut_ptr() as usize;
    let _record = fault_injection::record();
    {
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: the range belongs to `code`.
        unsafe { batch.protect(start..start + page, Protection::Read) }.unwrap();
    }
    assert_eq!(fault_injection::calls(), [Syscall::Mprotect]);
}
