//! `gc`: Wasm GC workloads in Remap and in Wasmtime (with
//! `--features wasmtime-peer`, its GC on with its default collector):
//! binary-trees (`workloads/binary_trees.wat`) and an allocation-heavy array
//! workload (`workloads/gc_arrays.wat`).
//!
//! Every run is a child process of its own (`gc --row RUNTIME WORKLOAD`)
//! that compiles the module, times one call of its `run` export and prints
//! the time, the checksum and, for Remap, the collector's statistics; the
//! parent reaps it with `wait4` for its peak resident size. A table row is
//! the median of `--runs` runs; both runtimes must print the same checksum.
//!
//! ```sh
//! cargo run --release -p remap-benches --features wasmtime-peer --bin gc -- [--runs 5]
//! ```

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use remap_benches::measure::CommandLine;
use std::time::{Duration, Instant};

/// A workload: its module, the argument of `run`, and what it is.
struct Workload {
    name: &'static str,
    wat: &'static str,
    argument: i32,
    about: &'static str,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        name: "binary-trees",
        wat: include_str!("../workloads/binary_trees.wat"),
        argument: 18,
        about: "binary-trees, depth 18",
    },
    Workload {
        name: "gc-arrays",
        wat: include_str!("../workloads/gc_arrays.wat"),
        argument: 200_000,
        about: "200k rounds of i32 + f64 arrays (16..4095 elements) filled, summed, dropped",
    },
];

#[derive(Parser, Debug)]
#[command(about = "Wasm GC workloads: time, peak RSS and pause times, Remap vs Wasmtime")]
struct Options {
    /// Runs per runtime and workload (the table shows medians).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Internal: run one workload once in this process and print its result.
    #[arg(long, num_args = 2, value_names = ["RUNTIME", "WORKLOAD"])]
    row: Vec<String>,
}

/// Remap's collector statistics of one run (`GcStats`).
#[derive(Clone, Copy, Debug, Default)]
struct CollectorStats {
    collections: u64,
    total_pause: Duration,
    max_pause: Duration,
}

impl CollectorStats {
    /// The median of each statistic over `runs` (not empty).
    fn medians(runs: &[CollectorStats]) -> CollectorStats {
        let mut collections: Vec<u64> = runs.iter().map(|run| run.collections).collect();
        let mut totals: Vec<Duration> = runs.iter().map(|run| run.total_pause).collect();
        let mut maxima: Vec<Duration> = runs.iter().map(|run| run.max_pause).collect();
        CollectorStats {
            collections: median(&mut collections),
            total_pause: median(&mut totals),
            max_pause: median(&mut maxima),
        }
    }
}

/// What one run printed.
#[derive(Clone, Copy, Debug)]
struct RowResult {
    run: Duration,
    checksum: i64,
    /// Remap only.
    collector: Option<CollectorStats>,
}

impl RowResult {
    fn to_line(self) -> String {
        let collector = self.collector.unwrap_or_default();
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            self.run.as_nanos(),
            self.checksum,
            u8::from(self.collector.is_some()),
            collector.collections,
            collector.total_pause.as_nanos(),
            collector.max_pause.as_nanos()
        )
    }

    fn parse(line: &str) -> Result<RowResult> {
        let fields: Vec<&str> = line.trim().split('\t').collect();
        let [run, checksum, has_collector, collections, total, max] = fields[..] else {
            bail!("unexpected row output: {line}");
        };
        let nanos = |text: &str| -> Result<Duration> { Ok(Duration::from_nanos(text.parse()?)) };
        Ok(RowResult {
            run: nanos(run)?,
            checksum: checksum.parse()?,
            collector: (has_collector == "1")
                .then(|| -> Result<_> {
                    Ok(CollectorStats {
                        collections: collections.parse()?,
                        total_pause: nanos(total)?,
                        max_pause: nanos(max)?,
                    })
                })
                .transpose()?,
        })
    }
}

