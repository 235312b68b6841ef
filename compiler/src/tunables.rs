//! The memory and code-generation policy shared by the compiler and the
//! runtime.
//!
//! [`Tunables`] is the engine-wide *policy* (a forced style, reservation and
//! guard sizes, Spectre hardening, deterministic relaxed SIMD).
//! [`Tunables::memory_plan`] turns it into one [`MemoryPlan`] per memory
//! type. The compiler derives each memory's bounds checks from that plan and
//! the runtime lays the memory out from the very same plan, so code and
//! layout cannot disagree.

use crate::types::{IndexType, MemoryType};
use serde::{Deserialize, Serialize};

/// Bytes reserved for a static memory by default: a 32-bit index space.
pub const DEFAULT_STATIC_MEMORY_RESERVATION: u64 = 1 << 32;
/// Guard after a static memory by default: with a 4 GiB reservation, any
/// 32-bit index plus 32-bit offset lands inside reservation + guard.
pub const DEFAULT_STATIC_GUARD_BYTES: u64 = 1 << 32;
/// Guard after a dynamic memory by default: lets accesses with small offsets
/// share one explicit check of their index.
pub const DEFAULT_DYNAMIC_GUARD_BYTES: u64 = 64 * 1024;
/// Room a dynamic memory may grow into before it is relocated, by default.
pub const DEFAULT_DYNAMIC_MEMORY_RESERVE: u64 = 16 << 20;
/// Bytes of each arena slot by default: 16 Wasm pages, so that a memory of
/// a few pages grows in place, and two slots share a page-table page.
pub const DEFAULT_ARENA_SLOT_BYTES: u64 = 1 << 20;

/// How one linear memory is laid out in virtual memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemoryStyle {
    /// A large fixed reservation plus a guard: the base never moves and,
    /// when the reservation covers the whole index space, compiled code
    /// needs no explicit bounds checks.
    Static,
    /// A small reservation that is relocated with `mremap` when outgrown;
    /// compiled code checks bounds against the cached bound and reloads the
    /// base after any call.
    Dynamic,
    /// A slot of a shared arena (one kernel mapping for many memories, see
    /// remap-memory's `Arena`) with no guard: compiled code checks the full
    /// end of every access against the bound, and reloads the base after
    /// any call, since a memory that outgrows its slot relocates like a
    /// dynamic one. Only memories whose initial size fits a slot and that
    /// are not shared get it; the others are dynamic.
    Arena,
}

/// Compilation and memory-layout policy of an engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunables {
    /// A style forced on every memory that can have it (32-bit memories with
    /// 64 KiB pages); `None` picks static where address space allows.
    pub memory_style: Option<MemoryStyle>,
    /// Bytes reserved for a static memory.
    pub static_memory_reservation: u64,
    /// Bytes of guard after each memory; `None` for the style's default
    /// ([`DEFAULT_STATIC_GUARD_BYTES`], [`DEFAULT_DYNAMIC_GUARD_BYTES`]).
    pub memory_guard_size: Option<u64>,
    /// Room a dynamic memory may grow into before it is relocated.
    pub dynamic_memory_reserve: u64,
    /// Bytes of each slot of the arena memories of [`MemoryStyle::Arena`] live in.
    pub arena_slot_bytes: u64,
    /// Harden explicit bounds checks against speculative execution: an
    /// out-of-bounds access computes a null address instead of branching.
    pub spectre_mitigations: bool,
    /// Give every relaxed SIMD instruction the result of the Wasm
    /// deterministic profile instead of what this CPU computes fastest, so
    /// the results are the same on every host (see `translate/relaxed_simd.rs`).
    pub relaxed_simd_deterministic: bool,
    /// Run Cranelift's IR verifier on every function (slower; for tests).
    pub verify_ir: bool,
    /// Charge every operator's fuel cost and trap when the store's fuel
    /// runs out (translate/fuel.rs has the cost model).
    pub consume_fuel: bool,
    /// Check the engine's epoch against the store's deadline at every
    /// function entry and loop header (translate/epoch.rs).
    pub epoch_interruption: bool,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            memory_style: None,
            static_memory_reservation: DEFAULT_STATIC_MEMORY_RESERVATION,
            memory_guard_size: None,
            dynamic_memory_reserve: DEFAULT_DYNAMIC_MEMORY_RESERVE,
            arena_slot_bytes: DEFAULT_ARENA_SLOT_BYTES,
            spectre_mitigations: true,
            relaxed_simd_deterministic: false,
            verify_ir: false,
            consume_fuel: false,
            epoch_interruption: false,
        }
    }
}

/// How one memory is laid out and checked: the agreement between the code
/// the compiler emits and the reservation the runtime maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Whether the memory may move.
    pub style: MemoryStyle,
    /// Bytes reserved up front (a dynamic memory may outgrow them by moving).
    pub reservation_bytes: u64,
    /// Inaccessible bytes after the reservation (static) or after the
    /// accessible part (dynamic).
    pub guard_bytes: u64,
    /// Whether every access needs an explicit bounds check. When false, the
    /// reservation covers the whole index space and only accesses whose
    /// static end lies past the guard are checked.
    pub needs_explicit_checks: bool,
}

impl MemoryPlan {
    /// Whether an access that ends `end` bytes past its index (static offset
    /// plus access size) must be checked explicitly.
    pub fn access_needs_check(&self, end: u64) -> bool {
        self.needs_explicit_checks || end > self.guard_bytes
    }
}

