//! The per-instance WASI state ([`WasiCtx`]) and its builder.

use std::net::TcpListener;
use std::path::Path;

use anyhow::{Context, bail};
use rustix::fs::{Mode, OFlags};

use super::abi::Rights;
use super::fd_table::{Descriptor, FdTable, Handle, Input, Output};
use super::pipe::{ReadPipe, WritePipe};

/// The state a WASI guest sees: arguments, environment and open descriptors.
/// Build it with [`WasiCtxBuilder`] and keep it in the `Store`'s data.
#[derive(Debug)]
pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) fds: FdTable,
}

/// Configures a [`WasiCtx`]: arguments, environment, standard streams, preopened
/// directories. By default stdin is empty and stdout/stderr are discarded.
#[derive(Debug)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    preopens: Vec<(std::os::fd::OwnedFd, String)>,
    sockets: Vec<TcpListener>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder::new()
    }
}

impl WasiCtxBuilder {
    /// A builder with no arguments, no environment, no preopens and no stdio.
    pub fn new() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Input::Pipe(ReadPipe::default()),
            stdout: Output::Sink,
            stderr: Output::Sink,
            preopens: Vec::new(),
            sockets: Vec::new(),
        }
    }

    /// Appends one argument; the first is conventionally the program name.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args(mut self, args: &[String]) -> Self {
        self.args.extend(args.iter().cloned());
        self
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Adds environment variables.
    pub fn envs(mut self, vars: &[(String, String)]) -> Self {
        self.env.extend(vars.iter().cloned());
        self
    }

    /// Gives the guest the host process's environment (variables that are not valid
    /// UTF-8 are skipped).
    pub fn inherit_env(mut self) -> Self {
        self.env.extend(std::env::vars());
        self
    }

    /// The guest reads the host process's stdin.
    pub fn inherit_stdin(mut self) -> Self {
        self.stdin = Input::Inherit(std::io::stdin());
        self
    }

    /// The guest writes to the host process's stdout.
    pub fn inherit_stdout(mut self) -> Self {
        self.stdout = Output::InheritStdout(std::io::stdout());
        self
    }

    /// The guest writes to the host process's stderr.
    pub fn inherit_stderr(mut self) -> Self {
        self.stderr = Output::InheritStderr(std::io::stderr());
        self
    }

    /// The guest uses the host process's stdin, stdout and stderr.
    pub fn inherit_stdio(self) -> Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// The guest reads `pipe` as its stdin.
    pub fn stdin(mut self, pipe: ReadPipe) -> Self {
        self.stdin = Input::Pipe(pipe);
        self
    }

    /// The guest's stdout is collected in `pipe`.
    pub fn stdout(mut self, pipe: WritePipe) -> Self {
        self.stdout = Output::Pipe(pipe);
        self
    }

    /// The guest's stderr is collected in `pipe`.
    pub fn stderr(mut self, pipe: WritePipe) -> Self {
        self.stderr = Output::Pipe(pipe);
        self
    }

    /// Lets the guest reach the host directory `host` (and only what lies beneath it)
    /// under the name `guest`. Fails when `host` cannot be opened as a directory.
    pub fn preopened_dir(mut self, host: impl AsRef<Path>, guest: &str) -> anyhow::Result<Self> {
        let host = host.as_ref();
        if guest.is_empty() {
            bail!(
                "the guest path of preopened directory {} is empty",
                host.display()
            );
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(host, flags, Mode::empty())
            .with_context(|| format!("cannot open preopened directory {}", host.display()))?;
        self.preopens.push((dir, guest.to_owned()));
        Ok(self)
    }

    /// Lets the guest accept connections on `listener` (`sock_accept`). Preopened
    /// sockets get the descriptors right after stdio, from 3 on, before the
    /// preopened directories, in the order they were added (as Wasmtime numbers them).
    pub fn preopened_socket(mut self, listener: TcpListener) -> Self {
        self.sockets.push(listener);
        self
    }

    /// Finishes the context: fds 0-2 are the standard streams, preopened
    /// sockets and then preopened directories follow from 3.
    pub fn build(self) -> WasiCtx {
        let mut fds = FdTable::default();
        let streams = [
            (Handle::Input(self.stdin), Rights::INPUT_STREAM),
            (Handle::Output(self.stdout), Rights::OUTPUT_STREAM),
            (Handle::Output(self.stderr), Rights::OUTPUT_STREAM),
        ];
        for (handle, base) in streams {
            insert_new(
                &mut fds,
                Descriptor {
                    handle,
                    base,
                    inheriting: Rights::NONE,
                    flags: 0,
                    preopen: None,
                },
            );
        }
        for listener in self.sockets {
            insert_new(
                &mut fds,
                Descriptor {
                    handle: Handle::TcpListener(listener),
                    base: Rights::SOCKET_LISTENER,
                    inheriting: Rights::SOCKET_STREAM,
                    flags: 0,
                    preopen: None,
                },
            );
        }
        for (dir, guest) in self.preopens {
            insert_new(
                &mut fds,
                Descriptor {
                    handle: Handle::Dir(dir),
                    base: Rights::DIRECTORY,
                    inheriting: Rights::DIRECTORY_INHERITING,
                    flags: 0,
                    preopen: Some(guest),
                },
            );
        }
        WasiCtx {
            args: self.args,
            env: self
                .env
                .into_iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            fds,
        }
    }
}

fn insert_new(fds: &mut FdTable, descriptor: Descriptor) {
    // A fresh table has room for every fd number a builder can create.
    fds.insert(descriptor)
        .expect("a new descriptor table cannot be full");
}

impl WasiCtx {
    /// The arguments the guest sees.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The guest paths of the preopened directories, with their fd numbers.
    pub fn preopens(&self) -> Vec<(u32, String)> {
        self.fds
            .iter()
            .filter_map(|(fd, d)| d.preopen.clone().map(|path| (fd, path)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_lays_out_stdio_then_preopens() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = WasiCtxBuilder::new()
            .arg("prog")
            .args(&["x".to_owned()])
            .env("A", "1")
            .preopened_dir(dir.path(), "/sandbox")
            .unwrap()
            .build();
        assert_eq!(ctx.args(), ["prog", "x"]);
        assert_eq!(ctx.env, ["A=1"]);
        assert_eq!(ctx.preopens(), vec![(3, "/sandbox".to_owned())]);
        assert!(matches!(ctx.fds.get(0).unwrap().handle, Handle::Input(_)));
    }

    #[test]
    fn a_context_can_move_to_another_thread() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<WasiCtx>();
        let ctx = WasiCtxBuilder::new().inherit_stdio().arg("x").build();
        let args = std::thread::spawn(move || ctx.args().to_vec())
            .join()
            .unwrap();
        assert_eq!(args, ["x"]);
    }

    #[test]
    fn preopening_a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = WasiCtxBuilder::new()
            .preopened_dir(dir.path().join("missing"), "x")
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot open preopened directory"),
            "{err}"
        );
        std::fs::write(dir.path().join("file"), b"").unwrap();
        assert!(
            WasiCtxBuilder::new()
                .preopened_dir(dir.path().join("file"), "x")
                .is_err()
        );
        assert!(WasiCtxBuilder::new().preopened_dir(dir.path(), "").is_err());
    }
}
