//! A tour of remap-memory: a movable memory filled with data grows past its
//! reservation, its pages move with `mremap`, a subscriber sees the new view,
//! and the statistics show what happened.
//!
//! Run with `cargo run -p remap-memory --example demo [MIB]` (default 64).

use remap_memory::{
    Accounting, InvalidationNotifier, LinearMemory, MemoryConfig, MemoryError, MemoryStyle,
    MemoryView, WASM_PAGE_SIZE,
};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// Prints every invalidation, as an instance context would update its cached view.
struct Printer;

impl InvalidationNotifier for Printer {
    fn invalidate_range_start(&self, range: Range<usize>) {
        println!("  notifier: start {:#x}..{:#x}", range.start, range.end);
    }
    fn invalidate_range_end(&self, _: Range<usize>, view: MemoryView) {
        println!(
            "  notifier: end, new view {:p} + {} bytes",
            view.base, view.len
        );
    }
    fn release(&self) {
        println!("  notifier: release");
    }
}

fn main() -> Result<(), MemoryError> {
    let mib: u64 = match std::env::args().nth(1).map(|arg| arg.parse::<u64>()) {
        None => 64,
        // The size in bytes must fit a u64, or `mib << 20` would drop its top bits.
        Some(Ok(mib)) if mib > 0 && mib.checked_mul(1 << 20).is_some() => mib,
        Some(_) => {
            eprintln!("usage: demo [MIB > 0]");
            std::process::exit(2);
        }
    };
    let owner = Accounting::new();
    let memory = LinearMemory::new(MemoryConfig {
        style: MemoryStyle::dynamic(0, WASM_PAGE_SIZE),
        initial_bytes: mib << 20,
        accounting: Some(owner.clone()),
        ..MemoryConfig::default()
    })?;
    let registration = memory.register_notifier(Arc::new(Printer))?;
    let view = memory.view();
    println!(
        "{mib} MiB memory at {:p}, reservation {:#x?}",
        view.base,
        memory.reservation()
    );
    // SAFETY: the view is accessible and only this program uses the memory.
    unsafe { std::ptr::write_bytes(view.base, 0xab, view.len) };

    let started = Instant::now();
    let old_pages = memory.grow(1)?;
    let elapsed = started.elapsed();
    let moved = memory.view();
    // SAFETY: the new view is accessible.
    let last_old_byte = unsafe { *moved.base.add(view.len - 1) };
    println!(
        "grew from {old_pages} to {} pages in {elapsed:?}: base {:p} -> {:p}, data intact: {}",
        memory.size_pages(),
        view.base,
        moved.base,
        last_old_byte == 0xab
    );
    memory.grow(1)?;
    println!(
        "second growth stayed in place: base {:p}",
        memory.view().base
    );
    memory.reset(1)?;
    println!("reset to {} page(s)", memory.size_pages());
    drop(registration);
    drop(memory);
    println!("owner statistics: {:#?}", owner.stats());
    Ok(())
}
