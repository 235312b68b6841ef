//! What compiled code depends on besides the module: the compiler build, the
//! code ABI, the target CPU and its features, the tunables and the accepted
//! Wasm features. A saved [`CompiledModule`](crate::CompiledModule) records
//! this [`CodeCompatibility`]; a runtime may load it only where it matches.

use crate::builtins::Builtin;
use crate::trap::TrapKind;
use crate::vmctx::{VMOffsets, ValRaw, field};
use crate::{Compiler, MemoryStyle, Tunables};
use cranelift_codegen::settings::Value;
use serde::{Deserialize, Serialize};

/// One code-generation setting, as Cranelift names and prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// Setting name, e.g. `has_avx2` or `opt_level`.
    pub name: String,
    /// Its value (`0`/`1` for booleans).
    pub value: String,
}

impl Setting {
    fn from_value(value: &Value) -> Self {
        let printed = value.to_string();
        let setting = printed
            .strip_prefix(value.name)
            .and_then(|rest| rest.strip_prefix('='))
            .unwrap_or(&printed);
        Setting {
            name: value.name.to_string(),
            value: setting.to_string(),
        }
    }

    /// Whether this is a CPU feature flag (`has_*`): code compiled without a
    /// feature runs on a CPU that has it, not the other way round.
    fn is_cpu_feature(&self) -> bool {
        self.name.starts_with("has_")
    }
}

/// Everything outside a module that its compiled code depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCompatibility {
    /// Version of this crate (code generation changes with it).
    pub compiler_version: String,
    /// The code ABI: vmctx layout, builtins and trap kinds, as text.
    pub abi: String,
    /// Target triple.
    pub target: String,
    /// Cranelift's target-independent settings.
    pub shared_flags: Vec<Setting>,
    /// Cranelift's ISA settings, CPU features included.
    pub isa_flags: Vec<Setting>,
    /// Memory layout the code's bounds checks assume.
    pub tunables: Tunables,
    /// Accepted Wasm features (wasmparser's bits).
    pub wasm_features: u64,
}

impl CodeCompatibility {
    /// The first reason why code compiled under `self` cannot run on a
    /// runtime whose compiler is described by `host`, in words for the user;
    /// `None` when it can.
    pub fn mismatch(&self, host: &CodeCompatibility) -> Option<String> {
        if self.compiler_version != host.compiler_version {
            return Some(format!(
                "it was compiled by remap-compiler {}, this is {}",
                self.compiler_version, host.compiler_version
            ));
        }
        if self.abi != host.abi {
            return Some(
                "it was compiled for another code ABI (vmctx layout, builtins or trap kinds)"
                    .into(),
            );
        }
        if self.target != host.target {
            return Some(format!(
                "it was compiled for target {}, this host is {}",
                self.target, host.target
            ));
        }
        if let Some(reason) = tunables_mismatch(&self.tunables, &host.tunables) {
            return Some(reason);
        }
        if let Some(reason) = settings_mismatch("setting", &self.shared_flags, &host.shared_flags) {
            return Some(reason);
        }
        if let Some(reason) = settings_mismatch("CPU setting", &self.isa_flags, &host.isa_flags) {
            return Some(reason);
        }
        if self.wasm_features != host.wasm_features {
            return Some(format!(
                "it was compiled with Wasm features {:#x}, this engine accepts {:#x} (e.g. a different SIMD setting)",
                self.wasm_features, host.wasm_features
            ));
        }
        None
    }
}

