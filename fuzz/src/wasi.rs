//! The WASI target.
//!
//! A seed becomes a sequence of calls into every `wasi_snapshot_preview1`
//! function through Remap's WASI implementation (`remap::wasi`), made by a
//! module that imports them all and exports one wrapper per function. The
//! arguments follow each parameter's role, mixed with random values: file
//! descriptors (preopened, opened during the case, invalid), pointers to
//! prepared paths (inside the sandbox, `..` escapes, an absolute path and a
//! symlink leading out, empty, non-UTF-8) with their lengths, prepared
//! iovecs and poll subscriptions, and in-bounds, edge-of-memory and
//! out-of-bounds pointers and lengths.
//!
//! Checked: no call panics or fails other than with an errno or
//! `proc_exit`; every errno is a preview 1 errno; the secret in a file
//! beside the preopened directory never appears in guest memory; and after
//! the case nothing beside the preopened directory was created, removed or
//! changed. A violation is a [`Finding`] listing the calls.

use crate::rng::SplitMix;
use crate::{CaseReport, Finding, Target};
use remap::wasi::{I32Exit, ReadPipe, WasiCtx, WasiCtxBuilder, WritePipe, add_to_linker};
use remap::{Engine, Instance, Linker, Memory, Module, Store, Val};
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

/// Every preview 1 function and its parameters' roles:
/// `F` descriptor, `P` path pointer (the next parameter is its length,
/// `L`), `O` output pointer, `I` iovec array, `N` count or length,
/// `V` 64-bit offset or size, `A` 64-bit size kept small (allocation, file
/// size), `X` flags, `R` rights, `C` clock, `T` timestamp, `W` whence,
/// `Q` poll subscriptions.
const FUNCTIONS: &[(&str, &str)] = &[
    ("args_get", "OO"),
    ("args_sizes_get", "OO"),
    ("environ_get", "OO"),
    ("environ_sizes_get", "OO"),
    ("clock_res_get", "CO"),
    ("clock_time_get", "CVO"),
    ("fd_advise", "FVVX"),
    ("fd_allocate", "FAA"),
    ("fd_close", "F"),
    ("fd_datasync", "F"),
    ("fd_fdstat_get", "FO"),
    ("fd_fdstat_set_flags", "FX"),
    ("fd_fdstat_set_rights", "FRR"),
    ("fd_filestat_get", "FO"),
    ("fd_filestat_set_size", "FA"),
    ("fd_filestat_set_times", "FTTX"),
    ("fd_pread", "FINVO"),
    ("fd_prestat_get", "FO"),
    ("fd_prestat_dir_name", "FON"),
    ("fd_pwrite", "FINAO"),
    ("fd_read", "FINO"),
    ("fd_readdir", "FONVO"),
    ("fd_renumber", "FF"),
    ("fd_seek", "FVWO"),
    ("fd_sync", "F"),
    ("fd_tell", "FO"),
    ("fd_write", "FINO"),
    ("path_create_directory", "FPL"),
    ("path_filestat_get", "FXPLO"),
    ("path_filestat_set_times", "FXPLTTX"),
    ("path_link", "FXPLFPL"),
    ("path_open", "FXPLXRRXO"),
    ("path_readlink", "FPLONO"),
    ("path_remove_directory", "FPL"),
    ("path_rename", "FPLFPL"),
    ("path_symlink", "PLFPL"),
    ("path_unlink_file", "FPL"),
    ("poll_oneoff", "QONO"),
    ("proc_exit", "X"),
    ("proc_raise", "X"),
    ("sched_yield", ""),
    ("random_get", "ON"),
    ("sock_accept", "FXO"),
    ("sock_recv", "FINXOO"),
    ("sock_send", "FINXO"),
    ("sock_shutdown", "FX"),
];

const MEMORY_BYTES: u32 = 65536;
const PATHS_AT: u32 = 0x100;
const PATH_SLOT: u32 = 0x80;
const IOVECS_AT: u32 = 0x1000;
const BUFFERS_AT: u32 = 0x2000;
const SUBSCRIPTIONS_AT: u32 = 0x3000;

fn wasm_type(role: u8) -> &'static str {
    match role {
        b'V' | b'A' | b'R' | b'T' => "i64",
        _ => "i32",
    }
}

