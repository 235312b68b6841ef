//! How a linear memory is laid out and limited.

use crate::{Accounting, PinBudget};

/// The Wasm page size (64 KiB), the usual growth unit.
pub const WASM_PAGE_SIZE: u64 = 65536;

const GIB: u64 = 1 << 30;

/// How a memory's reservation is sized, and so whether its base can move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryStyle {
    /// The whole possible size is reserved up front, followed by a guard:
    /// growth only changes protection and the base never moves. For a 32-bit
    /// memory, 4 GiB + a 4 GiB guard means every 32-bit index plus 32-bit
    /// offset lands inside the reservation, so no bounds check is needed.
    Static {
        /// Bytes the memory can ever grow to.
        reservation_bytes: u64,
        /// Inaccessible bytes after the reservation.
        guard_bytes: u64,
    },
    /// The initial size plus `reserve_bytes` of room, then a guard. Growth
    /// past the room relocates the memory with `mremap` (the base moves).
    Dynamic {
        /// Room for in-place growth beyond the initial size.
        reserve_bytes: u64,
        /// Inaccessible bytes after the room.
        guard_bytes: u64,
    },
}

impl MemoryStyle {
    /// The static style for a 32-bit Wasm memory: 4 GiB plus a 4 GiB guard.
    pub const WASM32_STATIC: MemoryStyle = MemoryStyle::Static {
        reservation_bytes: 4 * GIB,
        guard_bytes: 4 * GIB,
    };

    /// A dynamic style with the given growth room and guard.
    pub fn dynamic(reserve_bytes: u64, guard_bytes: u64) -> MemoryStyle {
        MemoryStyle::Dynamic {
            reserve_bytes,
            guard_bytes,
        }
    }

    /// Whether the memory's base can move when it grows.
    pub fn is_movable(&self) -> bool {
        matches!(self, MemoryStyle::Dynamic { .. })
    }
}

impl Default for MemoryStyle {
    fn default() -> MemoryStyle {
        MemoryStyle::WASM32_STATIC
    }
}

/// Everything needed to create a [`crate::LinearMemory`].
#[derive(Clone, Debug)]
pub struct MemoryConfig {
    /// Reservation layout.
    pub style: MemoryStyle,
    /// Inaccessible bytes before the memory (rounded up to host pages). Default 64 KiB.
    pub pre_guard_bytes: u64,
    /// Accessible bytes at creation; a multiple of `page_size`.
    pub initial_bytes: u64,
    /// The memory's own maximum (`None` = only `limit_bytes` and the reservation bound it).
    pub maximum_bytes: Option<u64>,
    /// An embedder-configured cap on this memory's size.
    pub limit_bytes: Option<u64>,
    /// The growth unit in bytes (Wasm: 65536).
    pub page_size: u64,
    /// Keep every accessible page locked in RAM (`mlock`).
    pub pinned: bool,
    /// The shared budget pinned bytes are charged to (`None` = only `RLIMIT_MEMLOCK` applies).
    pub pin_budget: Option<PinBudget>,
    /// The owner's shared statistics handle.
    pub accounting: Option<Accounting>,
}

impl Default for MemoryConfig {
    fn default() -> MemoryConfig {
        MemoryConfig {
            style: MemoryStyle::default(),
            pre_guard_bytes: 64 * 1024,
            initial_bytes: 0,
            maximum_bytes: None,
            limit_bytes: None,
            page_size: WASM_PAGE_SIZE,
            pinned: false,
            pin_budget: None,
            accounting: None,
        }
    }
}
