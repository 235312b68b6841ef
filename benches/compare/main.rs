//! `compare`: Remap against Wasmtime and native code, side by side.
//!
//! For every workload it runs `remap run` and `wasmtime run` alternately
//! (and the native build of the same C source), after a warm-up round, with
//! the rows of every setup interleaved round by round (so a change in the
//! load of a shared machine touches every row alike), and
//! prints the median wall time and peak RSS of each with the ratios
//! remap/wasmtime and remap/native, in two modes: including compilation
//! (both runtimes with `-C cache=n`, so nothing comes from their code
//! caches) and execution only (precompiled code). Each
//! row names the memory setup, the Wasmtime options that give Wasmtime the
//! same linear-memory layout, and whether both runtimes hardened their
//! bounds checks against Spectre (always the same on both sides).
//! `--instrument fuel,epoch` adds rows with fuel or epoch checks compiled
//! into both runtimes' code (the same `-W` options for both), interleaved
//! with the uninstrumented rows, and prints each runtime's cost of them.
//!
//! Needs clang (wasm32-wasi) and gcc to build the workloads, the `remap`
//! binary (by default the one beside this executable) and `wasmtime` on PATH.

mod setups;

use anyhow::{Context, Result, bail};
use remap_benches::measure::{CommandLine, Run, medians, own_rss_kib, wall_spread};
use remap_benches::workloads::{self, Built, WORKLOADS, code_section_bytes};
use setups::{Instrument, Setup};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The rows the comparison can run besides the workloads: compiling a
/// generated module of about this many bytes of code (run with
/// `--invoke noop`, so the time is start-up + compilation + instantiation).
const COMPILE_ROWS: [(&str, usize); 2] = [("compile-1MB", 1 << 20), ("compile-10MB", 10 << 20)];

/// Which rows to measure.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeChoice {
    /// Including compilation.
    Compile,
    /// Execution only (precompiled code).
    Exec,
    /// Both.
    Both,
}

/// Remap against Wasmtime and native code, side by side.
#[derive(clap::Parser)]
#[command(name = "compare")]
struct Cli {
    /// The remap binary [default: `remap` beside this executable, else on PATH]
    #[arg(long)]
    remap: Option<PathBuf>,
    /// The wasmtime binary
    #[arg(long, default_value = "wasmtime")]
    wasmtime: PathBuf,
    /// Measured runs per runtime after the warm-up
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
    /// Only these rows (workload names, compile-1MB, compile-10MB); grow8g64
    /// (up to ~16 GiB of RAM, minutes) runs only when named here
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Which rows: including compilation, execution only, or both
    #[arg(long, value_enum, default_value_t = ModeChoice::Both)]
    mode: ModeChoice,
    /// Run every row with these memory setups [default: static; dynamic and static for
    /// grow1g]; grow8g64 always runs in dynamic-256m
    #[arg(long, value_delimiter = ',', value_parser = setups::ALL.map(|setup| setup.name))]
    setup: Option<Vec<String>>,
    /// Also run every row with this instrumentation compiled into both
    /// runtimes' code (fuel: `-W fuel=<10^18>`; epoch: `-W epoch-interruption=y`,
    /// run with a far `-W timeout`), interleaved with the uninstrumented rows
    #[arg(long, value_enum, value_delimiter = ',')]
    instrument: Vec<Instrument>,
}

/// Command-line options.
struct Options {
    remap: PathBuf,
    wasmtime: PathBuf,
    runs: usize,
    only: Option<Vec<String>>,
    compile_mode: bool,
    exec_mode: bool,
    setups: Option<Vec<Setup>>,
    /// Instrumentations of every row: `None` first, then those asked for.
    instruments: Vec<Instrument>,
}