/// The module that imports every function and exports a wrapper for each.
fn module_text() -> String {
    let (mut imports, mut wrappers) = (String::new(), String::new());
    for (name, roles) in FUNCTIONS {
        let params: Vec<&str> = roles.bytes().map(wasm_type).collect();
        let result = if *name == "proc_exit" {
            ""
        } else {
            "(result i32)"
        };
        imports += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}) {result}))\n",
            params.join(" ")
        );
        let gets: String = (0..params.len())
            .map(|i| format!("(local.get {i})"))
            .collect();
        wrappers += &format!(
            "  (func (export \"{name}\") (param {}) {result} (call ${name} {gets}))\n",
            params.join(" ")
        );
    }
    let mut text = format!("(module\n{imports}{wrappers}");
    text += &format!("  (memory (export \"memory\") {})\n)", MEMORY_BYTES / 65536);
    text
}

fn compiled() -> &'static (Engine, Module) {
    static COMPILED: OnceLock<(Engine, Module)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut config = remap::Config::new();
        config.parallel_compilation(false);
        let engine = Engine::new(&config).expect("a valid configuration");
        let module = Module::new(&engine, module_text()).expect("the WASI caller compiles");
        (engine, module)
    })
}

/// The sandbox of one case: a preopened `root` and, beside it, `outside`
/// holding a secret.
struct Sandbox {
    dir: tempfile::TempDir,
    secret: Vec<u8>,
    token: String,
}

impl Sandbox {
    fn new(rng: &mut SplitMix) -> std::io::Result<Sandbox> {
        let dir = tempfile::Builder::new()
            .prefix("remap-fuzz-wasi")
            .tempdir()?;
        let token = format!("{:016x}", rng.next_u64());
        let secret = format!("SECRET-{token}").into_bytes();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("dir/sub"))?;
        fs::write(root.join("file.txt"), b"hello, sandbox")?;
        fs::create_dir(dir.path().join("outside"))?;
        fs::write(dir.path().join("outside/secret.txt"), &secret)?;
        std::os::unix::fs::symlink("../outside", root.join("link_out"))?;
        std::os::unix::fs::symlink(dir.path().join("outside/secret.txt"), root.join("abs_link"))?;
        std::os::unix::fs::symlink("file.txt", root.join("link_in"))?;
        Ok(Sandbox { dir, secret, token })
    }

    /// The paths calls may name: many inside, many trying to leave.
    fn paths(&self) -> Vec<Vec<u8>> {
        let outside = self.dir.path().join("outside/secret.txt");
        let mut paths: Vec<Vec<u8>> = [
            "file.txt",
            "dir",
            "dir/sub",
            "new",
            "dir/new",
            ".",
            "",
            "..",
            "../outside/secret.txt",
            "link_out/secret.txt",
            "link_out",
            "abs_link",
            "link_in",
            "dir/../../outside",
            "dir/sub/../../file.txt",
            "/",
            "file.txt/",
        ]
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
        paths.push(outside.to_string_lossy().into_owned().into_bytes());
        paths.push(format!("../fzesc-{}", self.token).into_bytes());
        paths.push(format!("../../fzesc-{}", self.token).into_bytes());
        paths.push(format!("dir/fzesc-{}", self.token).into_bytes());
        paths.push(b"bad\xff\xfeutf8".to_vec());
        paths.push(b"nul\0byte".to_vec());
        paths.push(vec![b'a'; 120]);
        paths
    }

    /// What must hold after the case: the directory beside `root` holds
    /// only `outside`, which is unchanged, and nothing escaped upward.
    fn check(&self) -> Result<(), String> {
        let mut top: Vec<String> = fs::read_dir(self.dir.path())
            .map_err(|e| e.to_string())?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        top.sort();
        if top != ["outside", "root"] {
            return Err(format!("the sandbox's parent now holds {top:?}"));
        }
        let outside: Vec<String> = fs::read_dir(self.dir.path().join("outside"))
            .map_err(|e| e.to_string())?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        if outside != ["secret.txt"] {
            return Err(format!("`outside` now holds {outside:?}"));
        }
        let secret = fs::read(self.dir.path().join("outside/secret.txt")).ok();
        if secret.as_deref() != Some(&self.secret[..]) {
            return Err("the file outside the sandbox changed".into());
        }
        let escaped = |base: &Path| base.join(format!("fzesc-{}", self.token)).exists();
        if let Some(parent) = self.dir.path().parent()
            && (escaped(parent) || parent.parent().is_some_and(escaped))
        {
            return Err("a file was created above the sandbox".into());
        }
        Ok(())
    }
}

