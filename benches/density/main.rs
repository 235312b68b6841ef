//! `density`: how many live instances one process holds (issue 19), and
//! what each costs. Each row instantiates N instances of a module with a
//! one-page memory and one function, a `Store` per instance as a new user
//! would, calls the function once (so its memory's first page is touched),
//! and keeps them all alive. It reports the time per instance, resident
//! bytes per instance (`/proc/self/statm`), page-table bytes per instance
//! (`VmPTE`), the kernel mappings in use (`/proc/self/maps` lines) and the
//! address space (`VmSize`), or, when the process ran out first, how many
//! instances it reached and the error.
//!
//! Every row runs in a child process of its own (`density --row LAYOUT N`),
//! so that rows do not share address space, mappings or freed memory. With
//! `--features wasmtime-peer`, Wasmtime rows (its default on-demand
//! allocator, and its pooling allocator sized for N memories of one 1 MiB
//! reservation each, no guard) run the same loop.
//!
//! ```sh
//! cargo run --release -p remap-benches --bin density -- [--counts 10000,100000,1000000]
//! ```

use anyhow::{Context, Result, bail};
use clap::Parser;
use std::io::Read;
use std::process::Command;
use std::time::Instant;

/// The module each instance is made from: a one-page memory, one function.
const MODULE: &str = r#"(module
  (memory 1)
  (func (export "run") (param i32) (result i32)
    (i32.store (i32.const 0) (local.get 0))
    (i32.load (i32.const 0))))"#;

#[derive(Parser, Debug)]
#[command(about = "instances per process: time, resident bytes, mappings, address space")]
struct Options {
    /// Instance counts to try, each in every layout.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    counts: Vec<u64>,
    /// Layouts to run (default: all; see `--help` of a row for names).
    #[arg(long, value_delimiter = ',')]
    layouts: Vec<String>,
    /// Internal: run one row in this process and print its result line.
    #[arg(long, num_args = 2, value_names = ["LAYOUT", "N"])]
    row: Vec<String>,
}

/// Every layout a row can use.
fn all_layouts() -> Vec<&'static str> {
    let mut layouts = vec!["remap-static", "remap-dynamic", "remap-arena"];
    if cfg!(feature = "wasmtime-peer") {
        layouts.extend(["wasmtime-default", "wasmtime-pooling"]);
    }
    layouts
}

/// What the kernel says about this process right now.
#[derive(Clone, Copy, Debug)]
struct ProcessState {
    resident_bytes: u64,
    page_table_bytes: u64,
    virtual_bytes: u64,
    mappings: u64,
}

impl ProcessState {
    fn read() -> Result<ProcessState> {
        let page = 4096;
        let statm = std::fs::read_to_string("/proc/self/statm")?;
        let resident_pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .context("statm has no resident field")?
            .parse()?;
        let status = std::fs::read_to_string("/proc/self/status")?;
        let kib = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .with_context(|| format!("no {name} in /proc/self/status"))?;
            Ok(line
                .split_whitespace()
                .nth(1)
                .context("empty status field")?
                .parse::<u64>()?
                * 1024)
        };
        Ok(ProcessState {
            resident_bytes: resident_pages * page,
            page_table_bytes: kib("VmPTE:")?,
            virtual_bytes: kib("VmSize:")?,
            mappings: count_mappings()?,
        })
    }
}

/// The lines of `/proc/self/maps`, counted through a buffer on the stack:
/// at the mapping limit, a growing heap buffer could need a mapping too.
fn count_mappings() -> Result<u64> {
    let mut maps = std::fs::File::open("/proc/self/maps")?;
    let mut buffer = [0u8; 16 << 10];
    let mut lines = 0;
    loop {
        match maps.read(&mut buffer)? {
            0 => return Ok(lines),
            read => lines += buffer[..read].iter().filter(|&&byte| byte == b'\n').count() as u64,
        }
    }
}

/// One row's result, printed by the child as one tab-separated line.
struct RowResult {
    reached: u64,
    nanos_per_instance: f64,
    resident_per_instance: f64,
    page_tables_per_instance: f64,
    mappings: u64,
    virtual_bytes: u64,
    error: Option<String>,
}

/// Instantiates up to `count` instances with `instantiate` (each returns a
/// value kept alive until the end), stopping at the first error.
fn fill<T>(count: u64, mut instantiate: impl FnMut() -> Result<T>) -> Result<RowResult> {
    let mut live = Vec::with_capacity(count as usize);
    let before = ProcessState::read()?;
    let start = Instant::now();
    let mut error = None;
    for _ in 0..count {
        match instantiate() {
            Ok(instance) => live.push(instance),
            Err(failure) => {
                error = Some(format!("{failure:#}"));
                break;
            }
        }
    }
    let elapsed = start.elapsed();
    let after = ProcessState::read()?;
    let reached = live.len() as u64;
    let per = |bytes: u64, base: u64| bytes.saturating_sub(base) as f64 / reached.max(1) as f64;
    let result = RowResult {
        reached,
        nanos_per_instance: elapsed.as_nanos() as f64 / reached.max(1) as f64,
        resident_per_instance: per(after.resident_bytes, before.resident_bytes),
        page_tables_per_instance: per(after.page_table_bytes, before.page_table_bytes),
        mappings: after.mappings,
        virtual_bytes: after.virtual_bytes,
        error,
    };
    // Tearing a million instances down is not what is measured.
    std::mem::forget(live);
    Ok(result)
}

