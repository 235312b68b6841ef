//! `remap run`: instantiate a module with WASI and call its default function
//! (the export named `""`, else `_start`) or `--invoke NAME`.
//!
//! Everything after FILE belongs to the program, options included, as in
//! Wasmtime: `remap run prog.wasm --help` passes `--help` to the program.
//!
//! A program's `proc_exit` status becomes the exit code when it is 0 to 125;
//! any other status is refused with a message and exit code 1 (see
//! [`exit_code`]).
//!
//! `-S threads` gives the program wasi-threads (`wasi::thread-spawn`; see
//! threads.rs): every spawned thread runs in a store of its own, and
//! `proc_exit` or a trap in any thread ends the program.
//!
//! `-W fuel=N` gives the store N units of fuel; `-W timeout=` starts a timer
//! thread that advances the engine's epoch once the time is up, past the
//! store's deadline of one tick, so the guest traps at its next function
//! entry or loop header (a host call in progress, e.g. a blocking read,
//! finishes first). Either trap exits like any other (status 134), with a
//! message naming the option. `-W epoch-interruption` without a timeout
//! compiles the checks with a deadline that is never reached (Wasmtime's
//! CLI traps at the first check instead).

use crate::interrupt::Timeout;
use crate::invoke::{format_result, parse_argument};
use crate::load::load_module;
use crate::option_groups::{self, Command, GroupArgs, Settings};
use crate::options::MemoryOptions;
use crate::stats::format_stats;
use crate::threads;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use remap::wasi::{I32Exit, WasiCtx, WasiCtxBuilder};
use remap::{
    Engine, Instance, Linker, Module, ProcessMemory, ProfilingStrategy, Store, StoreLimits, Trap,
    TrapKind, Val,
};
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    #[command(flatten)]
    groups: GroupArgs,
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
    /// Load the module at PATH first and let the main module import its
    /// exports from NAME (repeatable; later ones may import earlier ones). As
    /// in Wasmtime, a reactor is instantiated once (and `_initialize`d); a
    /// command (it exports `_start`) is instantiated anew for every call.
    #[arg(long = "preload", value_name = "NAME=PATH", value_parser = parse_preload)]
    preloads: Vec<(String, PathBuf)>,
    /// The program's name, its argv[0] (default: FILE as given).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// Describe the compiled code to a profiler, as `wasmtime run
    /// --profile`: `perfmap` writes /tmp/perf-PID.map for `perf report`,
    /// `jitdump` writes ./jit-PID.dump for `perf inject --jit`.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    profile: Option<ProfileArg>,
    /// The .wasm or .wat file to run (or a .cwasm file with --allow-precompiled),
    /// then the program's arguments, or the invoked function's. Everything
    /// after FILE goes to the program, even words that look like options.
    #[arg(
        required_unless_present_any = option_groups::GROUP_IDS,
        trailing_var_arg = true,
        value_name = "FILE [ARGS]"
    )]
    file_and_args: Vec<OsString>,
}

/// A profiler `--profile` can describe compiled code to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    /// Linux perf's map file, /tmp/perf-PID.map.
    Perfmap,
    /// Linux perf's jitdump file, ./jit-PID.dump.
    Jitdump,
}

impl ProfileArg {
    fn strategy(self) -> ProfilingStrategy {
        match self {
            ProfileArg::Perfmap => ProfilingStrategy::PerfMap,
            ProfileArg::Jitdump => ProfilingStrategy::JitDump,
        }
    }
}

/// What the store holds for the host: the program's WASI state and the
/// store's limits (in force only when a `-W max-*` key asked for them).
struct Host {
    wasi: WasiCtx,
    limits: StoreLimits,
}

/// A module given with `--preload`, and the name its exports go under.
struct Preload {
    name: String,
    path: PathBuf,
    module: Module,
}

fn parse_dir(text: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = text.split_once("::").unwrap_or((text, text));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("`{text}` should be HOST or HOST::GUEST"));
    }
    Ok((PathBuf::from(host), guest.to_owned()))
}

