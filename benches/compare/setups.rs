//! Memory setups: the `remap` flags and the Wasmtime options that give both
//! runtimes the same linear-memory layout and the same Spectre hardening;
//! and instrumentations: fuel or epoch checks compiled into both runtimes'
//! code with the same `-W` options.
//!
//! Every setup compares like with like: the layouts match, and the Spectre
//! mitigations of explicit bounds checks are on in both runtimes (each
//! one's default) or off in both.

/// One memory layout, as each runtime spells it.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// Name used in the table.
    pub name: &'static str,
    /// Flags that change Remap's code: given to `remap compile` and `remap run`.
    pub remap_code_flags: &'static [&'static str],
    /// Flags for `remap run` only (they do not change the code).
    pub remap_run_flags: &'static [&'static str],
    /// `-O` options for `wasmtime run` and `wasmtime compile`.
    pub wasmtime_options: &'static [&'static str],
    /// `-C` options for `wasmtime run` and `wasmtime compile` (a precompiled
    /// file only loads into an engine with the same code generation flags).
    pub wasmtime_codegen: &'static [&'static str],
    /// Whether both runtimes harden explicit bounds checks against Spectre
    /// (their default); a static 32-bit memory has no such checks to harden.
    pub spectre_mitigations: bool,
    /// What the layout is and where the two still differ.
    pub note: &'static str,
}

/// Wasmtime's `-O` options for a dynamic memory with `growth` bytes of room
/// (as text, e.g. "memory-reservation-for-growth=16777216").
macro_rules! wasmtime_dynamic {
    ($growth:literal) => {
        &[
            "memory-reservation=0",
            concat!("memory-reservation-for-growth=", $growth),
            "memory-guard-size=65536",
            "guard-before-linear-memory=y",
            "memory-may-move=y",
        ]
    };
}

/// Remap's static style: a 4 GiB reservation plus a 4 GiB guard, no bounds
/// checks, the base never moves.
pub const STATIC: Setup = Setup {
    name: "static",
    remap_code_flags: &["--memory-style", "static"],
    remap_run_flags: &[],
    wasmtime_options: &[
        "memory-reservation=4294967296",
        "memory-guard-size=4294967296",
        "guard-before-linear-memory=y",
        "memory-may-move=n",
    ],
    wasmtime_codegen: &[],
    spectre_mitigations: true,
    note: "4 GiB reservation + 4 GiB guard, no bounds checks, never moves \
           (Wasmtime's guard before memory is as large as the one after, 4 GiB; Remap's is 64 KiB: \
           address space only); each runtime's default for 32-bit memories",
};

/// Remap's dynamic style: the memory plus 16 MiB of room and a 64 KiB
/// guard, bounds-checked with Spectre-hardened checks, moved when it
/// outgrows the room (Remap moves the pages with mremap; Wasmtime maps anew
/// and copies).
pub const DYNAMIC: Setup = Setup {
    name: "dynamic",
    remap_code_flags: &["--memory-style", "dynamic"],
    remap_run_flags: &[],
    wasmtime_options: wasmtime_dynamic!("16777216"),
    wasmtime_codegen: &[],
    spectre_mitigations: true,
    note: "size + 16 MiB of room + 64 KiB guard (64 KiB before), explicit bounds checks \
           hardened against Spectre (both runtimes' default), moves when the room runs out",
};

/// [`DYNAMIC`] with the Spectre hardening of bounds checks off in both
/// runtimes: the difference to [`DYNAMIC`] is the hardening's cost.
pub const DYNAMIC_NO_SPECTRE: Setup = Setup {
    name: "dynamic-no-spectre",
    remap_code_flags: &["--memory-style", "dynamic", "--spectre-mitigations=false"],
    remap_run_flags: &[],
    wasmtime_options: wasmtime_dynamic!("16777216"),
    wasmtime_codegen: &[
        "cranelift-enable_heap_access_spectre_mitigation=false",
        "cranelift-enable_table_access_spectre_mitigation=false",
    ],
    spectre_mitigations: false,
    note: "the dynamic layout with plain (branching) bounds checks: Spectre mitigations off \
           in both runtimes",
};

/// The dynamic layout with 256 MiB of room for growth, for growing a memory
/// to many GiB: with 16 MiB of room Wasmtime would copy the whole memory
/// every 16 MiB (512 times on the way to 8 GiB).
pub const DYNAMIC_256M: Setup = Setup {
    name: "dynamic-256m",
    remap_code_flags: &["--memory-style", "dynamic"],
    remap_run_flags: &["--memory-reserve", "256MiB"],
    wasmtime_options: wasmtime_dynamic!("268435456"),
    wasmtime_codegen: &[],
    spectre_mitigations: true,
    note: "size + 256 MiB of room + 64 KiB guard (64 KiB before), explicit bounds checks \
           hardened against Spectre (both runtimes' default), moves when the room runs out \
           (64-bit memories are always laid out this way)",
};

/// Every setup, by name.
pub const ALL: [Setup; 4] = [STATIC, DYNAMIC, DYNAMIC_NO_SPECTRE, DYNAMIC_256M];