struct Case {
    rng: SplitMix,
    store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
    paths: Vec<Vec<u8>>,
    secret: Vec<u8>,
    log: Vec<String>,
}

impl Case {
    /// Rewrites the prepared areas (calls may have overwritten them).
    fn prepare(&mut self) {
        let memory = self.memory.data_mut(&mut self.store);
        for (i, path) in self.paths.iter().enumerate() {
            let at = (PATHS_AT + i as u32 * PATH_SLOT) as usize;
            memory[at..at + PATH_SLOT as usize].fill(0);
            memory[at..at + path.len()].copy_from_slice(path);
        }
        for i in 0..4u32 {
            let at = (IOVECS_AT + 8 * i) as usize;
            let len = [16u32, 0, 300, 4096][i as usize];
            memory[at..at + 4].copy_from_slice(&(BUFFERS_AT + 0x400 * i).to_le_bytes());
            memory[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        }
        // Three subscriptions: a 1 µs relative clock, reading fd 3, writing fd 4.
        let subs = &mut memory[SUBSCRIPTIONS_AT as usize..SUBSCRIPTIONS_AT as usize + 3 * 48];
        subs.fill(0);
        subs[8] = 0;
        subs[16..20].copy_from_slice(&1u32.to_le_bytes());
        subs[24..32].copy_from_slice(&1000u64.to_le_bytes());
        subs[48 + 8] = 1;
        subs[48 + 16..48 + 20].copy_from_slice(&3u32.to_le_bytes());
        subs[96 + 8] = 2;
        subs[96 + 16..96 + 20].copy_from_slice(&4u32.to_le_bytes());
    }

    fn pointer(&mut self) -> u32 {
        match self.rng.below(6) {
            0 => BUFFERS_AT + self.rng.below(0x1000) as u32,
            1 => MEMORY_BYTES - self.rng.below(16) as u32,
            2 => u32::MAX - self.rng.below(16) as u32,
            3 => 0,
            4 => self.rng.next_u64() as u32,
            _ => BUFFERS_AT + 8 * self.rng.below(0x200) as u32,
        }
    }

    fn args(&mut self, roles: &str) -> Vec<Val> {
        let mut args = Vec::new();
        let mut last_path_len = 0u32;
        for role in roles.bytes() {
            let r = &mut self.rng;
            let random = r.one_in(10);
            let value: u64 = match role {
                _ if random && wasm_type(role) == "i32" => u64::from(r.next_u64() as u32),
                b'F' => r.pick(&[0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, u64::from(u32::MAX)]),
                b'P' => {
                    let which = r.below(self.paths.len() as u64) as usize;
                    last_path_len = self.paths[which].len() as u32;
                    if r.one_in(12) {
                        u64::from(self.pointer())
                    } else {
                        u64::from(PATHS_AT + which as u32 * PATH_SLOT)
                    }
                }
                b'L' => match r.below(8) {
                    0 => u64::from(u32::MAX),
                    1 => r.below(200),
                    _ => u64::from(last_path_len),
                },
                b'O' => u64::from(self.pointer()),
                b'I' => match r.below(4) {
                    0 => u64::from(self.pointer()),
                    _ => u64::from(IOVECS_AT + 8 * r.below(4) as u32),
                },
                b'N' => r.pick(&[0, 1, 2, 3, 4, 16, 300, 4096, 65536, u64::from(u32::MAX)]),
                b'V' => r.pick(&[0, 1, 7, 4096, 1 << 40, i64::MAX as u64, u64::MAX]),
                b'A' => r.pick(&[0, 1, 100, 4096, 65536, u64::MAX]),
                b'X' => match r.below(3) {
                    0 => r.below(16),
                    1 => 1 << r.below(16),
                    _ => u64::from(r.next_u64() as u16),
                },
                b'R' => {
                    let random = r.next_u64();
                    r.pick(&[u64::MAX, 0, 1, 2, 0x1ff_ffff, random])
                }
                b'C' => r.below(5),
                b'T' => r.pick(&[0, 1, 1_700_000_000_000_000_000, u64::MAX]),
                b'W' => r.below(4),
                b'Q' => match r.below(4) {
                    0 => u64::from(self.pointer()),
                    _ => u64::from(SUBSCRIPTIONS_AT),
                },
                _ => unreachable!("roles are listed above"),
            };
            args.push(match wasm_type(role) {
                "i64" => Val::I64(value as i64),
                _ => Val::I32(value as u32 as i32),
            });
        }
        // poll_oneoff: at most the three prepared subscriptions, or a count
        // that cannot fit, never random clock subscriptions that could sleep.
        if roles == "QONO" {
            let count = self.rng.pick(&[0, 1, 2, 3, 0x7fff_ffff]);
            if args[0].i32() != Some(SUBSCRIPTIONS_AT as i32) && count <= 3 {
                args[2] = Val::I32(0);
            } else {
                args[2] = Val::I32(count);
            }
        }
        args
    }

    fn call(&mut self) -> Result<(), String> {
        let (name, roles) = *self.rng.pick_ref(FUNCTIONS);
        self.prepare();
        let args = self.args(roles);
        self.log.push(format!("{name}{args:?}"));
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .expect("every function is exported");
        let mut results = vec![Val::I32(0); usize::from(name != "proc_exit")];
        match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => {
                if let Some(errno) = results.first().and_then(Val::i32)
                    && !(0..=76).contains(&errno)
                {
                    return Err(format!("{name} returned errno {errno}"));
                }
            }
            Err(error) if error.downcast_ref::<I32Exit>().is_some() => {}
            Err(error) => return Err(format!("{name} failed: {error:#}")),
        }
        let memory = self.memory.data(&self.store);
        if memory
            .windows(self.secret.len())
            .any(|w| w == &self.secret[..])
        {
            return Err(format!(
                "{name} put the secret outside the sandbox in guest memory"
            ));
        }
        Ok(())
    }
}

