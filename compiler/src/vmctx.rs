//! The instance context (vmctx) layout shared by compiled code and the runtime.
//!
//! The `#[repr(C)]` structs here are the single definition both sides use;
//! [`VMOffsets`] computes where each per-module array sits inside a vmctx.
//! ABI.md describes the same layout in prose.

use crate::module_info::ModuleInfo;
use serde::{Deserialize, Serialize};
use std::mem::{offset_of, size_of};

/// Value of `VMContext::magic` ("rmap" in little-endian ASCII).
pub const VMCTX_MAGIC: u32 = 0x7061_6d72;
/// Value of `VMHostFuncContext::magic` ("host" in little-endian ASCII).
pub const VM_HOST_FUNC_MAGIC: u32 = 0x6f74_7368;

/// One Wasm value as stored in argument arrays and global cells: 16 bytes,
/// little endian, the value in the low bytes (see ABI.md "Values").
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ValRaw {
    bytes: [u8; 16],
}

impl std::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValRaw({:#034x})", u128::from_le_bytes(self.bytes))
    }
}

impl ValRaw {
    /// An i32 value (also used for u32).
    pub fn i32(value: i32) -> Self {
        Self::u128(value as u32 as u128)
    }
    /// An i64 value.
    pub fn i64(value: i64) -> Self {
        Self::u128(value as u64 as u128)
    }
    /// An f32 value given by its bits.
    pub fn f32_bits(bits: u32) -> Self {
        Self::u128(bits as u128)
    }
    /// An f64 value given by its bits.
    pub fn f64_bits(bits: u64) -> Self {
        Self::u128(bits as u128)
    }
    /// A reference (funcref pointer or externref handle), 0 = null.
    pub fn reference(bits: u64) -> Self {
        Self::u128(bits as u128)
    }
    /// A v128 value.
    pub fn u128(value: u128) -> Self {
        Self {
            bytes: value.to_le_bytes(),
        }
    }
    /// The low 4 bytes as an i32.
    pub fn get_i32(&self) -> i32 {
        self.get_u128() as u32 as i32
    }
    /// The low 8 bytes as an i64.
    pub fn get_i64(&self) -> i64 {
        self.get_u128() as u64 as i64
    }
    /// The low 4 bytes as f32 bits.
    pub fn get_f32_bits(&self) -> u32 {
        self.get_u128() as u32
    }
    /// The low 8 bytes as f64 bits.
    pub fn get_f64_bits(&self) -> u64 {
        self.get_u128() as u64
    }
    /// The low 8 bytes as a reference.
    pub fn get_reference(&self) -> u64 {
        self.get_u128() as u64
    }
    /// All 16 bytes.
    pub fn get_u128(&self) -> u128 {
        u128::from_le_bytes(self.bytes)
    }
}

/// A global's storage cell: one `ValRaw`.
pub type VMGlobal = ValRaw;

/// Function called by a host trampoline (System V):
/// `(host_ctx, caller_vmctx, values, values_len)`.
pub type VMArrayCallFn = unsafe extern "C" fn(*mut VMHostFuncContext, *mut u8, *mut ValRaw, usize);

/// Entry trampoline signature (System V):
/// `(callee_vmctx, caller_vmctx, callee Tail-convention code, values)`.
pub type VMEntryTrampolineFn = unsafe extern "C" fn(*mut u8, *mut u8, *const u8, *mut ValRaw);

/// An imported function as seen by the importing instance.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFunctionImport {
    /// Tail-convention code of the function (or of a host trampoline).
    pub wasm_call: *const u8,
    /// The callee's vmctx (an instance vmctx or a `VMHostFuncContext`).
    pub vmctx: *mut u8,
}

/// The instance's cached view of one linear memory.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMMemoryView {
    /// Address of byte 0 of the memory.
    pub base: *mut u8,
    /// Accessible length in bytes (unused by code for a shared memory).
    pub bound: u64,
    /// For a shared memory, the address of its one current length in bytes
    /// (an `AtomicU64` the memory owns), which compiled code loads
    /// atomically instead of `bound`: another thread may grow the memory at
    /// any time. Null for a memory that is not shared.
    pub shared_length: *const u64,
}

/// A table's storage, owned by the table; instances point at it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMTableDefinition {
    /// Elements (8 bytes each: `*const VMFuncRef` or an externref handle).
    pub base: *mut u64,
    /// Number of elements.
    pub current_elements: u64,
}