impl Tunables {
    /// The layout and checks of a memory of type `ty`.
    ///
    /// Static where address space allows: a 32-bit memory with 64 KiB pages,
    /// unless a dynamic style is forced. A 64-bit memory is always dynamic
    /// (its index space does not fit in a reservation), and so is a memory
    /// whose page size is not 64 KiB: its accessible size need not be a
    /// multiple of the host page, so the guard cannot catch every overrun.
    ///
    /// A forced arena style applies to every memory that is not shared and
    /// whose initial size fits a slot, whatever its index type and page
    /// size; the others are dynamic. An arena plan has no guard: every
    /// access is checked in full.
    pub fn memory_plan(&self, ty: &MemoryType) -> MemoryPlan {
        let can_be_static = ty.index_type() == IndexType::I32
            && ty.page_size_log2() == MemoryType::DEFAULT_PAGE_SIZE_LOG2;
        let fits_arena_slot = !ty.is_shared()
            && ty
                .minimum()
                .checked_mul(ty.page_size())
                .is_some_and(|bytes| bytes <= self.arena_slot_bytes);
        let style = match self.memory_style {
            Some(MemoryStyle::Arena) if fits_arena_slot => MemoryStyle::Arena,
            Some(MemoryStyle::Arena) => MemoryStyle::Dynamic,
            forced if can_be_static => forced.unwrap_or(MemoryStyle::Static),
            _ => MemoryStyle::Dynamic,
        };
        let (reservation_bytes, guard_bytes) = match style {
            MemoryStyle::Static => (
                self.static_memory_reservation,
                self.memory_guard_size.unwrap_or(DEFAULT_STATIC_GUARD_BYTES),
            ),
            MemoryStyle::Dynamic => (
                self.dynamic_memory_reserve,
                self.memory_guard_size
                    .unwrap_or(DEFAULT_DYNAMIC_GUARD_BYTES),
            ),
            MemoryStyle::Arena => (self.arena_slot_bytes, 0),
        };
        let needs_explicit_checks = match style {
            MemoryStyle::Static => reservation_bytes < ty.index_type().index_space_bytes(),
            MemoryStyle::Dynamic | MemoryStyle::Arena => true,
        };
        MemoryPlan {
            style,
            reservation_bytes,
            guard_bytes,
            needs_explicit_checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(memory64: bool, page_size_log2: u8) -> MemoryType {
        let ty = if memory64 {
            MemoryType::new64(1, None)
        } else {
            MemoryType::new(1, None)
        };
        ty.with_page_size_log2(page_size_log2).unwrap()
    }

    #[test]
    fn static_where_address_space_allows() {
        let tunables = Tunables::default();
        let plan = tunables.memory_plan(&memory(false, 16));
        assert_eq!(plan.style, MemoryStyle::Static);
        assert_eq!(plan.guard_bytes, DEFAULT_STATIC_GUARD_BYTES);
        assert!(!plan.needs_explicit_checks);
        assert!(!plan.access_needs_check(8));
        assert!(plan.access_needs_check(DEFAULT_STATIC_GUARD_BYTES + 1));
        for other in [memory(true, 16), memory(false, 0)] {
            let plan = tunables.memory_plan(&other);
            assert_eq!(plan.style, MemoryStyle::Dynamic);
            assert_eq!(plan.reservation_bytes, DEFAULT_DYNAMIC_MEMORY_RESERVE);
            assert_eq!(plan.guard_bytes, DEFAULT_DYNAMIC_GUARD_BYTES);
            assert!(plan.needs_explicit_checks);
        }
    }

    #[test]
    fn a_forced_style_applies_to_32_bit_memories_with_64k_pages_only() {
        let tunables = Tunables {
            memory_style: Some(MemoryStyle::Static),
            static_memory_reservation: 1 << 20,
            memory_guard_size: Some(4096),
            ..Tunables::default()
        };
        let plan = tunables.memory_plan(&memory(false, 16));
        assert_eq!(plan.style, MemoryStyle::Static);
        assert_eq!(plan.guard_bytes, 4096);
        assert!(
            plan.needs_explicit_checks,
            "1 MiB cannot hold 4 GiB of indices"
        );
        assert_eq!(
            tunables.memory_plan(&memory(true, 16)).style,
            MemoryStyle::Dynamic
        );
        let dynamic = Tunables {
            memory_style: Some(MemoryStyle::Dynamic),
            ..Tunables::default()
        };
        assert_eq!(
            dynamic.memory_plan(&memory(false, 16)).style,
            MemoryStyle::Dynamic
        );
    }

    #[test]
    fn arena_plans_have_no_trusted_guard_and_need_a_fitting_initial_size() {
        let tunables = Tunables {
            memory_style: Some(MemoryStyle::Arena),
            arena_slot_bytes: 2 << 16,
            ..Tunables::default()
        };
        for ty in [memory(false, 16), memory(true, 16), memory(false, 0)] {
            let plan = tunables.memory_plan(&ty);
            assert_eq!(plan.style, MemoryStyle::Arena);
            assert_eq!(plan.reservation_bytes, 2 << 16);
            assert_eq!(plan.guard_bytes, 0);
            assert!(plan.needs_explicit_checks);
            assert!(plan.access_needs_check(1));
        }
        let too_big = MemoryType::new(3, None);
        assert_eq!(tunables.memory_plan(&too_big).style, MemoryStyle::Dynamic);
    }
}
