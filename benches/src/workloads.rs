//! The benchmark workloads: C sources in `benches/workloads/`, compiled at
//! bench time with clang to `.wasm` (wasm32-wasi) and with gcc to a native
//! executable, into a directory beside the build output. Nothing binary is
//! committed; a build is redone only when its output is older than its
//! sources.

use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming a directory that holds `sqlite3.c`,
/// `sqlite3.h` and `wasm32-wasi-vfs.c` (by default the copy bundled with
/// the `libsqlite3-sys` crate in Cargo's registry is used).
pub const SQLITE_DIR_VAR: &str = "REMAP_BENCH_SQLITE_DIR";

/// Environment variable overriding where built workloads go.
pub const OUTPUT_DIR_VAR: &str = "REMAP_BENCH_OUT";

/// Where a workload's code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// One C file in `benches/workloads/`.
    C(&'static str),
    /// `benches/workloads/sqlite.c` linked with the SQLite amalgamation.
    Sqlite,
    /// One C file in `benches/workloads/` that needs guaranteed tail calls
    /// (`musttail`): built with [`TAIL_CALL_CLANG`] on both sides,
    /// `-mtail-call` for wasm32.
    TailCallC(&'static str),
    /// A text module in `benches/workloads/` (no native counterpart).
    Wat(&'static str),
}

/// The clang that builds tail-call workloads: Debian's clang 22 (packages
/// `clang-22 lld-22 libclang-rt-22-dev-wasm32`), the first with Wasm tail
/// calls in its wasm32 backend and `musttail` in C; gcc 12 has neither.
pub const TAIL_CALL_CLANG: &str = "clang-22";

/// The flags that build a tail-call workload for wasm32-wasi with
/// [`TAIL_CALL_CLANG`] and Debian's wasi-libc (found under the
/// `wasm32-wasi` triple, hence the deprecated spelling).
pub const TAIL_CALL_WASM_FLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "-Wno-deprecated",
    "-O2",
    "-mtail-call",
];

/// A program that prints a checksum, run by every runtime being compared.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Short name used in tables and benchmark ids.
    pub name: &'static str,
    /// Its source.
    pub source: Source,
    /// Whether it is a compute workload (held to the execution-time target).
    pub compute: bool,
    /// `-W` options Wasmtime needs to accept the module (e.g. `memory64=y`).
    pub wasmtime_features: &'static [&'static str],
    /// Whether `compare` runs it only when `--only` names it: it needs many
    /// GiB of RAM and minutes.
    pub only_when_named: bool,
}

/// Every workload the comparison runs, compute workloads first.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "matmul",
        source: Source::C("matmul.c"),
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "nbody",
        source: Source::C("nbody.c"),
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "sieve",
        source: Source::C("sieve.c"),
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "crc32",
        source: Source::C("crc32.c"),
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "interp",
        source: Source::C("interp.c"),
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "interp_tail",
        source: Source::TailCallC("interp_tail.c"),
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "sqlite",
        source: Source::Sqlite,
        compute: true,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "grow1g",
        source: Source::Wat("grow1g.wat"),
        compute: false,
        wasmtime_features: &[],
        only_when_named: false,
    },
    Workload {
        name: "grow8g64",
        source: Source::Wat("grow8g64.wat"),
        compute: false,
        wasmtime_features: &["memory64=y"],
        only_when_named: true,
    },
];

/// Looks a workload up by name.
pub fn workload(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|workload| workload.name == name)
}

/// The outputs of building one workload.
#[derive(Clone, Debug)]
pub struct Built {
    /// The `.wasm` (or `.wat`) module.
    pub wasm: PathBuf,
    /// The native executable, where the workload has one.
    pub native: Option<PathBuf>,
}

/// `benches/workloads/` in the source tree.
pub fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads")
}

/// Where built workloads go: `$REMAP_BENCH_OUT`, else
/// `<target dir>/remap-bench-workloads` found from the running executable
/// (`<target>/<profile>/...`), else the system temporary directory.
pub fn output_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os(OUTPUT_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => target_dir_of_current_exe()
            .unwrap_or_else(std::env::temp_dir)
            .join("remap-bench-workloads"),
    };
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn target_dir_of_current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .find(|dir| {
            matches!(
                dir.file_name().and_then(|name| name.to_str()),
                Some("release" | "debug")
            )
        })
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