fn parse_options() -> Options {
    let cli = <Cli as clap::Parser>::parse();
    Options {
        remap: cli.remap.unwrap_or_else(default_remap),
        wasmtime: cli.wasmtime,
        runs: cli.runs.into(),
        only: cli.only,
        compile_mode: cli.mode != ModeChoice::Exec,
        exec_mode: cli.mode != ModeChoice::Compile,
        setups: cli
            .setup
            .map(|names| names.iter().filter_map(|name| Setup::named(name)).collect()),
        instruments: std::iter::once(Instrument::None)
            .chain(
                cli.instrument
                    .into_iter()
                    .filter(|instrument| *instrument != Instrument::None),
            )
            .collect(),
    }
}

fn default_remap() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("remap")))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("remap"))
}

/// One thing to run under every runtime.
struct Case {
    name: String,
    wasm: PathBuf,
    native: Option<PathBuf>,
    /// Arguments after the module (`--invoke noop` goes before it).
    invoke: Option<&'static str>,
    /// `-W` options Wasmtime needs to accept the module.
    wasmtime_features: &'static [&'static str],
    setups: Vec<Setup>,
    /// Bytes of code, for compile rows.
    code_bytes: Option<usize>,
    /// Whether an execution-only row means anything (not for grow1g, whose
    /// compilation is negligible and whose Wasmtime runs take long).
    exec_only_row: bool,
}

/// The medians of one runtime in one row.
#[derive(Clone, Copy)]
struct Cell {
    wall: Duration,
    rss_kib: u64,
    /// (slowest - fastest) / median wall time: the noise of this cell.
    spread: f64,
}

/// A finished row of the table.
struct Row {
    case: String,
    setup: Setup,
    instrument: Instrument,
    mode: &'static str,
    remap: Result<Cell, String>,
    wasmtime: Result<Cell, String>,
    native: Option<Cell>,
    outputs_agree: bool,
    code_bytes: Option<usize>,
    wasmtime_command: String,
}

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let options = parse_options();
    check_tool(
        &options.remap,
        "remap (build it: cargo build --release -p remap-cli)",
    )?;
    check_tool(
        &options.wasmtime,
        "wasmtime (put the Wasmtime 48 CLI on PATH)",
    )?;
    let cases = build_cases(&options)?;
    let out = workloads::output_dir()?;
    let remap_exec_only = remap_precompiled_support(&options.remap);
    let mut rows = Vec::new();
    for case in &cases {
        let mut native_cell = None;
        if options.compile_mode {
            let measured = measure_rows(&options, case, Mode::WithCompilation, &out)?;
            native_cell = measured.first().and_then(|row| row.native);
            measured.iter().for_each(print_progress);
            rows.extend(measured);
        }
        if options.exec_mode && case.exec_only_row {
            let mode = match remap_exec_only {
                Ok(()) => Mode::ExecutionOnly,
                Err(_) => Mode::WasmtimeExecutionOnly,
            };
            let mut measured = measure_rows(&options, case, mode, &out)?;
            for row in &mut measured {
                if let Err(reason) = &remap_exec_only {
                    row.remap = Err(reason.clone());
                }
                row.native = row.native.or(native_cell);
                print_progress(row);
            }
            rows.extend(measured);
        }
    }
    println!("{}", render(&rows, &options));
    Ok(())
}

fn check_tool(path: &Path, what: &str) -> Result<()> {
    CommandLine::new(path, ["--version".to_owned()])
        .run()
        .with_context(|| format!("cannot run {what}"))
        .map(drop)
}

/// Whether `remap` can run precompiled code; the reason if not.
fn remap_precompiled_support(remap: &Path) -> Result<(), String> {
    match CommandLine::new(remap, ["compile".to_owned(), "--help".to_owned()]).run() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{} has no `remap compile` (an older build?): rebuild it with \
             cargo build --release -p remap-cli",
            remap.display()
        )),
    }
}

