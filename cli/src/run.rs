//! `remap run`: instantiate a module with WASI and call its default function
//! (the export named `""`, else `_start`) or `--invoke NAME`.
//!
//! Everything after FILE belongs to the program, options included, as in
//! Wasmtime: `remap run prog.wasm --help` passes `--help` to the program.
//!
//! A program's `proc_exit` status becomes the exit code when it is 0 to 125;
//! any other status is refused with a message and exit code 1 (see
//! [`exit_code`]).

use crate::invoke::{format_result, parse_argument};
use crate::load::load_module;
use crate::options::MemoryOptions;
use crate::stats::format_stats;
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use remap::wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use remap::{Engine, Instance, Linker, ProcessMemory, Store, Val};
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

/// The statuses a program's `proc_exit` may pass on as the exit code: to a
/// shell, 126 and above mean "cannot execute", "not found" or "killed by a
/// signal" (and 134 is what a trap exits with), and a wider status would be
/// truncated to its low byte, so that 256 would look like success.
const PROGRAM_EXIT_STATUSES: std::ops::Range<i32> = 0..126;

/// Arguments of `remap run`.
#[derive(Args, Debug)]
pub struct RunCommand {
    #[command(flatten)]
    memory: MemoryOptions,
    /// Call this exported function (with ARGS as its arguments) instead of
    /// the default export `""` or `_start`.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Print memory statistics to stderr when the run ends.
    #[arg(long)]
    stats: bool,
    /// Also accept a precompiled module (from `remap compile`), whose machine
    /// code runs unchecked: only use files you trust.
    #[arg(long)]
    allow_precompiled: bool,
    /// Give the program a host directory, seen by it as GUEST (default: HOST).
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    dirs: Vec<(PathBuf, String)>,
    /// Set an environment variable for the program; `--env NAME` passes the host's value.
    #[arg(long = "env", value_name = "NAME[=VALUE]", value_parser = parse_env)]
    envs: Vec<(String, Option<String>)>,
    /// Listen on a TCP address and give the program the listening socket
    /// (descriptors from 3, before `--dir` directories), as Wasmtime's `-S tcplisten`.
    #[arg(long = "tcplisten", value_name = "ADDRESS:PORT")]
    tcp_listen: Vec<String>,
    /// The .wasm or .wat file to run (or a .cwasm file with --allow-precompiled),
    /// then the program's arguments, or the invoked function's. Everything
    /// after FILE goes to the program, even words that look like options.
    #[arg(required = true, trailing_var_arg = true, value_name = "FILE [ARGS]")]
    file_and_args: Vec<OsString>,
}

fn parse_dir(text: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = text.split_once("::").unwrap_or((text, text));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("`{text}` should be HOST or HOST::GUEST"));
    }
    Ok((PathBuf::from(host), guest.to_owned()))
}

fn parse_env(text: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_owned())),
        None => (text, None),
    };
    if name.is_empty() {
        return Err(format!("`{text}` should be NAME=VALUE or NAME"));
    }
    Ok((name.to_owned(), value))
}

/// The module file and the words after it on the command line.
struct Program {
    file: PathBuf,
    /// The program's arguments after its name, or the invoked function's.
    args: Vec<String>,
}

impl Program {
    /// Splits FILE from its arguments, which WASI passes to the program as text.
    fn from_words(words: &[OsString]) -> Result<Program> {
        let (file, args) = words.split_first().context("no FILE to run")?;
        let args = args
            .iter()
            .map(|arg| {
                arg.clone()
                    .into_string()
                    .map_err(|arg| anyhow!("the program argument {arg:?} is not valid UTF-8"))
            })
            .collect::<Result<_>>()?;
        Ok(Program {
            file: PathBuf::from(file),
            args,
        })
    }
}

/// The exit code for a program that called `proc_exit(status)`: the status
/// itself within [`PROGRAM_EXIT_STATUSES`], else an error (exit code 1), as
/// in Wasmtime.
fn exit_code(status: i32) -> Result<ExitCode> {
    match u8::try_from(status) {
        Ok(code) if PROGRAM_EXIT_STATUSES.contains(&status) => Ok(ExitCode::from(code)),
        _ => bail!(
            "the program exited with status {status}, which `remap run` cannot pass on: \
             exit codes from 126 up mean a shell or signal failure, so only statuses \
             {} to {} become the exit code",
            PROGRAM_EXIT_STATUSES.start,
            PROGRAM_EXIT_STATUSES.end - 1
        ),
    }
}