/// Runs the case `seed`.
pub fn run(seed: u64) -> Result<CaseReport, Box<Finding>> {
    let mut rng = SplitMix::new(seed, Target::Wasi as u64);
    let sandbox = Sandbox::new(&mut rng).expect("a temporary directory");
    let (engine, module) = compiled();
    let wasi = WasiCtxBuilder::new()
        .arg("fuzz.wasm")
        .env("KEY", "value")
        .stdin(ReadPipe::from_bytes(rng.bytes(64)))
        .stdout(WritePipe::new_in_memory())
        .stderr(WritePipe::new_in_memory())
        .preopened_dir(sandbox.dir.path().join("root"), ".")
        .expect("the sandbox opens")
        .build();
    let finding = |description: String, log: &[String]| {
        Box::new(Finding {
            target: Target::Wasi,
            seed,
            description,
            module: None,
            outcomes: format!("calls:\n  {}", log.join("\n  ")),
        })
    };
    let mut store = Store::new(engine, wasi);
    let mut linker = Linker::new(engine);
    add_to_linker(&mut linker, |ctx| ctx).expect("WASI registers");
    let instance = linker
        .instantiate(&mut store, module)
        .expect("the WASI caller instantiates");
    let memory = instance
        .get_memory(&mut store, "memory")
        .expect("exported memory");
    let mut case = Case {
        paths: sandbox.paths(),
        secret: sandbox.secret.clone(),
        rng,
        store,
        instance,
        memory,
        log: Vec::new(),
    };
    let calls = 20 + case.rng.below(60);
    for _ in 0..calls {
        if let Err(problem) = case.call() {
            return Err(finding(problem, &case.log));
        }
    }
    // Closing every descriptor first makes the check see the final state.
    drop(case);
    if let Err(problem) = sandbox.check() {
        return Err(finding(problem, &[]));
    }
    Ok(CaseReport {
        steps: calls,
        ..CaseReport::default()
    })
}
