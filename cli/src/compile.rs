//! `remap compile`: compile a module ahead of time into a `.cwasm` file that
//! `remap run --allow-precompiled` loads without compiling.

use crate::load::read_wasm;
use crate::options::CodeOptions;
use anyhow::{Context, Result};
use clap::Args;
use remap::Engine;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `remap compile`.
#[derive(Args, Debug)]
pub struct CompileCommand {
    #[command(flatten)]
    code: CodeOptions,
    /// Where to write the precompiled module (default: FILE with the extension `.cwasm`).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The .wasm or .wat file to compile.
    file: PathBuf,
}

impl CompileCommand {
    /// Compiles the module and writes the precompiled file.
    pub fn execute(self) -> Result<ExitCode> {
        let engine = Engine::new(&self.code.config()).context("cannot configure the engine")?;
        let wasm = read_wasm(&self.file)?;
        let precompiled = engine.precompile_module(&wasm).with_context(|| {
            format!(
                "`{}` is not a valid WebAssembly module",
                self.file.display()
            )
        })?;
        let output = self
            .output
            .unwrap_or_else(|| self.file.with_extension("cwasm"));
        std::fs::write(&output, precompiled)
            .with_context(|| format!("cannot write `{}`", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