fn build_cases(options: &Options) -> Result<Vec<Case>> {
    let named = |name: &str| {
        options
            .only
            .as_ref()
            .is_some_and(|only| only.iter().any(|want| want == name))
    };
    let wanted = |name: &str| options.only.is_none() || named(name);
    let setups_for = |name: &str| match (name, &options.setups) {
        // With less room for growth Wasmtime would copy up to 8 GiB hundreds of times.
        ("grow8g64", _) => vec![setups::DYNAMIC_256M],
        (_, Some(setups)) => setups.clone(),
        ("grow1g", None) => vec![setups::DYNAMIC, setups::STATIC],
        (_, None) => vec![setups::STATIC],
    };
    let mut cases = Vec::new();
    let selected = WORKLOADS.iter().filter(|workload| {
        if workload.only_when_named {
            named(workload.name)
        } else {
            wanted(workload.name)
        }
    });
    for workload in selected {
        eprintln!("building {} ...", workload.name);
        let Built { wasm, native } = workloads::build(workload)
            .with_context(|| format!("building workload {}", workload.name))?;
        cases.push(Case {
            name: workload.name.to_owned(),
            wasm,
            native,
            invoke: None,
            wasmtime_features: workload.wasmtime_features,
            setups: setups_for(workload.name),
            code_bytes: None,
            exec_only_row: workload.compute,
        });
    }
    for (name, bytes) in COMPILE_ROWS.into_iter().filter(|(name, _)| wanted(name)) {
        eprintln!("building {name} ...");
        let wasm = workloads::generated_module(bytes)?;
        let code = std::fs::read(&wasm)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| code_section_bytes(&bytes))
            .with_context(|| format!("reading {}", wasm.display()))?;
        cases.push(Case {
            name: name.to_owned(),
            wasm,
            native: None,
            invoke: Some("noop"),
            wasmtime_features: &[],
            setups: setups_for(name),
            code_bytes: Some(code),
            exec_only_row: true,
        });
    }
    if cases.is_empty() {
        bail!("--only matched no workload");
    }
    Ok(cases)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    WithCompilation,
    ExecutionOnly,
    /// Execution only, measured for Wasmtime alone.
    WasmtimeExecutionOnly,
}

/// The commands of one row, before it runs.
struct PreparedRow {
    setup: Setup,
    instrument: Instrument,
    remap: Option<CommandLine>,
    wasmtime: CommandLine,
}

impl PreparedRow {
    /// The setup, and the instrumentation when there is one.
    fn name(&self) -> String {
        row_name(self.setup, self.instrument)
    }
}

/// A row's setup, then `+fuel` or `+epoch` when it is instrumented.
fn row_name(setup: Setup, instrument: Instrument) -> String {
    match instrument {
        Instrument::None => setup.name.to_owned(),
        other => format!("{}+{}", setup.name, other.name()),
    }
}

/// One command being measured, with its samples so far.
struct Contender<'a> {
    command: &'a CommandLine,
    samples: Vec<Run>,
    failure: Option<String>,
}

impl Contender<'_> {
    fn cell(&self) -> Result<Cell, String> {
        match &self.failure {
            Some(failure) => Err(failure.clone()),
            None => medians(&self.samples)
                .map(|(wall, rss_kib)| Cell {
                    wall,
                    rss_kib,
                    spread: wall_spread(&self.samples),
                })
                .ok_or_else(|| "no runs".to_owned()),
        }
    }
}