/// Builds `workload` (if its outputs are stale) and returns their paths.
pub fn build(workload: &Workload) -> Result<Built> {
    let out = output_dir()?;
    let sources = sources_dir();
    match workload.source {
        Source::C(file) => {
            let source = sources.join(file);
            let wasm = out.join(format!("{}.wasm", workload.name));
            let native = out.join(format!("{}.native", workload.name));
            clang_wasi(std::slice::from_ref(&source), &[], &wasm)?;
            gcc_native(&[source], &[], &native)?;
            Ok(Built {
                wasm,
                native: Some(native),
            })
        }
        Source::TailCallC(file) => {
            let source = [sources.join(file)];
            let wasm = out.join(format!("{}.wasm", workload.name));
            let native = out.join(format!("{}.native", workload.name));
            compile_with(
                TAIL_CALL_CLANG,
                TAIL_CALL_WASM_FLAGS,
                &source,
                &[],
                &[],
                &wasm,
            )?;
            compile_with(TAIL_CALL_CLANG, &["-O2"], &source, &[], &[], &native)?;
            Ok(Built {
                wasm,
                native: Some(native),
            })
        }
        Source::Sqlite => {
            let sqlite = sqlite_dir()?;
            let driver = sources.join("sqlite.c");
            let include = format!("-I{}", sqlite.display());
            let mut flags = vec![
                include.as_str(),
                "-DSQLITE_THREADSAFE=0",
                "-DSQLITE_OMIT_LOAD_EXTENSION",
            ];
            let native = out.join("sqlite.native");
            gcc_native(&[driver.clone(), sqlite.join("sqlite3.c")], &flags, &native)?;
            // wasi-libc has no file locking or mmap: SQLite's demo VFS
            // (shipped with libsqlite3-sys for this target) replaces the
            // Unix one, as libsqlite3-sys itself does for wasm32-wasi.
            flags.extend(["-DSQLITE_OS_OTHER=1", "-DLONGDOUBLE_TYPE=double"]);
            let wasm = out.join("sqlite.wasm");
            clang_wasi(
                &[
                    driver,
                    sqlite.join("sqlite3.c"),
                    sqlite.join("wasm32-wasi-vfs.c"),
                ],
                &flags,
                &wasm,
            )?;
            Ok(Built {
                wasm,
                native: Some(native),
            })
        }
        Source::Wat(file) => Ok(Built {
            wasm: sources.join(file),
            native: None,
        }),
    }
}

/// The directory with the SQLite amalgamation: `$REMAP_BENCH_SQLITE_DIR`,
/// else the newest `libsqlite3-sys-*/sqlite3` in Cargo's registry sources.
pub fn sqlite_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(SQLITE_DIR_VAR) {
        return Ok(PathBuf::from(dir));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let registry = cargo_home.join("registry").join("src");
    let mut candidates = Vec::new();
    for index in fs::read_dir(&registry).into_iter().flatten().flatten() {
        for package in fs::read_dir(index.path()).into_iter().flatten().flatten() {
            let name = package.file_name().to_string_lossy().into_owned();
            let dir = package.path().join("sqlite3");
            if name.starts_with("libsqlite3-sys-") && dir.join("sqlite3.c").is_file() {
                candidates.push((name, dir));
            }
        }
    }
    candidates.sort();
    match candidates.pop() {
        Some((_, dir)) => Ok(dir),
        None => bail!(
            "the SQLite amalgamation was not found in {} (no libsqlite3-sys-*/sqlite3/sqlite3.c); \
             fetch the libsqlite3-sys crate or set {SQLITE_DIR_VAR} to a directory holding \
             sqlite3.c, sqlite3.h and wasm32-wasi-vfs.c",
            registry.display()
        ),
    }
}