fn parse_preload(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("`{text}` should be NAME=PATH")),
    }
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
pub(crate) fn exit_code(status: i32) -> Result<ExitCode> {
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
        let Some(settings) = self.groups.settings_or_help(Command::Run)? else {
            return Ok(ExitCode::SUCCESS);
        };
        let program = Program::from_words(&self.file_and_args)?;
        let mut config = self.memory.config(&settings)?;
        // As `wasmtime run`: compiled code is cached between runs, unless `-C cache=n`.
        if settings.code_cache != Some(false) {
            config.code_cache(remap::default_code_cache_dir());
        }
        if let Some(profile) = self.profile {
            config.profiler(profile.strategy());
        }
        let engine = Engine::new(&config).context("cannot configure the engine")?;
        let module = load_module(&engine, &program.file, self.allow_precompiled)?;
        let preloads = self
            .preloads
            .iter()
            .map(|(name, path)| {
                Ok(Preload {
                    name: name.clone(),
                    path: path.clone(),
                    module: load_module(&engine, path, self.allow_precompiled)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let limits = settings.store_limits();
        let limited = limits.is_some();
        let wasi_plan = self.wasi_plan(&program, &settings);
        let host = Host {
            wasi: self.wasi_context(&wasi_plan, &settings)?,
            limits: limits.unwrap_or_default(),
        };
        let mut store = Store::new(&engine, host);
        if limited {
            store.limiter(|host| &mut host.limits);
        }
        if let Some(fuel) = settings.fuel {
            store.set_fuel(fuel)?;
        }
        if settings.epochs() {
            // One tick is the timer's; without a timer, nothing ever reaches u64::MAX.
            store.set_epoch_deadline(settings.timeout.map_or(u64::MAX, |_| 1));
        }
        let timer = settings
            .timeout
            .map(|after| Timeout::start(&engine, after))
            .transpose()?;
        let outcome = self.instantiate_and_call(
            &mut store, &module, &preloads, &program, &settings, wasi_plan,
        );
        drop(timer);
        if self.stats {
            eprintln!(
                "{}",
                format_stats(&engine.memory_stats(), &ProcessMemory::read())
            );
        }
        match outcome {
            Err(err) => match err.downcast_ref::<I32Exit>() {
                Some(&I32Exit(status)) => exit_code(status),
                None => Err(name_the_stopping_option(err, &settings)),
            },
            Ok(()) => Ok(ExitCode::SUCCESS),
        }
    }

    /// The program's environment: the host's with `-S inherit-env`, then
    /// each `--env` (replacing an inherited value), with `--env NAME` taking
    /// the host's value (and left out when the host has none). Host
    /// variables that are not valid UTF-8 are skipped.
    fn environment(&self, settings: &Settings) -> Vec<(String, String)> {
        let mut environment: Vec<(String, String)> = if settings.wasi.inherit_env == Some(true) {
            std::env::vars_os()
                .filter_map(|(name, value)| {
                    Some((name.into_string().ok()?, value.into_string().ok()?))
                })
                .collect()
        } else {
            Vec::new()
        };
        for (name, value) in &self.envs {
            let Some(value) = value.clone().or_else(|| std::env::var(name).ok()) else {
                continue;
            };
            match environment.iter_mut().find(|(known, _)| known == name) {
                Some(entry) => entry.1 = value,
                None => environment.push((name.clone(), value)),
            }
        }
        environment
    }

    /// What every WASI context of the run is made from.
    fn wasi_plan(&self, program: &Program, settings: &Settings) -> WasiPlan {
        let argv0 = self
            .argv0
            .clone()
            .unwrap_or_else(|| program.file.display().to_string());
        WasiPlan {
            argv: std::iter::once(argv0)
                .chain(program.args.iter().cloned())
                .collect(),
            environment: self.environment(settings),
            inherit_stdio: settings
                .wasi
                .inherit_stdio
                .map(|asked| asked.unwrap_or(true)),
            dirs: self.dirs.clone(),
        }
    }

    /// The main thread's WASI context: the plan's, plus the listening sockets.
    fn wasi_context(&self, plan: &WasiPlan, settings: &Settings) -> Result<WasiCtx> {
        let mut builder = plan.builder()?;
        let listens = (self
            .tcp_listen
            .iter()
            .map(|address| ("--tcplisten ", address)))
        .chain(
            settings
                .wasi
                .tcp_listen
                .iter()
                .map(|address| ("-S tcplisten=", address)),
        );
        for (option, address) in listens {
            let listener = TcpListener::bind(address.as_str())
                .with_context(|| format!("cannot listen on {option}{address}"))?;
            builder = builder.preopened_socket(listener);
        }
        Ok(builder.build())
    }

    fn instantiate_and_call(
        &self,
        store: &mut Store<Host>,
        module: &Module,
        preloads: &[Preload],
        program: &Program,
        settings: &Settings,
        wasi_plan: WasiPlan,
    ) -> Result<()> {
        let mut linker = Linker::new(store.engine());
        if settings.wasi.cli != Some(false) {
            remap::wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
        }
        let threads = if settings.wasi.threads == Some(true) {
            if !preloads.is_empty() {
                bail!(
                    "-S threads cannot be combined with --preload: every thread instantiates the program anew, without the preloaded instances"
                );
            }
            let make_host: threads::HostFactory<Host> = Arc::new(move || {
                Ok(Host {
                    wasi: wasi_plan.builder()?.build(),
                    limits: StoreLimits::default(),
                })
            });
            Some(threads::add_to_linker(
                &mut linker,
                store,
                module,
                make_host,
            )?)
        } else {
            None
        };
        for preload in preloads {
            linker
                .module(&mut *store, &preload.name, &preload.module)
                .with_context(|| {
                    format!(
                        "cannot instantiate --preload {}={}",
                        preload.name,
                        preload.path.display()
                    )
                })?;
        }
        if settings.unknown_imports_trap == Some(true) {
            linker.define_unknown_imports_as_traps(module)?;
        }
        if let Some(threads) = &threads {
            threads.finish(&linker, module)?;
        }
        let instance = linker
            .instantiate(&mut *store, module)
            .with_context(|| format!("cannot instantiate `{}`", program.file.display()))?;
        initialize(store, instance)?;
        match &self.invoke {
            Some(name) => invoke(store, instance, program, name),
            None => call_default(store, instance, program),
        }
    }
}

/// What the run's WASI contexts are made from: the main thread's and, with
/// `-S threads`, each spawned thread's.
struct WasiPlan {
    argv: Vec<String>,
    environment: Vec<(String, String)>,
    /// Whether stdin, stdout and stderr are the host's.
    inherit_stdio: [bool; 3],
    dirs: Vec<(PathBuf, String)>,
}

impl WasiPlan {
    /// A builder with the plan's arguments, environment, stdio and directories.
    fn builder(&self) -> Result<WasiCtxBuilder> {
        let mut builder = WasiCtxBuilder::new()
            .args(&self.argv)
            .envs(&self.environment);
        let inherit: [fn(WasiCtxBuilder) -> WasiCtxBuilder; 3] = [
            WasiCtxBuilder::inherit_stdin,
            WasiCtxBuilder::inherit_stdout,
            WasiCtxBuilder::inherit_stderr,
        ];
        for (&asked, inherit) in self.inherit_stdio.iter().zip(inherit) {
            if asked {
                builder = inherit(builder);
            }
        }
        for (host, guest) in &self.dirs {
            builder = builder
                .preopened_dir(host, guest)
                .with_context(|| format!("cannot open --dir {}", host.display()))?;
        }
        Ok(builder)
    }
}

/// Runs a WASI reactor's `_initialize`, with which it sets itself up before
/// any export is used.
fn initialize(store: &mut Store<Host>, instance: Instance) -> Result<()> {
    match instance.get_func(&mut *store, "_initialize") {
        Some(initialize) => initialize.call(&mut *store, &[], &mut []),
        None => Ok(()),
    }
}

/// Says which option stopped the guest when `-W fuel` or `-W timeout` did.
fn name_the_stopping_option(err: anyhow::Error, settings: &Settings) -> anyhow::Error {
    let option = match err.downcast_ref::<Trap>().map(Trap::kind) {
        Some(TrapKind::Interrupt) => settings
            .timeout
            .map(|after| format!("the guest ran longer than -W timeout={after:?} allows")),
        Some(TrapKind::OutOfFuel) => settings
            .fuel
            .map(|fuel| format!("the guest used up the fuel of -W fuel={fuel}")),
        _ => None,
    };
    match option {
        Some(option) => err.context(option),
        None => err,
    }
}

/// Calls the module's default function: the export named `""` if there is
/// one, else `_start` (the order Wasmtime uses; packaged WASI tools export
/// `_initialize` and `""` without `_start`).
fn call_default(store: &mut Store<Host>, instance: Instance, program: &Program) -> Result<()> {
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
    store: &mut Store<Host>,
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
