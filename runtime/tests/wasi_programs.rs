//! C programs compiled for wasm32-wasi with the system clang, run under Remap's WASI.
//!
//! Needs `clang`, `lld`, `wasi-libc` and `libclang-rt-14-dev-wasm32` (Debian package
//! names); a test fails with that message when they are missing. Compiled programs are
//! cached in Cargo's per-target temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use remap::wasi::{I32Exit, ReadPipe, WasiCtxBuilder, WritePipe, add_to_linker};
use remap::{Engine, Linker, Module, Store};

const PROGRAMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wasi-programs");
const MISSING_TOOLCHAIN: &str = "these tests need clang with the wasm32-wasi target: \
    install the Debian packages clang lld wasi-libc libclang-rt-14-dev-wasm32";

/// Serialises compilation: several tests may want the same program.
static COMPILE: Mutex<()> = Mutex::new(());

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasi-programs");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_compiler(compiler: &str, args: &[&str], output: &Path) {
    let result = Command::new(compiler)
        .args(args)
        .arg("-o")
        .arg(output)
        .output();
    let out =
        result.unwrap_or_else(|err| panic!("cannot run {compiler} ({err}); {MISSING_TOOLCHAIN}"));
    if !out.status.success() {
        panic!(
            "{compiler} {} failed:\n{}\n{MISSING_TOOLCHAIN}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn newer_than(output: &Path, inputs: &[PathBuf]) -> bool {
    let Ok(built) = output.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    inputs.iter().all(|input| {
        input
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| m <= built)
    })
}

/// Compiles `sources` to `name.wasm` (once) and returns its path.
fn compile_wasm(name: &str, sources: &[PathBuf], flags: &[&str]) -> PathBuf {
    let _guard = COMPILE.lock().unwrap_or_else(|p| p.into_inner());
    let output = cache_dir().join(format!("{name}.wasm"));
    if !newer_than(&output, sources) {
        let mut args = vec!["--target=wasm32-wasi", "-O2"];
        args.extend_from_slice(flags);
        args.extend(sources.iter().map(|s| s.to_str().unwrap()));
        run_compiler("clang", &args, &output);
    }
    output
}

/// Compiles one program from tests/wasi-programs.
fn program(name: &str) -> PathBuf {
    compile_wasm(
        name,
        &[Path::new(PROGRAMS).join(format!("{name}.c"))],
        &["-Wall"],
    )
}

/// The outcome of running a WASI program.
#[derive(Debug)]
struct Outcome {
    status: i32,
    stdout: String,
    stderr: String,
}

struct Launch<'a> {
    wasm: &'a Path,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dirs: Vec<(PathBuf, String)>,
    sockets: Vec<std::net::TcpListener>,
    stdin: &'a str,
}

impl<'a> Launch<'a> {
    fn new(wasm: &'a Path) -> Self {
        let name = wasm.file_name().unwrap().to_str().unwrap().to_owned();
        Launch {
            wasm,
            args: vec![name],
            env: Vec::new(),
            dirs: Vec::new(),
            sockets: Vec::new(),
            stdin: "",
        }
    }

    fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn dir(mut self, host: &Path, guest: &str) -> Self {
        self.dirs.push((host.to_owned(), guest.to_owned()));
        self
    }

    fn socket(mut self, listener: std::net::TcpListener) -> Self {
        self.sockets.push(listener);
        self
    }

    fn stdin(mut self, text: &'a str) -> Self {
        self.stdin = text;
        self
    }

    fn run(self) -> Outcome {
        let (stdout, stderr) = (WritePipe::new_in_memory(), WritePipe::new_in_memory());
        let mut builder = WasiCtxBuilder::new()
            .args(&self.args)
            .envs(&self.env)
            .stdin(ReadPipe::from_bytes(self.stdin))
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        for (host, guest) in &self.dirs {
            builder = builder.preopened_dir(host, guest).unwrap();
        }
        for listener in self.sockets {
            builder = builder.preopened_socket(listener);
        }
        let engine = Engine::default();
        let module = Module::from_file(&engine, self.wasm).unwrap();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker, |ctx| ctx).unwrap();
        let mut store = Store::new(&engine, builder.build());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        let status = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(err) => match err.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => panic!("{} trapped: {err:?}", self.wasm.display()),
            },
        };
        Outcome {
            status,
            stdout: String::from_utf8(stdout.contents()).unwrap(),
            stderr: String::from_utf8(stderr.contents()).unwrap(),
        }
    }
}

#[test]
fn hello_with_args_env_and_stdin() {
    let wasm = program("hello");
    let out = Launch::new(&wasm)
        .arg("first")
        .arg("with space")
        .arg("ünïcödé")
        .env("GREETING", "bonjour")
        .env("OTHER", "x=y")
        .stdin("line one\nline two\n")
        .run();
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "hello from wasm\nargc=4\nargv[0]=hello.wasm\nargv[1]=first\nargv[2]=with space\n\
         argv[3]=ünïcödé\nGREETING=bonjour\nenviron entries=2\nstdin: LINE ONE\nstdin: LINE TWO\n"
    );
    assert_eq!(out.stderr, "this goes to stderr\n");
}

#[test]
fn exit_codes_through_proc_exit() {
    let wasm = program("exit");
    for (how, status) in [
        ("exit", 0),
        ("exit", 3),
        ("exit", 125),
        ("return", 7),
        ("return", 0),
    ] {
        let out = Launch::new(&wasm).arg(how).arg(&status.to_string()).run();
        assert_eq!(out.status, status, "{how} {status}: {out:?}");
        assert_eq!(out.stdout, format!("leaving with {status}\n"));
    }
    let out = Launch::new(&wasm).run();
    assert_eq!(out.status, 100);
    assert!(out.stderr.starts_with("usage:"));
}

