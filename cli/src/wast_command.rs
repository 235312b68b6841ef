//! `remap wast`: run spec scripts and report every failed directive.
//!
//! It takes the group keys that configure the engine (features, memory
//! layout, stack, parallel compilation) and `-W epoch-interruption`, which
//! compiles the epoch checks into every module while the scripts' stores
//! get a deadline that never comes (so a script must pass as it does
//! without the checks); fuel, timeouts, store limits and WASI are
//! `remap run`'s, since a script's stores get none of them.

use crate::option_groups::{self, Command, GroupArgs};
use crate::options::MemoryOptions;
use anyhow::{Result, bail};
use clap::Args;
use remap_spec_tests::run_file;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `remap wast`.
#[derive(Args, Debug)]
pub struct WastCommand {
    #[command(flatten)]
    memory: MemoryOptions,
    #[command(flatten)]
    groups: GroupArgs,
    /// The .wast scripts to run.
    #[arg(required_unless_present_any = option_groups::GROUP_IDS)]
    files: Vec<PathBuf>,
}

impl WastCommand {
    /// Runs every script; fails (exit code 1) when any directive failed.
    pub fn execute(self) -> Result<ExitCode> {
        let Some(settings) = self.groups.settings_or_help(Command::Wast)? else {
            return Ok(ExitCode::SUCCESS);
        };
        if self.files.is_empty() {
            bail!("no .wast script to run");
        }
        let config = self.memory.config(&settings)?;
        let (mut passed, mut failed) = (0, 0);
        for file in &self.files {
            // Locked per report, never across a run: the scripts' `spectest.print`
            // functions write to stdout from the script's own thread.
            let report = run_file(file, &config);
            let mut out = io::stdout().lock();
            match report {
                Ok(report) => {
                    writeln!(
                        out,
                        "{}: {} passed, {} failed",
                        file.display(),
                        report.passed(),
                        report.failed()
                    )?;
                    for failure in report.failures() {
                        writeln!(out, "  {failure}")?;
                    }
                    passed += report.passed();
                    failed += report.failed();
                }
                Err(err) => {
                    writeln!(out, "{}: 0 passed, 1 failed", file.display())?;
                    writeln!(out, "  error: {err:#}")?;
                    failed += 1;
                }
            }
        }
        writeln!(io::stdout(), "{passed} passed, {failed} failed")?;
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