/// A function reference: what `funcref` values point at.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Tail-convention code.
    pub wasm_call: *const u8,
    /// vmctx to pass as the callee vmctx.
    pub vmctx: *mut u8,
    /// Engine type index (`types::EngineTypeIndex`) of the function's signature.
    pub type_id: u32,
    /// Padding; keep zero.
    pub padding: u32,
}

/// Per-store limits and the exit/entry frame records used for backtraces.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMRuntimeLimits {
    /// Lowest stack address Wasm code may use; below it the prologue traps.
    pub stack_limit: usize,
    /// Frame pointer of the last Wasm frame before a call out to the host.
    pub last_wasm_exit_fp: usize,
    /// An address inside the function that owns `last_wasm_exit_fp`.
    pub last_wasm_exit_pc: usize,
    /// Stack pointer recorded by the runtime when the host entered Wasm.
    pub last_wasm_entry_sp: usize,
    /// Fuel consumed minus fuel given: negative while fuel is left. Code
    /// compiled to consume fuel adds each operator's cost and traps once
    /// this is no longer negative.
    pub fuel_consumed: i64,
    /// The epoch at which code compiled for epoch interruption stops to
    /// ask the store what to do.
    pub epoch_deadline: u64,
    /// 1 once the engine's epoch has reached `epoch_deadline`, else 0: the
    /// word code compiled for epoch interruption checks. The engine writes
    /// it, always atomically, from whichever thread advances the epoch past
    /// the deadline or moves the deadline (runtime `vm/epoch_deadlines.rs`).
    pub epoch_deadline_passed: u64,
    /// The engine's `preserve_all` trampoline to the `new_epoch` builtin,
    /// which epoch checks call: it clobbers no register, so the hot path of
    /// a loop keeps its values in registers.
    pub epoch_trampoline: usize,
    /// Address of byte 0 of the store's GC heap (null before its first
    /// allocation), kept true across relocations by the heap's notifier.
    pub gc_heap_base: usize,
    /// Address of the store's supertype displays, indexed by engine type
    /// id: for each type an object of it was allocated with, a `*const u32`
    /// to `[n, t_0, ..., t_{n-1}]`, its supertype chain root first and
    /// itself last (`crate::gc_layout`).
    pub gc_type_displays: usize,
}

/// The compiler-visible head of a host function's context. The runtime
/// embeds it as the first field of its own `#[repr(C)]` struct.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMHostFuncContext {
    /// Always [`VM_HOST_FUNC_MAGIC`].
    pub magic: u32,
    /// Called by the host trampoline with the argument/result array.
    pub array_call: VMArrayCallFn,
    /// Engine type index (`types::EngineTypeIndex`) of the host function's signature.
    pub type_id: u32,
}

/// The compiler-visible head of an exception object (what an `exnref`
/// points at). The runtime embeds it as the first field of its own
/// `#[repr(C)]` exception object and never moves or frees the object while
/// its store lives.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMExceptionHeader {
    /// The payload: one `ValRaw` per parameter of the exception's tag.
    pub payload: *const ValRaw,
}

/// Field offsets of the fixed-layout structs, as `u8`/`i32` constants for
/// code generation.
pub mod field {
    use super::*;