#[test]
fn file_io_in_a_preopened_directory() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = program("fileio");
    let out = Launch::new(&wasm)
        .arg("/work")
        .dir(dir.path(), "/work")
        .run();
    assert!(
        out.stdout.ends_with("all checks passed\n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.status, 0);
    assert!(!out.stdout.contains("FAIL"));
    // The program cleans up after itself.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn file_io_with_a_relative_preopen() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = program("fileio");
    let out = Launch::new(&wasm).arg(".").dir(dir.path(), ".").run();
    assert_eq!(out.status, 0, "{}", out.stdout);
}

#[test]
fn sandbox_escapes_are_refused() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret"), "secret").unwrap();
    let root = outer.path().join("sandbox");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::os::unix::fs::symlink("../secret", root.join("link-up")).unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret"), root.join("link-abs")).unwrap();
    std::os::unix::fs::symlink(outer.path(), root.join("link-dir")).unwrap();
    std::os::unix::fs::symlink("../..", root.join("sub/link-climb")).unwrap();
    let wasm = program("escape");
    let out = Launch::new(&wasm).arg("/box").dir(&root, "/box").run();
    assert_eq!(out.status, 0, "{}", out.stdout);
    assert!(out.stdout.ends_with("sandbox held\n"), "{}", out.stdout);
    let refusals: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("refused"))
        .collect();
    assert_eq!(refusals.len(), 12, "{}", out.stdout);
    // ENOTCAPABLE (76) each time: a refusal for another reason (a missing file, a
    // broken fixture) would not show that the sandbox stopped the attempt.
    assert!(
        refusals.iter().all(|line| line.ends_with(" errno=76")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("ESCAPED"));
    assert!(!outer.path().join("escaped-dir").exists());
    assert!(!outer.path().join("moved-out").exists());
    assert!(root.join("sub").exists());
}

#[test]
fn clocks_random_sleep_and_poll() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = program("clocks");
    let out = Launch::new(&wasm)
        .arg("/tmp")
        .dir(dir.path(), "/tmp")
        .stdin("ready")
        .run();
    assert_eq!(out.status, 0, "{}", out.stdout);
    assert!(
        out.stdout.ends_with("all checks passed\n"),
        "{}",
        out.stdout
    );
}

/// The source directory of a crate in this workspace's dependency graph.
fn crate_source_dir(name: &str) -> PathBuf {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    let prefix = format!("{name}-");
    json.split("\"manifest_path\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|manifest| Path::new(manifest).parent().unwrap().to_owned())
        .find(|dir| {
            dir.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .unwrap_or_else(|| panic!("{name} is not in `cargo metadata`"))
}

#[test]
fn sqlite_workload_matches_the_native_build() {
    let sqlite = crate_source_dir("libsqlite3-sys").join("sqlite3");
    let sources = [
        Path::new(PROGRAMS).join("sqlite_workload.c"),
        sqlite.join("sqlite3.c"),
    ];
    let include = format!("-I{}", sqlite.display());
    let common = [
        include.as_str(),
        "-DSQLITE_THREADSAFE=0",
        "-DSQLITE_OMIT_LOAD_EXTENSION",
    ];
    let mut wasm_flags = common.to_vec();
    wasm_flags.extend([
        "-D_WASI_EMULATED_MMAN",
        "-D_WASI_EMULATED_GETPID",
        "-D_WASI_EMULATED_SIGNAL",
        "-D_WASI_EMULATED_PROCESS_CLOCKS",
        "-lwasi-emulated-mman",
        "-lwasi-emulated-getpid",
        "-lwasi-emulated-signal",
        "-lwasi-emulated-process-clocks",
    ]);
    let wasm = compile_wasm("sqlite_workload", &sources, &wasm_flags);

    let native = cache_dir().join("sqlite_workload-native");
    {
        let _guard = COMPILE.lock().unwrap_or_else(|p| p.into_inner());
        if !newer_than(&native, &sources) {
            let mut args = vec!["-O2"];
            args.extend(common);
            args.extend(sources.iter().map(|s| s.to_str().unwrap()));
            args.push("-lm");
            run_compiler("cc", &args, &native);
        }
    }
    let native_dir = tempfile::tempdir().unwrap();
    let expected = Command::new(&native)
        .arg(native_dir.path())
        .output()
        .unwrap();
    assert!(expected.status.success(), "native sqlite run failed");
    let expected = String::from_utf8(expected.stdout).unwrap();
    assert!(
        expected.ends_with("done\n") && expected.contains("ok"),
        "{expected}"
    );

    let wasm_dir = tempfile::tempdir().unwrap();
    let out = Launch::new(&wasm)
        .arg("/data")
        .dir(wasm_dir.path(), "/data")
        .run();
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, expected);
    assert!(wasm_dir.path().join("workload.db").exists());
}

#[test]
fn a_server_on_a_preopened_socket() {
    use std::io::{Read, Write};
    let wasm = program("echo");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let clients = std::thread::spawn(move || {
        ["first line\n", "Second, in two parts\n"].map(|line| {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            let (head, tail) = line.split_at(7);
            stream.write_all(head.as_bytes()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            stream.write_all(tail.as_bytes()).unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            reply
        })
    });
    let out = Launch::new(&wasm).arg("2").socket(listener).run();
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stdout, "served 2 connections, 32 bytes\n");
    assert_eq!(
        clients.join().unwrap(),
        ["FIRST LINE\n", "SECOND, IN TWO PARTS\n"]
    );
}
