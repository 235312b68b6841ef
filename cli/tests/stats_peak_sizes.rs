//! `--stats` reports the process's peak virtual size and peak resident size
//! (VmPeak and VmHWM): a static memory's 8 GiB reservation shows in the
//! first, the pages the program touched in the second.

mod common;

use common::{run_fixture, stderr};

/// The byte count `--stats` printed on the line starting with `label`.
fn bytes_on_line(stats: &str, label: &str) -> u64 {
    let line = stats
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in: {stats}"));
    let count = line
        .rsplit_once('(')
        .and_then(|(_, count)| count.strip_suffix(" bytes)"))
        .unwrap_or_else(|| panic!("no byte count in `{line}`"));
    count.parse().unwrap()
}

#[test]
fn stats_report_peak_virtual_and_resident_sizes() {
    const MIB: u64 = 1 << 20;
    let options = ["--memory-style", "static", "--stats", "--invoke", "grow"];
    let output = run_fixture(&options, "tests/wat/numbers.wat", &["400"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stats = stderr(&output);
    let peak_virtual = bytes_on_line(&stats, "peak virtual size:");
    let peak_resident = bytes_on_line(&stats, "peak resident size:");
    assert!(
        peak_virtual >= 8 << 30,
        "the static reservation is counted: {stats}"
    );
    // The 25 MiB memory grown to is reserved and committed, but the program
    // does not touch it: the resident peak is the process's own working set.
    assert!((MIB..peak_virtual).contains(&peak_resident), "{stats}");
}
