//! `remap-fuzz`: runs the fuzz targets over ranges of seeds and reproduces
//! single findings.
//!
//! ```text
//! remap-fuzz run differential --seeds 0..100000
//! remap-fuzz repro differential 1234
//! ```

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use remap_fuzz::{Finding, Fuzzer, Target};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Differential and robustness fuzzing for Remap")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every seed of a range; prints each finding and a summary, and
    /// exits with status 1 if anything was found.
    Run {
        /// The target.
        #[arg(value_enum)]
        target: Target,
        /// Seeds as `A..B` (B excluded).
        #[arg(long, value_parser = parse_range)]
        seeds: Range<u64>,
        /// Where findings' modules are saved.
        #[arg(long, default_value = "fuzz-findings")]
        out: PathBuf,
        /// Prints a progress line every this many cases (0: never).
        #[arg(long, default_value_t = 1000)]
        progress: u64,
    },
    /// Runs one seed and prints everything about it: the seed, what each
    /// side did, the module's file and the reproducing command.
    Repro {
        /// The target.
        #[arg(value_enum)]
        target: Target,
        /// The seed.
        seed: u64,
        /// Where the module is saved.
        #[arg(long, default_value = "fuzz-findings")]
        out: PathBuf,
    },
}

fn parse_range(text: &str) -> Result<Range<u64>> {
    let (start, end) = text.split_once("..").context("expected A..B")?;
    let range = start.trim().parse()?..end.trim().parse()?;
    if range.is_empty() {
        bail!("the range {text} is empty");
    }
    Ok(range)
}

/// Saves a finding's module (if it has one) and prints the finding.
fn report(finding: &Finding, out: &Path) -> Result<()> {
    println!("{finding}");
    if let Some(module) = &finding.module {
        std::fs::create_dir_all(out)?;
        let path = out.join(format!("{}-{}.wasm", finding.target.name(), finding.seed));
        std::fs::write(&path, module)?;
        println!("module saved to {}", path.display());
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut fuzzer = Fuzzer::new();
    match cli.command {
        Command::Repro { target, seed, out } => {
            println!("{} seed {seed}", target.name());
            match fuzzer.run(target, seed) {
                Ok(case) => {
                    for note in &case.notes {
                        println!("note: {note}");
                    }
                    match case.skipped {
                        Some(why) => println!("skipped: {why}"),
                        None => println!(
                            "no finding ({} steps, {} calls compared)",
                            case.steps, case.calls
                        ),
                    }
                }
                Err(finding) => {
                    report(&finding, &out)?;
                    std::process::exit(1);
                }
            }
        }
        Command::Run {
            target,
            seeds,
            out,
            progress,
        } => {
            let started = Instant::now();
            let (mut cases, mut skipped, mut steps, mut calls) = (0u64, 0u64, 0u64, 0u64);
            let (mut oracle, mut findings) = (0u64, 0u64);
            let mut skip_reasons = BTreeMap::new();
            let mut notes_shown = 0;
            for seed in seeds.clone() {
                cases += 1;
                match fuzzer.run(target, seed) {
                    Ok(case) => {
                        if let Some(why) = case.skipped {
                            skipped += 1;
                            *skip_reasons.entry(why).or_insert(0u64) += 1;
                        }
                        steps += case.steps;
                        calls += case.calls;
                        oracle += case.oracle_disagreements;
                        for note in case.notes.iter().filter(|n| n.starts_with("oracle bug")) {
                            if notes_shown < 20 {
                                println!("seed {seed}: {note}");
                                notes_shown += 1;
                            }
                        }
                    }
                    Err(finding) => {
                        findings += 1;
                        report(&finding, &out)?;
                    }
                }
                if progress > 0 && cases.is_multiple_of(progress) {
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "progress: {cases} cases ({skipped} skipped), {calls} calls, {findings} findings, {:.1} cases/s",
                        cases as f64 / secs
                    );
                }
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{}: seeds {}..{}: {cases} cases, {} run, {skipped} skipped {skip_reasons:?}, \
                 {steps} steps, {calls} calls compared, {oracle} oracle disagreements, \
                 {findings} findings in {secs:.1} s ({:.1} cases/s)",
                target.name(),
                seeds.start,
                seeds.end,
                cases - skipped,
                cases as f64 / secs,
            );
            if findings > 0 {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