/// The first tunable that the code depends on (its bounds checks, their
/// hardening, fuel and epoch instrumentation, the relaxed SIMD results) and
/// that differs between `compiled` and `host`. The dynamic reserve only
/// changes when a memory moves, so it is not compared (the IR verifier is a
/// Cranelift setting, compared with the others).
fn tunables_mismatch(compiled: &Tunables, host: &Tunables) -> Option<String> {
    let style = |style: Option<MemoryStyle>| match style {
        Some(style) => format!("{style:?} memories"),
        None => "the memory style chosen per memory".to_string(),
    };
    let guard = |guard: Option<u64>| match guard {
        Some(bytes) => format!("{bytes}-byte guards"),
        None => "default guards".to_string(),
    };
    if compiled.memory_style != host.memory_style {
        return Some(format!(
            "it was compiled for {}, this engine uses {}",
            style(compiled.memory_style),
            style(host.memory_style)
        ));
    }
    // The slot size decides which memories go into an arena, and so how their accesses are checked.
    if compiled.memory_style == Some(MemoryStyle::Arena)
        && compiled.arena_slot_bytes != host.arena_slot_bytes
    {
        return Some(format!(
            "it was compiled for arena slots of {} bytes, this engine's are {}",
            compiled.arena_slot_bytes, host.arena_slot_bytes
        ));
    }
    if compiled.static_memory_reservation != host.static_memory_reservation {
        return Some(format!(
            "it was compiled for static memory reservations of {} bytes, this engine reserves {}",
            compiled.static_memory_reservation, host.static_memory_reservation
        ));
    }
    if compiled.memory_guard_size != host.memory_guard_size {
        return Some(format!(
            "it was compiled for {}, this engine uses {}",
            guard(compiled.memory_guard_size),
            guard(host.memory_guard_size)
        ));
    }
    let on_off = |on: bool| if on { "on" } else { "off" };
    if compiled.spectre_mitigations != host.spectre_mitigations {
        return Some(format!(
            "it was compiled with Spectre mitigations {}, this engine has them {}",
            on_off(compiled.spectre_mitigations),
            on_off(host.spectre_mitigations)
        ));
    }
    if compiled.relaxed_simd_deterministic != host.relaxed_simd_deterministic {
        return Some(format!(
            "it was compiled with relaxed_simd_deterministic {}, this engine has it {}",
            on_off(compiled.relaxed_simd_deterministic),
            on_off(host.relaxed_simd_deterministic)
        ));
    }
    let instrumentation = [
        ("fuel consumption", compiled.consume_fuel, host.consume_fuel),
        (
            "epoch interruption",
            compiled.epoch_interruption,
            host.epoch_interruption,
        ),
    ];
    for (name, compiled, host) in instrumentation {
        if compiled != host {
            let with = |on: bool| if on { "with" } else { "without" };
            return Some(format!(
                "it was compiled {} {name}, this engine runs code {} it",
                with(compiled),
                with(host)
            ));
        }
    }
    None
}

/// The first setting in `compiled` that `host` does not satisfy.
fn settings_mismatch(what: &str, compiled: &[Setting], host: &[Setting]) -> Option<String> {
    for setting in compiled {
        let host_value = host
            .iter()
            .find(|candidate| candidate.name == setting.name)
            .map(|candidate| candidate.value.as_str());
        let satisfied = match host_value {
            Some(value) if value == setting.value => true,
            Some(_) if setting.is_cpu_feature() => setting.value == "0",
            _ => false,
        };
        if !satisfied {
            return Some(match host_value {
                Some(_) if setting.is_cpu_feature() => format!(
                    "it uses the CPU feature {} that this host lacks",
                    setting.name.trim_start_matches("has_")
                ),
                Some(value) => format!(
                    "it was compiled with {what} {}={}, this engine uses {value}",
                    setting.name, setting.value
                ),
                None => format!(
                    "it was compiled with {what} {}={}, which this engine does not know",
                    setting.name, setting.value
                ),
            });
        }
    }
    None
}

/// The code ABI as text: any change to the vmctx layout, the builtin array
/// or the trap kinds changes it.
fn abi_description() -> String {
    let header = [
        VMOffsets::MAGIC,
        VMOffsets::RUNTIME_LIMITS,
        VMOffsets::BUILTINS,
        VMOffsets::TYPE_IDS,
        VMOffsets::STORE,
        VMOffsets::INSTANCE,
        VMOffsets::HEADER_SIZE,
    ];
    let fields = [
        field::IMPORT_WASM_CALL,
        field::IMPORT_VMCTX,
        field::MEMORY_BASE,
        field::MEMORY_BOUND,
        field::MEMORY_SHARED_LENGTH,
        field::TABLE_BASE,
        field::TABLE_CURRENT_ELEMENTS,
        field::FUNC_REF_WASM_CALL,
        field::FUNC_REF_VMCTX,
        field::FUNC_REF_TYPE_ID,
        field::LIMITS_STACK_LIMIT,
        field::LIMITS_EXIT_FP,
        field::LIMITS_EXIT_PC,
        field::LIMITS_ENTRY_SP,
        field::HOST_MAGIC,
        field::HOST_ARRAY_CALL,
        field::HOST_TYPE_ID,
        field::VAL_RAW_SIZE,
        field::TABLE_ELEMENT_SIZE,
    ];
    let builtins: Vec<String> = Builtin::ALL
        .iter()
        .map(|builtin| format!("{}{:?}", builtin.name(), builtin.signature()))
        .collect();
    let traps: Vec<String> = TrapKind::ALL
        .iter()
        .map(|kind| format!("{kind:?}={}", *kind as u8))
        .collect();
    let layout = VMOffsets::from_counts(1, 1, 1, 1, 2);
    format!(
        "header {header:?}; fields {fields:?}; valraw {}; sample {layout:?}; builtins {builtins:?}; traps {traps:?}",
        size_of::<ValRaw>()
    )
}

