//! Remap: a WebAssembly runtime whose linear memories are built from virtual
//! memory (guarded reservations, `mremap` growth, pinning, invalidation
//! notifiers). This crate is the embedding API, shaped like Wasmtime's:
//! [`Engine`], [`Module`], [`Store`], [`Linker`], [`Instance`], [`Func`] and
//! [`TypedFunc`], [`Memory`], [`Table`], [`Global`], and [`Trap`].

mod builtins;
mod config;
mod engine;
mod externals;
mod externref;
mod func;
mod global;
mod instance;
mod linker;
mod memory;
mod module;
mod registry;
mod signals;
mod store;
mod table;
mod traps;
mod typed;
mod types;
mod values;
pub mod wasi;

pub use config::{Config, MemoryStyle};
pub use engine::Engine;
pub use externals::Extern;
pub use externref::ExternRef;
pub use func::{Caller, Func};
pub use global::Global;
pub use instance::Instance;
pub use linker::Linker;
pub use memory::Memory;
pub use module::Module;
pub use remap_memory::MemoryStats;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use table::Table;
pub use traps::{FrameInfo, Trap, TrapKind, WasmBacktrace};
pub use typed::{HostResult, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, Mutability, RefType,
    TableType, ValType,
};
pub use values::{Ref, Val, ValRaw};
