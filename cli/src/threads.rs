//! wasi-threads for `remap run -S threads`: the `wasi::thread-spawn` import
//! (`(param i32) (result i32)`) that C and Rust programs use for pthreads.
//!
//! The program imports its memory, shared; `remap run` creates that memory
//! before instantiating the program (type from the import) and defines it
//! for the main instance and every thread. `thread-spawn(arg)` gives the
//! new thread an id (1 to 2^29 - 1, as the wasi-threads ABI allows), then
//! on a new host thread instantiates the module again in a store of its
//! own, with the same shared memory, and calls its exported
//! `wasi_thread_start(id, arg)`; it returns the id, or a negative number
//! when no thread could be started (ids exhausted, or the host refused a
//! thread). A program that does not import `thread-spawn` runs as it would
//! without `-S threads`.
//!
//! Each thread has a WASI context of its own made like the main one (same
//! arguments, environment, stdio and directories); descriptors a thread
//! opens are its own. A thread that calls `proc_exit`, or that traps, ends
//! the whole program: `proc_exit`'s status becomes the exit code, a trap is
//! reported as the main thread's would be (exit code 134).

use anyhow::{Context, Result, bail};
use remap::wasi::I32Exit;
use remap::{
    Engine, ExternType, InstancePre, Linker, Module, SharedMemory, Store, Trap, Val, ValType,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The module and name of the import.
const SPAWN_MODULE: &str = "wasi";
const SPAWN_NAME: &str = "thread-spawn";
/// The export every spawned thread runs.
const THREAD_START: &str = "wasi_thread_start";
/// One past the largest thread id the wasi-threads ABI allows.
const THREAD_ID_LIMIT: u32 = 1 << 29;

/// Makes the state a new thread's store holds.
pub type HostFactory<H> = Arc<dyn Fn() -> Result<H> + Send + Sync>;

/// What `thread-spawn` needs to start a thread.
struct Spawner<H: 'static> {
    engine: Engine,
    /// Set once the linker has every definition, before the program runs.
    instance_pre: OnceLock<InstancePre<H>>,
    make_host: HostFactory<H>,
    next_id: AtomicU32,
}

/// Defines, in `linker`, the shared memory `module` imports (made from the
/// import's type) and `wasi::thread-spawn`; returns what must be called
/// once the linker is complete ([`Threads::finish`]).
pub fn add_to_linker<H: Send + 'static>(
    linker: &mut Linker<H>,
    store: &Store<H>,
    module: &Module,
    make_host: HostFactory<H>,
) -> Result<Threads<H>> {
    let engine = store.engine();
    for import in module.imports() {
        if let ExternType::Memory(ty) = import.ty()
            && ty.is_shared()
        {
            let memory = SharedMemory::new(engine, ty).with_context(|| {
                format!(
                    "cannot create the shared memory `{}::{}`",
                    import.module(),
                    import.name()
                )
            })?;
            linker.define(store, import.module(), import.name(), memory)?;
        }
    }
    let spawner = Arc::new(Spawner {
        engine: engine.clone(),
        instance_pre: OnceLock::new(),
        make_host,
        next_id: AtomicU32::new(1),
    });
    let for_import = spawner.clone();
    linker.func_wrap(SPAWN_MODULE, SPAWN_NAME, move |arg: i32| -> i32 {
        for_import.spawn(arg)
    })?;
    Ok(Threads { spawner })
}

/// wasi-threads set up in a linker, waiting for the linker to be complete.
pub struct Threads<H: 'static> {
    spawner: Arc<Spawner<H>>,
}

impl<H: Send + 'static> Threads<H> {
    /// Lets `thread-spawn` instantiate `module` with `linker`'s definitions.
    /// A program that imports `thread-spawn` must import its memory, shared
    /// (for the threads to share it), and export `wasi_thread_start`; one
    /// that does not import it runs as without `-S threads`.
    pub fn finish(&self, linker: &Linker<H>, module: &Module) -> Result<()> {
        let spawns = module
            .imports()
            .any(|import| import.module() == SPAWN_MODULE && import.name() == SPAWN_NAME);
        if !spawns {
            return Ok(());
        }
        let imports_shared_memory = module
            .imports()
            .any(|import| matches!(import.ty(), ExternType::Memory(ty) if ty.is_shared()));
        if !imports_shared_memory {
            bail!(
                "a program that spawns threads must import its memory, shared, \
                 so that every thread uses the same one"
            );
        }
        let instance_pre = linker.instantiate_pre(module)?;
        let Some(start) = module.get_export(THREAD_START) else {
            bail!("a program that spawns threads must export `{THREAD_START}`");
        };
        let expected = [ValType::I32, ValType::I32];
        match start {
            ExternType::Func(ty) if ty.params() == expected && ty.results().is_empty() => {}
            _ => bail!("`{THREAD_START}` must be a function of type (i32, i32) -> ()"),
        }
        // `finish` runs once per run, before the program can spawn.
        let _ = self.spawner.instance_pre.set(instance_pre);
        Ok(())
    }
}

impl<H: Send + 'static> Spawner<H> {
    /// `thread-spawn(arg)`: the new thread's id, or -1.
    fn spawn(self: &Arc<Self>, arg: i32) -> i32 {
        let Some(instance_pre) = self.instance_pre.get().cloned() else {
            return -1;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id >= THREAD_ID_LIMIT {
            return -1;
        }
        let spawner = self.clone();
        let started = std::thread::Builder::new()
            .name(format!("wasi-thread-{id}"))
            .spawn(move || {
                if let Err(error) = spawner.run_thread(&instance_pre, id, arg) {
                    end_the_program(error);
                }
            });
        match started {
            Ok(_) => id as i32,
            Err(_) => -1,
        }
    }

    /// Instantiates the module in a new store and runs `wasi_thread_start`.
    fn run_thread(&self, instance_pre: &InstancePre<H>, id: u32, arg: i32) -> Result<()> {
        let mut store = Store::new(&self.engine, (self.make_host)()?);
        let instance = instance_pre.instantiate(&mut store)?;
        let start = instance
            .get_func(&mut store, THREAD_START)
            .context("the thread's instance has no `wasi_thread_start`")?;
        start.call(&mut store, &[Val::I32(id as i32), Val::I32(arg)], &mut [])
    }
}

/// Ends the whole program because a thread called `proc_exit` or failed,
/// with the exit code the main thread would have given.
fn end_the_program(error: anyhow::Error) -> ! {
    use std::io::Write;
    // The first thread to end the program reports why; any other waits here
    // until the process is gone.
    static ENDING: Mutex<()> = Mutex::new(());
    let _only_one = ENDING.lock();
    let _ = std::io::stdout().flush();
    let error = match error.downcast_ref::<I32Exit>() {
        Some(&I32Exit(status)) => match crate::run::exit_code(status) {
            Ok(_) => std::process::exit(status),
            Err(error) => error,
        },
        None => error,
    };
    let is_trap = error.chain().any(|cause| cause.is::<Trap>());
    crate::report(&error.context("a thread of the program failed"));
    std::process::exit(if is_trap {
        i32::from(crate::TRAP_EXIT_CODE)
    } else {
        1
    });
}
