//! Running one child process and measuring its wall time and peak RSS.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a program cost and printed.
#[derive(Clone, Debug)]
pub struct Run {
    /// Time from spawn to reaping the child.
    pub wall: Duration,
    /// The child's peak resident set size in KiB (`ru_maxrss`).
    pub peak_rss_kib: u64,
    /// Everything it wrote to stdout.
    pub stdout: String,
}

/// A command line: program plus arguments.
#[derive(Clone, Debug)]
pub struct CommandLine {
    /// The executable.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl CommandLine {
    /// `program args...`.
    pub fn new(program: impl AsRef<Path>, args: impl IntoIterator<Item = String>) -> Self {
        CommandLine {
            program: program.as_ref().display().to_string(),
            args: args.into_iter().collect(),
        }
    }

    /// The command as a shell would show it.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command once; a non-zero exit is an error carrying its stderr.
    pub fn run(&self) -> Result<Run> {
        reset_own_peak_rss();
        let start = Instant::now();
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{}`", self.program))?;
        let mut stdout_pipe = child.stdout.take().context("no stdout pipe")?;
        let mut stderr_pipe = child.stderr.take().context("no stderr pipe")?;
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let mut stdout = String::new();
        stdout_pipe
            .read_to_string(&mut stdout)
            .context("reading the child's stdout")?;
        let (status, peak_rss_kib) = wait_with_rusage(child.id())?;
        let wall = start.elapsed();
        let stderr = stderr_reader.join().unwrap_or_default();
        if status != 0 {
            bail!(
                "`{}` failed ({status}): {}",
                self.display(),
                stderr.trim_end()
            );
        }
        Ok(Run {
            wall,
            peak_rss_kib,
            stdout,
        })
    }
}

/// Linux carries the spawning process's peak RSS into a spawned child's
/// `ru_maxrss` (exec keeps the high-water mark of the memory it replaces,
/// and std spawns with vfork, sharing this process's memory), so a child
/// would never read below this tool's own peak, e.g. after it read a 10 MB
/// module. Resetting the peak to the current RSS before each spawn lowers
/// that floor to [`own_rss_kib`]. Failure only leaves the floor higher.
fn reset_own_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's current RSS in KiB (from /proc/self/status), the least
/// peak RSS a child can report; 0 if unknown.
pub fn own_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Reaps child `pid` with `wait4`, returning a status summary (0 for a
/// clean exit) and its peak RSS in KiB. std's `Child::wait` discards the
/// resource usage, and `getrusage(RUSAGE_CHILDREN)` only reports the largest
/// child so far, so this is the one place the tool calls libc directly.
fn wait_with_rusage(pid: u32) -> Result<(i32, u64)> {
    let pid = libc::pid_t::try_from(pid).context("child pid out of range")?;
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: `pid` is a child this process spawned and has not reaped
        // (std's `Child` is never waited on); `status` and `usage` point to
        // live, writable locals of the types wait4 expects.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
        if reaped == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4 on the child");
        }
    }
    // SAFETY: wait4 returned the child, so it filled in `usage`; an all-zero
    // rusage was a valid value before that anyway.
    let usage = unsafe { usage.assume_init() };
    let summary = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((summary, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// The median wall time and median peak RSS (KiB) of `runs`, if any.
pub fn medians(runs: &[Run]) -> Option<(Duration, u64)> {
    if runs.is_empty() {
        return None;
    }
    let seconds: Vec<f64> = runs.iter().map(|run| run.wall.as_secs_f64()).collect();
    let rss: Vec<f64> = runs.iter().map(|run| run.peak_rss_kib as f64).collect();
    Some((
        Duration::from_secs_f64(median(seconds)),
        median(rss).round() as u64,
    ))
}

/// The spread of the wall times of `runs`: (slowest - fastest) / median,
/// e.g. 0.1 when they lie within 10% of the median's size; 0 for no runs.
pub fn wall_spread(runs: &[Run]) -> f64 {
    let seconds: Vec<f64> = runs.iter().map(|run| run.wall.as_secs_f64()).collect();
    let slowest = seconds.iter().copied().fold(f64::MIN, f64::max);
    let fastest = seconds.iter().copied().fold(f64::MAX, f64::min);
    match median(seconds) {
        middle if middle > 0.0 => (slowest - fastest) / middle,
        _ => 0.0,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(millis: u64, rss: u64) -> Run {
        Run {
            wall: Duration::from_millis(millis),
            peak_rss_kib: rss,
            stdout: String::new(),
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert!(medians(&[]).is_none());
        let odd = [run(30, 5), run(10, 1), run(20, 3)];
        assert_eq!(medians(&odd), Some((Duration::from_millis(20), 3)));
        let even = [run(10, 2), run(40, 4), run(20, 6), run(30, 8)];
        assert_eq!(medians(&even), Some((Duration::from_millis(25), 5)));
    }

    #[test]
    fn spread_is_the_range_over_the_median() {
        assert_eq!(wall_spread(&[]), 0.0);
        assert_eq!(wall_spread(&[run(50, 1)]), 0.0);
        let runs = [run(90, 1), run(100, 1), run(120, 1)];
        assert!((wall_spread(&runs) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn a_child_reports_output_and_peak_rss() {
        let echo = CommandLine::new("sh", ["-c".to_owned(), "echo checksum 42".to_owned()]);
        let run = echo.run().unwrap();
        assert_eq!(run.stdout, "checksum 42\n");
        assert!(run.peak_rss_kib > 0);
    }

    #[test]
    fn a_small_child_reads_below_a_large_parent_peak() {
        let large = vec![1u8; 64 << 20];
        std::hint::black_box(&large);
        drop(large);
        let run = CommandLine::new("sh", ["-c".to_owned(), "true".to_owned()])
            .run()
            .unwrap();
        assert!(run.peak_rss_kib < 32 << 10, "{} KiB", run.peak_rss_kib);
        assert!(own_rss_kib() > 0);
    }

    #[test]
    fn a_failing_child_is_an_error_with_its_stderr() {
        let failing = CommandLine::new(
            "sh",
            ["-c".to_owned(), "echo broken >&2; exit 3".to_owned()],
        );
        let err = format!("{:#}", failing.run().unwrap_err());
        assert!(err.contains("broken") && err.contains('3'), "{err}");
        let missing = CommandLine::new("/no/such/program", []);
        assert!(format!("{:#}", missing.run().unwrap_err()).contains("cannot start"));
    }
}
