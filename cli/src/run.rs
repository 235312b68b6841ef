//! `remap run`: instantiate a module with WASI and call `_start` or `--invoke NAME`.

use crate::invoke::{format_result, parse_argument};
use crate::load::load_module;
use crate::options::MemoryOptions;
use crate::stats::format_stats;
use anyhow::{Context, Result, bail};
use clap::Args;
use remap::wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use remap::{Engine, Instance, Linker, Store, Val};
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `remap run`.
#[derive(Args, Debug)]
pub struct RunCommand {
    #[command(flatten)]
    memory: MemoryOptions,
    /// Call this exported function (with ARGS as its arguments) instead of `_start`.
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
    /// The .wasm or .wat file to run (or a .cwasm file with --allow-precompiled).
    file: PathBuf,
    /// The program's arguments, or the invoked function's.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
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

impl RunCommand {
    /// Runs the module; the exit code is the program's (`proc_exit`) or 0.
    pub fn execute(self) -> Result<ExitCode> {
        let engine = Engine::new(&self.memory.config()).context("cannot configure the engine")?;
        let module = load_module(&engine, &self.file, self.allow_precompiled)?;
        let mut store = Store::new(&engine, self.wasi_context()?);
        let outcome = self.instantiate_and_call(&mut store, &module);
        if self.stats {
            eprintln!("{}", format_stats(&engine.memory_stats()));
        }
        match outcome {
            Err(err) => match err.downcast_ref::<I32Exit>() {
                Some(I32Exit(code)) => Ok(ExitCode::from(*code as u8)),
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

    fn wasi_context(&self) -> Result<WasiCtx> {
        let program = self.file.display().to_string();
        let argv: Vec<String> = std::iter::once(program)
            .chain(self.args.iter().cloned())
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
    ) -> Result<()> {
        let mut linker = Linker::new(store.engine());
        remap::wasi::add_to_linker(&mut linker, |wasi: &mut WasiCtx| wasi)?;
        let instance = linker
            .instantiate(&mut *store, module)
            .with_context(|| format!("cannot instantiate `{}`", self.file.display()))?;
        // A WASI reactor sets itself up in `_initialize` before any export is used.
        if let Some(initialize) = instance.get_func(&mut *store, "_initialize") {
            initialize.call(&mut *store, &[], &mut [])?;
        }
        match &self.invoke {
            Some(name) => self.invoke(store, instance, name),
            None => self.call_start(store, instance),
        }
    }

    fn call_start(&self, store: &mut Store<WasiCtx>, instance: Instance) -> Result<()> {
        let Some(start) = instance.get_func(&mut *store, "_start") else {
            eprintln!(
                "note: `{}` exports no `_start` function; nothing was called \
                 (use --invoke NAME to call an export)",
                self.file.display()
            );
            return Ok(());
        };
        start.call(&mut *store, &[], &mut [])
    }

    fn invoke(&self, store: &mut Store<WasiCtx>, instance: Instance, name: &str) -> Result<()> {
        let Some(func) = instance.get_func(&mut *store, name) else {
            let exported: Vec<String> = instance
                .exports(&mut *store)
                .into_iter()
                .filter(|(_, item)| item.into_func().is_some())
                .map(|(export, _)| export)
                .collect();
            bail!(
                "`{}` exports no function named `{name}` (its exported functions: {})",
                self.file.display(),
                if exported.is_empty() {
                    "none".to_owned()
                } else {
                    exported.join(", ")
                }
            );
        };
        let ty = func.ty(&*store);
        let params = ty.params();
        if params.len() != self.args.len() {
            let names: Vec<String> = params.iter().map(ToString::to_string).collect();
            bail!(
                "`{name}` takes {} argument(s) ({}) but {} were given",
                params.len(),
                names.join(", "),
                self.args.len()
            );
        }
        let arguments = params
            .iter()
            .zip(&self.args)
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
}
