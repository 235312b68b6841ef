//! Process-wide registries the signal handler reads: where compiled code lives
//! (with its trap table and function map) and where linear memories are reserved.
//!
//! The handler takes the registries' read locks. That cannot deadlock: the
//! faults it handles are synchronous, and no instruction run while this thread
//! holds a read lock here can fault; while it holds a write lock, `WRITING`
//! makes the handler skip the lookup. A writer on another thread holds its lock
//! only for one map insert or removal, so the handler waits at most that long.
//! The std `RwLock` is futex-based and does not allocate.
//!
//! Failure behaviour: nothing here fails. A poisoned lock is used as it is
//! (every critical section is one map insert, removal or lookup, so the maps
//! are never left half-updated), and a lookup that finds nothing — including
//! one skipped because this thread is writing — means "not Wasm code" or "not
//! a linear memory", which leaves the fault to the previous handler.

use super::code_tables::{AddressMap, FunctionNames, TrapTable};
use remap_compiler::trap::TrapKind;
use remap_compiler::{ExceptionCallSite, StackMapRecord};
use remap_memory::LinearMemory;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One compiled function inside a module's code, for backtraces.
#[derive(Debug, Clone)]
pub(crate) struct FunctionRange {
    /// Offset of the first byte from the start of the module's code.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
    /// The function's index in the module's function index space (imports first).
    pub func_index: u32,
    /// Byte offset of the function's body in the module binary.
    pub body_offset: u32,
}

/// Where a frame is executing, as found on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FramePc {
    /// The instruction that faulted: the frame's instruction itself.
    Faulting(usize),
    /// A return address: the frame is executing the call just before it.
    Return(usize),
    /// Somewhere in the frame's function, but not at a known instruction:
    /// the function's start (what compiled code records before calling a
    /// builtin) or its entry stack check (out-of-line code of no instruction).
    InFunction(usize),
}

/// A frame resolved to its function and Wasm instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameLocation {
    /// The function's index (imports first).
    pub func_index: u32,
    /// Byte offset of the function's body in the module binary.
    pub body_offset: u32,
    /// Byte offset of the instruction in the module binary; the body's
    /// offset when the instruction is unknown.
    pub wasm_offset: u32,
}

/// What the runtime knows about one module's published code.
#[derive(Debug)]
pub(crate) struct CodeInfo {
    /// Address range of the whole code image.
    pub range: Range<usize>,
    /// Functions sorted by `start`.
    pub functions: Vec<FunctionRange>,
    /// Trap sites by code offset.
    pub traps: TrapTable,
    /// Code offset -> Wasm instruction offset.
    pub address_map: AddressMap,
    /// Function names from the name section, by function index.
    pub names: FunctionNames,
    /// The module's name, if it has one.
    pub module_name: Option<String>,
    /// Call sites with exception handlers, sorted by return offset.
    pub exception_table: Vec<ExceptionCallSite>,
    /// Call sites with live GC references, sorted by return offset.
    pub stack_maps: Vec<StackMapRecord>,
}

impl CodeInfo {
    /// The trap kind recorded for the instruction at `pc`.
    pub fn trap_at(&self, pc: usize) -> Option<TrapKind> {
        let offset = u32::try_from(pc.checked_sub(self.range.start)?).ok()?;
        self.traps.kind_at(offset)
    }

    /// The exception handlers of the call that returns to `return_address`.
    pub fn exception_site(&self, return_address: usize) -> Option<&ExceptionCallSite> {
        let offset = u32::try_from(return_address.checked_sub(self.range.start)?).ok()?;
        let found = self
            .exception_table
            .binary_search_by_key(&offset, |site| site.return_offset)
            .ok()?;
        Some(&self.exception_table[found])
    }

    /// The GC references live in the frame whose call returns to
    /// `return_address`.
    pub fn stack_map(&self, return_address: usize) -> Option<&StackMapRecord> {
        let offset = u32::try_from(return_address.checked_sub(self.range.start)?).ok()?;
        let found = self
            .stack_maps
            .binary_search_by_key(&offset, |record| record.return_offset)
            .ok()?;
        Some(&self.stack_maps[found])
    }

    /// The stack maps of the function containing `pc`: they all share the
    /// function's frame size.
    pub fn function_stack_maps(&self, pc: usize) -> &[StackMapRecord] {
        let Some(function) = self.function_at(pc) else {
            return &[];
        };
        let start = self
            .stack_maps
            .partition_point(|record| record.return_offset <= function.start);
        let end = self
            .stack_maps
            .partition_point(|record| record.return_offset <= function.end);
        &self.stack_maps[start..end]
    }

