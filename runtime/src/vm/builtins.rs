//! The builtins compiled code calls (ABI.md "Builtins"): memory and table
//! operations that need the runtime. The throwing builtins (`throw`,
//! `throw_ref`) live in `vm::throw`, the GC ones in `vm::gc_builtins`.
//!
//! The builtin array is generated from the compiler's `foreach_builtin!` list,
//! the one declaration of every builtin's order and signature: each entry is
//! the function of the declared name, assigned to a function pointer of the
//! declared type, so a function whose signature differs from its declaration
//! does not compile, and the array has exactly `Builtin::COUNT` entries in
//! declaration order.
//!
//! Failure behaviour: a builtin that traps unwinds to the host->Wasm entry
//! point only after everything it owns has been dropped; a refused grow
//! returns the declared failure value (`u64::MAX`). Indices, lengths and
//! sizes are u64 for 32- and 64-bit memories and tables alike (32-bit callers
//! zero-extend), so every range check is done in u64 with checked adds.

use crate::func::with_wasm_backtrace;
use crate::instance::InstanceData;
use crate::limits::{Growth, ResourceLimiter, WithLimiter};
use crate::shared_memory::{WaitOutcome, WaitResult};
use crate::store::StoreOpaque;
use crate::trap::TrapKind;
use crate::vm::entered_store::entered_store;
use crate::vm::gc_builtins::{
    array_copy, array_fill, array_init_data, array_init_elem, array_new_data, array_new_elem,
    gc_alloc,
};
use crate::vm::throw::{throw, throw_ref};
use crate::vm::traps::{self, Unwind};
use crate::vm::vmctx::{instance_of_vmctx, store_address_of_vmctx};
use remap_compiler::Builtin;
use remap_compiler::types::EngineTypeIndex;

/// Builtin function addresses, indexed by `Builtin::index`.
pub(crate) struct BuiltinArray([*const u8; Builtin::COUNT]);

// SAFETY: the array holds immutable function addresses.
unsafe impl Sync for BuiltinArray {}

impl BuiltinArray {
    /// The array as compiled code reads it (ABI.md: `*const [usize; COUNT]`).
    pub(crate) fn as_ptr(&self) -> *const [usize; Builtin::COUNT] {
        self.0.as_ptr().cast()
    }
}

/// Generates [`BUILTINS`] from the `foreach_builtin!` list.
macro_rules! builtin_array {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:ident(vmctx $(, $param:ident: $param_ty:ident)*) $(-> $result:ident)?;
    )*) => {
        /// The builtin array every vmctx points at, in `Builtin` order.
        pub(crate) static BUILTINS: BuiltinArray = BuiltinArray([$({
            // The declared signature: a mismatch with the function is a type error.
            let function: unsafe extern "C" fn(*mut u8 $(, $param_ty)*) $(-> $result)? = $name;
            function as *const u8
        }),*]);
    };
}

remap_compiler::foreach_builtin!(builtin_array);

/// The calling instance and its store.
///
/// The store comes from the entered store the host->Wasm call published (see
/// `vm::entered_store`), not from the vmctx header: that pointer predates the borrow the
/// current call was made with. Builtins only make shared references from it.
///
/// # Safety
/// `vmctx` must be the live instance vmctx compiled code passed to a builtin.
pub(crate) unsafe fn context<'a>(vmctx: *mut u8) -> (&'a StoreOpaque, &'a InstanceData) {
    let store = entered_store();
    debug_assert!(
        // SAFETY: guaranteed by the caller; the pointer is only compared.
        std::ptr::eq(store, unsafe { store_address_of_vmctx(vmctx) }),
        "a builtin ran for Wasm of a store that is not the entered one"
    );
    // SAFETY: guaranteed by the caller: Wasm of this instance runs, so its store
    // is the entered store, and the header holds the instance pointer; both stay
    // alive while the instance's code runs.
    unsafe { (&*store, &*instance_of_vmctx(vmctx)) }
}

