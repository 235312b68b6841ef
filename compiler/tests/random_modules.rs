//! Random valid modules (wasm-smith) restricted to the features Remap
//! compiles must compile with the IR verifier on and never panic; modules
//! that use a disabled feature must be rejected with a named feature.

use arbitrary::Unstructured;
use remap_compiler::{CompileError, Compiler, MemoryStyle, Tunables, compile_module};

/// A small deterministic generator, so every run tests the same modules.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn supported_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        // Not a Remap feature (compact import sections are refused).
        compact_imports_enabled: false,
        tail_call_enabled: true,
        memory64_enabled: true,
        wide_arithmetic_enabled: true,
        custom_page_sizes_enabled: true,
        max_memories: 3,
        max_tables: 3,
        max_funcs: 30,
        max_instructions: 300,
        min_funcs: 5,
        max_imports: 5,
        ..wasm_smith::Config::default()
    }
}

fn tunables(index: usize) -> Tunables {
    let memory_style = if index.is_multiple_of(2) {
        MemoryStyle::Static
    } else {
        MemoryStyle::Dynamic
    };
    Tunables {
        memory_style: Some(memory_style),
        // Both forms of explicit checks: hardened and trapping.
        spectre_mitigations: index % 4 != 1,
        verify_ir: true,
        ..Tunables::default()
    }
}

#[test]
fn random_supported_modules_compile() {
    let mut random = SplitMix(0x5eed);
    let (mut compiled, mut functions) = (0, 0);
    for index in 0..600 {
        let data = random.bytes(16 << 10);
        let mut unstructured = Unstructured::new(&data);
        let Ok(module) = wasm_smith::Module::new(supported_config(), &mut unstructured) else {
            continue;
        };
        let wasm = module.to_bytes();
        match compile_module(&wasm, &tunables(index)) {
            Ok(module) => functions += module.functions.len(),
            Err(error) => panic!("random module {index} failed to compile: {error}"),
        }
        compiled += 1;
    }
    assert!(compiled > 400, "only {compiled} modules generated");
    assert!(functions > 1000, "only {functions} functions generated");
}

#[test]
fn random_simd_modules_compile_in_both_relaxed_simd_modes() {
    let mut random = SplitMix(0x51d);
    let mut compiled = 0;
    for index in 0..100 {
        let data = random.bytes(16 << 10);
        let mut unstructured = Unstructured::new(&data);
        let config = wasm_smith::Config {
            simd_enabled: true,
            relaxed_simd_enabled: true,
            ..supported_config()
        };
        let Ok(module) = wasm_smith::Module::new(config, &mut unstructured) else {
            continue;
        };
        let tunables = Tunables {
            relaxed_simd_deterministic: index % 2 == 1,
            ..tunables(index / 2)
        };
        let compiler = Compiler::new(tunables).unwrap().with_simd(true);
        if let Err(error) = compiler.compile_module(&module.to_bytes()) {
            panic!("random SIMD module {index} failed to compile: {error}");
        }
        compiled += 1;
    }
    assert!(compiled > 60, "only {compiled} modules generated");
}

#[test]
fn random_modules_with_every_feature_never_panic() {
    let mut random = SplitMix(0xfeed);
    let mut unsupported = 0;
    for index in 0..200 {
        let data = random.bytes(4096);
        let mut unstructured = Unstructured::new(&data);
        let config = wasm_smith::Config {
            max_funcs: 20,
            max_instructions: 100,
            ..wasm_smith::Config::default()
        };
        let Ok(module) = wasm_smith::Module::new(config, &mut unstructured) else {
            continue;
        };
        match compile_module(&module.to_bytes(), &tunables(index)) {
            Ok(_) => {}
            Err(CompileError::Unsupported { feature, .. }) => {
                assert!(!feature.is_empty());
                unsupported += 1;
            }
            Err(error) => panic!("random module {index}: unexpected error {error}"),
        }
    }
    assert!(unsupported > 0, "no module used an unsupported feature");
}
