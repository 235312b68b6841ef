//! The on-disk code cache: a second compilation of the same module with the
//! same settings loads the entry the first one wrote; other settings make
//! another entry; a truncated or tampered entry is compiled again and
//! rewritten; the directory stays within its size bound; threads filling
//! the same entry at once all succeed.

use remap::{Config, Engine, Instance, Module, Store};
use std::fs;
use std::path::{Path, PathBuf};

fn module_returning(value: i32) -> String {
    format!(r#"(module (func (export "value") (result i32) (i32.const {value})))"#)
}

fn engine(dir: &Path, spectre: bool) -> Engine {
    let mut config = Config::new();
    config
        .code_cache(Some(dir.to_path_buf()))
        .spectre_mitigations(spectre);
    Engine::new(&config).unwrap()
}

fn value_of(module: &Module) -> i32 {
    let mut store = Store::new(module.engine(), ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let value = instance
        .get_typed_func::<(), i32>(&mut store, "value")
        .unwrap();
    value.call(&mut store, ()).unwrap()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map(|listing| listing.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    entries.retain(|path| path.extension().is_some_and(|ext| ext == "cwasm"));
    entries.sort();
    entries
}

#[test]
fn a_second_compilation_loads_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), true);
    assert_eq!(
        value_of(&Module::new(&engine, module_returning(1)).unwrap()),
        1
    );
    let [entry] = entries(dir.path()).try_into().expect("one entry");
    // Put another module's code under the first one's name: only a cache hit
    // can make compiling module 1 return 2.
    let other = tempfile::tempdir().unwrap();
    Module::new(&self::engine(other.path(), true), module_returning(2)).unwrap();
    let [other_entry] = entries(other.path()).try_into().expect("one entry");
    fs::copy(&other_entry, &entry).unwrap();
    assert_eq!(
        value_of(&Module::new(&engine, module_returning(1)).unwrap()),
        2
    );
}

#[test]
fn other_settings_make_another_entry() {
    let dir = tempfile::tempdir().unwrap();
    Module::new(&engine(dir.path(), true), module_returning(1)).unwrap();
    Module::new(&engine(dir.path(), false), module_returning(1)).unwrap();
    Module::new(&engine(dir.path(), false), module_returning(1)).unwrap();
    assert_eq!(entries(dir.path()).len(), 2);
}

#[test]
fn a_damaged_entry_is_compiled_again_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), true);
    Module::new(&engine, module_returning(5)).unwrap();
    let [entry] = entries(dir.path()).try_into().expect("one entry");
    let good = fs::read(&entry).unwrap();
    // Truncated.
    fs::write(&entry, &good[..good.len() / 2]).unwrap();
    assert_eq!(
        value_of(&Module::new(&engine, module_returning(5)).unwrap()),
        5
    );
    assert_eq!(fs::read(&entry).unwrap(), good);
    // One flipped bit in the code (the checksum catches it).
    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    fs::write(&entry, &tampered).unwrap();
    assert_eq!(
        value_of(&Module::new(&engine, module_returning(5)).unwrap()),
        5
    );
    assert_eq!(fs::read(&entry).unwrap(), good);
}

#[test]
fn the_directory_keeps_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new();
    config.code_cache(Some(dir.path().to_path_buf()));
    let engine = Engine::new(&config).unwrap();
    Module::new(&engine, module_returning(0)).unwrap();
    let entry_size = fs::metadata(&entries(dir.path())[0]).unwrap().len();
    // Room for two entries of about this size.
    config.code_cache_max_size(entry_size * 2 + entry_size / 2);
    let engine = Engine::new(&config).unwrap();
    for value in 1..6 {
        Module::new(&engine, module_returning(value)).unwrap();
        assert!(entries(dir.path()).len() <= 2);
    }
    // The newest entry survives.
    assert_eq!(
        value_of(&Module::new(&engine, module_returning(5)).unwrap()),
        5
    );
}

#[test]
fn threads_filling_one_entry_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), true);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                value_of(&Module::new(&engine, module_returning(9)).unwrap())
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), 9);
    }
    assert_eq!(entries(dir.path()).len(), 1);
    let leftovers = fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
}
