//! Registers the preview 1 functions with a [`Linker`].

use anyhow::bail;

use super::ctx::WasiCtx;
use super::host_fns::{Args, FUNCTIONS, MODULE, Param};
use super::memory::GuestMemory;
use crate::{Extern, FuncType, Linker, Val, ValType};

/// The most parameters a preview 1 function takes (`path_open`).
pub(crate) const MAX_PARAMS: usize = 9;

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get` finds the
/// [`WasiCtx`] inside the store's data. A guest's `proc_exit(code)` makes the call into
/// Wasm fail with an error whose root is [`super::I32Exit`]`(code)`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> anyhow::Result<()> {
    for function in FUNCTIONS {
        let params = function.params.iter().map(|param| match param {
            Param::I32 => ValType::I32,
            Param::I64 => ValType::I64,
        });
        let results = function.returns_errno.then_some(ValType::I32);
        let ty = FuncType::new(params, results);
        let (name, body, arity) = (function.name, function.body, function.params.len());
        linker.func_new(MODULE, name, ty, move |mut caller, params, results| {
            if params.len() != arity {
                bail!(
                    "{MODULE}::{name} received {} arguments, not {arity}",
                    params.len()
                );
            }
            let mut raw = [0u64; MAX_PARAMS];
            for (slot, param) in raw.iter_mut().zip(params) {
                *slot = match param {
                    Val::I32(value) => u64::from(*value as u32),
                    Val::I64(value) => *value as u64,
                    other => bail!("{MODULE}::{name} received a {:?} argument", other.ty()),
                };
            }
            let args = Args(&raw[..params.len()]);
            let outcome = match caller.get_export("memory") {
                Some(Extern::Memory(memory)) => {
                    let (bytes, data) = memory.data_and_store_mut(&mut caller);
                    body(get(data), &mut GuestMemory::new(bytes), &args)
                }
                Some(Extern::SharedMemory(memory)) => {
                    // SAFETY: the bytes stay mapped and accessible for the
                    // whole call: a shared memory never moves or shrinks,
                    // and `memory` keeps it alive. Other threads of the
                    // guest may use the same memory meanwhile; the call only
                    // touches the buffers the guest passed it, and as with
                    // any system call, a guest that changes a buffer while
                    // its own call uses it gets undefined contents there.
                    let bytes = unsafe {
                        std::slice::from_raw_parts_mut(memory.data_ptr(), memory.data_size())
                    };
                    body(get(caller.data_mut()), &mut GuestMemory::new(bytes), &args)
                }
                // Without an exported memory every pointer is out of bounds (EFAULT).
                _ => body(
                    get(caller.data_mut()),
                    &mut GuestMemory::new(&mut []),
                    &args,
                ),
            };
            let errno = outcome?;
            if let Some(result) = results.first_mut() {
                *result = Val::I32(i32::from(errno));
            }
            Ok(())
        })?;
    }
    Ok(())
}