impl RunCommand {
    /// Runs the module; the exit code is the program's (`proc_exit`) or 0.
    pub fn execute(self) -> Result<ExitCode> {
        let program = Program::from_words(&self.file_and_args)?;
        let mut config = self.memory.config();
        // As `wasmtime run`: compiled code is cached between runs.
        config.code_cache(remap::default_code_cache_dir());
        let engine = Engine::new(&config).context("cannot configure the engine")?;
        let module = load_module(&engine, &program.file, self.allow_precompiled)?;
        let mut store = Store::new(&engine, self.wasi_context(&program)?);
        let outcome = self.instantiate_and_call(&mut store, &module, &program);
        if self.stats {
            eprintln!(
                "{}",
                format_stats(&engine.memory_stats(), &ProcessMemory::read())
            );
        }
        match outcome {
            Err(err) => match err.downcast_ref::<I32Exit>() {
                Some(&I32Exit(status)) => exit_code(status),
                None => Err(err),
            },
            Ok(()) => Ok(ExitCode::SUCCESS),
        }
    }

    /// The program's environment: each `--env`, with `--env NAME` taking the
    /// host's value (and left out when the host has none).
    fn environment(&self) -> Vec<(String, String)> {
        self.envs
            .iter()
            .filter_map(|(name, value)| {
                let value = value.clone().or_else(|| std::env::var(name).ok())?;
                Some((name.clone(), value))
            })
            .collect()
    }

    fn wasi_context(&self, program: &Program) -> Result<WasiCtx> {
        let argv: Vec<String> = std::iter::once(program.file.display().to_string())
            .chain(program.args.iter().cloned())
            .collect();
        let mut builder = WasiCtxBuilder::new()
            .inherit_stdio()
            .args(&argv)
            .envs(&self.environment());
        for (host, guest) in &self.dirs {
            builder = builder
                .preopened_dir(host, guest)
                .with_context(|| format!("cannot open --dir {}", host.display()))?;
        }
        for address in &self.tcp_listen {
            let listener = TcpListener::bind(address.as_str())
                .with_context(|| format!("cannot listen on --tcplisten {address}"))?;
            builder = builder.preopened_socket(listener);
        }
        Ok(builder.build())
    }

    fn instantiate_and_call(
        &self,
        store: &mut Store<WasiCtx>,
        module: &remap::Module,
        program: &Program,
    ) -> Result<()> {
        let mut linker = Linker::new(store.engine());
        remap::wasi::add_to_linker(&mut linker, |wasi: &mut WasiCtx| wasi)?;
        let instance = linker
            .instantiate(&mut *store, module)
            .with_context(|| format!("cannot instantiate `{}`", program.file.display()))?;
        // A WASI reactor sets itself up in `_initialize` before any export is used.
        if let Some(initialize) = instance.get_func(&mut *store, "_initialize") {
            initialize.call(&mut *store, &[], &mut [])?;
        }
        match &self.invoke {
            Some(name) => invoke(store, instance, program, name),
            None => call_default(store, instance, program),
        }
    }
}

/// Calls the module's default function: the export named `""` if there is
/// one, else `_start` (the order Wasmtime uses; packaged WASI tools export
/// `_initialize` and `""` without `_start`).
fn call_default(store: &mut Store<WasiCtx>, instance: Instance, program: &Program) -> Result<()> {
    let default = instance
        .get_func(&mut *store, "")
        .or_else(|| instance.get_func(&mut *store, "_start"));
    let Some(default) = default else {
        eprintln!(
            "note: `{}` exports neither `_start` nor a default function `\"\"`; \
             nothing was called (use --invoke NAME to call an export)",
            program.file.display()
        );
        return Ok(());
    };
    default.call(&mut *store, &[], &mut [])
}

/// Calls export `name` with the program's arguments parsed by its parameter
/// types, and prints its results one per line.
fn invoke(
    store: &mut Store<WasiCtx>,
    instance: Instance,
    program: &Program,
    name: &str,
) -> Result<()> {
    let Some(func) = instance.get_func(&mut *store, name) else {
        let exported: Vec<String> = instance
            .exports(&mut *store)
            .filter(|export| export.clone().into_func().is_some())
            .map(|export| export.name().to_owned())
            .collect();
        bail!(
            "`{}` exports no function named `{name}` (its exported functions: {})",
            program.file.display(),
            if exported.is_empty() {
                "none".to_owned()
            } else {
                exported.join(", ")
            }
        );
    };
    let ty = func.ty(&*store);
    let params = ty.params();
    if params.len() != program.args.len() {
        let names: Vec<String> = params.iter().map(ToString::to_string).collect();
        bail!(
            "`{name}` takes {} argument(s) ({}) but {} were given",
            params.len(),
            names.join(", "),
            program.args.len()
        );
    }
    let arguments = params
        .iter()
        .zip(&program.args)
        .enumerate()
        .map(|(index, (ty, word))| {
            parse_argument(word, *ty)
                .with_context(|| format!("bad argument {} to `{name}`", index + 1))
        })
        .collect::<Result<Vec<Val>>>()?;
    let mut results: Vec<Val> = ty.results().iter().copied().map(Val::default_for).collect();
    func.call(&mut *store, &arguments, &mut results)?;
    let mut out = io::stdout().lock();
    for result in &results {
        writeln!(out, "{}", format_result(result)).context("cannot print the results")?;
    }
    Ok(())
}
