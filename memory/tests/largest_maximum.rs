//! Memory64 maxima reach the top of the `u64` range (2^48 pages of 64 KiB
//! do not even fit, so an embedder saturates to `u64::MAX`): a memory with
//! such a maximum or limit grows and relocates like any other, and a request
//! past it is a typed error with the memory unchanged.

mod common;

use common::dynamic;
use remap_memory::{LinearMemory, MemoryConfig, MemoryError, WASM_PAGE_SIZE};

const PAGE: u64 = WASM_PAGE_SIZE;

#[test]
fn a_maximum_or_limit_near_u64_max_does_not_stop_relocation() {
    let largest = [u64::MAX, u64::MAX - 1, u64::MAX / PAGE * PAGE];
    let bounds = largest
        .iter()
        .map(|&maximum| (Some(maximum), None))
        .chain(largest.iter().map(|&limit| (None, Some(limit))));
    for (maximum_bytes, limit_bytes) in bounds {
        let memory = LinearMemory::new(MemoryConfig {
            maximum_bytes,
            limit_bytes,
            ..dynamic(PAGE, 0, PAGE)
        })
        .unwrap();
        assert_eq!(
            memory.grow(1).unwrap(),
            1,
            "maximum {maximum_bytes:?}, limit {limit_bytes:?}"
        );
        assert_eq!(memory.stats().relocations, 1);
        assert_eq!(memory.capacity_bytes(), 4 * PAGE, "room as without a bound");
        let view = memory.view();
        let stats = memory.stats();
        let error = memory.grow(u64::MAX / PAGE).unwrap_err();
        assert!(
            matches!(
                error,
                MemoryError::Overflow { .. }
                    | MemoryError::ExceedsMaximum { .. }
                    | MemoryError::ExceedsLimit { .. }
            ),
            "{error}"
        );
        assert_eq!(memory.view(), view);
        assert_eq!(memory.stats(), stats);
    }
}
