//! The `remap` command line: run and precompile Wasm modules, run spec scripts.

mod compile;
mod errors;
mod invoke;
mod load;
mod options;
mod run;
mod size;
mod stats;
mod wast_command;

use clap::{Parser, Subcommand};
use remap::Trap;
use std::io::Write;
use std::process::ExitCode;

/// Exit code after a trap: what an abort gives on Unix (128 + SIGABRT), as Wasmtime does.
const TRAP_EXIT_CODE: u8 = 134;

/// Remap: a WebAssembly runtime with virtual-memory linear memories.
#[derive(Parser, Debug)]
#[command(name = "remap", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a .wasm or .wat module: its `_start`, or the function named by --invoke.
    Run(run::RunCommand),
    /// Compile a .wasm or .wat module ahead of time, for `remap run --allow-precompiled`.
    Compile(compile::CompileCommand),
    /// Run WebAssembly spec scripts (.wast) and report each failed directive.
    Wast(wast_command::WastCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(command) => command.execute(),
        Command::Compile(command) => command.execute(),
        Command::Wast(command) => command.execute(),
    };
    outcome.unwrap_or_else(|err| {
        // A closed stderr must not turn an error into a panic.
        let _ = writeln!(std::io::stderr(), "{}", errors::error_message(&err));
        if err.downcast_ref::<Trap>().is_some() {
            ExitCode::from(TRAP_EXIT_CODE)
        } else {
            ExitCode::FAILURE
        }
    })
}
