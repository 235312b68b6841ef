//! The `remap` command line: run and precompile Wasm modules, run spec scripts.
//!
//! Every command runs on a thread with an 8 MiB stack of its own, whatever
//! `ulimit -s` gave the main thread: with a small main-thread stack (136 KiB
//! or less) a hello world used to trap "call stack exhausted" at `_start`,
//! and the command-line parser alone can overflow it in a debug build. Wasm
//! code may use the engine's `max_wasm_stack` (512 KiB) of that stack and
//! traps with "call stack exhausted" past it; the rest is the host's.

mod compile;
mod errors;
mod interrupt;
mod invoke;
mod load;
mod option_groups;
mod options;
mod run;
mod size;
mod stats;
mod threads;
mod wast_command;

use clap::{Parser, Subcommand};
use remap::{ThrownException, Trap};
use std::io::Write;
use std::process::ExitCode;

/// Stack of the thread that runs the command: what a Linux main thread
/// usually gets. Pages of it that are never touched cost no memory.
const COMMAND_THREAD_STACK: usize = 8 << 20;

/// Exit code after a trap or an uncaught exception: what an abort gives on
/// Unix (128 + SIGABRT), as Wasmtime does for a trap.
pub(crate) const TRAP_EXIT_CODE: u8 = 134;

/// Remap: a WebAssembly runtime with virtual-memory linear memories.
#[derive(Parser, Debug)]
#[command(name = "remap", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a .wasm or .wat module: its default export `""` or `_start`, or
    /// the function named by --invoke.
    Run(run::RunCommand),
    /// Compile a .wasm or .wat module ahead of time, for `remap run --allow-precompiled`.
    Compile(compile::CompileCommand),
    /// Run WebAssembly spec scripts (.wast) and report each failed directive.
    Wast(wast_command::WastCommand),
}

fn main() -> ExitCode {
    let command = std::thread::Builder::new()
        .name("remap".to_owned())
        .stack_size(COMMAND_THREAD_STACK)
        .spawn(run_command);
    match command {
        Ok(command) => command
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Err(err) => {
            report(&anyhow::Error::new(err).context("cannot start the thread that runs remap"));
            ExitCode::FAILURE
        }
    }
}

fn run_command() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(command) => command.execute(),
        Command::Compile(command) => command.execute(),
        Command::Wast(command) => command.execute(),
    };
    outcome.unwrap_or_else(|err| {
        report(&err);
        // An uncaught exception ends the program as abnormally as a trap.
        if err.is::<Trap>() || err.is::<ThrownException>() {
            ExitCode::from(TRAP_EXIT_CODE)
        } else {
            ExitCode::FAILURE
        }
    })
}

/// Prints `err` to stderr as one message.
pub(crate) fn report(err: &anyhow::Error) {
    // A closed stderr must not turn an error into a panic.
    let _ = writeln!(std::io::stderr(), "{}", errors::error_message(err));
}
