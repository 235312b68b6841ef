//! `remap compile`: compile a module ahead of time into a `.cwasm` file that
//! `remap run --allow-precompiled` loads without compiling.
//!
//! It takes the options and group keys that change the code (memory layout,
//! features, fuel and epoch instrumentation); `remap run` must be given the
//! same ones, or it refuses the file naming the setting that differs.

use crate::load::read_wasm;
use crate::option_groups::{self, Command, GroupArgs};
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
    #[command(flatten)]
    groups: GroupArgs,
    /// Where to write the precompiled module (default: FILE with the extension `.cwasm`).
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The .wasm or .wat file to compile.
    #[arg(required_unless_present_any = option_groups::GROUP_IDS)]
    file: Option<PathBuf>,
}

impl CompileCommand {
    /// Compiles the module and writes the precompiled file.
    pub fn execute(self) -> Result<ExitCode> {
        let Some(settings) = self.groups.settings_or_help(Command::Compile)? else {
            return Ok(ExitCode::SUCCESS);
        };
        let file = self.file.context("no FILE to compile")?;
        let engine =
            Engine::new(&self.code.config(&settings)?).context("cannot configure the engine")?;
        let wasm = read_wasm(&file)?;
        let precompiled = engine
            .precompile_module(&wasm)
            .with_context(|| format!("`{}` is not a valid WebAssembly module", file.display()))?;
        let output = self.output.unwrap_or_else(|| file.with_extension("cwasm"));
        std::fs::write(&output, precompiled)
            .with_context(|| format!("cannot write `{}`", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