    /// `VMFunctionImport::wasm_call`.
    pub const IMPORT_WASM_CALL: i32 = offset_of!(VMFunctionImport, wasm_call) as i32;
    /// `VMFunctionImport::vmctx`.
    pub const IMPORT_VMCTX: i32 = offset_of!(VMFunctionImport, vmctx) as i32;
    /// `VMMemoryView::base`.
    pub const MEMORY_BASE: i32 = offset_of!(VMMemoryView, base) as i32;
    /// `VMMemoryView::bound`.
    pub const MEMORY_BOUND: i32 = offset_of!(VMMemoryView, bound) as i32;
    /// `VMMemoryView::shared_length`.
    pub const MEMORY_SHARED_LENGTH: i32 = offset_of!(VMMemoryView, shared_length) as i32;
    /// `VMTableDefinition::base`.
    pub const TABLE_BASE: i32 = offset_of!(VMTableDefinition, base) as i32;
    /// `VMTableDefinition::current_elements`.
    pub const TABLE_CURRENT_ELEMENTS: i32 = offset_of!(VMTableDefinition, current_elements) as i32;
    /// `VMFuncRef::wasm_call`.
    pub const FUNC_REF_WASM_CALL: i32 = offset_of!(VMFuncRef, wasm_call) as i32;
    /// `VMFuncRef::vmctx`.
    pub const FUNC_REF_VMCTX: i32 = offset_of!(VMFuncRef, vmctx) as i32;
    /// `VMFuncRef::type_id`.
    pub const FUNC_REF_TYPE_ID: i32 = offset_of!(VMFuncRef, type_id) as i32;
    /// `VMRuntimeLimits::stack_limit`.
    pub const LIMITS_STACK_LIMIT: i32 = offset_of!(VMRuntimeLimits, stack_limit) as i32;
    /// `VMRuntimeLimits::last_wasm_exit_fp`.
    pub const LIMITS_EXIT_FP: i32 = offset_of!(VMRuntimeLimits, last_wasm_exit_fp) as i32;
    /// `VMRuntimeLimits::last_wasm_exit_pc`.
    pub const LIMITS_EXIT_PC: i32 = offset_of!(VMRuntimeLimits, last_wasm_exit_pc) as i32;
    /// `VMRuntimeLimits::last_wasm_entry_sp`.
    pub const LIMITS_ENTRY_SP: i32 = offset_of!(VMRuntimeLimits, last_wasm_entry_sp) as i32;
    /// `VMRuntimeLimits::fuel_consumed`.
    pub const LIMITS_FUEL_CONSUMED: i32 = offset_of!(VMRuntimeLimits, fuel_consumed) as i32;
    /// `VMRuntimeLimits::epoch_deadline`.
    pub const LIMITS_EPOCH_DEADLINE: i32 = offset_of!(VMRuntimeLimits, epoch_deadline) as i32;
    /// `VMRuntimeLimits::epoch_deadline_passed`.
    pub const LIMITS_EPOCH_DEADLINE_PASSED: i32 =
        offset_of!(VMRuntimeLimits, epoch_deadline_passed) as i32;
    /// `VMRuntimeLimits::epoch_trampoline`.
    pub const LIMITS_EPOCH_TRAMPOLINE: i32 = offset_of!(VMRuntimeLimits, epoch_trampoline) as i32;
    /// `VMRuntimeLimits::gc_heap_base`.
    pub const LIMITS_GC_HEAP_BASE: i32 = offset_of!(VMRuntimeLimits, gc_heap_base) as i32;
    /// `VMRuntimeLimits::gc_type_displays`.
    pub const LIMITS_GC_TYPE_DISPLAYS: i32 = offset_of!(VMRuntimeLimits, gc_type_displays) as i32;
    /// `VMHostFuncContext::magic`.
    pub const HOST_MAGIC: i32 = offset_of!(VMHostFuncContext, magic) as i32;
    /// `VMHostFuncContext::array_call`.
    pub const HOST_ARRAY_CALL: i32 = offset_of!(VMHostFuncContext, array_call) as i32;
    /// `VMHostFuncContext::type_id`.
    pub const HOST_TYPE_ID: i32 = offset_of!(VMHostFuncContext, type_id) as i32;
    /// `VMExceptionHeader::payload`.
    pub const EXCEPTION_PAYLOAD: i32 = offset_of!(VMExceptionHeader, payload) as i32;
    /// Size of one `ValRaw` slot.
    pub const VAL_RAW_SIZE: i32 = size_of::<ValRaw>() as i32;
    /// Size of one table element.
    pub const TABLE_ELEMENT_SIZE: i32 = 8;
}

/// Offsets of every field of one module's vmctx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VMOffsets {
    num_imported_functions: u32,
    num_memories: u32,
    num_tables: u32,
    num_globals: u32,
    num_functions: u32,
    imported_functions_start: u32,
    memories_start: u32,
    tables_start: u32,
    globals_start: u32,
    func_refs_start: u32,
    size: u32,
}

const fn align16(offset: u32) -> u32 {
    (offset + 15) & !15
}

impl VMOffsets {
    /// `magic: u32`.
    pub const MAGIC: u32 = 0;
    /// `runtime_limits: *mut VMRuntimeLimits`.
    pub const RUNTIME_LIMITS: u32 = 8;
    /// `builtins: *const [usize; Builtin::COUNT]`.
    pub const BUILTINS: u32 = 16;
    /// `type_ids: *const u32` (module type index -> engine type index).
    pub const TYPE_IDS: u32 = 24;
    /// `store: *mut u8`, opaque to compiled code.
    pub const STORE: u32 = 32;
    /// `instance: *mut u8`, opaque to compiled code.
    pub const INSTANCE: u32 = 40;
    /// Size of the fixed header.
    pub const HEADER_SIZE: u32 = 48;

