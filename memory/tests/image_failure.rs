//! Issue 16: a memory image that cannot be built or mapped is a typed
//! error that leaves nothing behind: no descriptor, no memory, nothing
//! charged or counted, and no slot half-way between two images.

mod common;

use common::{dynamic, peek, serial};
use remap_memory::fault_injection;
use remap_memory::{
    Accounting, LinearMemory, MemoryConfig, MemoryError, MemoryImage, SlotCache, Syscall,
    WASM_PAGE_SIZE,
};
use std::sync::Arc;

const PAGE: u64 = WASM_PAGE_SIZE;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn config(owner: &Accounting) -> MemoryConfig {
    MemoryConfig {
        accounting: Some(owner.clone()),
        ..dynamic(2 * PAGE, 0, PAGE)
    }
}

#[test]
fn a_failed_build_is_a_typed_error_and_closes_its_file() {
    // Other tests here open image files: no descriptor count while they run.
    let _serial = serial();
    let data = vec![1u8; 100];
    for call in [
        Syscall::MemfdCreate,
        Syscall::Ftruncate,
        Syscall::Pwrite,
        Syscall::Fcntl,
    ] {
        let before = open_descriptors();
        let error = {
            let _fault = fault_injection::fail(call, 0, libc::ENOSPC);
            MemoryImage::new([(0, data.as_slice())]).unwrap_err()
        };
        match &error {
            MemoryError::SyscallFailed { call: failed, .. } => assert_eq!(*failed, call),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            error.to_string().starts_with(&format!("{call} failed")),
            "{error}"
        );
        assert_eq!(
            open_descriptors(),
            before,
            "{call}: no descriptor left open"
        );
    }
}

#[test]
fn a_failed_mapping_leaves_nothing_charged() {
    let _serial = serial();
    let data = vec![1u8; 100];
    let image = Arc::new(
        MemoryImage::new([(PAGE, data.as_slice())])
            .unwrap()
            .unwrap(),
    );
    let owner = Accounting::new();
    {
        // The reservation is the first mmap, the image's mapping the second.
        let _fault = fault_injection::fail(Syscall::Mmap, 1, libc::ENOMEM);
        let error = LinearMemory::with_image(config(&owner), Some(image.clone())).unwrap_err();
        assert!(
            matches!(
                error,
                MemoryError::SyscallFailed {
                    call: Syscall::Mmap,
                    ..
                }
            ),
            "{error}"
        );
        assert!(!fault_injection::pending());
    }
    assert_eq!(owner.stats().committed_bytes, 0);
    let memory = LinearMemory::with_image(config(&owner), Some(image)).unwrap();
    assert_eq!(peek(&memory, PAGE), 1);
}

#[test]
fn a_slot_that_fails_to_change_images_is_dropped() {
    let _serial = serial();
    let first = vec![1u8; 100];
    let second = vec![2u8; 100];
    let first = Arc::new(MemoryImage::new([(0, first.as_slice())]).unwrap().unwrap());
    let second = Arc::new(
        MemoryImage::new([(PAGE, second.as_slice())])
            .unwrap()
            .unwrap(),
    );
    let owner = Accounting::new();
    let cache = SlotCache::new(2, 0);
    cache.recycle(
        cache
            .create_with_image(config(&owner), Some(first))
            .unwrap(),
    );
    assert_eq!(cache.len(), 1);
    {
        // The first mmap replaces the old image with zero pages.
        let _fault = fault_injection::fail(Syscall::Mmap, 0, libc::ENOMEM);
        assert!(
            cache
                .create_with_image(config(&owner), Some(second.clone()))
                .is_err()
        );
        assert!(!fault_injection::pending());
    }
    assert_eq!(cache.len(), 0, "the slot is gone, not kept half-changed");
    assert_eq!(owner.stats().committed_bytes, 0);
    let memory = cache
        .create_with_image(config(&owner), Some(second))
        .unwrap();
    assert_eq!(peek(&memory, 0), 0);
    assert_eq!(peek(&memory, PAGE), 2);
}
