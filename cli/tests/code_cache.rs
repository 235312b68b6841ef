//! `remap run` caches compiled code between runs: two processes filling the
//! cache at once both succeed and leave one whole entry, and a damaged entry
//! is compiled again. The cache lives in `$XDG_CACHE_HOME/remap`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const PROGRAM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.wat");

fn run(cache_home: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_remap"))
        .env("XDG_CACHE_HOME", cache_home)
        .args(["run", PROGRAM, "x"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn assert_hello(output: Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("Hello from Remap!"),
        "{}: {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn entries(cache_home: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(cache_home.join("remap"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect()
}

#[test]
fn concurrent_runs_fill_the_cache_and_a_damaged_entry_is_replaced() {
    let home = tempfile::tempdir().unwrap();
    let runs: Vec<_> = (0..2).map(|_| run(home.path())).collect();
    for child in runs {
        assert_hello(child.wait_with_output().unwrap());
    }
    let [entry] = entries(home.path())
        .try_into()
        .expect("one whole entry, no temporaries");
    let good = fs::read(&entry).unwrap();
    fs::write(&entry, &good[..good.len() / 3]).unwrap();
    assert_hello(run(home.path()).wait_with_output().unwrap());
    assert_eq!(fs::read(&entry).unwrap(), good);
}
