//! `remap wast`: run spec scripts and report every failed directive.

use crate::options::MemoryOptions;
use anyhow::Result;
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
    /// The .wast scripts to run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl WastCommand {
    /// Runs every script; fails (exit code 1) when any directive failed.
    pub fn execute(self) -> Result<ExitCode> {
        let config = self.memory.config();
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
