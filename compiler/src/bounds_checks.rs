//! Checked addresses: the one place that turns a Wasm index into a native
//! address, for every linear-memory access, table element access and
//! `call_indirect`.
//!
//! A memory access is described by the memory's [`Heap`] (index type, page
//! size and the [`MemoryPlan`] its layout follows), the index value and the
//! access's static offset and size. Per the plan, an access either needs no
//! explicit check (the reservation plus guard covers every index it can
//! form: a fault there is the trap) or compares its index, or its end,
//! with the memory's cached bound (its accessible size in bytes). A failed
//! check then either
//!
//! - with Spectre mitigations (the default), replaces the address with null
//!   through `select_spectre_guard`, without a branch a CPU could mispredict:
//!   the access itself faults at an address below 16 (page 0 is never
//!   mapped, `vm.mmap_min_addr >= 4096`), its memory flags carry the
//!   heap-out-of-bounds trap code and the runtime turns that fault into the
//!   trap; the static offset is folded in before the select so that the
//!   fault address is exactly `0..size`;
//! - without them, traps with `trapnz` before the access.
//!
//! # The explicit check and why it cannot wrap
//!
//! An access of `size` bytes at `index + offset` is in bounds iff
//! `index + offset + size <= bound`. Let `end = offset + size`, a constant.
//!
//! - 32-bit memories: `index < 2^32`, `offset < 2^32` (validation) and
//!   `size <= 16`, so `index + end < 2^33 + 16`: the 64-bit sum cannot wrap.
//! - 64-bit memories (memory64): `index` and `offset` are both up to
//!   `2^64 - 1`. `end` is computed at compile time with saturating (checked)
//!   arithmetic: when `offset + size` overflows, `end` becomes `u64::MAX`,
//!   which is still correct because every true end past `u64::MAX` is out of
//!   bounds and so is `u64::MAX` (no bound reaches it). At run time
//!   `index + end` is an overflow-checked add (`uadd_overflow_trap`): a sum
//!   that would wrap past `2^64` traps (heap out of bounds) instead of
//!   wrapping to a small, seemingly valid address. The checked sum is then
//!   compared with the bound.
//!
//! When the access ends within the guard (`end <= guard`), comparing the
//! index alone (`index > bound`) is enough: every byte from the bound on is
//! unmapped for at least `guard` bytes, so any byte past the bound faults and
//! that fault is the trap; the index alone cannot wrap, and accesses at one
//! index share the comparison.
//!
//! # Custom page sizes
//!
//! A memory whose page size is below the host page (`(pagesize 1)`) has an
//! accessible size that need not be a multiple of the host page: the bytes
//! from the bound up to the next host page are mapped. Its plan is always
//! dynamic and its guard is not trusted ([`Heap::trusted_guard_bytes`] is 0):
//! every access compares its full end with the bound, so the last byte is
//! accessible and the one past it traps. Sizes and `memory.size` are in those
//! pages (bound >> log2 page size).
//!
//! # Shared memories
//!
//! A shared memory (threads proposal) never moves, so its base is loaded as
//! a fixed value; it may grow on another thread at any time, so where a
//! check needs its bound, the bound is an atomic load of the memory's own
//! length (`FuncEnvironment::memory_bound`) rather than the instance's
//! cached copy. The checks themselves are the same as for its plan's style.
//!
//! # Tables
//!
//! Table accesses always trap with `trapnz` when out of bounds; with Spectre
//! mitigations, the element address is also guarded by
//! `select_spectre_guard`, so a mispredicted branch cannot load past the table.
//! A 64-bit table (table64) compares its i64 index with the size as is; an i32
//! index is zero-extended first. The element offset `index * 8` cannot wrap:
//! it is computed only for indices below the size, which fits in memory.

use crate::Tunables;
use crate::func_environ::FuncEnvironment;
use crate::module_info::ModuleInfo;
use crate::trap::TrapKind;
use crate::tunables::{MemoryPlan, MemoryStyle};
use crate::types::{IndexType, MemoryType};
use crate::vmctx::field;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, TrapCode, Value, types};
use cranelift_frontend::FunctionBuilder;

