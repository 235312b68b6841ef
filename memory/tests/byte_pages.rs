//! Custom page sizes: a memory with 1-byte pages (`page_size = 1`) has sizes
//! in bytes that need not be host-page multiples. It grows by any number of
//! bytes, reports its size in pages (bytes), reads zero in every new byte,
//! stops at its maximum to the byte, and keeps its contents when it moves.
//!
//! The tests look at protections by address, so each takes `serial()`.

mod common;

use common::{dynamic, host_page, page_is_accessible, peek, poke, serial};
use remap_memory::{LinearMemory, MemoryConfig, MemoryError};

/// A dynamic memory with 1-byte pages.
fn byte_paged(initial: u64, reserve: u64, maximum: Option<u64>) -> LinearMemory {
    LinearMemory::new(MemoryConfig {
        page_size: 1,
        maximum_bytes: maximum,
        ..dynamic(initial, reserve, host_page())
    })
    .unwrap()
}

/// Checks the memory is `len` bytes long by every measure, that the host
/// page holding its last byte is accessible and the one after the rounded
/// length is not, and that exactly the rounded length is committed.
fn assert_len(memory: &LinearMemory, len: u64) {
    let rounded = len.next_multiple_of(host_page());
    assert_eq!(memory.len_bytes(), len);
    assert_eq!(memory.size_pages(), len);
    assert_eq!(memory.view().len as u64, len);
    assert_eq!(memory.stats().committed_bytes, rounded);
    let base = memory.view().base as usize;
    if len > 0 {
        assert!(page_is_accessible(base + len as usize - 1));
    }
    assert!(!page_is_accessible(base + rounded as usize));
}

#[test]
fn growth_by_bytes_that_are_not_host_page_multiples() {
    let _serial = serial();
    let memory = byte_paged(0, 16 * host_page(), None);
    let base = memory.view().base;
    assert_len(&memory, 0);
    let mut len = 0;
    for (step, delta) in [1, 4095, 4097, 1, 8191, 3].into_iter().enumerate() {
        assert_eq!(memory.grow(delta).unwrap(), len, "grow({delta})");
        let old_len = len;
        len += delta;
        assert_len(&memory, len);
        for offset in [old_len, (old_len + len) / 2, len - 1] {
            assert_eq!(peek(&memory, offset), 0, "new byte at {offset}");
        }
        poke(&memory, len - 1, step as u8 + 1);
    }
    assert_eq!(
        memory.grow(0).unwrap(),
        len,
        "growing by zero reports the size"
    );
    assert_eq!(memory.view().base, base, "all within the room: no move");
    assert_eq!(peek(&memory, 0), 1);
    assert_eq!(peek(&memory, 4095), 2);
    assert_eq!(peek(&memory, len - 1), 6);
    assert_eq!(memory.stats().grows, 6);
}

#[test]
fn growth_stops_at_the_maximum_to_the_byte() {
    let _serial = serial();
    const MAXIMUM: u64 = 65_537;
    let memory = byte_paged(0, 0, Some(MAXIMUM));
    assert_eq!(memory.grow(MAXIMUM - 1).unwrap(), 0);
    let refused = |memory: &LinearMemory, delta| {
        let stats = memory.stats();
        let view = memory.view();
        let error = memory.grow(delta).unwrap_err();
        assert!(
            matches!(
                error,
                MemoryError::ExceedsMaximum {
                    requested_bytes,
                    maximum_bytes: MAXIMUM,
                } if requested_bytes == memory.len_bytes() + delta
            ),
            "{error}"
        );
        assert_eq!(memory.view(), view);
        assert_eq!(memory.stats(), stats);
    };
    refused(&memory, 2);
    assert_eq!(memory.grow(1).unwrap(), MAXIMUM - 1);
    assert_len(&memory, MAXIMUM);
    poke(&memory, MAXIMUM - 1, 0x5a);
    refused(&memory, 1);
    assert_eq!(
        memory.capacity_bytes(),
        MAXIMUM.next_multiple_of(host_page()),
        "a relocation reserves no room past the maximum"
    );
    assert_eq!(peek(&memory, MAXIMUM - 1), 0x5a);

    let limited = LinearMemory::new(MemoryConfig {
        page_size: 1,
        limit_bytes: Some(4097),
        ..dynamic(0, 0, host_page())
    })
    .unwrap();
    assert!(matches!(
        limited.grow(4098),
        Err(MemoryError::ExceedsLimit {
            requested_bytes: 4098,
            limit_bytes: 4097,
        })
    ));
    assert_eq!(limited.grow(4097).unwrap(), 0);
    assert_len(&limited, 4097);
}

#[test]
fn a_relocation_keeps_the_contents_of_a_byte_paged_memory() {
    let _serial = serial();
    const INITIAL: u64 = 5000;
    let memory = byte_paged(INITIAL, 0, None);
    assert_len(&memory, INITIAL);
    let pattern = |offset: u64| (offset * 31 % 251) as u8 + 1;
    for offset in 0..INITIAL {
        poke(&memory, offset, pattern(offset));
    }
    // One byte more still fits the last host page: no move.
    let old = memory.view();
    assert_eq!(memory.grow(1).unwrap(), INITIAL);
    assert_eq!(memory.view().base, old.base);
    assert_eq!(peek(&memory, INITIAL), 0);

    // One byte past the reservation's room: the pages move.
    let capacity = memory.capacity_bytes();
    let new_len = capacity + 1;
    assert_eq!(memory.grow(new_len - (INITIAL + 1)).unwrap(), INITIAL + 1);
    let new = memory.view();
    assert_ne!(new.base, old.base, "the memory moved");
    assert_eq!(memory.stats().relocations, 1);
    assert_len(&memory, new_len);
    // The old address is no longer ours. Whether it is accessible is not
    // asserted: libtest may map the next test thread's stack there as soon as
    // the pages moved away.
    assert!(!memory.reservation().contains(&(old.base as usize)));
    for offset in 0..INITIAL {
        assert_eq!(peek(&memory, offset), pattern(offset), "byte {offset}");
    }
    for offset in INITIAL..new_len {
        assert_eq!(peek(&memory, offset), 0, "byte {offset}");
    }
}