    /// The function containing `pc`.
    pub fn function_at(&self, pc: usize) -> Option<&FunctionRange> {
        let offset = u32::try_from(pc.checked_sub(self.range.start)?).ok()?;
        let after = self.functions.partition_point(|f| f.start <= offset);
        let candidate = self.functions.get(after.checked_sub(1)?)?;
        (offset < candidate.end).then_some(candidate)
    }

    /// Whether `pc` is the first instruction of a function.
    pub fn is_function_start(&self, pc: usize) -> bool {
        self.function_at(pc)
            .is_some_and(|function| self.range.start + function.start as usize == pc)
    }

    /// The function and Wasm instruction of a frame executing at `pc`.
    pub fn locate(&self, pc: FramePc) -> Option<FrameLocation> {
        let (instruction, exact) = match pc {
            FramePc::Faulting(pc) => (pc, true),
            FramePc::Return(pc) => (pc.checked_sub(1)?, true),
            FramePc::InFunction(pc) => (pc, false),
        };
        let function = self.function_at(instruction)?;
        let wasm_offset = exact
            .then(|| self.wasm_offset_in(function, instruction))
            .flatten()
            .unwrap_or(function.body_offset);
        Some(FrameLocation {
            func_index: function.func_index,
            body_offset: function.body_offset,
            wasm_offset,
        })
    }

    /// The Wasm instruction whose code contains `pc` inside `function`
    /// (`None` in code of no instruction, e.g. the prologue).
    fn wasm_offset_in(&self, function: &FunctionRange, pc: usize) -> Option<u32> {
        let offset = u32::try_from(pc - self.range.start).ok()?;
        let entry = self.address_map.entry_before(offset)?;
        (entry.code_offset >= function.start).then_some(entry.wasm_offset)
    }
}

static CODE: RwLock<BTreeMap<usize, Arc<CodeInfo>>> = RwLock::new(BTreeMap::new());
static RESERVATIONS: RwLock<BTreeMap<u64, Arc<LinearMemory>>> = RwLock::new(BTreeMap::new());
static NEXT_RESERVATION_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Set while this thread holds a registry write lock, so that a fault raised
    /// meanwhile is forwarded instead of deadlocking on a read lock.
    static WRITING: Cell<bool> = const { Cell::new(false) };
}

/// Holds a write lock and marks the thread as a writer until dropped.
struct WriteScope<'a, T> {
    guard: RwLockWriteGuard<'a, T>,
}

impl<'a, T> WriteScope<'a, T> {
    fn new(lock: &'a RwLock<T>) -> Self {
        WRITING.with(|w| w.set(true));
        let guard = lock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        WriteScope { guard }
    }
}

impl<T> Drop for WriteScope<'_, T> {
    fn drop(&mut self) {
        WRITING.with(|w| w.set(false));
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps a module's code registered; unregisters on drop.
#[derive(Debug)]
pub(crate) struct CodeRegistration {
    end: usize,
}

/// Registers published code so traps in it are recognised.
pub(crate) fn register_code(info: Arc<CodeInfo>) -> CodeRegistration {
    let end = info.range.end;
    WriteScope::new(&CODE).guard.insert(end, info);
    CodeRegistration { end }
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        WriteScope::new(&CODE).guard.remove(&self.end);
    }
}

/// The code image that contains `pc`.
pub(crate) fn lookup_code(pc: usize) -> Option<Arc<CodeInfo>> {
    let code = read(&CODE);
    let (_, info) = code.range(pc + 1..).next()?;
    info.range.contains(&pc).then(|| info.clone())
}

/// Looks up `pc` from a signal handler: `None` when this thread is itself
/// updating a registry (the fault cannot be in Wasm code then).
pub(crate) fn lookup_code_in_handler(pc: usize) -> Option<Arc<CodeInfo>> {
    if WRITING.with(|w| w.get()) {
        return None;
    }
    lookup_code(pc)
}

/// Keeps a linear memory's reservation registered; unregisters on drop.
#[derive(Debug)]
pub(crate) struct ReservationRegistration {
    id: u64,
}

/// Registers a linear memory so faults in its reservation (guards included,
/// wherever relocation has moved it) are recognised as Wasm traps.
pub(crate) fn register_reservation(memory: Arc<LinearMemory>) -> ReservationRegistration {
    let id = NEXT_RESERVATION_ID.fetch_add(1, Ordering::Relaxed);
    WriteScope::new(&RESERVATIONS).guard.insert(id, memory);
    ReservationRegistration { id }
}

