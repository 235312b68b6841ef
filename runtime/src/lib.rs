//! Remap: a WebAssembly runtime whose linear memories are built from virtual
//! memory (guarded reservations, `mremap` growth, pinning, invalidation
//! notifiers). This crate is the embedding API, shaped like Wasmtime's:
//! [`Engine`], [`Module`], [`Store`], [`Linker`], [`Instance`], [`Func`] and
//! [`TypedFunc`], [`Memory`], [`Table`], [`Global`], and [`Trap`].
//!
//! ```
//! use remap::{Engine, Linker, Module, Store, Trap, TrapKind};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "host" "double" (func $double (param i32) (result i32)))
//!       (func (export "run") (param i32) (result i32)
//!         (i32.div_u (call $double (local.get 0)) (local.get 0))))
//! "#)?;
//! let mut store = Store::new(&engine, ());
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
//! assert_eq!(run.call(&mut store, 21)?, 2);
//! let trap = run.call(&mut store, 0).unwrap_err();
//! assert_eq!(trap.downcast_ref::<Trap>().unwrap().kind(), TrapKind::IntegerDivisionByZero);
//! # Ok::<(), anyhow::Error>(())
//! ```

mod code_cache;
mod config;
mod data_segments;
mod engine;
mod exception;
mod externals;
mod externref;
mod func;
mod gc;
mod global;
mod instance;
mod interruption;
mod limits;
mod linker;
mod memory;
mod memory_image;
mod module;
mod profiling;
mod serialize;
mod shared_memory;
mod store;
mod table;
mod trap;
mod typed;
mod types;
mod values;
mod vm;
pub mod wasi;

pub use code_cache::default_code_cache_dir;
pub use config::Config;
pub use engine::Engine;
pub use exception::{ExnRef, Tag, TagType, ThrownException};
pub use externals::Extern;
pub use externref::ExternRef;
pub use func::{Caller, Func};
pub use gc::{
    AnyRef, ArrayRef, ArrayRefPre, EqRef, GcStats, I31, MIN_COLLECTION_BYTES,
    MIN_COLLECTION_EXTERNREFS, OwnedAnyRef, RootScope, StructRef, StructRefPre,
};
pub use global::Global;
pub use instance::{Export, Instance};
pub use interruption::UpdateDeadline;
pub use limits::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
pub use linker::{InstancePre, Linker};
pub use memory::Memory;
pub use module::Module;
pub use profiling::ProfilingStrategy;
pub use remap_compiler::MemoryStyle;
pub use remap_memory::{ArenaStats, FiberStackStats, MemoryStats, ProcessMemory};
pub use serialize::Precompiled;
pub use shared_memory::SharedMemory;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use table::Table;
pub use trap::{FrameInfo, Trap, TrapKind, WasmBacktrace};
pub use typed::{HostResult, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use types::{
    AbstractHeapType, ArrayType, ExportType, ExternType, FieldType, FuncType, GlobalType, HeapType,
    ImportType, MemoryType, MemoryTypeError, Mutability, RefType, StorageType, StructType,
    TableType, ValType,
};
pub use values::{Ref, Val, ValRaw};