/// Measures `case` in `mode` in every one of its setups and
/// instrumentations at once: each round runs every row's remap and wasmtime
/// (and the native build) in turn, so a change in the machine's load
/// touches every row alike and the rows of two setups (e.g. Spectre
/// mitigations on and off) or instrumentations compare fairly.
fn measure_rows(options: &Options, case: &Case, mode: Mode, out: &Path) -> Result<Vec<Row>> {
    let prepared = case
        .setups
        .iter()
        .flat_map(|setup| {
            options
                .instruments
                .iter()
                .map(|instrument| prepare_row(options, case, *setup, *instrument, mode, out))
        })
        .collect::<Result<Vec<_>>>()?;
    // Native code has no compilation step: it runs in the first mode only.
    let native = case
        .native
        .as_ref()
        .filter(|_| mode == Mode::WithCompilation || !options.compile_mode)
        .map(|path| CommandLine::new(path, []));

    let mut contenders: Vec<Contender> = Vec::new();
    for row in &prepared {
        contenders.extend(
            row.remap
                .iter()
                .chain([&row.wasmtime])
                .map(|command| Contender {
                    command,
                    samples: Vec::new(),
                    failure: None,
                }),
        );
    }
    contenders.extend(native.iter().map(|command| Contender {
        command,
        samples: Vec::new(),
        failure: None,
    }));
    let (runs, label) = (options.runs, mode_label(mode));
    let row_names: Vec<String> = prepared.iter().map(PreparedRow::name).collect();
    eprintln!(
        "{} [{} {label}]: 1 warm-up + {runs} runs each, rows interleaved",
        case.name,
        row_names.join(", ")
    );
    for round in 0..=runs {
        for contender in &mut contenders {
            if contender.failure.is_some() {
                continue;
            }
            match contender.command.run() {
                Ok(run) if round > 0 => contender.samples.push(run),
                Ok(_) => {}
                Err(err) => contender.failure = Some(format!("{err:#}")),
            }
        }
    }
    let outputs: Vec<&str> = contenders
        .iter()
        .flat_map(|contender| contender.samples.iter().map(|run| run.stdout.as_str()))
        .collect();
    let outputs_agree = outputs.windows(2).all(|pair| pair[0] == pair[1]);
    let native_cell = native
        .as_ref()
        .and_then(|_| contenders.last())
        .and_then(|contender| contender.cell().ok());
    let mut cells = contenders.iter();
    let mut rows = Vec::new();
    for row in &prepared {
        let remap = match row.remap {
            Some(_) => cells
                .next()
                .map_or(Err("no runs".to_owned()), Contender::cell),
            None => Err(String::new()),
        };
        let wasmtime = cells
            .next()
            .map_or(Err("no runs".to_owned()), Contender::cell);
        rows.push(Row {
            case: case.name.clone(),
            setup: row.setup,
            instrument: row.instrument,
            mode: label,
            remap,
            wasmtime,
            native: native_cell,
            outputs_agree,
            code_bytes: case.code_bytes,
            wasmtime_command: row.wasmtime.display(),
        });
    }
    Ok(rows)
}

/// Compiles what `mode` needs ahead of time and builds the row's commands.
fn prepare_row(
    options: &Options,
    case: &Case,
    setup: Setup,
    instrument: Instrument,
    mode: Mode,
    out: &Path,
) -> Result<PreparedRow> {
    let invoke: Vec<String> = case
        .invoke
        .map(|name| vec!["--invoke".to_owned(), name.to_owned()])
        .unwrap_or_default();
    let stem = format!("{}.{}.{}", case.name, setup.name, instrument.name());
    let features: Vec<String> = case
        .wasmtime_features
        .iter()
        .flat_map(|feature| ["-W".to_owned(), (*feature).to_owned()])
        .collect();
    let wasmtime_module = match mode {
        Mode::WithCompilation => case.wasm.clone(),
        Mode::ExecutionOnly | Mode::WasmtimeExecutionOnly => {
            let cwasm = out.join(format!("{stem}.cwasm"));
            let mut args = vec!["compile".to_owned()];
            args.extend(features.iter().cloned());
            args.extend(setup.wasmtime_args());
            args.extend(instrument.compile_args());
            args.extend([
                case.wasm.display().to_string(),
                "-o".to_owned(),
                cwasm.display().to_string(),
            ]);
            CommandLine::new(&options.wasmtime, args).run()?;
            cwasm
        }
    };
    let mut wasmtime_args = vec!["run".to_owned(), "-C".to_owned(), "cache=n".to_owned()];
    if mode != Mode::WithCompilation {
        wasmtime_args.push("--allow-precompiled".to_owned());
    }
    wasmtime_args.extend(features);
    wasmtime_args.extend(setup.wasmtime_args());
    wasmtime_args.extend(instrument.run_args());
    wasmtime_args.extend(invoke.iter().cloned());
    wasmtime_args.push(wasmtime_module.display().to_string());
    let wasmtime = CommandLine::new(&options.wasmtime, wasmtime_args);

    let remap = match mode {
        Mode::WasmtimeExecutionOnly => None,
        Mode::WithCompilation => Some(remap_run(
            options, setup, instrument, &invoke, &case.wasm, false,
        )),
        Mode::ExecutionOnly => {
            let precompiled = out.join(format!("{stem}.remap-cwasm"));
            let mut args = vec!["compile".to_owned()];
            args.extend(setup.remap_compile_args());
            args.extend(instrument.compile_args());
            args.extend([
                case.wasm.display().to_string(),
                "-o".to_owned(),
                precompiled.display().to_string(),
            ]);
            CommandLine::new(&options.remap, args).run()?;
            Some(remap_run(
                options,
                setup,
                instrument,
                &invoke,
                &precompiled,
                true,
            ))
        }
    };
    Ok(PreparedRow {
        setup,
        instrument,
        remap,
        wasmtime,
    })
}

