//! The keys of each option group: Wasmtime 48's names, in the order of its
//! `-G help`, for what Remap does; then the Wasmtime keys Remap refuses.
//!
//! A Wasm feature Remap always has (memory64, tail calls, GC types, ...) is
//! a [`Kind::Fixed`] key accepting `=y` only; one it lacks (stack
//! switching, ...) accepts `=n` only; so a command line that asks for what
//! Remap does runs unchanged, and one that asks for more fails saying why.

use super::{Applies, Group, Key, Kind, WasmtimeOnly};

/// A Wasm feature Remap always accepts.
const fn always_on(name: &'static str, help: &'static str, why: &'static str) -> Key {
    Key {
        name,
        kind: Kind::Fixed { remap: true, why },
        applies: Applies::Everywhere,
        help,
    }
}

/// A Wasm feature Remap does not implement.
const fn not_yet(name: &'static str, help: &'static str, why: &'static str) -> Key {
    Key {
        name,
        kind: Kind::Fixed { remap: false, why },
        applies: Applies::Everywhere,
        help,
    }
}

/// `-W`: Wasm features and limits.
pub static WASM: Group = Group {
    flag: 'W',
    long: "wasm",
    about: "Wasm features and limits",
    keys: &[
        not_yet(
            "nan-canonicalization",
            "canonicalise NaN results (only =n: Remap does not)",
            "Remap does not canonicalise NaNs",
        ),
        Key {
            name: "fuel",
            kind: Kind::Count(|settings, fuel| settings.fuel = Some(fuel)),
            applies: Applies::RunAndCompile,
            help: "consume fuel: the guest gets N units and traps once they are used up \
                   (compile: make fuel-consuming code; the amount is given to run)",
        },
        Key {
            name: "epoch-interruption",
            kind: Kind::Flag(|settings, on| settings.epoch_interruption = Some(on)),
            applies: Applies::Everywhere,
            help: "check the engine's epoch at function entries and loop headers; \
                   without a timeout the guest is never interrupted (wast: the \
                   checks are compiled in, and the scripts' deadlines never come)",
        },
        Key {
            name: "max-wasm-stack",
            kind: Kind::Size(|settings, bytes| settings.max_wasm_stack = Some(bytes)),
            applies: Applies::RunAndWast,
            help: "stack bytes Wasm may use before it traps with call stack exhausted \
                   (default 512KiB)",
        },
        Key {
            name: "unknown-imports-trap",
            kind: Kind::Flag(|settings, on| settings.unknown_imports_trap = Some(on)),
            applies: Applies::Run,
            help: "define every function import nothing else defines as one that fails when \
                   called",
        },
        Key {
            name: "max-memory-size",
            kind: Kind::Size(|settings, bytes| settings.limits.memory_size = Some(bytes)),
            applies: Applies::Run,
            help: "largest size of any one linear memory; memory.grow past it returns -1",
        },
        Key {
            name: "max-table-elements",
            kind: Kind::Count(|settings, count| settings.limits.table_elements = Some(count)),
            applies: Applies::Run,
            help: "largest number of elements of any one table; table.grow past it returns -1",
        },
        Key {
            name: "max-instances",
            kind: Kind::Count(|settings, count| settings.limits.instances = Some(count)),
            applies: Applies::Run,
            help: "most instances the store may hold (--preload modules count)",
        },
        Key {
            name: "max-tables",
            kind: Kind::Count(|settings, count| settings.limits.tables = Some(count)),
            applies: Applies::Run,
            help: "most tables the store may hold",
        },
        Key {
            name: "max-memories",
            kind: Kind::Count(|settings, count| settings.limits.memories = Some(count)),
            applies: Applies::Run,
            help: "most linear memories the store may hold",
        },
        Key {
            name: "trap-on-grow-failure",
            kind: Kind::Flag(|settings, on| settings.limits.trap_on_grow_failure = Some(on)),
            applies: Applies::Run,
            help: "trap when memory.grow or table.grow fails instead of returning -1",
        },
        Key {
            name: "timeout",
            kind: Kind::Duration(|settings, after| settings.timeout = Some(after)),
            applies: Applies::RunAndCompile,
            help: "interrupt the guest after this long (N alone is seconds); implies \
                   epoch-interruption",
        },
        always_on(
            "bulk-memory",
            "bulk memory operations (always on)",
            "Remap always accepts bulk memory operations",
        ),
        always_on(
            "multi-memory",
            "several memories per module (always on)",
            "Remap always accepts several memories per module",
        ),
        always_on(
            "multi-value",
            "several results per function or block (always on)",
            "Remap always accepts multiple results",
        ),
        always_on(
            "reference-types",
            "reference types (always on)",
            "Remap always accepts reference types",
        ),
        Key {
            name: "simd",
            kind: Kind::Flag(|settings, on| settings.features.simd = Some(on)),
            applies: Applies::Everywhere,
            help: "128-bit SIMD instructions (default y)",
        },
        Key {
            name: "relaxed-simd",
            kind: Kind::Flag(|settings, on| settings.features.relaxed_simd = Some(on)),
            applies: Applies::Everywhere,
            help: "relaxed SIMD instructions (default y; they need simd)",
        },
        Key {
            name: "relaxed-simd-deterministic",
            kind: Kind::Flag(|settings, on| {
                settings.features.relaxed_simd_deterministic = Some(on);
            }),
            applies: Applies::Everywhere,
            help: "give relaxed SIMD the deterministic profile's results on every host \
                   (default n; same as --relaxed-simd-deterministic)",
        },
        always_on(
            "tail-call",
            "tail calls (always on)",
            "Remap always accepts tail calls",
        ),
        always_on(
            "threads",
            "threads and atomics (always on)",
            "Remap always accepts the threads proposal",
        ),
        always_on(
            "shared-memory",
            "shared memories (always on)",
            "Remap always accepts shared memories",
        ),
        not_yet(
            "shared-everything-threads",
            "shared-everything threads (only =n: not supported)",
            "Remap does not implement the shared-everything-threads proposal",
        ),
        always_on(
            "memory64",
            "64-bit memories and tables (always on)",
            "Remap always accepts 64-bit memories",
        ),
        not_yet(
            "component-model",
            "components (only =n: Remap runs core modules)",
            "Remap runs core Wasm modules, not components",
        ),
        always_on(
            "function-references",
            "typed function references (always on)",
            "Remap always accepts typed function references",
        ),
        not_yet(
            "stack-switching",
            "stack switching (only =n: not supported)",
            "Remap does not implement the stack-switching proposal",
        ),
        always_on(
            "gc",
            "garbage collection: struct, array and i31 types and instructions (always on)",
            "Remap always accepts Wasm GC",
        ),
        always_on(
            "custom-page-sizes",
            "custom page sizes (always on)",
            "Remap always accepts custom page sizes",
        ),
        Key {
            name: "wide-arithmetic",
            kind: Kind::Flag(|settings, on| settings.features.wide_arithmetic = Some(on)),
            applies: Applies::Everywhere,
            help: "128-bit add, sub and wide multiply (default y, where Wasmtime's is n)",
        },
        always_on(
            "extended-const",
            "extended constant expressions (always on)",
            "Remap always accepts extended constant expressions",
        ),
        Key {
            name: "exceptions",
            kind: Kind::Flag(|settings, on| settings.features.exceptions = Some(on)),
            applies: Applies::Everywhere,
            help: "exception handling, legacy try/catch included (default y)",
        },
        Key {
            name: "custom-descriptors",
            kind: Kind::Flag(|settings, on| settings.features.custom_descriptors = Some(on)),
            applies: Applies::Everywhere,
            help: "Remap's own: the custom descriptors proposal (default n: it also \
                   relaxes br_on_cast validation)",
        },
    ],
    wasmtime_only: &[
        WasmtimeOnly {
            names: &[
                "async-stack-size",
                "async-stack-zeroing",
                "concurrency-support",
            ],
            why: "Remap's async support is the embedding API's (Config::async_support, \
                  Config::async_stack_size); the command line runs programs synchronously",
        },
        WasmtimeOnly {
            names: &["unknown-exports-allow", "unknown-imports-default"],
            why: "Remap links WASI, --preload modules and, with -W unknown-imports-trap, \
                  trapping functions only",
        },
        WasmtimeOnly {
            names: &["wmemcheck"],
            why: "Remap has no memory checker",
        },
        WasmtimeOnly {
            names: &["all-proposals"],
            why: "Remap's proposals are switched one by one (see -W help)",
        },
        WasmtimeOnly {
            names: &["gc-support"],
            why: "Remap's GC cannot be switched off (-W gc is always on)",
        },
        WasmtimeOnly {
            names: &["branch-hinting"],
            why: "Remap reads no branch hints",
        },
        WasmtimeOnly {
            names: &["component-model-*"],
            why: "Remap runs core Wasm modules, not components",
        },
    ],
};