/// What the compiler knows about one linear memory when it checks accesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Heap {
    /// The memory's index in the module.
    pub memory_index: u32,
    /// The type of the memory's addresses.
    pub index_type: IndexType,
    /// Log2 of the memory's page size in bytes.
    pub page_size_log2: u8,
    /// The layout the runtime gives the memory.
    pub plan: MemoryPlan,
    /// Whether the memory is shared between threads: it never moves, and its
    /// length is read atomically from the memory itself (`func_environ.rs`).
    pub shared: bool,
}

impl Heap {
    /// The heap descriptor of every memory of `info`, by memory index.
    pub fn for_module(info: &ModuleInfo, tunables: &Tunables) -> Vec<Heap> {
        (0..)
            .zip(&info.memories)
            .map(|(memory_index, ty)| Heap::new(memory_index, ty, tunables))
            .collect()
    }

    /// The heap descriptor of memory `memory_index` of type `ty`.
    pub fn new(memory_index: u32, ty: &MemoryType, tunables: &Tunables) -> Heap {
        Heap {
            memory_index,
            index_type: ty.index_type(),
            page_size_log2: ty.page_size_log2(),
            plan: tunables.memory_plan(ty),
            shared: ty.is_shared(),
        }
    }

    /// Bytes past the bound that are guaranteed to fault. The guard of a
    /// memory whose pages are smaller than 64 KiB is not trusted: its
    /// accessible bytes end inside a mapped host page.
    pub fn trusted_guard_bytes(&self) -> u64 {
        if self.page_size_log2 == MemoryType::DEFAULT_PAGE_SIZE_LOG2 {
            self.plan.guard_bytes
        } else {
            0
        }
    }

    /// Whether the memory's base never moves (so it may be loaded once): a
    /// static memory, or a shared one, which reserves its maximum up front.
    pub fn base_is_fixed(&self) -> bool {
        self.plan.style == MemoryStyle::Static || self.shared
    }
}

/// The native address of an `access_size`-byte access at Wasm address
/// `index + offset` in `heap`, checked as the heap's plan requires.
pub(crate) fn memory_address(
    env: &FuncEnvironment<'_>,
    builder: &mut FunctionBuilder<'_>,
    heap: &Heap,
    index: Value,
    offset: u64,
    access_size: u32,
) -> Value {
    // An end past `u64::MAX` is out of bounds, and so is `u64::MAX` itself,
    // which then stands for it (see the module docs).
    let end = offset.saturating_add(u64::from(access_size));
    let index = match heap.index_type {
        IndexType::I32 => builder.ins().uextend(types::I64, index),
        IndexType::I64 => index,
    };
    if !heap.plan.access_needs_check(end) {
        let base = env.memory_base(builder, heap);
        return offset_address(builder, base, index, offset);
    }
    let bound = env.memory_bound(builder, heap);
    // Everything from the bound on is inaccessible (room to grow, then the
    // guard), so when the access ends within the guard, `index <= bound` is
    // enough: any byte past the bound faults and the fault is the trap. The
    // comparison then does not depend on the offset, and accesses at one
    // index share it.
    let checked = if end <= heap.trusted_guard_bytes() {
        index
    } else {
        match heap.index_type {
            // `index < 2^32` and `end <= 2^32 + 16`, so the sum cannot wrap.
            IndexType::I32 => builder.ins().iadd_imm_u(index, end as i64),
            IndexType::I64 => {
                let end = builder.ins().iconst(types::I64, end as i64);
                builder
                    .ins()
                    .uadd_overflow_trap(index, end, TrapCode::HEAP_OUT_OF_BOUNDS)
            }
        }
    };
    let out_of_bounds = builder
        .ins()
        .icmp(IntCC::UnsignedGreaterThan, checked, bound);
    if env.tunables().spectre_mitigations {
        let base = env.memory_base(builder, heap);
        let address = offset_address(builder, base, index, offset);
        let null = builder.ins().iconst(types::I64, 0);
        builder
            .ins()
            .select_spectre_guard(out_of_bounds, null, address)
    } else {
        builder
            .ins()
            .trapnz(out_of_bounds, TrapCode::HEAP_OUT_OF_BOUNDS);
        let base = env.memory_base(builder, heap);
        offset_address(builder, base, index, offset)
    }
}