fn remap_run(
    options: &Options,
    setup: Setup,
    instrument: Instrument,
    invoke: &[String],
    module: &Path,
    precompiled: bool,
) -> CommandLine {
    // `remap run` caches compiled code by default, as Wasmtime does.
    let mut args = vec!["run".to_owned(), "-C".to_owned(), "cache=n".to_owned()];
    if precompiled {
        args.push("--allow-precompiled".to_owned());
    }
    args.extend(setup.remap_run_args());
    args.extend(instrument.run_args());
    args.extend(invoke.iter().cloned());
    args.push(module.display().to_string());
    CommandLine::new(&options.remap, args)
}

fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::WithCompilation => "with compilation",
        Mode::ExecutionOnly | Mode::WasmtimeExecutionOnly => "execution only",
    }
}

fn print_progress(row: &Row) {
    let show = |cell: &Result<Cell, String>| match cell {
        Ok(cell) => format!(
            "{:.1} ms (spread {})",
            millis(cell.wall),
            percent(cell.spread)
        ),
        Err(reason) if reason.is_empty() => "-".to_owned(),
        Err(reason) => format!("n/a: {reason}"),
    };
    eprintln!(
        "  remap {} | wasmtime {}",
        show(&row.remap),
        show(&row.wasmtime)
    );
}

/// Whether both runtimes hardened bounds checks in this setup.
fn spectre_label(setup: Setup) -> &'static str {
    if setup.spectre_mitigations {
        "on in both"
    } else {
        "off in both"
    }
}

/// The memory-growth rows: how much faster Remap's relocation by mremap is
/// than Wasmtime's copying, and each one's peak RSS.
fn render_growth(text: &mut String, rows: &[Row]) {
    let growth: Vec<&Row> = rows
        .iter()
        .filter(|row| row.case.starts_with("grow"))
        .collect();
    if growth.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "\nMemory growth (grow1g: to 1 GiB, target: movable memory >= 5x faster than Wasmtime; \
         grow8g64: a 64-bit memory to 8 GiB):\n"
    );
    for row in growth {
        if let (Ok(remap), Ok(wasmtime)) = (&row.remap, &row.wasmtime) {
            let _ = writeln!(
                text,
                "- {} [{}]: Remap {:.1} ms, Wasmtime {:.1} ms: Remap {:.1}x faster; \
                 peak RSS Remap {:.1} MiB, Wasmtime {:.1} MiB",
                row.case,
                row.setup.name,
                millis(remap.wall),
                millis(wasmtime.wall),
                wasmtime.wall.as_secs_f64() / remap.wall.as_secs_f64(),
                mib(remap.rss_kib),
                mib(wasmtime.rss_kib)
            );
        }
    }
}