fn remap_row(layout: &str, count: u64) -> Result<RowResult> {
    let mut config = remap::Config::new();
    match layout {
        "remap-static" => config.memory_style(remap::MemoryStyle::Static),
        "remap-dynamic" => config.memory_style(remap::MemoryStyle::Dynamic),
        "remap-arena" => config.memory_style(remap::MemoryStyle::Arena),
        other => bail!("unknown layout {other}"),
    };
    let engine = remap::Engine::new(&config)?;
    let module = remap::Module::new(&engine, MODULE)?;
    fill(count, || {
        let mut store = remap::Store::new(&engine, ());
        let instance = remap::Instance::new(&mut store, &module, &[])?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
        run.call(&mut store, 7)?;
        Ok((store, instance))
    })
}

#[cfg(feature = "wasmtime-peer")]
fn wasmtime_row(layout: &str, count: u64) -> Result<RowResult> {
    let mut config = wasmtime::Config::new();
    match layout {
        "wasmtime-default" => {}
        "wasmtime-pooling" => {
            let mut pooling = wasmtime::PoolingAllocationConfig::default();
            let total = u32::try_from(count).unwrap_or(u32::MAX);
            pooling
                .total_memories(total)
                .total_core_instances(total)
                .total_tables(total)
                .max_memory_size(1 << 20);
            config
                .allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling))
                .memory_reservation(1 << 20)
                .memory_guard_size(0)
                .guard_before_linear_memory(false);
        }
        other => bail!("unknown layout {other}"),
    }
    let engine = wasmtime::Engine::new(&config)?;
    let module = wasmtime::Module::new(&engine, MODULE)?;
    fill(count, || {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
        let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
        run.call(&mut store, 7)?;
        Ok((store, instance))
    })
}

#[cfg(not(feature = "wasmtime-peer"))]
fn wasmtime_row(layout: &str, _count: u64) -> Result<RowResult> {
    bail!("{layout} needs --features wasmtime-peer")
}

/// Runs one row here and prints it for the parent.
fn run_row(layout: &str, count: u64) -> Result<()> {
    let result = if layout.starts_with("remap-") {
        remap_row(layout, count)?
    } else {
        wasmtime_row(layout, count)?
    };
    println!(
        "{}\t{:.0}\t{:.0}\t{:.0}\t{}\t{}\t{}",
        result.reached,
        result.nanos_per_instance,
        result.resident_per_instance,
        result.page_tables_per_instance,
        result.mappings,
        result.virtual_bytes,
        result.error.unwrap_or_default().replace(['\t', '\n'], " ")
    );
    Ok(())
}

/// Runs `layout` at `count` in a child process and formats its table row.
fn child_row(layout: &str, count: u64) -> Result<String> {
    let output = Command::new(std::env::current_exe()?)
        .args(["--row", layout, &count.to_string()])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().last().filter(|_| output.status.success()) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr
            .lines()
            .find(|line| line.starts_with("Error") || line.contains("panicked"))
            .unwrap_or("no output");
        return Ok(format!(
            "| {layout} | {count} | 0 | | | | | | {} ({why}) |",
            output.status
        ));
    };
    let fields: Vec<&str> = line.split('\t').collect();
    let [
        reached,
        nanos,
        resident,
        page_tables,
        mappings,
        virtual_bytes,
        error,
    ] = fields[..]
    else {
        bail!("unexpected row output: {line}");
    };
    let nanos: f64 = nanos.parse()?;
    let gib = virtual_bytes.parse::<f64>()? / (1u64 << 30) as f64;
    Ok(format!(
        "| {layout} | {count} | {reached} | {:.2} | {resident} | {page_tables} | {mappings} | {gib:.1} | {error} |",
        nanos / 1000.0
    ))
}

fn main() -> Result<()> {
    let options = Options::parse();
    if let [layout, count] = &options.row[..] {
        return run_row(layout, count.parse()?);
    }
    let layouts = if options.layouts.is_empty() {
        all_layouts().into_iter().map(String::from).collect()
    } else {
        options.layouts
    };
    println!(
        "vm.max_map_count = {}",
        std::fs::read_to_string("/proc/sys/vm/max_map_count")?.trim()
    );
    println!();
    println!(
        "| layout | N | reached | µs/instance | resident B/instance | page-table B/instance | mappings | address space GiB | stopped by |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for layout in &layouts {
        for &count in &options.counts {
            let row = child_row(layout, count)?;
            let stopped = !row.contains(&format!("| {count} | {count} |"));
            println!("{row}");
            if stopped {
                break; // a larger N stops at the same limit
            }
        }
    }
    Ok(())
}
