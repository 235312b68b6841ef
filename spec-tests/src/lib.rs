//! Runs WebAssembly spec scripts (`.wast`) against Remap.
//!
//! The driver handles every directive of the official suite and reports a
//! result per directive; the `spec` test target runs the whole suite once per
//! memory style, and `remap wast` runs scripts from the command line.

pub mod expected_failures;
mod legacy_try;
mod patterns;
pub mod report;
mod runner;
mod spectest;
pub mod suite;
mod values;

pub use expected_failures::{ExpectedFailure, ExpectedFailures};
pub use report::{DirectiveResult, FileReport, Mismatch};
pub use runner::{run_file, run_script};
pub use suite::{SUITE_ENV, SuiteLocation, list_scripts, locate_suite};
