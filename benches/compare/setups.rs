//! Memory setups: the `remap run` flags and the Wasmtime `-O` options that
//! give both runtimes the same linear-memory layout.

/// One memory layout, as each runtime spells it.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// Name used in the table.
    pub name: &'static str,
    /// Flags for `remap run`.
    pub remap_flags: &'static [&'static str],
    /// `-O` options for `wasmtime run` and `wasmtime compile`.
    pub wasmtime_options: &'static [&'static str],
    /// What the layout is and where the two still differ.
    pub note: &'static str,
}

/// Remap's static style: a 4 GiB reservation plus a 4 GiB guard, no bounds
/// checks, the base never moves.
pub const STATIC: Setup = Setup {
    name: "static",
    remap_flags: &["--memory-style", "static"],
    wasmtime_options: &[
        "memory-reservation=4294967296",
        "memory-guard-size=4294967296",
        "guard-before-linear-memory=y",
        "memory-may-move=n",
    ],
    note: "4 GiB reservation + 4 GiB guard, no bounds checks, never moves \
           (Wasmtime's guard before memory is as large as the one after, 4 GiB; Remap's is 64 KiB: \
           address space only)",
};

/// Remap's dynamic style: the memory plus 16 MiB of room and a 64 KiB
/// guard, bounds-checked, moved when it outgrows the room (Remap moves the
/// pages with mremap; Wasmtime maps anew and copies).
pub const DYNAMIC: Setup = Setup {
    name: "dynamic",
    remap_flags: &["--memory-style", "dynamic"],
    wasmtime_options: &[
        "memory-reservation=0",
        "memory-reservation-for-growth=16777216",
        "memory-guard-size=65536",
        "guard-before-linear-memory=y",
        "memory-may-move=y",
    ],
    note: "size + 16 MiB of room + 64 KiB guard (64 KiB before), explicit bounds checks, \
           moves when the room runs out",
};

/// Every setup, by name.
pub const ALL: [Setup; 2] = [STATIC, DYNAMIC];

impl Setup {
    /// The Wasmtime options as `-O key=value` arguments.
    pub fn wasmtime_args(&self) -> Vec<String> {
        self.wasmtime_options
            .iter()
            .flat_map(|option| ["-O".to_owned(), (*option).to_owned()])
            .collect()
    }

    /// The Remap flags as arguments.
    pub fn remap_args(&self) -> Vec<String> {
        self.remap_flags
            .iter()
            .map(|flag| (*flag).to_owned())
            .collect()
    }
}