impl Compiler {
    /// What code from this compiler depends on (for saved modules).
    pub fn compatibility(&self) -> CodeCompatibility {
        CodeCompatibility {
            compiler_version: env!("CARGO_PKG_VERSION").to_string(),
            abi: abi_description(),
            target: self.isa.triple().to_string(),
            shared_flags: self
                .isa
                .flags()
                .iter()
                .map(|v| Setting::from_value(&v))
                .collect(),
            isa_flags: self
                .isa
                .isa_flags()
                .iter()
                .map(Setting::from_value)
                .collect(),
            tunables: self.tunables().clone(),
            wasm_features: self.features().bits(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> CodeCompatibility {
        Compiler::new(Tunables::default()).unwrap().compatibility()
    }

    #[test]
    fn the_same_compiler_matches_itself() {
        let host = host();
        assert!(!host.isa_flags.is_empty());
        assert!(
            host.shared_flags
                .iter()
                .any(|s| s.name == "opt_level" && s.value == "speed")
        );
        assert_eq!(host.mismatch(&host), None);
    }

    #[test]
    fn simd_and_memory_style_are_part_of_it() {
        let plain = host();
        let simd = Compiler::new(Tunables::default())
            .unwrap()
            .with_simd(true)
            .compatibility();
        assert!(simd.mismatch(&plain).unwrap().contains("Wasm features"));
        let dynamic = Compiler::new(Tunables {
            memory_style: Some(MemoryStyle::Dynamic),
            ..Tunables::default()
        })
        .unwrap()
        .compatibility();
        assert!(dynamic.mismatch(&plain).unwrap().contains("Dynamic"));
    }

    #[test]
    fn memory_layout_spectre_and_relaxed_simd_tunables_are_compared() {
        let plain = host();
        let compile = |tunables: Tunables| Compiler::new(tunables).unwrap().compatibility();
        let guard = compile(Tunables {
            memory_guard_size: Some(4096),
            ..Tunables::default()
        });
        assert!(guard.mismatch(&plain).unwrap().contains("4096-byte guards"));
        let reservation = compile(Tunables {
            static_memory_reservation: 1 << 20,
            ..Tunables::default()
        });
        assert!(reservation.mismatch(&plain).unwrap().contains("1048576"));
        let unhardened = compile(Tunables {
            spectre_mitigations: false,
            ..Tunables::default()
        });
        let reason = unhardened.mismatch(&plain).unwrap();
        assert!(reason.contains("Spectre mitigations off"), "{reason}");
        let deterministic = compile(Tunables {
            relaxed_simd_deterministic: true,
            ..Tunables::default()
        });
        let reason = deterministic.mismatch(&plain).unwrap();
        assert!(
            reason.contains("relaxed_simd_deterministic on, this engine has it off"),
            "{reason}"
        );
        let roomier = compile(Tunables {
            dynamic_memory_reserve: 1 << 30,
            ..Tunables::default()
        });
        assert_eq!(roomier.mismatch(&plain), None, "no effect on the code");
    }

    #[test]
    fn fuel_and_epoch_instrumentation_are_compared() {
        let plain = host();
        let compile = |tunables: Tunables| Compiler::new(tunables).unwrap().compatibility();
        let fueled = compile(Tunables {
            consume_fuel: true,
            ..Tunables::default()
        });
        let reason = fueled.mismatch(&plain).unwrap();
        assert!(
            reason.contains("compiled with fuel consumption"),
            "{reason}"
        );
        let reason = plain.mismatch(&fueled).unwrap();
        assert!(reason.contains("runs code with it"), "{reason}");
        let interruptible = compile(Tunables {
            epoch_interruption: true,
            ..Tunables::default()
        });
        let reason = interruptible.mismatch(&plain).unwrap();
        assert!(reason.contains("epoch interruption"), "{reason}");
    }

    #[test]
    fn a_cpu_feature_the_host_lacks_is_named() {
        let host = host();
        let mut compiled = host.clone();
        let mut lacking = host.clone();
        let feature = compiled
            .isa_flags
            .iter_mut()
            .find(|s| s.is_cpu_feature())
            .expect("x86-64 has feature flags");
        feature.value = "1".into();
        let name = feature.name.clone();
        lacking
            .isa_flags
            .iter_mut()
            .find(|s| s.name == name)
            .unwrap()
            .value = "0".into();
        let reason = compiled.mismatch(&lacking).unwrap();
        assert!(reason.contains(name.trim_start_matches("has_")), "{reason}");
        // Code that does not use a feature runs where the feature exists.
        assert_eq!(lacking.mismatch(&compiled), None);
    }

    #[test]
    fn versions_targets_and_settings_are_compared() {
        let host = host();
        let mut other = host.clone();
        other.compiler_version = "0.0.0".into();
        assert!(other.mismatch(&host).unwrap().contains("0.0.0"));
        let mut other = host.clone();
        other.target = "riscv64gc-unknown-linux-gnu".into();
        assert!(other.mismatch(&host).unwrap().contains("riscv64"));
        let mut other = host.clone();
        other.shared_flags[0].value = "something else".into();
        assert!(other.mismatch(&host).unwrap().contains("something else"));
        let mut other = host.clone();
        other.abi.push('!');
        assert!(other.mismatch(&host).unwrap().contains("ABI"));
    }
}