impl Drop for ReservationRegistration {
    fn drop(&mut self) {
        WriteScope::new(&RESERVATIONS).guard.remove(&self.id);
    }
}

/// Whether `address` lies inside some linear memory's reservation.
pub(crate) fn is_reserved_address(address: usize) -> bool {
    if WRITING.with(|w| w.get()) {
        return false;
    }
    // `LinearMemory::reservation` is lock-free, so this is safe in a handler.
    read(&RESERVATIONS)
        .values()
        .any(|m| m.reservation().contains(&address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use remap_compiler::{AddressMapEntry, TrapRecord};

    fn info(start: usize) -> Arc<CodeInfo> {
        Arc::new(CodeInfo {
            range: start..start + 0x100,
            functions: vec![
                FunctionRange {
                    start: 0,
                    end: 0x40,
                    func_index: 1,
                    body_offset: 100,
                },
                FunctionRange {
                    start: 0x40,
                    end: 0x80,
                    func_index: 2,
                    body_offset: 200,
                },
            ],
            traps: TrapTable::from_records(&[
                TrapRecord {
                    offset: 0x10,
                    kind: TrapKind::UnreachableCodeReached,
                },
                TrapRecord {
                    offset: 0x50,
                    kind: TrapKind::MemoryOutOfBounds,
                },
            ]),
            address_map: AddressMap::from_entries(
                &[(0x08, 102), (0x10, 105), (0x48, 203), (0x60, 207)].map(
                    |(code_offset, wasm_offset)| AddressMapEntry {
                        code_offset,
                        wasm_offset,
                    },
                ),
            ),
            names: FunctionNames::from_names(&BTreeMap::new()),
            module_name: None,
            exception_table: Vec::new(),
            stack_maps: Vec::new(),
        })
    }

    #[test]
    fn code_lookup_maps_pcs_to_functions_and_traps() {
        let start = 0x7000_0000_0000;
        let registration = register_code(info(start));
        let found = lookup_code(start + 0x50).expect("registered");
        assert_eq!(
            found.trap_at(start + 0x50),
            Some(TrapKind::MemoryOutOfBounds)
        );
        assert_eq!(found.trap_at(start + 0x51), None);
        assert_eq!(
            found.function_at(start + 0x3f).map(|f| f.func_index),
            Some(1)
        );
        assert_eq!(
            found.function_at(start + 0x40).map(|f| f.func_index),
            Some(2)
        );
        assert!(found.function_at(start + 0x90).is_none());
        assert!(lookup_code(start + 0x100).is_none());
        drop(registration);
        assert!(lookup_code(start + 0x50).is_none());
    }

    #[test]
    fn frames_resolve_to_their_wasm_instruction() {
        let start = 0x7100_0000_0000;
        let code = info(start);
        let at = |pc: FramePc| code.locate(pc).map(|l| (l.func_index, l.wasm_offset));
        assert_eq!(at(FramePc::Faulting(start + 0x10)), Some((1, 105)));
        assert_eq!(at(FramePc::Faulting(start + 0x0f)), Some((1, 102)));
        // A return address belongs to the call before it.
        assert_eq!(at(FramePc::Return(start + 0x11)), Some((1, 105)));
        assert_eq!(at(FramePc::Return(start + 0x10)), Some((1, 102)));
        // Prologue code maps to no instruction: the body's offset stands in.
        assert_eq!(at(FramePc::Faulting(start + 0x02)), Some((1, 100)));
        assert_eq!(at(FramePc::Faulting(start + 0x44)), Some((2, 200)));
        // Known only by function: the body's offset, even where a map entry exists.
        assert!(code.is_function_start(start + 0x40));
        assert!(!code.is_function_start(start + 0x48));
        assert_eq!(at(FramePc::InFunction(start + 0x40)), Some((2, 200)));
        assert_eq!(at(FramePc::Faulting(start + 0x90)), None);
        assert_eq!(at(FramePc::Return(start)), None);
    }

    #[test]
    fn reservations_are_recognised_until_unregistered() {
        let memory = Arc::new(
            LinearMemory::new(remap_memory::MemoryConfig {
                initial_bytes: 65536,
                style: remap_memory::MemoryStyle::dynamic(0, 65536),
                ..Default::default()
            })
            .unwrap(),
        );
        let inside = memory.view().base as usize + 65536 + 100;
        let registration = register_reservation(memory.clone());
        assert!(is_reserved_address(inside));
        drop(registration);
        assert!(!is_reserved_address(inside));
    }
}