/// `base + index + offset`.
fn offset_address(
    builder: &mut FunctionBuilder<'_>,
    base: Value,
    index: Value,
    offset: u64,
) -> Value {
    let address = builder.ins().iadd(base, index);
    if offset == 0 {
        address
    } else {
        builder.ins().iadd_imm_u(address, offset as i64)
    }
}

/// The address of element `index` (an i32, or an i64 for a 64-bit table) of
/// table `table`; traps with `trap` when `index` is out of bounds.
pub(crate) fn table_element_address(
    env: &FuncEnvironment<'_>,
    builder: &mut FunctionBuilder<'_>,
    table: u32,
    index: Value,
    trap: TrapKind,
) -> Value {
    let definition = env.table_definition(builder, table);
    let size = env.table_size(builder, table, definition);
    let index = match env.info().tables[table as usize].ty.index_type() {
        IndexType::I32 => builder.ins().uextend(types::I64, index),
        IndexType::I64 => index,
    };
    let out_of_bounds = builder
        .ins()
        .icmp(IntCC::UnsignedGreaterThanOrEqual, index, size);
    builder.ins().trapnz(out_of_bounds, trap.trap_code());
    let base = env.table_base(builder, table, definition);
    let byte_offset = builder
        .ins()
        .ishl_imm_u(index, i64::from(field::TABLE_ELEMENT_SIZE.trailing_zeros()));
    let address = builder.ins().iadd(base, byte_offset);
    if env.tunables().spectre_mitigations {
        // Never taken architecturally (the trap came first); a mispredicted
        // branch past the trap loads from null instead of past the table.
        let null = builder.ins().iconst(types::I64, 0);
        builder
            .ins()
            .select_spectre_guard(out_of_bounds, null, address)
    } else {
        address
    }
}

#[cfg(test)]
mod tests {
    use crate::MemoryStyle;
    use crate::translate::testing::{count, translate, tunables};
    use cranelift_codegen::ir::Opcode;