/// Runs the body of a builtin that can trap with the calling store and
/// instance, then raises its trap, if any. The body has returned by then, so
/// everything it owned (borrows, guards, buffers) is dropped before the jump.
///
/// # Safety
/// As for [`context`], from a builtin compiled code called.
pub(super) unsafe fn run_trapping(
    vmctx: *mut u8,
    body: impl FnOnce(&StoreOpaque, &InstanceData) -> Result<(), TrapKind>,
) {
    // SAFETY: guaranteed by the caller.
    let (store, instance) = unsafe { context(vmctx) };
    if let Err(kind) = body(store, instance) {
        // SAFETY: builtins run on a thread inside `catch_traps`, called from
        // compiled code; the frames up to there hold only `Copy` values now.
        unsafe { traps::raise_trap(kind) }
    }
}

/// `dst..dst + len` within a memory of `size` bytes, else a memory trap.
fn memory_range(start: u64, len: u64, size: usize) -> Result<std::ops::Range<usize>, TrapKind> {
    let end = start.checked_add(len).ok_or(TrapKind::MemoryOutOfBounds)?;
    if end > size as u64 {
        return Err(TrapKind::MemoryOutOfBounds);
    }
    Ok(start as usize..end as usize)
}

/// Runs `grow` with the entered store and its limiter: the old size, or
/// `u64::MAX` when refused; a limiter's error unwinds out of Wasm.
///
/// # Safety
/// Called from a builtin that compiled code called, with no reference to
/// the store live.
unsafe fn grow_with_limiter(grow: WithLimiter<'_>) -> u64 {
    let store = entered_store();
    // SAFETY: Wasm of this store runs, so the entered store is it; the
    // function pointer is copied out before the call borrows the store.
    let with_limiter = unsafe { (*store).with_limiter };
    // SAFETY: `store` is a whole `StoreInner<T>` of the `T` the pointer was
    // made for, and nothing else borrows it now.
    match unsafe { with_limiter(store, grow) } {
        Ok(Growth::Grew(old)) => old,
        Ok(Growth::Refused(_)) => u64::MAX,
        // SAFETY: inside `catch_traps`; `error` is moved into the unwind and
        // `grow` (a borrowed closure) owns nothing to drop.
        Err(error) => unsafe { traps::raise(Unwind::Host(with_wasm_backtrace(error))) },
    }
}

unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta_pages: u64) -> u64 {
    // SAFETY: called by compiled code with its vmctx, whose instance lives
    // while its code runs.
    let instance = unsafe { &*instance_of_vmctx(vmctx) };
    let mut grow = |store: &StoreOpaque, limiter: Option<&mut dyn ResourceLimiter>| {
        instance
            .memory(memory)
            .entry(store)
            .grow(delta_pages, limiter)
    };
    // SAFETY: called by compiled code; no reference to the store is live.
    unsafe { grow_with_limiter(&mut grow) }
}

unsafe extern "C" fn memory_fill(vmctx: *mut u8, memory: u32, dst: u64, byte: u32, len: u64) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let view = instance.memory(memory).entry(store).memory().view();
        memory_range(dst, len, view.len).map(|range| {
            // SAFETY: the range lies inside the accessible memory.
            unsafe { std::ptr::write_bytes(view.base.add(range.start), byte as u8, range.len()) }
        })
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_memory: u32,
    dst: u64,
    src_memory: u32,
    src: u64,
    len: u64,
) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let dst_view = instance.memory(dst_memory).entry(store).memory().view();
        let src_view = instance.memory(src_memory).entry(store).memory().view();
        memory_range(dst, len, dst_view.len).and_then(|dst_range| {
            let src_range = memory_range(src, len, src_view.len)?;
            // SAFETY: both ranges lie inside accessible memory; `copy` allows overlap.
            unsafe {
                std::ptr::copy(
                    src_view.base.add(src_range.start),
                    dst_view.base.add(dst_range.start),
                    src_range.len(),
                )
            };
            Ok(())
        })
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let view = instance.memory(memory).entry(store).memory().view();
        let bytes = instance.data_segment(data);
        memory_range(dst, len.into(), view.len).and_then(|dst_range| {
            let src_range = memory_range(src.into(), len.into(), bytes.len())?;
            // SAFETY: the destination lies inside accessible memory; the source
            // is the module's segment bytes, a separate allocation.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr().add(src_range.start),
                    view.base.add(dst_range.start),
                    src_range.len(),
                )
            };
            Ok(())
        })
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u32) {
    // SAFETY: called by compiled code with its vmctx.
    let (_, instance) = unsafe { context(vmctx) };
    instance.drop_data(data);
}

unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, delta: u64, init: u64) -> u64 {
    // SAFETY: as in `memory_grow`.
    let instance = unsafe { &*instance_of_vmctx(vmctx) };
    let mut grow = |store: &StoreOpaque, limiter: Option<&mut dyn ResourceLimiter>| {
        instance
            .table(table)
            .entry(store)
            .grow(delta, init, limiter)
    };
    // SAFETY: as in `memory_grow`.
    unsafe { grow_with_limiter(&mut grow) }
}

unsafe extern "C" fn table_fill(vmctx: *mut u8, table: u32, dst: u64, value: u64, len: u64) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        instance.table(table).entry(store).fill(dst, value, len)
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let destination = instance.table(dst_table).entry(store);
        let source = instance.table(src_table).entry(store);
        destination.copy_from(source, dst, src, len)
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    element: u32,
    dst: u64,
    src: u32,
    len: u32,
) {
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        // A `RefCell` borrow: released when this closure returns, before
        // `run_trapping` may jump out (a skipped release would leave it borrowed).
        let values = instance.element_segment(element);
        crate::table::checked_range(src.into(), len.into(), values.len() as u64)
            .and_then(|range| instance.table(table).entry(store).init(dst, &values[range]))
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) }
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, element: u32) {
    // SAFETY: called by compiled code with its vmctx.
    let (_, instance) = unsafe { context(vmctx) };
    instance.drop_element(element);
}

unsafe extern "C" fn is_subtype(vmctx: *mut u8, actual: u32, expected: u32) -> u32 {
    // SAFETY: called by compiled code with its vmctx.
    let (store, _) = unsafe { context(vmctx) };
    let registry = store.engine().type_registry();
    u32::from(registry.is_subtype(
        EngineTypeIndex::from_u32(actual),
        EngineTypeIndex::from_u32(expected),
    ))
}

unsafe extern "C" fn new_epoch(_vmctx: *mut u8) {
    // SAFETY: called by compiled code of the entered store, inside
    // `catch_traps`; this frame holds no reference to the store.
    unsafe { crate::interruption::on_epoch_deadline(entered_store()) }
}

/// Replaces the first vector of `lanes` with the fused `a * b + c` of the
/// three, lane by lane.
fn fused_madd<T: Copy, const N: usize>(lanes: &mut [[T; N]; 3], fma: impl Fn(T, T, T) -> T) {
    let [a, b, c] = *lanes;
    lanes[0] = std::array::from_fn(|lane| fma(a[lane], b[lane], c[lane]));
}

unsafe extern "C" fn memory_atomic_notify(
    vmctx: *mut u8,
    memory: u32,
    address: u64,
    count: u32,
) -> u32 {
    let mut woken = 0;
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let entry = instance.memory(memory).entry(store);
        match entry.shared() {
            Some(shared) => {
                woken = shared
                    .notify(address, count)
                    .ok_or(TrapKind::MemoryOutOfBounds)?;
            }
            // Nobody can wait on a memory that is not shared: nothing to wake.
            None => {
                memory_range(address, 4, entry.memory().view().len)?;
            }
        }
        Ok(())
    };
    // SAFETY: called by compiled code with its vmctx.
    unsafe { run_trapping(vmctx, body) };
    woken
}

unsafe extern "C" fn memory_atomic_wait32(
    vmctx: *mut u8,
    memory: u32,
    address: u64,
    expected: u32,
    timeout: u64,
) -> u32 {
    // SAFETY: called by compiled code with its vmctx.
    unsafe { atomic_wait(vmctx, memory, address, 4, u64::from(expected), timeout) }
}

unsafe extern "C" fn memory_atomic_wait64(
    vmctx: *mut u8,
    memory: u32,
    address: u64,
    expected: u64,
    timeout: u64,
) -> u32 {
    // SAFETY: called by compiled code with its vmctx.
    unsafe { atomic_wait(vmctx, memory, address, 8, expected, timeout) }
}

