//! Fuzzing for Remap (issue 17): four targets, each case a deterministic
//! function of a `u64` seed, so every finding reproduces from its seed.
//!
//! - [`differential`]: random valid modules run in Remap and in oracles
//!   (wasmi 1.1.0; Wasmtime 48 with the `wasmtime-oracle` feature), results,
//!   traps, memories, globals and tables compared after every step.
//! - [`malformed`]: mutated valid modules; Remap never panics and accepts
//!   exactly what `wasmparser`'s validator accepts with Remap's features.
//! - [`memory_model`]: random operation sequences on `remap-memory`
//!   memories checked against a model of contents, bounds, pins, notifier
//!   calls and statistics.
//! - [`wasi`]: random calls, with random in- and out-of-bounds pointers and
//!   lengths, into every WASI function; nothing escapes the preopened
//!   directory and nothing panics.
//!
//! A case that finds a problem returns a [`Finding`]: the `remap-fuzz`
//! binary prints its seed, both outcomes and the command that reproduces
//! it, and saves the module (if any) to a file. A panic inside a case is
//! caught and reported the same way.

pub mod differential;
pub mod malformed;
pub mod memory_model;
pub mod rng;
pub mod wasi;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Remap against wasmi and Wasmtime on random modules.
    Differential = 1,
    /// Mutated modules against the validator.
    Malformed = 2,
    /// `remap-memory` against a model.
    Memory = 3,
    /// Random WASI calls.
    Wasi = 4,
}

impl Target {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Target::Differential => "differential",
            Target::Malformed => "malformed",
            Target::Memory => "memory",
            Target::Wasi => "wasi",
        }
    }
}

/// A problem a case found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The target that found it.
    pub target: Target,
    /// The case's seed.
    pub seed: u64,
    /// What went wrong.
    pub description: String,
    /// The module the case ran, if any.
    pub module: Option<Vec<u8>>,
    /// What each side did (the runtimes' observations, or the model's
    /// expectation and the memory's state).
    pub outcomes: String,
}

impl Finding {
    /// The command that reproduces this finding.
    pub fn repro_command(&self) -> String {
        let features = match self.target {
            Target::Differential => " --features wasmtime-oracle",
            _ => "",
        };
        format!(
            "cargo run --release -p remap-fuzz{features} -- repro {} {}",
            self.target.name(),
            self.seed
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "FINDING in {} seed {}: {}",
            self.target.name(),
            self.seed,
            self.description
        )?;
        if !self.outcomes.is_empty() {
            writeln!(f, "{}", self.outcomes.trim_end())?;
        }
        write!(f, "reproduce with: {}", self.repro_command())
    }
}

/// What a case did when it found nothing.
#[derive(Clone, Debug, Default)]
pub struct CaseReport {
    /// Set when the case did not run (the reason).
    pub skipped: Option<&'static str>,
    /// Steps of the case's script (calls, host operations, mutations, WASI calls).
    pub steps: u64,
    /// Calls into Wasm compared (differential only).
    pub calls: u64,
    /// Times an oracle disagreed with Remap and the other oracle.
    pub oracle_disagreements: u64,
    /// Remarks worth printing (oracle bugs, a runtime that cannot run a module).
    pub notes: Vec<String>,
}

impl CaseReport {
    /// A case that did not run.
    pub fn skipped(why: &'static str) -> CaseReport {
        CaseReport {
            skipped: Some(why),
            ..CaseReport::default()
        }
    }
}

/// Runs cases of any target, keeping engines between cases.
#[derive(Default)]
pub struct Fuzzer {
    differential: differential::Differential,
}

impl Fuzzer {
    /// A fuzzer with nothing made yet.
    pub fn new() -> Fuzzer {
        Fuzzer::default()
    }

    /// Runs one case; a panic inside it becomes a finding.
    pub fn run(&mut self, target: Target, seed: u64) -> Result<CaseReport, Box<Finding>> {
        let outcome = catch_unwind(AssertUnwindSafe(|| match target {
            Target::Differential => self.differential.run(seed),
            Target::Malformed => malformed::run(seed),
            Target::Memory => memory_model::run(seed),
            Target::Wasi => wasi::run(seed),
        }));
        outcome.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(Box::new(Finding {
                target,
                seed,
                description: format!("panic: {message}"),
                module: None,
                outcomes: String::new(),
            }))
        })
    }
}
