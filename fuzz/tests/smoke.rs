//! CI's bounded smoke run of every fuzz target (issue 17): fixed seeds, so
//! the run is the same every time; any finding fails the test with its
//! seed and reproducing command. The long run is `remap-fuzz run` (README).

use remap_fuzz::{Fuzzer, Target};

/// Runs `seeds` of `target`, fails on the first finding, and returns how
/// many cases ran (were not skipped) and how many steps they took.
fn smoke(target: Target, seeds: std::ops::Range<u64>) -> (u64, u64) {
    let mut fuzzer = Fuzzer::new();
    let (mut ran, mut steps) = (0, 0);
    for seed in seeds {
        match fuzzer.run(target, seed) {
            Ok(case) => {
                if case.skipped.is_none() {
                    ran += 1;
                    steps += case.steps;
                }
            }
            Err(finding) => panic!("{finding}"),
        }
    }
    (ran, steps)
}

#[test]
fn differential_smoke() {
    let (ran, steps) = smoke(Target::Differential, 0..1200);
    assert!(ran >= 1050, "only {ran} differential cases ran");
    assert!(steps >= 10_000, "only {steps} steps compared");
}

#[test]
fn malformed_smoke() {
    let (ran, _) = smoke(Target::Malformed, 0..3000);
    assert!(ran >= 2900, "only {ran} malformed cases ran");
}

#[test]
fn memory_smoke() {
    let (ran, steps) = smoke(Target::Memory, 0..1500);
    assert_eq!(ran, 1500);
    assert!(steps >= 25_000, "only {steps} memory operations");
}

#[test]
fn wasi_smoke() {
    let (ran, steps) = smoke(Target::Wasi, 0..300);
    assert_eq!(ran, 300);
    assert!(steps >= 10_000, "only {steps} WASI calls");
}