    /// Computes the layout for `info` (counts include imports).
    pub fn new(info: &ModuleInfo) -> Self {
        Self::from_counts(
            info.num_imported_functions,
            info.memories.len() as u32,
            info.tables.len() as u32,
            info.globals.len() as u32,
            info.functions.len() as u32,
        )
    }

    /// Computes the layout from the raw counts (each includes imports).
    pub fn from_counts(
        num_imported_functions: u32,
        num_memories: u32,
        num_tables: u32,
        num_globals: u32,
        num_functions: u32,
    ) -> Self {
        let imported_functions_start = align16(Self::HEADER_SIZE);
        let memories_start = align16(
            imported_functions_start
                + num_imported_functions * size_of::<VMFunctionImport>() as u32,
        );
        let tables_start =
            align16(memories_start + num_memories * size_of::<VMMemoryView>() as u32);
        let globals_start = align16(tables_start + num_tables * 8);
        let func_refs_start = align16(globals_start + num_globals * 8);
        let size = align16(func_refs_start + num_functions * size_of::<VMFuncRef>() as u32);
        Self {
            num_imported_functions,
            num_memories,
            num_tables,
            num_globals,
            num_functions,
            imported_functions_start,
            memories_start,
            tables_start,
            globals_start,
            func_refs_start,
            size,
        }
    }

