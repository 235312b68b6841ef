//! The malformed-module target.
//!
//! A seed becomes a valid `wasm-smith` module (usually limited to Remap's
//! features, sometimes using exceptions, GC objects or threads), then one
//! to three mutations: truncation, bit flips, inserted or deleted bytes, a
//! duplicated section. Remap compiles the result. It must never panic or
//! crash, and it must accept exactly the modules `wasmparser`'s validator
//! accepts with Remap's features (those of the default engine): a valid
//! module may only be refused as using an unsupported feature. Both
//! [`remap::Module::validate`] and [`remap::Module::from_binary`] are checked.
//! A disagreement is a [`Finding`] holding the mutated module.

use crate::rng::SplitMix;
use crate::{CaseReport, Finding, Target};
use remap::{Engine, Module};
use remap_compiler::CompileError;
use std::sync::OnceLock;
use wasmparser::{Validator, WasmFeatures};

/// The features Remap's default engine accepts.
pub fn remap_features() -> WasmFeatures {
    remap_compiler::supported_features() | WasmFeatures::SIMD | WasmFeatures::RELAXED_SIMD
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = remap::Config::new();
        config.parallel_compilation(false);
        Engine::new(&config).expect("a valid configuration")
    })
}

fn valid_module(rng: &mut SplitMix) -> Option<Vec<u8>> {
    let everything = rng.one_in(5);
    let config = wasm_smith::Config {
        gc_enabled: everything,
        exceptions_enabled: everything,
        threads_enabled: everything,
        shared_everything_threads_enabled: false,
        // Not a Remap feature: the base module must be valid.
        compact_imports_enabled: false,
        custom_page_sizes_enabled: true,
        wide_arithmetic_enabled: true,
        max_funcs: 8,
        max_instructions: 60,
        max_memories: 2,
        max_tables: 2,
        max_imports: 4,
        max_exports: 8,
        max_data_segments: 4,
        max_element_segments: 4,
        generate_custom_sections: rng.one_in(4),
        ..wasm_smith::Config::default()
    };
    let len = 256 + rng.below(4096) as usize;
    let data = rng.bytes(len);
    let mut unstructured = arbitrary::Unstructured::new(&data);
    wasm_smith::Module::new(config, &mut unstructured)
        .ok()
        .map(|m| m.to_bytes())
}

/// The byte ranges of the module's sections (after the 8-byte header).
fn sections(wasm: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        at += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let Some(&byte) = wasm.get(at) else {
                return ranges;
            };
            at += 1;
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        let Some(end) = at.checked_add(size).filter(|&end| end <= wasm.len()) else {
            return ranges;
        };
        ranges.push(start..end);
        at = end;
    }
    ranges
}

/// Applies one random mutation.
fn mutate(rng: &mut SplitMix, wasm: &mut Vec<u8>) -> String {
    let len = wasm.len() as u64;
    match rng.below(6) {
        0 => {
            let at = rng.below(len) as usize;
            wasm.truncate(at);
            format!("truncate at {at}")
        }
        1 | 2 => {
            let flips = 1 + rng.below(3);
            let mut what = String::from("flip bits");
            for _ in 0..flips {
                let at = rng.below(len.max(1)) as usize;
                let bit = rng.below(8);
                if let Some(byte) = wasm.get_mut(at) {
                    *byte ^= 1 << bit;
                }
                what += &format!(" {at}.{bit}");
            }
            what
        }
        3 => {
            let at = rng.below(len + 1) as usize;
            let count = 1 + rng.below(8) as usize;
            let bytes = match rng.below(3) {
                0 => vec![0; count],
                1 => vec![0xff; count],
                _ => rng.bytes(count),
            };
            wasm.splice(at..at, bytes);
            format!("insert {count} bytes at {at}")
        }
        4 => {
            let at = rng.below(len) as usize;
            let count = (1 + rng.below(16) as usize).min(wasm.len() - at);
            wasm.drain(at..at + count);
            format!("delete {count} bytes at {at}")
        }
        _ => {
            let sections = sections(wasm);
            if sections.is_empty() {
                return "no section to duplicate".into();
            }
            let section = rng.pick_ref(&sections).clone();
            let copy = wasm[section.clone()].to_vec();
            let at = if rng.one_in(2) {
                section.end
            } else {
                rng.pick_ref(&sections).start
            };
            wasm.splice(at..at, copy);
            format!("duplicate section at {} to {at}", section.start)
        }
    }
}

/// Whether Remap's refusal of a module the validator accepts is allowed:
/// only as using GC objects (struct, array and i31 operators), the one
/// feature the validator accepts and Remap's compiler refuses.
fn refusal_is_unsupported(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<CompileError>(),
            Some(CompileError::Unsupported { feature, .. }) if feature == "gc"
        )
    })
}

/// Runs the case `seed`.
pub fn run(seed: u64) -> Result<CaseReport, Box<Finding>> {
    let mut rng = SplitMix::new(seed, Target::Malformed as u64);
    let Some(mut wasm) = valid_module(&mut rng) else {
        return Ok(CaseReport::skipped("wasm-smith produced no module"));
    };
    let mut mutations = Vec::new();
    for _ in 0..1 + rng.below(3) {
        if wasm.len() > 8 {
            mutations.push(mutate(&mut rng, &mut wasm));
        }
    }
    let expected = Validator::new_with_features(remap_features()).validate_all(&wasm);
    let validated = Module::validate(engine(), &wasm);
    let compiled = Module::from_binary(engine(), &wasm);
    let describe = |what: &str| {
        Box::new(Finding {
            target: Target::Malformed,
            seed,
            description: what.to_string(),
            module: Some(wasm.clone()),
            outcomes: format!(
                "mutations: {}\nwasmparser: {:?}\nModule::validate: {:?}\nModule::from_binary: {:?}",
                mutations.join(", "),
                expected.as_ref().map(|_| ()).map_err(|e| e.to_string()),
                validated.as_ref().map_err(|e| format!("{e:#}")),
                compiled.as_ref().map(|_| ()).map_err(|e| format!("{e:#}")),
            ),
        })
    };
    match (&expected, &validated, &compiled) {
        (Ok(_), Ok(()), Ok(_)) | (Err(_), Err(_), Err(_)) => {}
        (Ok(_), Ok(()), Err(error)) if refusal_is_unsupported(error) => {}
        (Ok(_), Err(error), Err(_)) if refusal_is_unsupported(error) => {}
        (Ok(_), _, _) => return Err(describe("Remap refused a module the validator accepts")),
        (Err(_), _, _) => return Err(describe("Remap accepted a module the validator refuses")),
    }
    Ok(CaseReport {
        steps: mutations.len() as u64,
        ..CaseReport::default()
    })
}
