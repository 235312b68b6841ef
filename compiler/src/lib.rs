//! remap-compiler: WebAssembly to native code through Cranelift.
//!
//! [`compile_module`] validates a module, translates every function body to
//! Cranelift IR in parallel, and links the machine code of all functions and
//! trampolines into one position-independent blob. The layout contract with
//! the runtime lives in [`vmctx`], [`builtins`], [`trap`] and ABI.md.

#![warn(missing_docs)]

mod bounds_checks;
pub mod builtins;
mod compatibility;
mod compiler;
mod error;
mod func_environ;
pub mod gc_layout;
pub mod module_info;
mod signature;
mod trampolines;
mod translate;
pub mod trap;
pub mod tunables;
pub mod types;
pub mod vmctx;

pub use builtins::Builtin;
pub use compatibility::{CodeCompatibility, Setting};
pub use compiler::{CompiledTrampoline, Compiler};
pub use error::CompileError;
pub use module_info::{ModuleInfo, supported_features};
pub use trap::TrapKind;
pub use tunables::{DEFAULT_DYNAMIC_GUARD_BYTES, MemoryPlan, MemoryStyle, Tunables};
pub use types::{
    AbstractHeapType, ArrayType, FieldType, FuncType, HeapType, RefType, StorageType, StructType,
    ValType,
};
pub use vmctx::{VMOffsets, ValRaw};

use serde::{Deserialize, Serialize};

/// Where one function or trampoline sits in [`CompiledModule::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionLoc {
    /// Byte offset from the start of the code blob.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl FunctionLoc {
    /// Whether `offset` lies inside this function.
    pub fn contains(&self, offset: u32) -> bool {
        offset >= self.offset && offset - self.offset < self.len
    }
}

/// One entry of the trap table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapRecord {
    /// Offset of the trapping instruction in the code blob.
    pub offset: u32,
    /// What the trap means.
    pub kind: TrapKind,
}

/// Maps a range of machine code to the Wasm instruction it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressMapEntry {
    /// Code offset where the range starts (it ends where the next entry starts).
    pub code_offset: u32,
    /// Byte offset of the Wasm instruction in the module binary.
    pub wasm_offset: u32,
}

/// Where one call site's exception handlers send a matching exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionHandler {
    /// The module tag index the handler catches (resolved to a tag through
    /// the vmctx of the frame); `None` catches everything.
    pub tag: Option<u32>,
    /// Offset of the handler's code in the code blob.
    pub code_offset: u32,
}

/// The exception handlers of one call site (a `try_call`), in the order a
/// thrown exception tries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionCallSite {
    /// Offset of the call's return address in the code blob.
    pub return_offset: u32,
    /// Bytes from the frame pointer down to the stack pointer at the call:
    /// the stack pointer a handler resumes with is `fp - frame_offset`.
    pub frame_offset: u32,
    /// Offset from that stack pointer of the slot holding the frame's
    /// vmctx (the context tag indices are resolved in).
    pub vmctx_sp_offset: u32,
    /// Handlers, innermost first; a catch-all ends the list.
    pub handlers: Vec<ExceptionHandler>,
}

/// The GC references live in one Wasm frame at one call site (a
/// safepoint), as the collector finds them (see `crate::gc_layout`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackMapRecord {
    /// Offset of the call's return address in the code blob.
    pub return_offset: u32,
    /// Bytes from the frame pointer down to the stack pointer at the call.
    pub frame_size: u32,
    /// Offsets from that stack pointer of the 8-byte slots holding live
    /// references.
    pub slots: Vec<u32>,
}

/// A compiled module: metadata plus one linked, position-independent code blob.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompiledModule {
    /// The module's declarations.
    pub info: ModuleInfo,
    /// vmctx layout for instances of this module.
    pub offsets: VMOffsets,
    /// Machine code of every function and trampoline, relocations applied.
    /// Position independent: it may be copied anywhere executable.
    pub code: Vec<u8>,
    /// Defined functions: entry `i` is function index `num_imported_functions + i`.
    pub functions: Vec<FunctionLoc>,
    /// Byte offset of each defined function's body in the module binary,
    /// parallel to `functions` (for backtrace frames whose exact
    /// instruction is unknown).
    pub function_body_offsets: Vec<u32>,
    /// Entry trampoline per module type index (`None` for a type that is
    /// not a function type).
    pub entry_trampolines: Vec<Option<FunctionLoc>>,
    /// Host trampoline per module type index (`None` for a type that is not
    /// a function type).
    pub host_trampolines: Vec<Option<FunctionLoc>>,
    /// Trapping instructions, sorted by offset.
    pub trap_table: Vec<TrapRecord>,
    /// Code offset -> Wasm instruction offset for defined functions, sorted
    /// by code offset (for backtraces).
    pub address_map: Vec<AddressMapEntry>,
    /// Call sites with exception handlers, sorted by return offset.
    pub exception_table: Vec<ExceptionCallSite>,
    /// Call sites where GC references are live, sorted by return offset.
    pub stack_maps: Vec<StackMapRecord>,
}

impl CompiledModule {
    /// The code location of function `func_index`, if it is defined here.
    pub fn function(&self, func_index: u32) -> Option<FunctionLoc> {
        let defined = func_index.checked_sub(self.info.num_imported_functions)?;
        self.functions.get(defined as usize).copied()
    }

    /// The trap kind of the instruction at code offset `offset`, if it is a
    /// trapping instruction.
    pub fn trap_at(&self, offset: u32) -> Option<TrapKind> {
        self.trap_table
            .binary_search_by_key(&offset, |record| record.offset)
            .ok()
            .map(|index| self.trap_table[index].kind)
    }

    /// The function index of the defined function containing code offset `offset`.
    pub fn function_at(&self, offset: u32) -> Option<u32> {
        let position = self
            .functions
            .partition_point(|loc| loc.offset <= offset)
            .checked_sub(1)?;
        self.functions[position]
            .contains(offset)
            .then(|| self.info.num_imported_functions + position as u32)
    }

    /// The byte offset in the module binary of the Wasm instruction whose
    /// code contains code offset `offset` (for a return address, pass the
    /// offset of the call, e.g. `return_address - 1`).
    pub fn wasm_offset_at(&self, offset: u32) -> Option<u32> {
        let function = self.function(self.function_at(offset)?)?;
        let position = self
            .address_map
            .partition_point(|entry| entry.code_offset <= offset)
            .checked_sub(1)?;
        let entry = self.address_map[position];
        function
            .contains(entry.code_offset)
            .then_some(entry.wasm_offset)
    }

    /// The name-section name of function `func_index`.
    pub fn function_name(&self, func_index: u32) -> Option<&str> {
        self.info.function_name(func_index)
    }
}

/// Compiles `wasm` (binary format) with a fresh [`Compiler`] for the host.
pub fn compile_module(wasm: &[u8], tunables: &Tunables) -> Result<CompiledModule, CompileError> {
    Compiler::new(tunables.clone())?.compile_module(wasm)
}

/// Compiles a standalone entry trampoline for `ty` (see [`Compiler::compile_entry_trampoline`]).
pub fn compile_entry_trampoline(ty: &FuncType) -> Result<CompiledTrampoline, CompileError> {
    Compiler::new(Tunables::default())?.compile_entry_trampoline(ty)
}

/// Compiles a standalone host trampoline for `ty` (see [`Compiler::compile_host_trampoline`]).
pub fn compile_host_trampoline(ty: &FuncType) -> Result<CompiledTrampoline, CompileError> {
    Compiler::new(Tunables::default())?.compile_host_trampoline(ty)
}