    /// Total vmctx size in bytes (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
    }
    /// Number of imported functions.
    pub fn num_imported_functions(&self) -> u32 {
        self.num_imported_functions
    }
    /// Number of memories (imported and defined).
    pub fn num_memories(&self) -> u32 {
        self.num_memories
    }
    /// Number of tables (imported and defined).
    pub fn num_tables(&self) -> u32 {
        self.num_tables
    }
    /// Number of globals (imported and defined).
    pub fn num_globals(&self) -> u32 {
        self.num_globals
    }
    /// Number of functions (imported and defined).
    pub fn num_functions(&self) -> u32 {
        self.num_functions
    }

    /// The `VMFunctionImport` of imported function `index`.
    pub fn imported_function(&self, index: u32) -> u32 {
        assert!(index < self.num_imported_functions);
        self.imported_functions_start + index * size_of::<VMFunctionImport>() as u32
    }
    /// `VMFunctionImport::wasm_call` of imported function `index`.
    pub fn imported_function_wasm_call(&self, index: u32) -> u32 {
        self.imported_function(index) + field::IMPORT_WASM_CALL as u32
    }
    /// `VMFunctionImport::vmctx` of imported function `index`.
    pub fn imported_function_vmctx(&self, index: u32) -> u32 {
        self.imported_function(index) + field::IMPORT_VMCTX as u32
    }
    /// The `VMMemoryView` of memory `index`.
    pub fn memory(&self, index: u32) -> u32 {
        assert!(index < self.num_memories);
        self.memories_start + index * size_of::<VMMemoryView>() as u32
    }
    /// `VMMemoryView::base` of memory `index`.
    pub fn memory_base(&self, index: u32) -> u32 {
        self.memory(index) + field::MEMORY_BASE as u32
    }
    /// `VMMemoryView::bound` of memory `index`.
    pub fn memory_bound(&self, index: u32) -> u32 {
        self.memory(index) + field::MEMORY_BOUND as u32
    }
    /// `VMMemoryView::shared_length` of memory `index`.
    pub fn memory_shared_length(&self, index: u32) -> u32 {
        self.memory(index) + field::MEMORY_SHARED_LENGTH as u32
    }
    /// The `*mut VMTableDefinition` of table `index`.
    pub fn table(&self, index: u32) -> u32 {
        assert!(index < self.num_tables);
        self.tables_start + index * 8
    }
    /// The `*mut VMGlobal` of global `index`.
    pub fn global(&self, index: u32) -> u32 {
        assert!(index < self.num_globals);
        self.globals_start + index * 8
    }
    /// The `VMFuncRef` of function `index` (imports first).
    pub fn func_ref(&self, index: u32) -> u32 {
        assert!(index < self.num_functions);
        self.func_refs_start + index * size_of::<VMFuncRef>() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::align_of;

    #[test]
    fn struct_layouts_match_abi() {
        assert_eq!(size_of::<ValRaw>(), 16);
        assert_eq!(align_of::<ValRaw>(), 16);
        assert_eq!(size_of::<VMFunctionImport>(), 16);
        assert_eq!(field::IMPORT_WASM_CALL, 0);
        assert_eq!(field::IMPORT_VMCTX, 8);
        assert_eq!(size_of::<VMMemoryView>(), 24);
        assert_eq!(field::MEMORY_BASE, 0);
        assert_eq!(field::MEMORY_BOUND, 8);
        assert_eq!(field::MEMORY_SHARED_LENGTH, 16);
        assert_eq!(size_of::<VMTableDefinition>(), 16);
        assert_eq!(field::TABLE_BASE, 0);
        assert_eq!(field::TABLE_CURRENT_ELEMENTS, 8);
        assert_eq!(size_of::<VMFuncRef>(), 24);
        assert_eq!(field::FUNC_REF_WASM_CALL, 0);
        assert_eq!(field::FUNC_REF_VMCTX, 8);
        assert_eq!(field::FUNC_REF_TYPE_ID, 16);
        assert_eq!(size_of::<VMRuntimeLimits>(), 80);
        assert_eq!(field::LIMITS_GC_HEAP_BASE, 64);
        assert_eq!(field::LIMITS_GC_TYPE_DISPLAYS, 72);
        assert_eq!(field::LIMITS_STACK_LIMIT, 0);
        assert_eq!(field::LIMITS_EXIT_FP, 8);
        assert_eq!(field::LIMITS_EXIT_PC, 16);
        assert_eq!(field::LIMITS_ENTRY_SP, 24);
        assert_eq!(field::LIMITS_FUEL_CONSUMED, 32);
        assert_eq!(field::LIMITS_EPOCH_DEADLINE, 40);
        assert_eq!(field::LIMITS_EPOCH_DEADLINE_PASSED, 48);
        assert_eq!(field::LIMITS_EPOCH_TRAMPOLINE, 56);
        assert_eq!(field::HOST_MAGIC, 0);
        assert_eq!(field::HOST_ARRAY_CALL, 8);
        assert_eq!(field::HOST_TYPE_ID, 16);
    }

    #[test]
    fn arrays_are_ordered_aligned_and_disjoint() {
        let offsets = VMOffsets::from_counts(3, 2, 1, 5, 7);
        assert_eq!(offsets.imported_function(0), 48);
        assert_eq!(offsets.imported_function(2), 80);
        assert_eq!(offsets.imported_function_vmctx(1), 72);
        assert_eq!(offsets.memory(0), 96);
        assert_eq!(offsets.memory_bound(1), 128);
        assert_eq!(offsets.memory_shared_length(1), 136);
        assert_eq!(offsets.table(0), 144);
        assert_eq!(offsets.global(0), 160);
        assert_eq!(offsets.global(4), 192);
        assert_eq!(offsets.func_ref(0), 208);
        assert_eq!(offsets.func_ref(6), 208 + 6 * 24);
        assert_eq!(offsets.size(), (208 + 7 * 24_u32).next_multiple_of(16));
        assert_eq!(offsets.size() % 16, 0);
    }

    #[test]
    fn empty_module_has_only_the_header() {
        let offsets = VMOffsets::from_counts(0, 0, 0, 0, 0);
        assert_eq!(offsets.size(), VMOffsets::HEADER_SIZE);
    }

    #[test]
    #[should_panic]
    fn out_of_range_index_is_rejected() {
        VMOffsets::from_counts(0, 1, 0, 0, 0).memory(1);
    }

    #[test]
    fn val_raw_round_trips() {
        assert_eq!(ValRaw::i32(-1).get_i32(), -1);
        assert_eq!(ValRaw::i32(-1).get_i64(), 0xffff_ffff);
        assert_eq!(ValRaw::i64(-2).get_i64(), -2);
        assert_eq!(ValRaw::f32_bits(0x7fc0_0000).get_f32_bits(), 0x7fc0_0000);
        assert_eq!(ValRaw::f64_bits(7).get_f64_bits(), 7);
        assert_eq!(ValRaw::reference(0x1000).get_reference(), 0x1000);
    }
}