/// `-S`: WASI.
pub static WASI: Group = Group {
    flag: 'S',
    long: "wasi",
    about: "WASI (Remap implements WASI preview 1)",
    keys: &[
        Key {
            name: "cli",
            kind: Kind::Flag(|settings, on| settings.wasi.cli = Some(on)),
            applies: Applies::Run,
            help: "link WASI for the guest (default y; n leaves only --preload modules to import)",
        },
        Key {
            name: "common",
            kind: Kind::Flag(|settings, on| settings.wasi.cli = Some(on)),
            applies: Applies::Run,
            help: "the same as cli (Wasmtime's deprecated name)",
        },
        Key {
            name: "tcplisten",
            kind: Kind::Text {
                form: "=ADDRESS:PORT",
                apply: |settings, address| {
                    settings.wasi.tcp_listen.push(address.to_owned());
                    Ok(())
                },
            },
            applies: Applies::Run,
            help: "listen on a TCP address and give the program the socket (as --tcplisten)",
        },
        Key {
            name: "preview2",
            kind: Kind::Flag(|_, _| {}),
            applies: Applies::Run,
            help: "accepted either way: Remap has one WASI preview 1 implementation",
        },
        not_yet_wasi(
            "inherit-network",
            "the host's whole network (only =n: Remap's sockets come from tcplisten)",
            "Remap's WASI has no socket API beyond -S tcplisten",
        ),
        Key {
            name: "threads",
            kind: Kind::Flag(|settings, on| settings.wasi.threads = Some(on)),
            applies: Applies::Run,
            help: "wasi-threads: give the program `wasi::thread-spawn` (default n)",
        },
        Key {
            name: "inherit-env",
            kind: Kind::Flag(|settings, on| settings.wasi.inherit_env = Some(on)),
            applies: Applies::Run,
            help: "give the program the host's environment (--env entries take precedence)",
        },
        Key {
            name: "inherit-stdin",
            kind: Kind::Flag(|settings, on| settings.wasi.inherit_stdio[0] = Some(on)),
            applies: Applies::Run,
            help: "the program reads the host's stdin (default y; n: empty)",
        },
        Key {
            name: "inherit-stdout",
            kind: Kind::Flag(|settings, on| settings.wasi.inherit_stdio[1] = Some(on)),
            applies: Applies::Run,
            help: "the program writes to the host's stdout (default y; n: discarded)",
        },
        Key {
            name: "inherit-stderr",
            kind: Kind::Flag(|settings, on| settings.wasi.inherit_stdio[2] = Some(on)),
            applies: Applies::Run,
            help: "the program writes to the host's stderr (default y; n: discarded)",
        },
    ],
    wasmtime_only: &[
        WasmtimeOnly {
            names: &["listenfd"],
            why: "use -S tcplisten=ADDRESS:PORT",
        },
        WasmtimeOnly {
            names: &["allow-ip-name-lookup", "tcp", "udp", "network-error-code"],
            why: "these configure wasi:sockets (preview 2); Remap's WASI is preview 1, \
                  with sockets from -S tcplisten only",
        },
        WasmtimeOnly {
            names: &["preview0"],
            why: "Remap does not implement wasi_unstable",
        },
        WasmtimeOnly {
            names: &[
                "cli-exit-with-code",
                "nn",
                "nn-graph",
                "http",
                "http-*",
                "config",
                "config-var",
                "keyvalue",
                "keyvalue-in-memory-data",
                "tls",
                "p3",
                "max-resources",
                "max-component-handles",
                "max-random-size",
                "cwd",
                "hostcall-fuel",
            ],
            why: "Remap implements WASI preview 1 only, without this proposal or setting",
        },
    ],
};