/// True when `output` exists and is newer than every input.
fn up_to_date(output: &Path, inputs: &[PathBuf]) -> bool {
    let Ok(built) = fs::metadata(output).and_then(|meta| meta.modified()) else {
        return false;
    };
    inputs.iter().all(|input| {
        fs::metadata(input)
            .and_then(|meta| meta.modified())
            .is_ok_and(|changed| changed <= built)
    })
}

fn clang_wasi(sources: &[PathBuf], flags: &[&str], output: &Path) -> Result<()> {
    compile_with(
        "clang",
        &["--target=wasm32-wasi", "-O2"],
        sources,
        flags,
        &["-lm"],
        output,
    )
}

fn gcc_native(sources: &[PathBuf], flags: &[&str], output: &Path) -> Result<()> {
    // Wasm's sqrt sets no errno, and clang's wasm32 build calls none; without
    // this gcc guards every sqrt with a libm call and the native side is slowed.
    compile_with(
        "gcc",
        &["-O2", "-fno-math-errno"],
        sources,
        flags,
        &["-lm"],
        output,
    )
}

/// Runs `compiler` unless `output` is up to date; builds into a temporary
/// name first so an interrupted build never leaves a truncated output.
fn compile_with(
    compiler: &str,
    base_flags: &[&str],
    sources: &[PathBuf],
    flags: &[&str],
    libraries: &[&str],
    output: &Path,
) -> Result<()> {
    // A header beside a source (e.g. interp_programs.h) may be included by it.
    let headers = sources
        .iter()
        .filter_map(|source| source.parent())
        .filter_map(|dir| fs::read_dir(dir).ok())
        .flat_map(|listing| listing.flatten().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "h"));
    let inputs: Vec<PathBuf> = sources.iter().cloned().chain(headers).collect();
    if up_to_date(output, &inputs) {
        return Ok(());
    }
    let partial = output.with_extension("partial");
    let status = Command::new(compiler)
        .args(base_flags)
        .args(flags)
        .args(sources)
        .args(libraries)
        .args(["-w", "-o"])
        .arg(&partial)
        .status()
        .with_context(|| format!("cannot run `{compiler}` (is it installed?)"))?;
    if !status.success() {
        bail!(
            "`{compiler}` failed ({status}) building {}",
            output.display()
        );
    }
    fs::rename(&partial, output)
        .with_context(|| format!("cannot move {} into place", partial.display()))
}

/// Builds (once) a module of clang-compiled generated functions with about
/// `code_bytes` bytes of code, exporting every function and a `noop`; it
/// stands in for a large application in the compile benchmarks.
pub fn generated_module(code_bytes: usize) -> Result<PathBuf> {
    let out = output_dir()?;
    let functions = code_bytes.div_ceil(GENERATED_BYTES_PER_FUNCTION);
    let c_file = out.join(format!("generated-{functions}.c"));
    let wasm = out.join(format!("generated-{functions}.wasm"));
    if !c_file.is_file() {
        fs::write(&c_file, generated_c_source(functions))
            .with_context(|| format!("cannot write {}", c_file.display()))?;
    }
    compile_with(
        "clang",
        &[
            "--target=wasm32",
            "-O1",
            "-nostdlib",
            "-Wl,--no-entry",
            "-Wl,--export-all",
        ],
        &[c_file],
        &[],
        &[],
        &wasm,
    )?;
    Ok(wasm)
}

/// Approximate Wasm code bytes clang emits per generated function.
const GENERATED_BYTES_PER_FUNCTION: usize = 420;