    const LOAD: &str = r#"(module (memory 1)
        (func (param i32) (result i32) (i32.load offset=8 (local.get 0))))"#;

    #[test]
    fn a_table_of_fixed_size_is_checked_against_a_constant() {
        let table_get = |limits: &str| {
            let wat = format!(
                "(module (table {limits} funcref)
                    (func (param i32) (result funcref) (table.get 0 (local.get 0))))"
            );
            let funcs = translate(&wat, &tunables(MemoryStyle::Static, None, true));
            assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
            count(&funcs[0], Opcode::Load)
        };
        // Definition, size, base and element; the size of a table whose
        // maximum is its minimum is a constant.
        assert_eq!(table_get("2 10"), 4);
        assert_eq!(table_get("2"), 4);
        assert_eq!(table_get("2 2"), 3);
    }

    #[test]
    fn static_memory_access_has_no_explicit_check() {
        for spectre in [true, false] {
            let funcs = translate(LOAD, &tunables(MemoryStyle::Static, None, spectre));
            assert_eq!(count(&funcs[0], Opcode::Trapnz), 0);
            assert_eq!(count(&funcs[0], Opcode::SelectSpectreGuard), 0);
            assert_eq!(count(&funcs[0], Opcode::Load), 2, "base and value");
        }
    }

    #[test]
    fn dynamic_memory_access_checks_the_bound() {
        let funcs = translate(LOAD, &tunables(MemoryStyle::Dynamic, Some(0), false));
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
        assert_eq!(count(&funcs[0], Opcode::SelectSpectreGuard), 0);
        assert_eq!(count(&funcs[0], Opcode::Load), 3, "bound, base and value");
    }

    #[test]
    fn spectre_mitigations_turn_the_check_into_a_null_address() {
        let funcs = translate(LOAD, &tunables(MemoryStyle::Dynamic, Some(0), true));
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 0);
        assert_eq!(count(&funcs[0], Opcode::SelectSpectreGuard), 1);
        assert_eq!(count(&funcs[0], Opcode::Load), 3, "bound, base and value");
    }

    #[test]
    fn a_small_static_reservation_is_checked_explicitly() {
        let mut small = tunables(MemoryStyle::Static, None, true);
        small.static_memory_reservation = 1 << 20;
        let funcs = translate(LOAD, &small);
        assert_eq!(count(&funcs[0], Opcode::SelectSpectreGuard), 1);
    }

    #[test]
    fn a_guard_lets_accesses_at_one_index_share_their_check() {
        const TWO_LOADS: &str = r#"(module (memory 1)
            (func (param i32) (result i32)
                (i32.add (i32.load offset=8 (local.get 0)) (i32.load offset=40 (local.get 0)))))"#;
        let adds = |guard_bytes| {
            let funcs = translate(
                TWO_LOADS,
                &tunables(MemoryStyle::Dynamic, Some(guard_bytes), false),
            );
            assert_eq!(count(&funcs[0], Opcode::Trapnz), 2);
            count(&funcs[0], Opcode::Iadd)
        };
        // Accesses that end within the guard compare the index itself with
        // the bound (one value for both); the others compute their end first.
        let both_in_guard = adds(64);
        assert_eq!(
            adds(16),
            both_in_guard + 1,
            "offset 40 ends past a 16-byte guard"
        );
        assert_eq!(adds(0), both_in_guard + 2, "no guard: both ends computed");
    }

    #[test]
    fn a_64_bit_access_past_the_guard_adds_its_end_with_an_overflow_check() {
        const LOADS: &str = r#"(module (memory i64 1)
            (func (param i64) (result i32)
                (i32.add (i32.load offset=8 (local.get 0))
                         (i32.load offset=0xffff_ffff_ffff_fff0 (local.get 0)))))"#;
        for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
            let funcs = translate(LOADS, &tunables(style, Some(64), true));
            assert_eq!(
                count(&funcs[0], Opcode::UaddOverflowTrap),
                1,
                "only the access ending past the guard adds"
            );
            assert_eq!(count(&funcs[0], Opcode::SelectSpectreGuard), 2);
        }
    }

    #[test]
    fn one_byte_pages_do_not_trust_the_guard() {
        const LOAD_1: &str = r#"(module (memory 1 (pagesize 1))
            (func (param i32) (result i32) (i32.load8_u (local.get 0))))"#;
        let funcs = translate(LOAD_1, &tunables(MemoryStyle::Static, Some(1 << 16), false));
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
        assert_eq!(
            count(&funcs[0], Opcode::Iadd),
            2,
            "index + end is computed although it lies within the guard, then base + index"
        );
    }

    #[test]
    fn a_64_bit_table_compares_its_index_without_extending_it() {
        const TABLE_GET: &str = r#"(module (table i64 1 funcref)
            (func (param i64) (result funcref) (table.get 0 (local.get 0))))"#;
        let funcs = translate(TABLE_GET, &tunables(MemoryStyle::Static, None, true));
        assert_eq!(count(&funcs[0], Opcode::Uextend), 0);
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
    }

    #[test]
    fn call_indirect_checks_bounds_null_and_signature() {
        const CALL_INDIRECT: &str = r#"(module (type $t (func)) (table 1 funcref)
            (func (param i32) (call_indirect (type $t) (local.get 0))))"#;
        for spectre in [true, false] {
            let funcs = translate(CALL_INDIRECT, &tunables(MemoryStyle::Static, None, spectre));
            // The bound traps on non-zero; null and signature on zero.
            assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
            assert_eq!(count(&funcs[0], Opcode::Trapz), 2);
            assert_eq!(count(&funcs[0], Opcode::CallIndirect), 1);
            assert_eq!(
                count(&funcs[0], Opcode::SelectSpectreGuard),
                usize::from(spectre),
                "the element address is guarded with mitigations on"
            );
        }
    }

    #[test]
    fn table_accesses_keep_their_trap_and_guard_the_address() {
        const TABLE_GET: &str = r#"(module (table 1 funcref)
            (func (param i32) (result funcref) (table.get 0 (local.get 0))))"#;
        let funcs = translate(TABLE_GET, &tunables(MemoryStyle::Static, None, true));
        assert_eq!(count(&funcs[0], Opcode::Trapnz), 1);
        assert_eq!(count(&funcs[0], Opcode::SelectSpectreGuard), 1);
    }
}
