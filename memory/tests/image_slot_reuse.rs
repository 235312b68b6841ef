//! Issue 16: a slot retired by a memory with a copy-on-write image comes
//! back as that image, without its user's writes, for the next memory with
//! the same image (mapping nothing), and as zero, or as the other image,
//! for a memory without it; the cache prefers a slot that already holds the
//! wanted image.

mod common;

use common::{dynamic, peek, poke, serial};
use remap_memory::fault_injection;
use remap_memory::{MemoryConfig, MemoryImage, SlotCache, Syscall, WASM_PAGE_SIZE};
use std::sync::Arc;

const PAGE: u64 = WASM_PAGE_SIZE;

fn image_of(value: u8, offset: u64, len: usize) -> Arc<MemoryImage> {
    let data = vec![value; len];
    Arc::new(
        MemoryImage::new([(offset, data.as_slice())])
            .unwrap()
            .unwrap(),
    )
}

fn config() -> MemoryConfig {
    dynamic(4 * PAGE, 4 * PAGE, PAGE)
}

#[test]
fn a_reused_slot_returns_to_its_image_without_the_previous_writes() {
    let _serial = serial();
    // Keeping pages resident must not reach into the image.
    let cache = SlotCache::new(4, 4 * PAGE as usize);
    let image = image_of(0x5a, 100, 2 * PAGE as usize);
    let first = cache
        .create_with_image(config(), Some(image.clone()))
        .unwrap();
    let base = first.view().base;
    for offset in [0, 100, PAGE, 2 * PAGE + 99, 3 * PAGE] {
        poke(&first, offset, 0xee);
    }
    first.grow(1).unwrap();
    poke(&first, 4 * PAGE, 0xee);
    cache.recycle(first);
    assert_eq!(cache.len(), 1);

    let _record = fault_injection::record();
    let second = cache
        .create_with_image(config(), Some(image.clone()))
        .unwrap();
    assert!(
        !fault_injection::calls().contains(&Syscall::Mmap),
        "the image is mapped already: {:?}",
        fault_injection::calls()
    );
    assert_eq!(second.view().base, base, "the same slot");
    assert_eq!(peek(&second, 0), 0);
    assert_eq!(peek(&second, 99), 0);
    assert_eq!(peek(&second, 100), 0x5a);
    assert_eq!(peek(&second, PAGE), 0x5a);
    assert_eq!(peek(&second, 2 * PAGE + 99), 0x5a);
    assert_eq!(peek(&second, 2 * PAGE + 100), 0);
    assert_eq!(peek(&second, 3 * PAGE), 0);
    second.grow(1).unwrap();
    assert_eq!(peek(&second, 4 * PAGE), 0);
}

#[test]
fn a_slot_with_an_image_serves_other_memories_with_their_own_contents() {
    let _serial = serial();
    let cache = SlotCache::new(4, 0);
    let image = image_of(0x5a, 0, 3 * PAGE as usize);
    let first = cache
        .create_with_image(config(), Some(image.clone()))
        .unwrap();
    let base = first.view().base;
    poke(&first, 10, 0xee);
    cache.recycle(first);

    let plain = cache.create(config()).unwrap();
    assert_eq!(plain.view().base, base, "the same slot");
    assert!(plain.image().is_none());
    for offset in [0, 10, PAGE, 3 * PAGE - 1, 3 * PAGE] {
        assert_eq!(
            peek(&plain, offset),
            0,
            "no byte of the image or its writes at {offset}"
        );
    }
    poke(&plain, 20, 0xdd);
    cache.recycle(plain);

    let other = image_of(0x77, PAGE, 10);
    let second = cache
        .create_with_image(config(), Some(other.clone()))
        .unwrap();
    assert_eq!(second.view().base, base, "the same slot");
    assert!(Arc::ptr_eq(&second.image().unwrap(), &other));
    assert_eq!(peek(&second, 20), 0);
    assert_eq!(peek(&second, PAGE), 0x77);
    assert_eq!(peek(&second, PAGE + 10), 0);
    cache.recycle(second);

    let third = cache
        .create_with_image(config(), Some(image.clone()))
        .unwrap();
    assert_eq!(peek(&third, PAGE), 0x5a, "the other image is gone");
    assert_eq!(peek(&third, 10), 0x5a);
}

#[test]
fn the_cache_prefers_a_slot_holding_the_wanted_image() {
    let _serial = serial();
    let cache = SlotCache::new(4, 0);
    let image = image_of(1, 0, 10);
    let with_image = cache
        .create_with_image(config(), Some(image.clone()))
        .unwrap();
    let plain = cache.create(config()).unwrap();
    let imaged_base = with_image.view().base;
    let plain_base = plain.view().base;
    cache.recycle(with_image);
    cache.recycle(plain);
    let again = cache.create_with_image(config(), Some(image)).unwrap();
    assert_eq!(again.view().base, imaged_base);
    let zero = cache.create(config()).unwrap();
    assert_eq!(zero.view().base, plain_base);
}