/// C source with `functions` functions, each a loop over a switch of
/// arithmetic, loads and stores with constants drawn from a fixed
/// pseudo-random sequence, calling an earlier function (so nothing is dead).
pub fn generated_c_source(functions: usize) -> String {
    use std::fmt::Write;
    let mut random = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        (random >> 16) as u32
    };
    let mut c = String::from("void noop(void) {}\n");
    for index in 0..functions {
        let callee = if index == 0 {
            "0".to_owned()
        } else {
            format!("f{}(p, n >> 1, b)", next() as usize % index)
        };
        let _ = writeln!(
            c,
            "__attribute__((noinline)) unsigned f{index}(unsigned *p, unsigned n, unsigned x) {{\n\
             \x20 unsigned a = x ^ {}u, b = {}u;\n\
             \x20 if (n == 0) return a;\n\
             \x20 for (unsigned i = 0; i < n; i++) {{\n\
             \x20   switch ((a + i) & 7) {{",
            next(),
            next()
        );
        for case in 0..8 {
            let body = match next() % 6 {
                0 => format!("a = a * {}u + p[i & 63];", next() | 1),
                1 => format!(
                    "b ^= (a << {}) | (a >> {});",
                    next() % 31 + 1,
                    next() % 31 + 1
                ),
                2 => format!("p[(i * {}u) & 63] = a + b;", next() % 64),
                3 => format!("a = a / ({}u | (b & 7)) + b;", next() % 97 + 1),
                4 => format!("if (a > {}u) b += a; else a -= b;", next()),
                _ => format!("a += (float)b * {}.5f;", next() % 1000),
            };
            let _ = writeln!(c, "      case {case}: {body} break;");
        }
        let _ = writeln!(
            c,
            "    }}\n\
             \x20   b = (b << 3) ^ (a >> 5) ^ {}u;\n\
             \x20   if (b & {}u) p[(a ^ b) & 63] ^= b;\n\
             \x20 }}\n\
             \x20 return a + b + {callee};\n\
             }}",
            next(),
            next()
        );
    }
    c
}

/// Bytes in the code section of a binary module (0 if it has none).
pub fn code_section_bytes(wasm: &[u8]) -> Result<usize> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CodeSectionStart { size, .. } = payload? {
            return Ok(size as usize);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_source_is_deterministic_and_has_every_function() {
        let source = generated_c_source(5);
        assert_eq!(source, generated_c_source(5));
        for index in 0..5 {
            assert!(source.contains(&format!("unsigned f{index}(")));
        }
        assert!(source.contains("void noop(void)"));
        assert!(!source.contains("unsigned f5("));
    }

    #[test]
    fn code_section_size_is_the_code_section_only() {
        let with_code = wat::parse_str("(module (func (result i32) i32.const 7))").unwrap();
        let size = code_section_bytes(&with_code).unwrap();
        assert!(size > 0 && size < with_code.len());
        let without_code = wat::parse_str("(module (memory 1))").unwrap();
        assert_eq!(code_section_bytes(&without_code).unwrap(), 0);
        assert!(code_section_bytes(b"not wasm").is_err());
    }

    #[test]
    fn outputs_older_than_a_source_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.c");
        let output = dir.path().join("a.wasm");
        fs::write(&source, "int main(void) { return 0; }").unwrap();
        assert!(!up_to_date(&output, std::slice::from_ref(&source)));
        fs::write(&output, "built").unwrap();
        assert!(up_to_date(&output, std::slice::from_ref(&source)));
        let missing = dir.path().join("missing.c");
        assert!(!up_to_date(&output, &[missing]));
    }

    #[test]
    fn every_workload_has_its_source() {
        for entry in WORKLOADS {
            let file = match entry.source {
                Source::C(file) | Source::TailCallC(file) | Source::Wat(file) => file,
                Source::Sqlite => "sqlite.c",
            };
            assert!(
                sources_dir().join(file).is_file(),
                "{} has no {file}",
                entry.name
            );
            assert!(workload(entry.name).is_some());
        }
        assert!(workload("no-such-workload").is_none());
    }

    #[test]
    fn every_text_workload_is_a_valid_module() {
        for entry in WORKLOADS {
            if let Source::Wat(file) = entry.source {
                let wasm = wat::parse_file(sources_dir().join(file)).unwrap();
                wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                    .validate_all(&wasm)
                    .unwrap_or_else(|err| panic!("{file}: {err}"));
            }
        }
    }

    #[test]
    fn a_missing_compiler_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.c");
        fs::write(&source, "").unwrap();
        let err = compile_with(
            "remap-bench-no-such-compiler",
            &[],
            &[source],
            &[],
            &[],
            &dir.path().join("a.wasm"),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("cannot run `remap-bench-no-such-compiler`"));
    }
}
