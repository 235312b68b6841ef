//! Compiles every module of the spec suite's .wast files with the IR
//! verifier on: Cranelift must never panic or reject our IR, and every
//! module either compiles or fails with a clean error.

use remap_compiler::{CompileError, Compiler, MemoryStyle, Tunables};
use std::path::PathBuf;
use wast::parser::{self, ParseBuffer};
use wast::{Wast, WastDirective};

fn suite_dir() -> PathBuf {
    std::env::var_os("WASM_TESTSUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/wasm-testsuite"))
}

/// Binary modules of one .wast file that are expected to be valid.
fn valid_modules(path: &std::path::Path) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path).expect("read .wast");
    let Ok(buffer) = ParseBuffer::new(&text) else {
        return Vec::new();
    };
    let Ok(wast) = parser::parse::<Wast>(&buffer) else {
        return Vec::new();
    };
    let mut modules = Vec::new();
    for directive in wast.directives {
        let module = match directive {
            WastDirective::Module(module) => module,
            WastDirective::ModuleDefinition(module) => module,
            _ => continue,
        };
        let mut module = module;
        if let Ok(bytes) = module.encode() {
            modules.push(bytes);
        }
    }
    modules
}

fn compile_suite(style: MemoryStyle, simd: bool) {
    let dir = suite_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("spec suite not found at {}", dir.display());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wast"))
        .collect();
    paths.sort();
    let tunables = Tunables {
        memory_style: Some(style),
        verify_ir: true,
        ..Tunables::default()
    };
    let compiler = Compiler::new(tunables)
        .expect("host compiler")
        .with_simd(simd);
    let mut compiled = 0;
    let mut unsupported = std::collections::BTreeMap::<String, u32>::new();
    let mut failures = Vec::new();
    for path in &paths {
        for bytes in valid_modules(path) {
            match compiler.compile_module(&bytes) {
                Ok(_) => compiled += 1,
                Err(CompileError::Unsupported { feature, .. }) => {
                    *unsupported.entry(feature).or_insert(0) += 1
                }
                Err(error @ CompileError::Codegen { .. }) => {
                    failures.push(format!("{}: {error}", path.display()))
                }
                Err(error) => failures.push(format!("{}: {error}", path.display())),
            }
        }
    }
    eprintln!("compiled {compiled} modules; unsupported features: {unsupported:?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compiled > 1000, "only {compiled} modules compiled");
}

#[test]
fn spec_modules_compile_static() {
    compile_suite(MemoryStyle::Static, false);
}

#[test]
fn spec_modules_compile_dynamic() {
    compile_suite(MemoryStyle::Dynamic, false);
}

#[test]
fn spec_modules_compile_with_simd() {
    compile_suite(MemoryStyle::Static, true);
    compile_suite(MemoryStyle::Dynamic, true);
}
