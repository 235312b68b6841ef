//! remap-memory: the virtual-memory subsystem of Remap.
//!
//! Every linear memory is a `PROT_NONE`, `MAP_NORESERVE` reservation with a
//! guard before and after it, never placed low in the address space. It
//! grows by changing protection in place, or, when it outgrows its
//! reservation, by moving its pages with `mremap` into a larger one (no byte
//! is copied). Optional pinning keeps every accessible page `mlock`ed
//! against a shared budget. Whatever caches a memory's base or bound
//! subscribes to its invalidation notifier. Protection changes can be
//! batched. Statistics are kept per memory and per owner. An [`Arena`]
//! packs many small memories into slots of one read/write mapping, so that
//! they cost no kernel mapping each (their code must check every access in
//! full: a slot has no guard). A [`SlotCache`]
//! lets a new memory take over a retired one's reservation. A
//! [`MemoryImage`] holds initial contents in a sealed in-memory file that
//! memories map copy-on-write instead of copying. When the kernel
//! refuses a mapping (`ENOMEM`), the error names the limit of the process
//! that was reached and what to change ([`ProcessLimit`]): its mapping count
//! (`vm.max_map_count`), its address-space limit (`ulimit -v`), or a full
//! address space. A [`FiberStackPool`] hands out guarded stacks for
//! coroutines and reuses returned ones (reset with `madvise` before another
//! owner gets one). The crate knows nothing of WebAssembly beyond the default
//! page size.
//!
//! All system calls live in the `sys` module.
//!
//! ```
//! use remap_memory::{LinearMemory, MemoryConfig, MemoryStyle, WASM_PAGE_SIZE};
//!
//! let memory = LinearMemory::new(MemoryConfig {
//!     style: MemoryStyle::dynamic(0, WASM_PAGE_SIZE),
//!     initial_bytes: WASM_PAGE_SIZE,
//!     ..MemoryConfig::default()
//! })?;
//! let before = memory.view().base;
//! assert_eq!(memory.grow(1)?, 1); // no room left: the pages move with mremap
//! assert_ne!(memory.view().base, before);
//! assert_eq!(memory.stats().relocations, 1);
//! assert!(memory.grow(u64::MAX).is_err()); // checked, never wraps
//! # Ok::<(), remap_memory::MemoryError>(())
//! ```

#![warn(missing_docs)]

mod arena;
mod batch;
mod code_memory;
mod config;
mod error;
mod fiber_stack;
mod image;
mod linear_memory;
mod mapped_file;
mod notifier;
mod pin;
mod process;
mod published_range;
mod reservation;
mod slot_cache;
mod stats;
mod sys;
mod view;

pub use arena::{Arena, ArenaStats};
pub use batch::{BatchOp, ProtectionBatch};
pub use code_memory::CodeMemory;
pub use config::{MemoryConfig, MemoryStyle, WASM_PAGE_SIZE};
pub use error::{MemoryError, PinFailure};
pub use fiber_stack::{FiberStack, FiberStackPool};
pub use image::{MAX_IMAGE_MAPPINGS, MemoryImage};
pub use linear_memory::LinearMemory;
pub use mapped_file::MappedFile;
pub use notifier::{InvalidationNotifier, MAX_NOTIFIERS, NotifierRegistration};
pub use pin::PinBudget;
pub use process::{ProcessLimit, ProcessMemory};
pub use reservation::RESERVATION_FLOOR;
pub use slot_cache::SlotCache;
pub use stats::{Accounting, FiberStackStats, MemoryStats};
pub use sys::{
    Advice, Protection, Syscall, current_thread_id, host_page_size, map_jitdump_marker,
    memlock_limit, monotonic_nanos,
};
pub use view::MemoryView;

#[cfg(feature = "fault-injection")]
pub use sys::fault_injection;