/// `memory.atomic.wait32` (`size` 4) or `wait64` (8): blocks this thread
/// on the shared memory's parking lot. `timeout` is an i64 in nanoseconds;
/// negative waits for ever. Traps when out of bounds or not shared. With
/// epoch interruption on, a wait that outlasts the store's deadline ends
/// there and the deadline is handled as compiled code would handle it
/// (shared_memory.rs, "Interrupting a waiter").
///
/// # Safety
/// As for [`context`], from a builtin compiled code called.
unsafe fn atomic_wait(
    vmctx: *mut u8,
    memory: u32,
    address: u64,
    size: u64,
    expected: u64,
    timeout: u64,
) -> u32 {
    let timeout = u64::try_from(timeout as i64)
        .ok()
        .map(std::time::Duration::from_nanos);
    let mut outcome = WaitOutcome::Done(WaitResult::Ok);
    let body = |store: &StoreOpaque, instance: &InstanceData| {
        let entry = instance.memory(memory).entry(store);
        let Some(shared) = entry.shared() else {
            memory_range(address, size, entry.memory().view().len)?;
            return Err(TrapKind::WaitOnUnsharedMemory);
        };
        let limits = store.limits();
        let deadline_passed = || {
            // SAFETY: the store's limits live as long as the store, and only
            // this thread, which runs the store, writes them.
            let deadline = unsafe { (*limits).epoch_deadline };
            store.engine().current_epoch() >= deadline
        };
        let interruptible = store.engine().config().tunables.epoch_interruption;
        let interrupted: Option<&dyn Fn() -> bool> = interruptible.then_some(&deadline_passed);
        outcome = shared
            .wait(address, size, expected, timeout, interrupted)
            .ok_or(TrapKind::MemoryOutOfBounds)?;
        Ok(())
    };
    // SAFETY: guaranteed by the caller.
    unsafe { run_trapping(vmctx, body) };
    if outcome == WaitOutcome::Interrupted {
        // SAFETY: called by compiled code of the entered store, inside
        // `catch_traps`; the references `body` made have ended and the
        // waiter has left the queue, so unwinding from here skips nothing.
        unsafe { crate::interruption::on_epoch_deadline(entered_store()) }
    }
    outcome.wasm_result() as u32
}

unsafe extern "C" fn fma_f32x4(_vmctx: *mut u8, lanes: u64) {
    // SAFETY: compiled code passes the address of a 16-byte aligned stack
    // slot of its own frame that holds the three vectors; nothing else
    // accesses it during the call.
    let lanes = unsafe { &mut *(lanes as usize as *mut [[f32; 4]; 3]) };
    // `mul_add` rounds once, with the FMA instruction or in software.
    fused_madd(lanes, f32::mul_add);
}

unsafe extern "C" fn fma_f64x2(_vmctx: *mut u8, lanes: u64) {
    // SAFETY: as in `fma_f32x4`.
    let lanes = unsafe { &mut *(lanes as usize as *mut [[f64; 2]; 3]) };
    fused_madd(lanes, f64::mul_add);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fma_builtins_round_once() {
        // x * y is 1 + 2^-15 + 2^-22 + 2^-37: rounding it first loses the
        // 2^-37 that a fused multiply-add keeps.
        let x = f32::from_bits(0x3f80_0002);
        let y = f32::from_bits(0x3f80_0100);
        let z = -f32::from_bits(0x3f80_0102);
        assert_eq!(x * y + z, 0.0);
        let mut lanes = [
            [x, f32::MAX, 1.0, 0.0],
            [y, 2.0, 1.0, 0.0],
            [z, -f32::MAX, 1.0, 0.0],
        ];
        // SAFETY: `lanes` is three f32x4 vectors, as compiled code passes them.
        unsafe { fma_f32x4(std::ptr::null_mut(), &raw mut lanes as u64) };
        assert_eq!(lanes[0], [2f32.powi(-37), f32::MAX, 2.0, 0.0]);

        let x = 1.0 + f64::EPSILON;
        let mut lanes = [
            [x, f64::MAX],
            [x, 2.0],
            [-(1.0 + 2.0 * f64::EPSILON), -f64::MAX],
        ];
        // SAFETY: `lanes` is three f64x2 vectors, as compiled code passes them.
        unsafe { fma_f64x2(std::ptr::null_mut(), &raw mut lanes as u64) };
        assert_eq!(lanes[0], [f64::EPSILON * f64::EPSILON, f64::MAX]);
    }
}
