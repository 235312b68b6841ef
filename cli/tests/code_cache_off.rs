//! `remap run -C cache=n` compiles without the code cache: nothing is read
//! from or written to `$XDG_CACHE_HOME/remap`.

mod common;

use common::{fixture, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

fn run(cache_home: &Path, options: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_remap"))
        .env("XDG_CACHE_HOME", cache_home)
        .arg("run")
        .args(options)
        .args(["--invoke", "add"])
        .arg(fixture("examples/add.wat"))
        .args(["1", "2"])
        .output()
        .unwrap()
}

#[test]
fn cache_n_leaves_the_cache_alone() {
    let home = tempfile::tempdir().unwrap();
    let output = run(home.path(), &["-C", "cache=n"]);
    assert_eq!(stdout(&output), "3\n", "{}", stderr(&output));
    assert!(!home.path().join("remap").exists());
    let output = run(home.path(), &["-C", "cache=y"]);
    assert_eq!(stdout(&output), "3\n", "{}", stderr(&output));
    assert!(
        home.path()
            .join("remap")
            .read_dir()
            .unwrap()
            .next()
            .is_some()
    );
}
