//! Running a WASI command module through the embedding API with its output
//! captured, as the compute benchmarks do.

use anyhow::{Context, Result};
use remap::wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WritePipe};
use remap::{Engine, Linker, Module, Store};

/// A linker holding the WASI preview 1 functions.
pub fn wasi_linker(engine: &Engine) -> Result<Linker<WasiCtx>> {
    let mut linker = Linker::new(engine);
    remap::wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    Ok(linker)
}

/// Instantiates `module` in a fresh store, calls `_start`, and returns what
/// it wrote to stdout; an exit code other than 0 is an error.
pub fn run_command(linker: &Linker<WasiCtx>, module: &Module) -> Result<Vec<u8>> {
    let stdout = WritePipe::new_in_memory();
    let ctx = WasiCtxBuilder::new()
        .arg(module.name().unwrap_or("workload"))
        .stdout(stdout.clone())
        .inherit_stderr()
        .build();
    let mut store = Store::new(linker.engine(), ctx);
    let instance = linker.instantiate(&mut store, module)?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .context("the workload exports no `_start`")?;
    match start.call(&mut store, ()) {
        Ok(()) => {}
        Err(err) => match err.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => {}
            _ => return Err(err),
        },
    }
    Ok(stdout.contents())
}
