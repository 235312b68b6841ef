//! At the limits of the process, a failed mapping says which limit was hit
//! and what to change: `vm.max_map_count` when the process has used up its
//! mappings (where the kernel's own error is only "Cannot allocate memory"),
//! the address space when reservations have filled it.

mod common;

use common::{dynamic, in_child};
use remap_memory::{
    LinearMemory, MemoryConfig, MemoryError, MemoryStyle, ProcessLimit, Syscall, WASM_PAGE_SIZE,
    fault_injection,
};

const PAGE: u64 = WASM_PAGE_SIZE;

/// The limit a failed mapping reports, if any.
fn limit_of(error: &MemoryError) -> Option<ProcessLimit> {
    match error {
        MemoryError::MapFailed { limit, .. } | MemoryError::SyscallFailed { limit, .. } => *limit,
        _ => None,
    }
}

/// Creates memories from `config` until one fails, frees them and returns
/// the failure (whose diagnosis was made at the limit).
fn fill_until_failure(config: MemoryConfig) -> MemoryError {
    let mut memories = Vec::new();
    loop {
        // A memory takes a mapping or more and a few KiB of address space
        // at least, so a million of them reach any limit of a default system.
        assert!(
            memories.len() < 1 << 20,
            "no limit of the process was reached"
        );
        match LinearMemory::new(config.clone()) {
            Ok(memory) => memories.push(memory),
            Err(error) => return error,
        }
    }
}

#[test]
fn memories_past_vm_max_map_count_fail_naming_the_limit() {
    // Using up the mappings would starve every other test of this binary
    // (a new thread's stack is a mapping): it runs in a child process.
    if !in_child("memories_past_vm_max_map_count_fail_naming_the_limit") {
        return;
    }
    // Each memory is two mappings or more (accessible and not): the
    // kernel's limit (65,530 by default) comes first.
    let error = fill_until_failure(dynamic(PAGE, PAGE, PAGE));
    let message = error.to_string();
    assert!(
        matches!(limit_of(&error), Some(ProcessLimit::MappingCount { .. })),
        "{error:?}"
    );
    assert!(message.contains("limit on memory mappings"), "{message}");
    assert!(message.contains("sysctl -w vm.max_map_count="), "{message}");
}

#[test]
fn static_memories_past_the_address_space_fail_naming_it() {
    // Filling the address space would starve every other test of this
    // binary: it runs in a child process. 8 GiB reservations of inaccessible,
    // uncommitted address space fill 128 TiB after about 16,000 memories.
    if !in_child("static_memories_past_the_address_space_fail_naming_it") {
        return;
    }
    let error = fill_until_failure(MemoryConfig {
        style: MemoryStyle::WASM32_STATIC,
        initial_bytes: 0,
        ..MemoryConfig::default()
    });
    let message = error.to_string();
    // The kernel places a reservation below the 4 GiB floor when nothing
    // is free above it, or refuses it outright: either way the message says so.
    assert!(
        matches!(
            error,
            MemoryError::LowAddress { .. }
                | MemoryError::MapFailed {
                    limit: Some(ProcessLimit::AddressSpaceFull { .. }),
                    ..
                }
        ),
        "{error:?}"
    );
    assert!(message.contains("address space"), "{message}");
    assert!(message.contains("use fewer memories at once"), "{message}");
}

#[test]
fn an_enomem_from_mprotect_names_the_mapping_limit() {
    let memory = LinearMemory::new(dynamic(PAGE, 4 * PAGE, PAGE)).unwrap();
    let _fault = fault_injection::fail(Syscall::Mprotect, 0, libc::ENOMEM);
    let error = memory.grow(1).unwrap_err();
    assert!(
        matches!(
            error,
            MemoryError::SyscallFailed {
                call: Syscall::Mprotect,
                limit: Some(ProcessLimit::Undetermined { .. }),
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("mprotect failed: "), "{message}");
    assert!(message.contains("vm.max_map_count"), "{message}");
}

#[test]
fn other_errors_name_no_limit() {
    let memory = LinearMemory::new(dynamic(PAGE, 4 * PAGE, PAGE)).unwrap();
    let fault = fault_injection::fail(Syscall::Mprotect, 0, libc::EACCES);
    let error = memory.grow(1).unwrap_err();
    assert_eq!(limit_of(&error), None, "{error:?}");
    assert_eq!(error.to_string(), "mprotect failed");
    drop(fault);
    // From madvise, ENOMEM means an unmapped range: no limit of the process.
    let memory = LinearMemory::new(dynamic(3 * PAGE, 0, PAGE)).unwrap();
    let _fault = fault_injection::fail(Syscall::Madvise, 0, libc::ENOMEM);
    let error = memory.reset(1).unwrap_err();
    assert!(
        matches!(
            error,
            MemoryError::SyscallFailed {
                call: Syscall::Madvise,
                limit: None,
                ..
            }
        ),
        "{error:?}"
    );
}