/// A WASI capability Remap does not offer (`=n` only).
const fn not_yet_wasi(name: &'static str, help: &'static str, why: &'static str) -> Key {
    Key {
        applies: Applies::Run,
        ..not_yet(name, help, why)
    }
}

/// `-O`: memory layout and optimisation.
pub static OPTIMIZE: Group = Group {
    flag: 'O',
    long: "optimize",
    about: "memory layout and optimisation (mapped onto Remap's static and dynamic \
            memory styles: see the README)",
    keys: &[
        Key {
            name: "opt-level",
            kind: Kind::Text {
                form: "=1|2",
                apply: |_, level| match level {
                    "1" | "2" => Ok(()),
                    other => Err(format!(
                        "`{other}` is not a level Remap compiles at: it always uses Cranelift's \
                         speed level, which Wasmtime's 1 and 2 also mean"
                    )),
                },
            },
            applies: Applies::Everywhere,
            help: "accepted as 1 or 2: Remap always optimises for speed",
        },
        Key {
            name: "memory-may-move",
            kind: Kind::Flag(|settings, on| settings.layout.may_move = Some(on)),
            applies: Applies::Everywhere,
            help: "n: memories are static, reserved once and never moved",
        },
        Key {
            name: "memory-reservation",
            kind: Kind::Size(|settings, bytes| settings.layout.reservation = Some(bytes)),
            applies: Applies::Everywhere,
            help: "4GiB or more: static memories of that reservation, no bounds checks; \
                   less: dynamic memories (static and bounds-checked with memory-may-move=n)",
        },
        Key {
            name: "memory-reservation-for-growth",
            kind: Kind::Size(|settings, bytes| {
                settings.layout.reservation_for_growth = Some(bytes);
            }),
            applies: Applies::Everywhere,
            help: "room a dynamic memory grows into before it moves (as --memory-reserve; \
                   default 16MiB)",
        },
        Key {
            name: "memory-guard-size",
            kind: Kind::Size(|settings, bytes| settings.layout.guard_size = Some(bytes)),
            applies: Applies::Everywhere,
            help: "guard bytes after each memory (default 4GiB static, 64KiB dynamic)",
        },
        Key {
            name: "guard-before-linear-memory",
            kind: Kind::Flag(|settings, on| settings.layout.guard_before = Some(on)),
            applies: Applies::Everywhere,
            help: "a 64KiB guard before each memory (default y)",
        },
        Key {
            name: "memory-init-cow",
            kind: Kind::Flag(|settings, on| settings.layout.init_cow = Some(on)),
            applies: Applies::Everywhere,
            help: "map data segments copy-on-write from a per-module image instead of \
                   copying them into each instance (default y)",
        },
        Key {
            name: "arena-slot-size",
            kind: Kind::Size(|settings, bytes| settings.layout.arena_slot_size = Some(bytes)),
            applies: Applies::Everywhere,
            help: "Remap's own: bytes of the largest slot of the memory arena that \
                   --memory-style arena packs small memories into (default 1MiB; \
                   smaller memories get power-of-two slots from 64KiB)",
        },
        Key {
            name: "arena-max-slots",
            kind: Kind::Count(|settings, slots| settings.layout.arena_max_slots = Some(slots)),
            applies: Applies::Everywhere,
            help: "Remap's own: the most memories the arena holds at once (default 2097152)",
        },
        not_yet(
            "pooling-allocator",
            "the pooling allocator (only =n: Remap reuses reservations by itself)",
            "Remap has no pooling allocator; its engine reuses memory reservations anyway",
        ),
        always_on(
            "signals-based-traps",
            "traps by signal handlers (always on)",
            "Remap's static memories rely on signal handlers",
        ),
        Key {
            name: "dynamic-memory-guard-size",
            kind: Kind::Size(|settings, bytes| settings.layout.guard_size = Some(bytes)),
            applies: Applies::Everywhere,
            help: "the same as memory-guard-size (Wasmtime's deprecated name)",
        },
        Key {
            name: "static-memory-guard-size",
            kind: Kind::Size(|settings, bytes| settings.layout.guard_size = Some(bytes)),
            applies: Applies::Everywhere,
            help: "the same as memory-guard-size (Wasmtime's deprecated name)",
        },
        Key {
            name: "static-memory-forced",
            kind: Kind::Flag(|settings, on| settings.layout.may_move = Some(!on)),
            applies: Applies::Everywhere,
            help: "the same as memory-may-move=n (Wasmtime's deprecated name)",
        },
        Key {
            name: "static-memory-maximum-size",
            kind: Kind::Size(|settings, bytes| settings.layout.reservation = Some(bytes)),
            applies: Applies::Everywhere,
            help: "the same as memory-reservation (Wasmtime's deprecated name)",
        },
        Key {
            name: "dynamic-memory-reserved-for-growth",
            kind: Kind::Size(|settings, bytes| {
                settings.layout.reservation_for_growth = Some(bytes);
            }),
            applies: Applies::Everywhere,
            help: "the same as memory-reservation-for-growth (Wasmtime's deprecated name)",
        },
    ],
    wasmtime_only: &[
        WasmtimeOnly {
            names: &["pooling-*"],
            why: "Remap has no pooling allocator",
        },
        WasmtimeOnly {
            names: &["gc-heap-*", "gc-zeal-alloc-counter"],
            why: "Remap has no GC heap",
        },
        WasmtimeOnly {
            names: &["regalloc-algorithm"],
            why: "Remap always uses Cranelift's backtracking register allocator",
        },
        WasmtimeOnly {
            names: &["table-lazy-init", "memory-guaranteed-dense-image-size"],
            why: "Remap initialises tables and memories its own way, without these settings",
        },
    ],
};