/// For each workload and mode measured in both `dynamic` and
/// `dynamic-no-spectre`: each runtime's time with the mitigations over its
/// time without (the two rows ran interleaved, round by round).
fn render_spectre_cost(text: &mut String, rows: &[Row]) {
    let lines = cost_lines(rows, |row| {
        (row.setup.name == setups::DYNAMIC.name).then(|| {
            rows.iter().find(|plain| {
                plain.setup.name == setups::DYNAMIC_NO_SPECTRE.name
                    && plain.instrument == row.instrument
                    && plain.case == row.case
                    && plain.mode == row.mode
            })
        })?
    });
    render_cost(
        text,
        "Cost of the Spectre mitigations in the dynamic layout (time with / time without; \
         setups interleaved round by round)",
        &lines,
    );
}

/// For each instrumented row: each runtime's time with the instrumentation
/// over its time without, in the same setup (the rows ran interleaved).
fn render_instrument_cost(text: &mut String, rows: &[Row]) {
    let lines = cost_lines(rows, |row| {
        (row.instrument != Instrument::None).then(|| {
            rows.iter().find(|plain| {
                plain.instrument == Instrument::None
                    && plain.setup.name == row.setup.name
                    && plain.case == row.case
                    && plain.mode == row.mode
            })
        })?
    });
    render_cost(
        text,
        "Cost of fuel and epoch instrumentation (time with / time without, each runtime \
         against itself; rows interleaved round by round)",
        &lines,
    );
}

/// One line per row that `baseline_of` pairs with a baseline row: each
/// runtime's time in the row over its time in the baseline.
fn cost_lines<'a>(rows: &'a [Row], baseline_of: impl Fn(&Row) -> Option<&'a Row>) -> Vec<String> {
    let cost = |on: &Result<Cell, String>, off: &Result<Cell, String>| match (on, off) {
        (Ok(on), Ok(off)) => format_ratio(on.wall.as_secs_f64() / off.wall.as_secs_f64()),
        _ => "n/a".to_owned(),
    };
    rows.iter()
        .filter_map(|row| {
            let baseline = baseline_of(row)?;
            Some(format!(
                "- {} [{}, {}]: remap {}, wasmtime {}",
                row.case,
                row_name(row.setup, row.instrument),
                row.mode,
                cost(&row.remap, &baseline.remap),
                cost(&row.wasmtime, &baseline.wasmtime)
            ))
        })
        .collect()
}

/// `lines` under `title`, unless there are none.
fn render_cost(text: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(text, "\n{title}:\n");
    for line in lines {
        let _ = writeln!(text, "{line}");
    }
}

/// A ratio with enough digits to stay readable when it is far below 1.
fn format_ratio(ratio: f64) -> String {
    if ratio < 0.1 {
        format!("{ratio:.4}x")
    } else {
        format!("{ratio:.2}x")
    }
}