impl Setup {
    /// The Wasmtime options as `-O key=value` and `-C key=value` arguments.
    pub fn wasmtime_args(&self) -> Vec<String> {
        let optimize = self.wasmtime_options.iter().map(|option| ("-O", option));
        let codegen = self.wasmtime_codegen.iter().map(|option| ("-C", option));
        optimize
            .chain(codegen)
            .flat_map(|(flag, option)| [flag.to_owned(), (*option).to_owned()])
            .collect()
    }

    /// The Remap flags for `remap compile`.
    pub fn remap_compile_args(&self) -> Vec<String> {
        to_args(self.remap_code_flags)
    }

    /// The Remap flags for `remap run`.
    pub fn remap_run_args(&self) -> Vec<String> {
        to_args(self.remap_code_flags)
            .into_iter()
            .chain(to_args(self.remap_run_flags))
            .collect()
    }

    /// Looks a setup up by name.
    pub fn named(name: &str) -> Option<Setup> {
        ALL.into_iter().find(|setup| setup.name == name)
    }
}

/// Fuel for an instrumented run: far more than any workload uses (about
/// 10^18 operators), and within the signed 64-bit range both runtimes keep
/// their budget in.
const UNLIMITED_FUEL: &str = "fuel=1000000000000000000";

/// A timeout that never expires during a run (a day): what keeps the epoch
/// deadline out of reach in both runtimes, whose timer thread then waits.
const FAR_TIMEOUT: &str = "timeout=86400s";

/// Code instrumentation that lets an embedder stop a guest, measured
/// against its absence: the same `-W` options go to both runtimes (Remap
/// takes Wasmtime's spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Instrument {
    /// No instrumentation: each runtime's default.
    None,
    /// Every operator consumes fuel from a budget that never runs out.
    Fuel,
    /// Epoch checks at function entries and loop headers, with a deadline
    /// a day away (a timer thread waits for it).
    Epoch,
}

impl Instrument {
    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Instrument::None => "none",
            Instrument::Fuel => "fuel",
            Instrument::Epoch => "epoch",
        }
    }

    /// `-W` options for `remap compile` and `wasmtime compile`.
    pub fn compile_args(self) -> Vec<String> {
        match self {
            Instrument::None => Vec::new(),
            Instrument::Fuel => to_args(&["-W", UNLIMITED_FUEL]),
            Instrument::Epoch => to_args(&["-W", "epoch-interruption=y"]),
        }
    }

    /// `-W` options for `remap run` and `wasmtime run`. Wasmtime's CLI
    /// traps at the first epoch check without a timeout, so epochs come
    /// with a far one in both.
    pub fn run_args(self) -> Vec<String> {
        match self {
            Instrument::None => Vec::new(),
            Instrument::Fuel => to_args(&["-W", UNLIMITED_FUEL]),
            Instrument::Epoch => to_args(&["-W", FAR_TIMEOUT]),
        }
    }
}

fn to_args(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|flag| (*flag).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for setup in ALL {
            assert_eq!(
                Setup::named(setup.name).map(|found| found.name),
                Some(setup.name)
            );
        }
        assert!(Setup::named("no-such-setup").is_none());
    }

    #[test]
    fn run_flags_follow_the_code_flags_and_stay_out_of_compile() {
        assert_eq!(
            DYNAMIC_256M.remap_run_args(),
            ["--memory-style", "dynamic", "--memory-reserve", "256MiB"]
        );
        assert_eq!(
            DYNAMIC_256M.remap_compile_args(),
            ["--memory-style", "dynamic"]
        );
    }

    #[test]
    fn spectre_off_is_off_on_both_sides() {
        let wasmtime = DYNAMIC_NO_SPECTRE.wasmtime_args();
        for key in ["heap", "table"] {
            let option = format!("cranelift-enable_{key}_access_spectre_mitigation=false");
            let at = wasmtime.iter().position(|arg| *arg == option).unwrap();
            assert_eq!(wasmtime[at - 1], "-C");
        }
        assert!(
            DYNAMIC_NO_SPECTRE
                .remap_compile_args()
                .contains(&"--spectre-mitigations=false".to_owned())
        );
        for setup in ALL.iter().filter(|setup| setup.spectre_mitigations) {
            assert!(setup.wasmtime_codegen.is_empty(), "{}", setup.name);
            assert!(
                !setup
                    .remap_run_args()
                    .iter()
                    .any(|arg| arg.contains("spectre")),
                "{}",
                setup.name
            );
        }
    }

    #[test]
    fn instrumentation_goes_to_compile_and_run_alike() {
        assert!(Instrument::None.compile_args().is_empty());
        assert!(Instrument::None.run_args().is_empty());
        assert_eq!(Instrument::Fuel.compile_args(), Instrument::Fuel.run_args());
        assert_eq!(
            Instrument::Epoch.compile_args(),
            ["-W", "epoch-interruption=y"]
        );
        assert_eq!(Instrument::Epoch.run_args(), ["-W", "timeout=86400s"]);
    }

    #[test]
    fn dynamic_setups_share_the_layout_but_the_room() {
        for setup in [DYNAMIC, DYNAMIC_NO_SPECTRE, DYNAMIC_256M] {
            let args = setup.wasmtime_args();
            assert!(args.contains(&"memory-guard-size=65536".to_owned()));
            assert!(args.contains(&"memory-may-move=y".to_owned()));
        }
        assert!(
            DYNAMIC_256M
                .wasmtime_args()
                .contains(&"memory-reservation-for-growth=268435456".to_owned())
        );
    }
}