fn remap_row(workload: &Workload) -> Result<RowResult> {
    let engine = remap::Engine::default();
    let module = remap::Module::new(&engine, workload.wat)?;
    let mut store = remap::Store::new(&engine, ());
    let instance = remap::Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
    let started = Instant::now();
    let checksum = run.call(&mut store, workload.argument)?;
    let elapsed = started.elapsed();
    let stats = store.gc_stats();
    Ok(RowResult {
        run: elapsed,
        checksum,
        collector: Some(CollectorStats {
            collections: stats.collections,
            total_pause: stats.total_pause,
            max_pause: stats.max_pause,
        }),
    })
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_row(workload: &Workload) -> Result<RowResult> {
    let mut config = wasmtime::Config::new();
    // Its default collector (`Collector::Auto`).
    config.wasm_gc(true).wasm_function_references(true);
    let engine = wasmtime::Engine::new(&config)?;
    let module = wasmtime::Module::new(&engine, workload.wat)?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
    let started = Instant::now();
    let checksum = run.call(&mut store, workload.argument)?;
    Ok(RowResult {
        run: started.elapsed(),
        checksum,
        collector: None,
    })
}

#[cfg(not(feature = "wasmtime-peer"))]
fn wasmtime_row(_workload: &Workload) -> Result<RowResult> {
    bail!("built without the wasmtime-peer feature")
}

fn runtimes() -> Vec<&'static str> {
    let mut runtimes = vec!["remap"];
    if cfg!(feature = "wasmtime-peer") {
        runtimes.push("wasmtime");
    }
    runtimes
}

fn workload(name: &str) -> Result<&'static Workload> {
    WORKLOADS
        .iter()
        .find(|workload| workload.name == name)
        .with_context(|| format!("no workload {name}"))
}

fn median<T: Copy + Ord>(values: &mut [T]) -> T {
    values.sort_unstable();
    values[values.len() / 2]
}

/// The medians of one runtime's runs of a workload.
struct Summary {
    run: Duration,
    peak_rss_kib: u64,
    checksum: i64,
    collector: Option<CollectorStats>,
}

fn summarize(runtime: &str, workload: &Workload, runs: usize) -> Result<Summary> {
    let command = CommandLine::new(
        std::env::current_exe()?,
        [
            "--row".to_string(),
            runtime.to_string(),
            workload.name.to_string(),
        ],
    );
    let mut results = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let run = command.run()?;
        let line = run
            .stdout
            .lines()
            .last()
            .context("the row printed nothing")?;
        results.push(RowResult::parse(line)?);
        rss.push(run.peak_rss_kib);
    }
    let checksum = results[0].checksum;
    ensure!(
        results.iter().all(|result| result.checksum == checksum),
        "{runtime} {}: checksums differ between runs",
        workload.name
    );
    let mut times: Vec<Duration> = results.iter().map(|result| result.run).collect();
    let collector_runs: Vec<CollectorStats> = results
        .iter()
        .filter_map(|result| result.collector)
        .collect();
    let collector = (!collector_runs.is_empty()).then(|| CollectorStats::medians(&collector_runs));
    Ok(Summary {
        run: median(&mut times),
        peak_rss_kib: median(&mut rss),
        checksum,
        collector,
    })
}

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn main() -> Result<()> {
    let options = Options::parse();
    if let [runtime, name] = &options.row[..] {
        let workload = workload(name)?;
        let result = match runtime.as_str() {
            "remap" => remap_row(workload)?,
            "wasmtime" => wasmtime_row(workload)?,
            other => bail!("no runtime {other}"),
        };
        println!("{}", result.to_line());
        return Ok(());
    }
    ensure!(options.runs > 0, "--runs must be at least 1");
    println!(
        "| workload | runtime | time ms (median of {}) | vs Remap | peak RSS MiB | collections | pause total ms | pause max ms |",
        options.runs
    );
    println!("|---|---|---|---|---|---|---|---|");
    for workload in &WORKLOADS {
        let mut remap_time: Option<Duration> = None;
        let mut checksum = None;
        for runtime in runtimes() {
            let summary = summarize(runtime, workload, options.runs)?;
            if let Some(expected) = checksum {
                ensure!(
                    summary.checksum == expected,
                    "{}: {runtime} computed checksum {} but Remap {expected}",
                    workload.name,
                    summary.checksum
                );
            }
            checksum = Some(summary.checksum);
            let ratio = match remap_time {
                Some(remap) => format!("{:.2}x", summary.run.as_secs_f64() / remap.as_secs_f64()),
                None => {
                    remap_time = Some(summary.run);
                    "1.00x".to_string()
                }
            };
            let (collections, total, max) = match summary.collector {
                Some(stats) => (
                    stats.collections.to_string(),
                    millis(stats.total_pause),
                    millis(stats.max_pause),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            println!(
                "| {} | {runtime} | {} | {ratio} | {:.1} | {collections} | {total} | {max} |",
                workload.name,
                millis(summary.run),
                summary.peak_rss_kib as f64 / 1024.0,
            );
        }
        println!(
            "<!-- {}: {}; checksum {} -->",
            workload.name,
            workload.about,
            checksum.unwrap_or_default()
        );
    }
    Ok(())
}