/// `-C`: code generation.
pub static CODEGEN: Group = Group {
    flag: 'C',
    long: "codegen",
    about: "code generation",
    keys: &[
        Key {
            name: "compiler",
            kind: Kind::Text {
                form: "=cranelift",
                apply: |_, compiler| match compiler {
                    "cranelift" => Ok(()),
                    other => Err(format!(
                        "`{other}` is not available: Remap compiles with Cranelift only"
                    )),
                },
            },
            applies: Applies::Everywhere,
            help: "accepted as cranelift, Remap's only compiler",
        },
        Key {
            name: "cache",
            kind: Kind::Flag(|settings, on| settings.code_cache = Some(on)),
            applies: Applies::Run,
            help: "cache compiled code between runs in $XDG_CACHE_HOME/remap (else \
                   ~/.cache/remap; default y)",
        },
        Key {
            name: "parallel-compilation",
            kind: Kind::Flag(|settings, on| settings.parallel_compilation = Some(on)),
            applies: Applies::Everywhere,
            help: "compile a module's functions on all cores (default y)",
        },
    ],
    wasmtime_only: &[
        WasmtimeOnly {
            names: &["cranelift-*"],
            why: "Remap sets Cranelift's flags itself (for the Spectre hardening of bounds \
                  checks, use --spectre-mitigations)",
        },
        WasmtimeOnly {
            names: &["collector"],
            why: "Remap has no garbage collector",
        },
        WasmtimeOnly {
            names: &["cache-config"],
            why: "Remap's code cache has no configuration file: it lives in \
                  $XDG_CACHE_HOME/remap (else ~/.cache/remap)",
        },
        WasmtimeOnly {
            names: &[
                "native-unwind-info",
                "inlining",
                "metadata-for-internal-asserts",
                "metadata-for-gc-heap-corruption",
            ],
            why: "Remap does not offer this code generation setting",
        },
    ],
};