/// A fraction as a whole percentage.
fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The result table in Markdown, then the setups and the unavailable modes.
fn render(rows: &[Row], options: &Options) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\n{} measured runs per runtime after one warm-up, alternating (all setups of a \
         workload interleaved); medians. Spread: \
         (slowest - fastest) / median wall time of remap / wasmtime.\n",
        options.runs
    );
    let _ = writeln!(
        text,
        "RSS is the child's peak (ru_maxrss from wait4); none can read below this tool's own \
         RSS when it spawns them ({:.1} MiB at the end), which Linux carries into the child.\n",
        mib(own_rss_kib())
    );
    let _ = writeln!(
        text,
        "| workload | setup | spectre mitigations | mode | remap ms | wasmtime ms | native ms \
         | remap/wasmtime | remap/native | spread | remap RSS MiB | wasmtime RSS MiB | native RSS MiB \
         | outputs |"
    );
    let _ = writeln!(
        text,
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut unavailable: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows {
        let time = |cell: &Result<Cell, String>| match cell {
            Ok(cell) => format!("{:.1}", millis(cell.wall)),
            Err(_) => "n/a".to_owned(),
        };
        let rss = |cell: &Result<Cell, String>| match cell {
            Ok(cell) => format!("{:.1}", mib(cell.rss_kib)),
            Err(_) => "n/a".to_owned(),
        };
        let ratio = |other: Option<Cell>| match (&row.remap, other) {
            (Ok(remap), Some(other)) => {
                format_ratio(remap.wall.as_secs_f64() / other.wall.as_secs_f64())
            }
            _ => "n/a".to_owned(),
        };
        let native = row.native.map(Ok).unwrap_or(Err(String::new()));
        let spread = |cell: &Result<Cell, String>| match cell {
            Ok(cell) => percent(cell.spread),
            Err(_) => "n/a".to_owned(),
        };
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} | {} |",
            row.case,
            row_name(row.setup, row.instrument),
            spectre_label(row.setup),
            row.mode,
            time(&row.remap),
            time(&row.wasmtime),
            time(&native),
            ratio(row.wasmtime.as_ref().ok().copied()),
            ratio(row.native),
            spread(&row.remap),
            spread(&row.wasmtime),
            rss(&row.remap),
            rss(&row.wasmtime),
            rss(&native),
            if row.outputs_agree { "equal" } else { "DIFFER" },
        );
        for (runtime, cell) in [("remap", &row.remap), ("wasmtime", &row.wasmtime)] {
            if let Err(reason) = cell
                && !reason.is_empty()
            {
                let what = format!(
                    "{runtime} {} [{} {}]",
                    row.case,
                    row_name(row.setup, row.instrument),
                    row.mode
                );
                match unavailable.iter_mut().find(|(known, _)| known == reason) {
                    Some((_, rows)) => rows.push(what),
                    None => unavailable.push((reason.clone(), vec![what])),
                }
            }
        }
    }
    render_growth(&mut text, rows);
    render_spectre_cost(&mut text, rows);
    render_instrument_cost(&mut text, rows);
    let throughput: Vec<&Row> = rows.iter().filter(|row| row.code_bytes.is_some()).collect();
    if !throughput.is_empty() {
        let _ = writeln!(
            text,
            "\nCompile rows: MB of code section per second of process time \
             (start-up + compilation on all cores + instantiation + `--invoke noop`):\n"
        );
        for row in throughput {
            let rate = |cell: &Result<Cell, String>| match cell {
                Ok(cell) => format!(
                    "{:.1} MB/s",
                    row.code_bytes.unwrap_or(0) as f64 / 1e6 / cell.wall.as_secs_f64()
                ),
                Err(_) => "n/a".to_owned(),
            };
            let _ = writeln!(
                text,
                "- {} [{}] ({:.2} MB): remap {}, wasmtime {}",
                row.case,
                row.mode,
                row.code_bytes.unwrap_or(0) as f64 / 1e6,
                rate(&row.remap),
                rate(&row.wasmtime)
            );
        }
    }
    let _ = writeln!(
        text,
        "\nMemory setups (same layout and Spectre mitigations in both runtimes):\n"
    );
    let mut used: Vec<&str> = Vec::new();
    for setup in rows.iter().map(|row| row.setup) {
        if used.contains(&setup.name) {
            continue;
        }
        used.push(setup.name);
        let _ = writeln!(
            text,
            "- {}: remap run {}; wasmtime run {}\n  {}",
            setup.name,
            setup.remap_run_args().join(" "),
            setup.wasmtime_args().join(" "),
            setup.note
        );
    }
    let _ = writeln!(text, "\nWasmtime command per row:\n");
    for row in rows {
        let _ = writeln!(
            text,
            "- {} [{} {}]: {}",
            row.case,
            row_name(row.setup, row.instrument),
            row.mode,
            row.wasmtime_command
        );
    }
    if !unavailable.is_empty() {
        let _ = writeln!(text, "\nNot measured:\n");
        for (reason, rows) in unavailable {
            let _ = writeln!(text, "- {}: {reason}", rows.join(", "));
        }
    }
    text
}
