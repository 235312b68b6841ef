//! Linear memories: a guarded reservation whose accessible prefix grows by
//! protection changes in place, or by moving its pages with `mremap` into a
//! larger reservation, optionally pinned, with notifiers for every change.
//!
//! # One path for every change of size
//!
//! Growth in place, relocation and reset all run through
//! `LinearMemory::resize`, which carries one `Resize` (old and new
//! accessible size, new length and base, the range subscribers hear about)
//! through the same steps, the way mm/mremap.c passes one
//! `vma_remap_struct` through `vrm_calc_charge`, `prep_move_vma`,
//! `copy_vma_and_data`, ... and `vrm_uncharge`:
//!
//! 1. *charge* the pin budget for the bytes the change adds (`charge_resize`);
//! 2. *prepare* what needs nobody told (a relocation in pieces opens the new
//!    tail in its new reservation: `prepare_target`; one that moves a single
//!    mapping gets its tail from the move itself);
//! 3. tell subscribers the range is about to change;
//! 4. *apply* the change (commit the tail, move the pages, discard contents);
//! 5. *commit* it (`commit_resize`: length, committed and pinned bytes, the
//!    pins of removed bytes given back, counters, new view) or give the
//!    charge back (`uncharge_resize`);
//! 6. tell subscribers the outcome: the new view, or the old one.
//!
//! # Invariants
//!
//! Under the state lock, outside a change, in a memory not retired:
//! `accessible` is `len` rounded up to host pages and at most `capacity`;
//! exactly the first `accessible` bytes from the base are read/write, and
//! locked if the memory is pinned; the pin budget, `committed_bytes` and
//! `pinned_bytes` count exactly those bytes; the published view is
//! `{ base, len }` and the published reservation is the one in the state.
//! A retired memory keeps its pages read/write but pins and counts none.
//!
//! # One kernel mapping
//!
//! The kernel merges two neighbouring anonymous mappings only when they have
//! the same protection and lock, the same anonymous memory (`anon_vma`) and
//! consecutive page offsets (`vm_pgoff`). A memory that is not pinned and
//! has no seam inside its accessible bytes (no memory image is or was mapped
//! there) keeps its whole capacity on one such line: its accessible
//! bytes are one read/write mapping and its room an inaccessible mapping
//! split off the same line, so growth in place (an `mprotect` of the room's
//! start) merges into the accessible mapping. At first the line is the
//! reservation's own; a relocation keeps it by moving the accessible mapping
//! and extending it over the whole new capacity with one `mremap`, then
//! closing the room past the new size again (`move_and_extend`). So such a
//! memory is one kernel mapping however often it grows or relocates, and
//! `State::seams` stays empty. The kernel does not promise to merge,
//! though (rarely, such neighbours stay apart), and refuses to resize a move
//! that spans mappings (`EFAULT`): that relocation falls back to moving in
//! pieces into a new reservation. An image's file mappings, and a pinned
//! memory's relocated pages (extending a locked mapping would lock all of
//! its room), are mappings of their own: their bounds are seams, and such a
//! memory relocates one mapping at a time (`move_in_pieces`).
//!
//! # Arena slots
//!
//! A memory made by `LinearMemory::in_arena` starts in a slot of an
//! [`Arena`] instead of a reservation of its own (`Home::Slot`): its base
//! is the slot's start, its capacity the slot, and all of the slot is
//! read/write, so creation, growth within the slot and the release of the
//! slot change no protection. Its bound is its length alone: nothing past
//! it faults, and compiled code must check the full end of every access.
//! Bytes past `accessible` in a slot always read as zero (growth only moves
//! the bound; a reset discards the old contents with one `MADV_DONTNEED`,
//! which does not split the arena's mapping). Such a memory is never
//! pinned, has no image and no seams. When it outgrows the slot it
//! relocates like a one-mapping memory (`move_and_extend`): its pages move
//! into a reservation of its own laid out by its dynamic style, and the
//! hole left in the arena is filled with fresh zero pages before the slot
//! goes back to its arena (`move_home`).
//!
//! # Memory images
//!
//! A memory may start with a [`MemoryImage`] mapped `MAP_PRIVATE |
//! MAP_FIXED` over its first pages (`LinearMemory::with_image`). The memory
//! holds an `Arc` on the image while it is mapped; the kernel keeps the
//! file alive for the mapping regardless. The image's ranges are always
//! within the accessible bytes (a reset may not go below them) and their
//! bounds are seams, so a relocation moves each private file mapping with
//! its own `mremap`, pages written since included. Protection changes,
//! `mlock` and `MADV_DONTNEED` work across the mappings unchanged; a
//! discard returns an image's pages to the image, not to zero. The mapping
//! is replaced only while the memory is fresh or retired: by anonymous zero
//! pages when a retired slot is reused without that image, then by the new
//! image's mappings. Committed and pinned bytes count image pages like any
//! other accessible page.
//!
//! # Locking order
//!
//! The state mutex first, held for a whole change, notifications included.
//! Under it the notifier list's lock (never held while a callback runs) and
//! the view lock (held only to copy or replace the view) are each taken
//! briefly, never together. Callbacks run with the state mutex held: they
//! may read the memory but not change it. The pin budget, the statistics
//! and the published reservation take no lock.
//!
//! # Failure behaviour
//!
//! A change that fails leaves size, base, reservation, contents, protection,
//! pins and statistics exactly as they were (only the protection calls it
//! attempted are counted): each step undoes its own partial work, and
//! `resize` gives the charge back. A failure before step 3 is never seen by
//! subscribers; one after it ends the bracket with the unchanged view. The
//! one failure that cannot be undone, a relocation whose pages were moved
//! (in part, or all but the room could not be closed) and cannot be moved
//! back, aborts the process (see `move_in_pieces` and `move_and_extend`). A
//! failed `mremap` may or may not have unmapped its destination in the new
//! reservation; if the destination cannot be taken back, it is left mapped
//! rather than risk unmapping what another thread mapped there, which leaks
//! that much inaccessible address space (see `release_after_failed_move`).

use crate::arena::{Arena, ArenaSlot};
use crate::batch::ProtectionBatch;
use crate::notifier::{InvalidationNotifier, NotifierHub, NotifierRegistration};
use crate::published_range::PublishedRange;
use crate::reservation::Reservation;
use crate::stats::StatsSink;
use crate::sys::{self, Advice, Protection, Syscall};
use crate::{
    MemoryConfig, MemoryError, MemoryImage, MemoryStats, MemoryStyle, MemoryView, PinBudget,
};
use std::io;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// Rounds `bytes` up to a multiple of the host page size.
fn round_to_host_pages(bytes: u64) -> Result<u64, MemoryError> {
    let page = sys::host_page_size() as u64;
    bytes
        .checked_next_multiple_of(page)
        .ok_or(MemoryError::Overflow {
            what: "rounding to host pages",
        })
}

/// Every memory's base is aligned to this (the x86-64 and AArch64 PMD size),
/// so that a relocation's `mremap` can move whole page-table pages instead of
/// one entry per page. The slack comes out of the reservation, never the guards.
const BASE_ALIGNMENT: usize = 2 << 20;

/// The base of a memory whose reservation starts at `start`: past the
/// pre-guard, rounded up to [`BASE_ALIGNMENT`].
fn aligned_base(start: usize, pre_guard: usize) -> usize {
    (start + pre_guard).next_multiple_of(BASE_ALIGNMENT)
}

fn to_usize(bytes: u64, what: &'static str) -> Result<usize, MemoryError> {
    usize::try_from(bytes).map_err(|_| MemoryError::Overflow { what })
}

/// A memory's reservation layout in host-page-rounded bytes, checked.
/// The slot size a memory of `config` asks an arena for: four times its
/// initial size, so that it can grow a little without leaving the arena,
/// but no more than its maximum (or limit) and the arena's largest slot,
/// and no less than its initial size. Small memories so get small slots,
/// and many of them share a page-table page.
fn slot_bytes_wanted(config: &MemoryConfig, initial: usize, arena: &Arena) -> usize {
    let largest = usize::try_from(arena.slot_bytes()).unwrap_or(usize::MAX);
    let bound = [config.maximum_bytes, config.limit_bytes]
        .into_iter()
        .flatten()
        .map(|bytes| usize::try_from(bytes).unwrap_or(usize::MAX))
        .fold(largest, usize::min);
    initial.saturating_mul(4).min(bound).max(initial)
}

struct Layout {
    pre_guard: usize,
    capacity: usize,
    post_guard: usize,
    initial: usize,
}

impl Layout {
    /// Validates `config` and computes its layout.
    fn of(config: &MemoryConfig) -> Result<Layout, MemoryError> {
        if config.page_size == 0 {
            return Err(MemoryError::InvalidConfig(
                "page_size must not be zero".into(),
            ));
        }
        if !config.initial_bytes.is_multiple_of(config.page_size) {
            return Err(MemoryError::InvalidConfig(format!(
                "initial size {} is not a multiple of the page size {}",
                config.initial_bytes, config.page_size
            )));
        }
        check_bounds(
            config.initial_bytes,
            config.maximum_bytes,
            config.limit_bytes,
        )?;
        let pre_guard = to_usize(round_to_host_pages(config.pre_guard_bytes)?, "pre-guard")?;
        let initial = round_to_host_pages(config.initial_bytes)?;
        let (capacity, post_guard) = match config.style {
            MemoryStyle::Static {
                reservation_bytes,
                guard_bytes,
            } => {
                let capacity = round_to_host_pages(reservation_bytes)?;
                if initial > capacity {
                    return Err(MemoryError::ExceedsReservation {
                        requested_bytes: config.initial_bytes,
                        reservation_bytes: capacity,
                    });
                }
                (capacity, round_to_host_pages(guard_bytes)?)
            }
            MemoryStyle::Dynamic {
                reserve_bytes,
                guard_bytes,
            } => {
                let capacity = initial
                    .checked_add(round_to_host_pages(reserve_bytes)?)
                    .ok_or(MemoryError::Overflow {
                        what: "initial size plus growth reserve",
                    })?;
                (capacity, round_to_host_pages(guard_bytes)?)
            }
        };
        Ok(Layout {
            pre_guard,
            capacity: to_usize(capacity, "reservation size")?,
            post_guard: to_usize(post_guard, "guard size")?,
            initial: to_usize(initial, "initial size")?,
        })
    }
}

/// Where a memory's pages live.
#[derive(Debug)]
enum Home {
    /// A guarded reservation of the memory's own; the base is past its
    /// pre-guard, aligned to [`BASE_ALIGNMENT`].
    Reservation(Reservation),
    /// A slot of an [`Arena`], read/write throughout; the base is its start.
    Slot(ArenaSlot),
}

impl Home {
    /// The memory's base in this home.
    fn base(&self, pre_guard: usize) -> usize {
        match self {
            Home::Reservation(reservation) => aligned_base(reservation.start(), pre_guard),
            Home::Slot(slot) => slot.start(),
        }
    }

    /// Every address the home owns, guards included.
    fn range(&self) -> Range<usize> {
        match self {
            Home::Reservation(reservation) => reservation.range(),
            Home::Slot(slot) => slot.range(),
        }
    }

    fn is_slot(&self) -> bool {
        matches!(self, Home::Slot(_))
    }
}

/// The mutable layout of a memory, changed only under its lock.
#[derive(Debug)]
struct State {
    home: Home,
    /// Bytes from the base that may become accessible before the post-guard.
    capacity: usize,
    /// Bytes from the base that are read/write (host-page rounded `len`).
    accessible: usize,
    /// The memory's length in bytes (a multiple of the growth unit).
    len: u64,
    /// Set by [`LinearMemory::retire`]: the `accessible` bytes are still
    /// read/write but discarded, unpinned and no longer counted anywhere.
    retired: bool,
    /// Ascending offsets from the base where the pages may belong to
    /// different kernel mappings: the bounds of every image range, and the
    /// end of the pages each relocation in pieces moved (those keep their
    /// own mapping and never merge with the tail grown after them). Before
    /// Linux 6.17 one `mremap` cannot move a range that spans mappings, so
    /// such a relocation moves one piece per seam. Empty for a memory that
    /// is one mapping (see the module docs), which relocates with one
    /// `mremap` that adds no seam.
    seams: Vec<usize>,
    /// The image mapped copy-on-write over the start of the memory, if any
    /// (see [`LinearMemory::with_image`]). Its ranges lie within the
    /// accessible bytes; a retired memory keeps it mapped (its pages then
    /// read as the image again), so a slot reused for the same image maps
    /// nothing.
    image: Option<Arc<MemoryImage>>,
}

/// Which change of size a [`Resize`] is, and so what it counts on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResizeKind {
    /// Growth within the reservation: counted as a grow.
    GrowInPlace,
    /// Growth into a new reservation: counted as a grow and a relocation.
    Relocation,
    /// A return to a given size with zeroed contents: counted as neither.
    Reset,
}

/// One change of a memory's accessible size, passed through the steps of
/// [`LinearMemory::resize`] the way mm/mremap.c passes one
/// `vma_remap_struct` through its short functions: what changes, and from
/// it what is charged, counted and published.
#[derive(Debug)]
struct Resize {
    kind: ResizeKind,
    /// The memory's base once the change is committed.
    new_base: usize,
    /// Host-page-rounded accessible bytes before the change.
    old_accessible: usize,
    /// Host-page-rounded accessible bytes after the change.
    new_accessible: usize,
    /// The memory's length in bytes after the change.
    new_len: u64,
    /// The addresses whose subscribers are told of the change.
    invalidated: Range<usize>,
}

impl Resize {
    /// Bytes that become accessible: charged to the pin budget up front.
    fn added(&self) -> usize {
        self.new_accessible.saturating_sub(self.old_accessible)
    }

    /// Bytes that stop being accessible: given back once committed.
    fn removed(&self) -> usize {
        self.old_accessible.saturating_sub(self.new_accessible)
    }
}

/// A linear memory: `[pre-guard][accessible][room to grow][post-guard]`, all
/// one `PROT_NONE`, `MAP_NORESERVE` reservation. Thread-safe: share it
/// behind an `Arc`; changes are serialised per memory, reads are lock-free
/// or take a short read lock.
#[derive(Debug)]
pub struct LinearMemory {
    state: Mutex<State>,
    view: RwLock<MemoryView>,
    /// The whole mapping, for lock-free readers such as a signal handler.
    reservation: PublishedRange,
    /// Mirrors `State::capacity` for lock-free reads.
    capacity: AtomicUsize,
    hub: Arc<NotifierHub>,
    stats: StatsSink,
    style: MemoryStyle,
    pre_guard: usize,
    post_guard: usize,
    page_size: u64,
    maximum_bytes: Option<u64>,
    limit_bytes: Option<u64>,
    pin_budget: Option<PinBudget>,
    pinned: bool,
}

impl LinearMemory {
    /// Reserves, commits the initial size and (if configured) pins it.
    pub fn new(config: MemoryConfig) -> Result<LinearMemory, MemoryError> {
        LinearMemory::with_image(config, None)
    }

    /// As [`Self::new`], with `image` (if any) mapped copy-on-write over the
    /// start of the memory: its pages read as the image, are shared with
    /// every other memory mapping it until written, and come back as the
    /// image after a reset or when the memory's slot is reused for the same
    /// image. The image must fit the initial size. A pinned memory locks
    /// the image's pages too, which gives it its own copy of each (the
    /// kernel breaks copy-on-write when it locks a writable private mapping).
    /// On failure nothing is left mapped, charged or counted.
    pub fn with_image(
        config: MemoryConfig,
        image: Option<Arc<MemoryImage>>,
    ) -> Result<LinearMemory, MemoryError> {
        let layout = Layout::of(&config)?;
        let total = reservation_len(layout.pre_guard, layout.capacity, layout.post_guard)?;
        let reservation = Reservation::new(total)?;
        let base = aligned_base(reservation.start(), layout.pre_guard);
        let memory = LinearMemory {
            reservation: PublishedRange::new(reservation.range()),
            capacity: AtomicUsize::new(layout.capacity),
            state: Mutex::new(State {
                home: Home::Reservation(reservation),
                capacity: layout.capacity,
                accessible: 0,
                len: 0,
                retired: false,
                seams: Vec::new(),
                image: None,
            }),
            view: RwLock::new(MemoryView {
                base: base as *mut u8,
                len: 0,
            }),
            hub: Arc::new(NotifierHub::default()),
            stats: StatsSink::new(config.accounting),
            style: config.style,
            pre_guard: layout.pre_guard,
            post_guard: layout.post_guard,
            page_size: config.page_size,
            maximum_bytes: config.maximum_bytes,
            limit_bytes: config.limit_bytes,
            pin_budget: config.pin_budget,
            pinned: config.pinned,
        };
        // On failure dropping `memory` undoes everything.
        memory.commit_initial(layout.initial, config.initial_bytes, image)?;
        Ok(memory)
    }

    /// A memory as [`Self::new`] makes it, but in a slot of `arena` instead
    /// of a reservation of its own (see the module docs): its base is the
    /// slot's start, it costs no kernel mapping and no system call, and its
    /// compiled code must check the full end of every access against the
    /// bound, since nothing past it faults. It grows within the slot by
    /// moving the bound; past it, it relocates into a reservation laid out
    /// by `config.style`, which must be dynamic. The slot's size class
    /// leaves room for the memory to grow to four times its initial size
    /// (or to its maximum, if smaller) without moving. A pinned memory cannot live
    /// in an arena (locking its pages would split the arena's mapping), nor
    /// one whose initial size exceeds the slot. Errors: those, or
    /// [`MemoryError::ArenaFull`]; on failure nothing is taken or counted.
    pub fn in_arena(config: MemoryConfig, arena: &Arena) -> Result<LinearMemory, MemoryError> {
        let layout = Layout::of(&config)?;
        if !config.style.is_movable() {
            return Err(MemoryError::InvalidConfig(
                "a memory in an arena must have a dynamic style: it moves out of its slot \
                 when it outgrows it"
                    .into(),
            ));
        }
        if config.pinned {
            return Err(MemoryError::InvalidConfig(
                "a pinned memory cannot live in an arena: locking its pages would split the \
                 arena's mapping"
                    .into(),
            ));
        }
        if layout.initial as u64 > arena.slot_bytes() {
            return Err(MemoryError::ExceedsReservation {
                requested_bytes: config.initial_bytes,
                reservation_bytes: arena.slot_bytes(),
            });
        }
        let slot = arena.take(slot_bytes_wanted(&config, layout.initial, arena))?;
        let base = slot.start();
        let capacity = slot.len();
        let memory = LinearMemory {
            reservation: PublishedRange::new(slot.range()),
            capacity: AtomicUsize::new(capacity),
            state: Mutex::new(State {
                home: Home::Slot(slot),
                capacity,
                accessible: layout.initial,
                len: config.initial_bytes,
                retired: false,
                seams: Vec::new(),
                image: None,
            }),
            view: RwLock::new(MemoryView {
                base: base as *mut u8,
                len: to_usize(config.initial_bytes, "initial size")?,
            }),
            hub: Arc::new(NotifierHub::default()),
            stats: StatsSink::new(config.accounting),
            style: config.style,
            pre_guard: layout.pre_guard,
            post_guard: layout.post_guard,
            page_size: config.page_size,
            maximum_bytes: config.maximum_bytes,
            limit_bytes: config.limit_bytes,
            pin_budget: None,
            pinned: false,
        };
        memory.account_committed(layout.initial, 0);
        Ok(memory)
    }

    /// Whether the memory lives in an arena slot (see [`Self::in_arena`]);
    /// it stops doing so when it outgrows the slot.
    pub fn is_in_arena(&self) -> bool {
        self.lock().home.is_slot()
    }

    /// Gives the first `initial` bytes access (and pins them) in a fresh or
    /// retired memory, with `image` mapped over them, and publishes a length
    /// of `initial_bytes`. A retired memory's pages are already read/write,
    /// so only the difference in size changes protection: reusing a slot at
    /// its last size for the same image costs no system call unless pinned.
    /// The memory is not shared yet, so no subscriber needs telling. On
    /// failure the memory must be dropped (the pages' protection and
    /// mappings may have changed); nothing stays charged or counted.
    fn commit_initial(
        &self,
        initial: usize,
        initial_bytes: u64,
        image: Option<Arc<MemoryImage>>,
    ) -> Result<(), MemoryError> {
        let mut state = self.lock();
        debug_assert!(state.retired || state.accessible == 0);
        if let Some(image) = &image
            && image.end() > initial
        {
            return Err(MemoryError::InvalidConfig(format!(
                "a memory image of {} bytes does not fit the initial size of {initial_bytes} bytes",
                image.end()
            )));
        }
        let base = self.base(&state);
        let kept = state.accessible;
        self.charge_pins(initial)?;
        // A retired slot's old image lies within its read/write pages:
        // replaced by zero pages before any of them may become inaccessible.
        if let Err(error) = self.unmap_other_image(&mut state, base, image.as_ref()) {
            self.uncharge_pins(initial);
            return Err(error);
        }
        let mut batch = ProtectionBatch::new();
        // SAFETY: both ranges lie inside this memory's reservation, and nobody
        // uses the memory yet: it is fresh or retired.
        let protected = unsafe {
            if initial > kept {
                batch.protect(base + kept..base + initial, Protection::ReadWrite)
            } else {
                batch.protect(base + initial..base + kept, Protection::None)
            }
        };
        self.count_protection_calls(batch.requested(), batch.issued());
        let locked = protected
            .and_then(|()| self.map_image(&mut state, base, image))
            .and_then(|()| {
                if !self.pinned || initial == 0 {
                    return Ok(());
                }
                // SAFETY: `[base, base + initial)` is inside this memory's reservation.
                unsafe { sys::lock(base, initial) }
                    .map_err(|source| MemoryError::pin(initial as u64, source))
            });
        if let Err(error) = locked {
            self.uncharge_pins(initial);
            return Err(error);
        }
        state.accessible = initial;
        state.len = initial_bytes;
        state.retired = false;
        self.publish_view(base, initial_bytes);
        self.account_committed(initial, 0);
        Ok(())
    }

    /// Replaces the image mapped in this fresh or retired memory with
    /// anonymous zero pages, unless it is `wanted` (or there is none).
    /// Offsets stay seams: the kernel may keep the new mappings apart.
    fn unmap_other_image(
        &self,
        state: &mut State,
        base: usize,
        wanted: Option<&Arc<MemoryImage>>,
    ) -> Result<(), MemoryError> {
        let Some(mapped) = &state.image else {
            return Ok(());
        };
        if wanted.is_some_and(|wanted| Arc::ptr_eq(wanted, mapped)) {
            return Ok(());
        }
        for range in mapped.ranges() {
            // SAFETY: the range lies within this memory's read/write pages
            // (an image is always within the accessible bytes), and nobody
            // uses the memory: it is retired.
            unsafe { sys::map_anonymous_fixed(base + range.start, range.len()) }
                .map_err(|source| MemoryError::syscall(Syscall::Mmap, source))?;
        }
        state.image = None;
        Ok(())
    }

    /// Maps `image` copy-on-write over the start of this fresh or retired
    /// memory, whose first `image.end()` bytes are read/write, unless it is
    /// mapped there already (a slot reused for the same image, whose
    /// retirement discarded every write). Records its bounds as seams.
    fn map_image(
        &self,
        state: &mut State,
        base: usize,
        image: Option<Arc<MemoryImage>>,
    ) -> Result<(), MemoryError> {
        let Some(image) = image else {
            return Ok(());
        };
        if state.image.is_some() {
            // `unmap_other_image` left only the very same image.
            return Ok(());
        }
        for (range, file_offset) in image.runs() {
            // SAFETY: the range lies within this memory's read/write pages,
            // which nobody uses yet (the memory is fresh or retired); the
            // image's bytes never change (a sealed memfd, or a precompiled
            // file its loader vouched for), so every mapping reads the same.
            unsafe {
                sys::map_file_private_fixed(
                    base + range.start,
                    range.len(),
                    image.file(),
                    file_offset,
                )
            }
            .map_err(|source| MemoryError::syscall(Syscall::Mmap, source))?;
            add_seam(&mut state.seams, range.start);
            add_seam(&mut state.seams, range.end);
        }
        state.image = Some(image);
        Ok(())
    }

    /// The image mapped over the start of this memory, if any.
    pub fn image(&self) -> Option<Arc<MemoryImage>> {
        self.lock().image.clone()
    }

    /// Whether `image` is the image mapped over this memory (both none counts).
    pub(crate) fn has_image(&self, image: Option<&Arc<MemoryImage>>) -> bool {
        match (&self.lock().image, image) {
            (Some(mapped), Some(image)) => Arc::ptr_eq(mapped, image),
            (None, None) => true,
            _ => false,
        }
    }

    /// Whether [`Self::reuse`] can turn this (retired) memory into one made
    /// with `config`: the same guards, growth unit, pinning, budget and
    /// owner, and a reservation that gives the same guarantees (a static one
    /// of exactly the configured size; a dynamic one with at least the
    /// configured room after the initial size).
    pub(crate) fn fits(&self, config: &MemoryConfig) -> bool {
        let Ok(layout) = Layout::of(config) else {
            return false;
        };
        let capacity = self.capacity.load(Ordering::Acquire);
        let reservation_fits = match (self.style, config.style) {
            (MemoryStyle::Static { .. }, MemoryStyle::Static { .. }) => {
                self.style == config.style && capacity == layout.capacity
            }
            (
                MemoryStyle::Dynamic {
                    reserve_bytes,
                    guard_bytes,
                },
                MemoryStyle::Dynamic {
                    reserve_bytes: wanted_reserve,
                    guard_bytes: wanted_guard,
                },
            ) => {
                reserve_bytes == wanted_reserve
                    && guard_bytes == wanted_guard
                    && capacity >= layout.capacity
            }
            _ => false,
        };
        reservation_fits
            && self.lock().retired
            && self.pre_guard == layout.pre_guard
            && self.post_guard == layout.post_guard
            && self.page_size == config.page_size
            && self.pinned == config.pinned
            && PinBudget::same(self.pin_budget.as_ref(), config.pin_budget.as_ref())
            && self.stats.has_owner(config.accounting.as_ref())
    }

    /// Ends this memory's life without unmapping it, so that its reservation
    /// can serve another memory: subscribers get `release` (as on drop) and
    /// lose their registrations, every page is unlocked and reads as zero,
    /// or as its image where one is mapped, from now on (the first
    /// `keep_resident` bytes below the image zeroed in place, the rest
    /// discarded with `MADV_DONTNEED`), pins and committed bytes are given
    /// back, and the memory's own statistics start over. The pages keep their
    /// read/write protection, so that a new memory of the same size needs no
    /// protection change; nothing but [`Self::reuse`] and drop may use a
    /// retired memory. On error the memory must be dropped; its drop then
    /// gives back whatever is still charged.
    pub(crate) fn retire(&mut self, keep_resident: usize) -> Result<(), MemoryError> {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let base = state.home.base(self.pre_guard);
        let accessible = state.accessible;
        // A subscriber's panic is resumed once the slot is consistent again.
        let closed =
            panic::catch_unwind(AssertUnwindSafe(|| self.hub.close(base..base + accessible)));
        self.hub.reopen();
        let keep_resident = match &state.image {
            Some(image) => keep_resident.min(image.ranges().first().map_or(0, |r| r.start)),
            None => keep_resident,
        };
        let discarded = self.discard(base, accessible, keep_resident);
        if discarded.is_ok() {
            self.uncharge_pins(accessible);
            self.account_committed(0, accessible);
            let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
            state.len = 0;
            state.retired = true;
            *self.view.get_mut().unwrap_or_else(PoisonError::into_inner) = MemoryView {
                base: base as *mut u8,
                len: 0,
            };
            self.stats = self.stats.restarted();
        }
        if let Err(payload) = closed {
            panic::resume_unwind(payload);
        }
        discarded
    }

    /// Unlocks (if pinned) the first `accessible` bytes and clears them,
    /// keeping their protection: the first `keep_resident` bytes (rounded
    /// down to host pages, never reaching into an image) are zeroed in place
    /// and stay resident, so the next memory does not fault them in again;
    /// the rest is discarded with `MADV_DONTNEED` (which refuses locked
    /// pages, hence the unlock first), after which private anonymous pages
    /// read as zero and an image's pages as the image again.
    fn discard(
        &self,
        base: usize,
        accessible: usize,
        keep_resident: usize,
    ) -> Result<(), MemoryError> {
        if accessible == 0 {
            return Ok(());
        }
        if self.pinned {
            // SAFETY: the range is this memory's own, and it is retiring.
            unsafe { sys::unlock(base, accessible) }
                .map_err(|source| MemoryError::syscall(Syscall::Munlock, source))?;
        }
        let page = sys::host_page_size();
        let kept = accessible.min(keep_resident / page * page);
        let mut batch = ProtectionBatch::new();
        // SAFETY: as above; nobody may rely on the contents any more.
        let result = unsafe { batch.advise(base + kept..base + accessible, Advice::DontNeed) };
        self.count_protection_calls(batch.requested(), batch.issued());
        result?;
        // SAFETY: `[base, base + kept)` is read/write and this memory's own;
        // its subscribers were released and no view of it is handed out.
        unsafe { std::ptr::write_bytes(base as *mut u8, 0, kept) };
        Ok(())
    }

    /// Makes a retired memory (see [`Self::retire`]) the memory `config`
    /// describes with `image` mapped (see [`Self::with_image`]), which it
    /// must [fit](Self::fits). A slot that holds another image gets zero
    /// pages in its place first. On failure it must be dropped.
    pub(crate) fn reuse(
        &mut self,
        config: &MemoryConfig,
        image: Option<Arc<MemoryImage>>,
    ) -> Result<(), MemoryError> {
        let layout = Layout::of(config)?;
        debug_assert!(self.fits(config));
        self.maximum_bytes = config.maximum_bytes;
        self.limit_bytes = config.limit_bytes;
        self.commit_initial(layout.initial, config.initial_bytes, image)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change restores a consistent state before it can panic
        // (only system calls fail, and they return errors), so a poisoned
        // lock still guards a consistent layout.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn base(&self, state: &State) -> usize {
        state.home.base(self.pre_guard)
    }

    /// The current `{ base, len }` of the accessible memory.
    pub fn view(&self) -> MemoryView {
        *self.view.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish_view(&self, base: usize, len: u64) -> MemoryView {
        let view = MemoryView {
            base: base as *mut u8,
            len: len as usize,
        };
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = view;
        view
    }

    /// The memory's length in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.view().len as u64
    }

    /// The memory's length in growth units (Wasm pages).
    pub fn size_pages(&self) -> u64 {
        self.len_bytes() / self.page_size
    }

    /// The growth unit in bytes.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// The memory's declared maximum in bytes, if any.
    pub fn maximum_bytes(&self) -> Option<u64> {
        self.maximum_bytes
    }

    /// The reservation layout this memory was created with.
    pub fn style(&self) -> MemoryStyle {
        self.style
    }

    /// Whether every accessible page is locked in RAM.
    pub fn is_pinned(&self) -> bool {
        self.pinned
    }

    /// The whole mapping, guards included. Lock-free, so a signal handler may
    /// call it to decide whether a faulting address belongs to this memory.
    /// Both ends always come from the same reservation, also while a
    /// relocation publishes a new one (the read retries). Only a reader that
    /// interrupted a publication on its own thread (an asynchronous signal)
    /// could wait it out in vain: it gets an empty range after a bounded spin.
    pub fn reservation(&self) -> Range<usize> {
        self.reservation.read()
    }

    /// Bytes that can become accessible without relocating (the current reservation's room).
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity.load(Ordering::Acquire) as u64
    }

    /// This memory's statistics.
    pub fn stats(&self) -> MemoryStats {
        self.stats.snapshot()
    }

    /// Subscribes `notifier` to this memory's changes until the returned
    /// registration is dropped.
    pub fn register_notifier(
        &self,
        notifier: Arc<dyn InvalidationNotifier>,
    ) -> Result<NotifierRegistration, MemoryError> {
        self.hub.register(notifier)
    }

    /// Starts a lock-free read of a cached view: pass the result to [`Self::read_retry`].
    pub fn read_begin(&self) -> u64 {
        self.hub.read_begin()
    }

    /// Whether an invalidation was in progress or happened since `read_begin`
    /// returned `sequence`, in which case the read must be redone.
    pub fn read_retry(&self, sequence: u64) -> bool {
        self.hub.read_retry(sequence)
    }

    /// Grows the memory by `delta_pages` growth units and returns the old size
    /// in units. Refused, with the memory unchanged, past the maximum, the
    /// limit, a static reservation, or on any failure. New pages read as zero.
    pub fn grow(&self, delta_pages: u64) -> Result<u64, MemoryError> {
        let mut state = self.lock();
        let old_pages = state.len / self.page_size;
        if delta_pages == 0 {
            return Ok(old_pages);
        }
        let new_len = old_pages
            .checked_add(delta_pages)
            .and_then(|pages| pages.checked_mul(self.page_size))
            .ok_or(MemoryError::Overflow {
                what: "memory size after growth",
            })?;
        check_bounds(new_len, self.maximum_bytes, self.limit_bytes)?;
        let new_accessible = to_usize(round_to_host_pages(new_len)?, "memory size after growth")?;
        if new_accessible <= state.capacity {
            self.grow_in_place(&mut state, new_len, new_accessible)?;
        } else if self.style.is_movable() {
            self.relocate(&mut state, new_len, new_accessible)?;
        } else {
            return Err(MemoryError::ExceedsReservation {
                requested_bytes: new_len,
                reservation_bytes: state.capacity as u64,
            });
        }
        Ok(old_pages)
    }

    /// Grows within the current reservation: the new tail becomes
    /// read/write (and locked, if pinned); the base stays.
    fn grow_in_place(
        &self,
        state: &mut State,
        new_len: u64,
        new_accessible: usize,
    ) -> Result<(), MemoryError> {
        let base = self.base(state);
        let old_accessible = state.accessible;
        let opened = base + old_accessible..base + new_accessible;
        let resize = Resize {
            kind: ResizeKind::GrowInPlace,
            new_base: base,
            old_accessible,
            new_accessible,
            new_len,
            invalidated: opened.clone(),
        };
        // An arena slot is read/write throughout and reads as zero past the
        // accessible bytes: growth there only moves the bound.
        let in_slot = state.home.is_slot();
        self.resize(
            state,
            &resize,
            || Ok(()),
            |_, ()| {
                if in_slot { Ok(()) } else { self.commit(opened) }
            },
        )
    }

    /// Moves the accessible pages into a new, larger reservation with its own
    /// guards. The only step that touches the old pages is `mremap`, which
    /// moves page-table entries: no byte is copied or faulted in. A memory
    /// that is one kernel mapping moves and extends it with one call
    /// ([`Self::move_and_extend`]), staying one mapping; any other moves one
    /// piece per mapping (see `State::seams`) after all fallible preparation
    /// in the new reservation ([`Self::prepare_target`]). Either way a
    /// failure leaves the memory exactly as it was.
    fn relocate(
        &self,
        state: &mut State,
        new_len: u64,
        new_accessible: usize,
    ) -> Result<(), MemoryError> {
        let new_capacity = self.relocation_capacity(new_accessible)?;
        let total = reservation_len(self.pre_guard, new_capacity, self.post_guard)?;
        if self.moves_as_one_mapping(state) {
            let target = Reservation::new(total)?;
            let resize = self.relocation(state, &target, new_len, new_accessible);
            // If the charge fails, dropping the unused `prepare` unmaps `target`.
            let moved = self.resize(
                state,
                &resize,
                || Ok(target),
                |state, target| self.move_and_extend(state, target, new_capacity, &resize),
            );
            match moved {
                // The pages are several mappings after all: move them in pieces.
                Err(MemoryError::SyscallFailed {
                    call: Syscall::Mremap,
                    source,
                    ..
                }) if source.raw_os_error() == Some(libc::EFAULT) => {}
                moved => return moved,
            }
        }
        let target = Reservation::new(total)?;
        let resize = self.relocation(state, &target, new_len, new_accessible);
        // If the charge fails, dropping the unused `prepare` unmaps `target`.
        self.resize(
            state,
            &resize,
            || self.prepare_target(target, &resize),
            |state, target| self.move_into_target(state, target, new_capacity, &resize),
        )
    }

    /// The [`Resize`] of a relocation of this memory into `target`.
    fn relocation(
        &self,
        state: &State,
        target: &Reservation,
        new_len: u64,
        new_accessible: usize,
    ) -> Resize {
        let old_base = self.base(state);
        Resize {
            kind: ResizeKind::Relocation,
            new_base: aligned_base(target.start(), self.pre_guard),
            old_accessible: state.accessible,
            new_accessible,
            new_len,
            invalidated: old_base..old_base + state.accessible,
        }
    }

    /// Whether a relocation can move the accessible pages with one `mremap`
    /// that also extends them over the new room ([`Self::move_and_extend`]):
    /// they are one anonymous kernel mapping (no image, no seam inside), not
    /// pinned (extending a locked mapping would lock the whole room), and
    /// not empty (`mremap` of no bytes means something else).
    fn moves_as_one_mapping(&self, state: &State) -> bool {
        let accessible = state.accessible;
        !self.pinned
            && accessible > 0
            && state.image.is_none()
            && !state
                .seams
                .iter()
                .any(|&seam| seam > 0 && seam < accessible)
    }

    /// The move of a relocation that keeps the memory one kernel mapping:
    /// one `mremap` moves the accessible pages into `target` and extends
    /// their mapping over the whole new capacity, then the room past the new
    /// size is made inaccessible again. The room is then a piece split off
    /// the memory's own mapping (same anonymous memory, consecutive page
    /// offsets), so the kernel merges it back into the accessible mapping
    /// whenever later growth opens it: growth and relocation add no mapping
    /// and no seam. If the move fails, `target` is released (never the
    /// destination if someone else may own it now); if closing the room
    /// fails, the pages go back where they were, so the memory is as before.
    fn move_and_extend(
        &self,
        state: &mut State,
        target: Reservation,
        new_capacity: usize,
        resize: &Resize,
    ) -> Result<(), MemoryError> {
        let old_base = self.base(state);
        let old_accessible = resize.old_accessible;
        let new_base = resize.new_base;
        let destination = new_base..new_base + new_capacity;
        // SAFETY: the old accessible range and the destination inside
        // `target` are both owned by this memory; the state lock keeps other
        // changes out, and subscribers were told to stop using the old view.
        let moved =
            unsafe { sys::move_and_resize(old_base, old_accessible, new_base, new_capacity) };
        if let Err(error) = moved {
            release_after_failed_move(target, destination);
            return Err(MemoryError::syscall(Syscall::Mremap, error));
        }
        let mut batch = ProtectionBatch::new();
        // SAFETY: the room is this memory's own, just moved and extended, and
        // nobody has been given its new base yet.
        let closed = unsafe {
            batch.protect(
                new_base + resize.new_accessible..destination.end,
                Protection::None,
            )
        };
        self.count_protection_calls(batch.requested(), batch.issued());
        if let Err(error) = closed {
            // The hole the move left may have been mapped into since: take
            // it back without replacing anything, then move the pages back
            // into it, cutting the mapping back to its old size.
            let restored = sys::reserve_at(old_base, old_accessible).and_then(|()| {
                // SAFETY: both ranges are this memory's own: the destination
                // holds its pages, the hole was taken back just above.
                unsafe { sys::move_and_resize(new_base, new_capacity, old_base, old_accessible) }
            });
            if let Err(restore_error) = restored {
                eprintln!(
                    "remap-memory: a relocation failed ({error}) and undoing it failed too \
                     ({restore_error}); the memory cannot be made whole"
                );
                std::process::abort();
            }
            target.release_around(destination);
            return Err(error);
        }
        // No seam lay inside the moved pages (`moves_as_one_mapping`), and
        // the whole capacity is their one mapping now.
        state.seams.clear();
        self.move_home(
            state,
            target,
            new_capacity,
            old_base..old_base + old_accessible,
        );
        Ok(())
    }

    /// The preparation of a relocation (mm/mremap.c's `prep_move_vma`): the
    /// new tail in `target` becomes accessible (and locked, if pinned) before
    /// anything moves or anyone is told. On failure `target` is dropped,
    /// which unmaps it and the tail with it.
    fn prepare_target(
        &self,
        target: Reservation,
        resize: &Resize,
    ) -> Result<Reservation, MemoryError> {
        let new_base = resize.new_base;
        self.commit(new_base + resize.old_accessible..new_base + resize.new_accessible)?;
        Ok(target)
    }

    /// The move of a relocation (mm/mremap.c's `copy_vma_and_data`, without
    /// the copy): the accessible pages go into `target` by `mremap`, then
    /// `target` becomes the memory's reservation and the old one is unmapped
    /// around the hole the move left. If the move fails it is undone (see
    /// [`move_in_pieces`]) and `target` is unmapped, so the memory is exactly
    /// as before.
    fn move_into_target(
        &self,
        state: &mut State,
        target: Reservation,
        new_capacity: usize,
        resize: &Resize,
    ) -> Result<(), MemoryError> {
        let old_base = self.base(state);
        let old_accessible = resize.old_accessible;
        let new_base = resize.new_base;
        // SAFETY: the old accessible range and the destination inside
        // `target` are both owned by this memory; the state lock keeps other
        // changes out, and subscribers were told to stop using the old view
        // before this point.
        let moved = unsafe { move_in_pieces(&state.seams, old_base, old_accessible, new_base) };
        if let Err(failed) = moved {
            // Releasing `target` also releases the prepared tail.
            target.release_around(new_base..new_base + failed.vacated);
            return Err(MemoryError::syscall(Syscall::Mremap, failed.error));
        }
        state.seams.retain(|&seam| seam < old_accessible);
        if old_accessible > 0 {
            state.seams.push(old_accessible);
        }
        self.move_home(
            state,
            target,
            new_capacity,
            old_base..old_base + old_accessible,
        );
        Ok(())
    }

    /// Makes `target`, into which the pages moved from `vacated`, the
    /// memory's home and publishes it. The old reservation is unmapped
    /// around the hole the move left; an old arena slot gets fresh zero
    /// pages in the hole (never replacing what another thread may have
    /// mapped there since) and goes back to its arena, or, if the hole
    /// cannot be filled, is never used again.
    fn move_home(
        &self,
        state: &mut State,
        target: Reservation,
        new_capacity: usize,
        vacated: Range<usize>,
    ) {
        let old = std::mem::replace(&mut state.home, Home::Reservation(target));
        self.reservation.publish(state.home.range());
        match old {
            Home::Reservation(old) => old.release_around(vacated),
            Home::Slot(mut slot) => {
                if !vacated.is_empty()
                    && sys::map_read_write_at(vacated.start, vacated.len()).is_err()
                {
                    slot.hole = Some(vacated);
                }
            }
        }
        self.capacity.store(new_capacity, Ordering::Release);
        state.capacity = new_capacity;
    }

    /// The room of a relocated memory: at least double, so repeated growth
    /// relocates O(log n) times, never past the maximum or limit.
    fn relocation_capacity(&self, new_accessible: usize) -> Result<usize, MemoryError> {
        let reserve = match self.style {
            MemoryStyle::Dynamic { reserve_bytes, .. } => {
                to_usize(round_to_host_pages(reserve_bytes)?, "growth reserve")?
            }
            MemoryStyle::Static { .. } => 0,
        };
        let wanted = new_accessible
            .checked_add(reserve.max(new_accessible))
            .unwrap_or(new_accessible);
        // A bound within a host page of `u64::MAX` (a Memory64 maximum
        // saturated by the embedder) cannot be rounded up, and bounds
        // nothing any reservation could reach.
        let cap = [self.maximum_bytes, self.limit_bytes]
            .into_iter()
            .flatten()
            .min()
            .and_then(|cap| round_to_host_pages(cap).ok())
            .map(|cap| usize::try_from(cap).unwrap_or(usize::MAX));
        Ok(match cap {
            Some(cap) => wanted.min(cap).max(new_accessible),
            None => wanted,
        })
    }

    /// Gives the host pages lying wholly inside `offsets` (byte offsets from
    /// the base, clamped to the accessible bytes) back to the kernel with one
    /// `MADV_DONTNEED`: they stay accessible, read as zero (or as the image,
    /// where one is mapped) and take no RAM until written again. The size,
    /// base and protection do not change, so no subscriber is told. A
    /// pinned memory keeps its pages (pinning promises they stay resident)
    /// and discards nothing. Returns the bytes discarded.
    ///
    /// # Safety
    /// The range's contents are lost: no Rust reference may point into it,
    /// and the caller must not rely on what it held.
    pub unsafe fn discard_pages(&self, offsets: Range<u64>) -> Result<u64, MemoryError> {
        let state = self.lock();
        if self.pinned || state.retired {
            return Ok(0);
        }
        let page = sys::host_page_size() as u64;
        let accessible = state.accessible as u64;
        let start = offsets.start.min(accessible).next_multiple_of(page);
        let end = offsets.end.min(accessible) / page * page;
        if start >= end {
            return Ok(0);
        }
        let base = self.base(&state);
        let mut batch = ProtectionBatch::new();
        // SAFETY: the range lies inside this memory's accessible bytes (held
        // still by the state lock), which are read/write and not locked; the
        // caller gave up its contents.
        let result =
            unsafe { batch.advise(base + start as usize..base + end as usize, Advice::DontNeed) };
        self.count_protection_calls(batch.requested(), batch.issued());
        result.map(|()| end - start)
    }

    /// Returns the memory to `initial_pages` growth units, all reading as
    /// zero, or as its image where one is mapped, without unmapping it, so
    /// the slot can serve a new instance. Never relocates: `initial_pages`
    /// must fit the current reservation, and cover the image if there is one.
    pub fn reset(&self, initial_pages: u64) -> Result<(), MemoryError> {
        let mut state = self.lock();
        let new_len = initial_pages
            .checked_mul(self.page_size)
            .ok_or(MemoryError::Overflow {
                what: "memory size after reset",
            })?;
        check_bounds(new_len, self.maximum_bytes, self.limit_bytes)?;
        let new_accessible = to_usize(round_to_host_pages(new_len)?, "memory size after reset")?;
        if new_accessible > state.capacity {
            return Err(MemoryError::ExceedsReservation {
                requested_bytes: new_len,
                reservation_bytes: state.capacity as u64,
            });
        }
        let image = state.image.clone();
        if let Some(image) = &image
            && image.end() > new_accessible
        {
            // Pages of the image would become inaccessible and, grown
            // again, read as the image instead of zero.
            return Err(MemoryError::InvalidConfig(format!(
                "a memory with an image of {} bytes cannot be reset to {new_len} bytes",
                image.end()
            )));
        }
        let base = self.base(&state);
        let old_accessible = state.accessible;
        let resize = Resize {
            kind: ResizeKind::Reset,
            new_base: base,
            old_accessible,
            new_accessible,
            new_len,
            invalidated: base..base + old_accessible.max(new_accessible),
        };
        self.resize(
            &mut state,
            &resize,
            || Ok(()),
            |state, ()| {
                if state.home.is_slot() {
                    self.reset_in_slot(base, old_accessible)
                } else if self.pinned {
                    self.reset_pinned(base, old_accessible, new_accessible, image.as_deref())
                } else {
                    self.reset_unpinned(base, old_accessible, new_accessible)
                }
            },
        )
    }

    /// Unpinned reset: protection changes first, then `MADV_DONTNEED` over
    /// the old contents, all through one lazy batch. If the discard fails the
    /// protection change is undone, so contents and layout stay as they were.
    fn reset_unpinned(
        &self,
        base: usize,
        old_accessible: usize,
        new_accessible: usize,
    ) -> Result<(), MemoryError> {
        let mut batch = ProtectionBatch::lazy();
        let low = old_accessible.min(new_accessible);
        let high = old_accessible.max(new_accessible);
        let changed = base + low..base + high;
        let (new_protection, old_protection) = if new_accessible > old_accessible {
            (Protection::ReadWrite, Protection::None)
        } else {
            (Protection::None, Protection::ReadWrite)
        };
        // SAFETY: all ranges lie inside this memory's reservation, the state
        // lock is held, and subscribers were told the contents are changing.
        let result = unsafe {
            batch
                .protect(changed.clone(), new_protection)
                .and_then(|()| batch.advise(base..base + old_accessible, Advice::DontNeed))
                .and_then(|()| batch.leave_lazy())
        };
        let (requested, mut issued) = (batch.requested(), batch.issued());
        if result.is_err() && !changed.is_empty() {
            let mut undo = ProtectionBatch::new();
            // SAFETY: restores the protection this memory had on its own range.
            let _ = unsafe { undo.protect(changed, old_protection) };
            issued += undo.issued();
        }
        self.count_protection_calls(requested, issued);
        result
    }

    /// Reset in an arena slot: the slot stays read/write, so only its old
    /// contents are discarded, with one `MADV_DONTNEED` that leaves the
    /// arena's mapping whole; every byte then reads as zero again.
    fn reset_in_slot(&self, base: usize, old_accessible: usize) -> Result<(), MemoryError> {
        let mut batch = ProtectionBatch::new();
        // SAFETY: the range is this memory's own slot; the state lock is
        // held and subscribers were told the contents are changing.
        let result = unsafe { batch.advise(base..base + old_accessible, Advice::DontNeed) };
        self.count_protection_calls(batch.requested(), batch.issued());
        result
    }

    /// Pinned reset: `MADV_DONTNEED` refuses locked pages, and unlocking
    /// would give up the pin guarantee, so the kept pages (resident by
    /// definition) are zeroed in place, and an image's pages read back from
    /// its file (holes read as zero). Fallible steps come first; the reads
    /// come from a sealed in-memory file into locked pages, and the state
    /// lock keeps the pages mapped, so they fail only on a signal, which
    /// they retry.
    fn reset_pinned(
        &self,
        base: usize,
        old_accessible: usize,
        new_accessible: usize,
        image: Option<&MemoryImage>,
    ) -> Result<(), MemoryError> {
        if new_accessible > old_accessible {
            self.commit(base + old_accessible..base + new_accessible)?;
        } else if new_accessible < old_accessible {
            self.decommit(base + new_accessible..base + old_accessible)?;
        }
        let kept = old_accessible.min(new_accessible);
        let mut zeroed_from = 0;
        if let Some(image) = image {
            for (range, file_offset) in image.runs() {
                // SAFETY: `[base, base + kept)` is read/write and owned by
                // this memory, and the image lies within it (checked by
                // `reset`); subscribers were told its contents are changing.
                unsafe {
                    std::ptr::write_bytes(
                        (base + zeroed_from) as *mut u8,
                        0,
                        range.start - zeroed_from,
                    );
                    sys::read_exact_at(image.file(), base + range.start, range.len(), file_offset)
                }
                .map_err(|source| MemoryError::syscall(Syscall::Pread, source))?;
                zeroed_from = range.end;
            }
        }
        // SAFETY: as above.
        unsafe { std::ptr::write_bytes((base + zeroed_from) as *mut u8, 0, kept - zeroed_from) };
        Ok(())
    }

    /// Runs one change of the accessible size through the steps every such
    /// change shares (see the module docs): charge the pin budget for the
    /// added bytes, `prepare` what needs nobody told, bracket `apply` with
    /// start/end notifications, then commit the new size or give the charge
    /// back. `prepare` and `apply` each undo their own partial work when
    /// they fail; this helper undoes the charge. All bookkeeping happens
    /// inside the bracket (see `NotifierHub::invalidate`).
    fn resize<Prepared>(
        &self,
        state: &mut State,
        resize: &Resize,
        prepare: impl FnOnce() -> Result<Prepared, MemoryError>,
        apply: impl FnOnce(&mut State, Prepared) -> Result<(), MemoryError>,
    ) -> Result<(), MemoryError> {
        self.charge_resize(resize)?;
        let prepared = match prepare() {
            Ok(prepared) => prepared,
            Err(error) => {
                self.uncharge_resize(resize);
                return Err(error);
            }
        };
        self.hub.invalidate(resize.invalidated.clone(), || {
            match apply(state, prepared) {
                Ok(()) => (Ok(()), self.commit_resize(state, resize)),
                Err(error) => {
                    self.uncharge_resize(resize);
                    (Err(error), self.view())
                }
            }
        })
    }

    /// Charges the pin budget for the bytes `resize` adds (mm/mremap.c's
    /// `vrm_calc_charge`); nothing is charged if that fails.
    fn charge_resize(&self, resize: &Resize) -> Result<(), MemoryError> {
        self.charge_pins(resize.added())
    }

    /// Gives back what [`Self::charge_resize`] charged, for a change that
    /// failed (mm/mremap.c's `vrm_uncharge`).
    fn uncharge_resize(&self, resize: &Resize) {
        self.uncharge_pins(resize.added());
    }

    /// Makes an applied change the memory's state: size, committed and
    /// pinned bytes, the pins of removed bytes given back, the counters of
    /// its kind, and the new view, which it returns.
    fn commit_resize(&self, state: &mut State, resize: &Resize) -> MemoryView {
        state.accessible = resize.new_accessible;
        state.len = resize.new_len;
        self.account_committed(resize.added(), resize.removed());
        self.uncharge_pins(resize.removed());
        match resize.kind {
            ResizeKind::GrowInPlace => self.stats.update(|counters| counters.count_grow()),
            ResizeKind::Relocation => self.stats.update(|counters| {
                counters.count_grow();
                counters.count_relocation();
            }),
            ResizeKind::Reset => {}
        }
        self.publish_view(resize.new_base, resize.new_len)
    }

    /// Makes `range` read/write and, if pinned, locks it. On failure the
    /// range is returned to `PROT_NONE` and the error reported.
    fn commit(&self, range: Range<usize>) -> Result<(), MemoryError> {
        if range.is_empty() {
            return Ok(());
        }
        let mut batch = ProtectionBatch::new();
        // SAFETY: `range` is inside this memory's reservation and not yet accessible.
        let protected = unsafe { batch.protect(range.clone(), Protection::ReadWrite) };
        self.count_protection_calls(batch.requested(), batch.issued());
        protected?;
        if !self.pinned {
            return Ok(());
        }
        // SAFETY: `range` is inside this memory's reservation.
        let locked = unsafe { sys::lock(range.start, range.len()) };
        if let Err(source) = locked {
            let mut undo = ProtectionBatch::new();
            // SAFETY: `range` is unlocked (a failed mlock may have locked part
            // of it; munlock clears that) and inaccessible to everyone again.
            unsafe {
                let _ = sys::unlock(range.start, range.len());
                let _ = undo.protect(range.clone(), Protection::None);
            }
            self.count_protection_calls(undo.requested(), undo.issued());
            return Err(MemoryError::pin(range.len() as u64, source));
        }
        Ok(())
    }

    /// Unlocks (if pinned), discards and protects `range` (pinned shrink).
    fn decommit(&self, range: Range<usize>) -> Result<(), MemoryError> {
        // SAFETY: `range` is inside this memory's reservation; the caller
        // holds the state lock and has notified subscribers.
        unsafe { sys::unlock(range.start, range.len()) }
            .map_err(|source| MemoryError::syscall(Syscall::Munlock, source))?;
        let mut batch = ProtectionBatch::lazy();
        // SAFETY: as above.
        let result = unsafe {
            batch
                .protect(range.clone(), Protection::None)
                .and_then(|()| batch.advise(range.clone(), Advice::DontNeed))
                .and_then(|()| batch.leave_lazy())
        };
        let (requested, mut issued) = (batch.requested(), batch.issued());
        if result.is_err() {
            let mut undo = ProtectionBatch::new();
            // SAFETY: restores the access and lock this memory had on its own
            // range a moment ago (the discard failed, so contents are intact).
            unsafe {
                let _ = undo.protect(range.clone(), Protection::ReadWrite);
                let _ = sys::lock(range.start, range.len());
            }
            issued += undo.issued();
        }
        self.count_protection_calls(requested, issued);
        result
    }

    fn count_protection_calls(&self, requested: u64, issued: u64) {
        self.stats
            .update(|counters| counters.count_protection_calls(requested, issued));
    }

    fn charge_pins(&self, bytes: usize) -> Result<(), MemoryError> {
        match &self.pin_budget {
            Some(budget) if self.pinned && bytes > 0 => budget.charge(bytes as u64),
            _ => Ok(()),
        }
    }

    fn uncharge_pins(&self, bytes: usize) {
        if let Some(budget) = &self.pin_budget
            && self.pinned
            && bytes > 0
        {
            budget.release(bytes as u64);
        }
    }

    fn account_committed(&self, added: usize, removed: usize) {
        let pinned = self.pinned;
        self.stats.update(|counters| {
            counters.add_committed(added as u64);
            counters.sub_committed(removed as u64);
            if pinned {
                counters.add_pinned(added as u64);
                counters.sub_pinned(removed as u64);
            }
        });
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let base = state.home.base(self.pre_guard);
        if let Home::Slot(slot) = &mut state.home {
            // Bytes past the accessible ones read as zero already.
            slot.dirty_bytes = state.accessible;
        }
        // A retired memory's pages are no longer counted or pinned.
        let accessible = if state.retired { 0 } else { state.accessible };
        // A subscriber's panic during teardown must not skip giving back the
        // pin budget and the owner's committed bytes: it is resumed after them.
        let closed =
            panic::catch_unwind(AssertUnwindSafe(|| self.hub.close(base..base + accessible)));
        self.uncharge_pins(accessible);
        self.account_committed(0, accessible);
        // The reservation unmaps itself (which also unlocks pinned pages).
        if let Err(payload) = closed {
            panic::resume_unwind(payload);
        }
    }
}

/// A [`move_in_pieces`] that failed and was undone.
struct MoveFailed {
    error: io::Error,
    /// Bytes at the start of the destination that pieces moved into and back
    /// out of: unmapped now, so the destination's reservation must be
    /// released around them.
    vacated: usize,
}

/// Moves `[from, from + len)` to `[to, to + len)` with one `mremap` per
/// piece between `seams` (offsets, ascending), so that no call spans two
/// kernel mappings. Each move leaves its source unmapped (see
/// [`Reservation::release_around`]). If a piece fails, the hole the moved
/// pieces left is taken back (never replacing a mapping someone else made
/// there meanwhile) and they go back into it, so the source is whole again;
/// if that fails too, the memory is split between two reservations with no
/// consistent state to return to, and the process aborts rather than run on.
///
/// # Safety
/// Both ranges must be owned by the caller, and nothing may use either while it runs.
unsafe fn move_in_pieces(
    seams: &[usize],
    from: usize,
    len: usize,
    to: usize,
) -> Result<(), MoveFailed> {
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(seams.iter().copied().filter(|&seam| seam < len))
        .chain([len])
        .collect();
    let pieces: Vec<Range<usize>> = bounds
        .windows(2)
        .map(|bound| bound[0]..bound[1])
        .filter(|piece| !piece.is_empty())
        .collect();
    for (index, piece) in pieces.iter().enumerate() {
        // SAFETY: the piece lies in both ranges, which the caller owns.
        let moved = unsafe { sys::move_pages(from + piece.start, piece.len(), to + piece.start) };
        if let Err(error) = moved {
            if index > 0 {
                // The moved prefix left a hole that another thread may have
                // mapped into since: take it back without replacing anything,
                // then move the pieces into it.
                let restored = sys::reserve_at(from, piece.start).and_then(|()| {
                    pieces[..index].iter().rev().try_for_each(|back| {
                        // SAFETY: the piece was just moved from the source,
                        // whose place was taken back above.
                        unsafe { sys::move_pages(to + back.start, back.len(), from + back.start) }
                    })
                });
                if let Err(restore_error) = restored {
                    eprintln!(
                        "remap-memory: a relocation failed ({error}) and undoing it failed too \
                         ({restore_error}); the memory cannot be made whole"
                    );
                    std::process::abort();
                }
            }
            return Err(MoveFailed {
                error,
                vacated: piece.start,
            });
        }
    }
    Ok(())
}

/// Releases the reservation `target` after a `mremap` into its
/// `destination` failed. The kernel may have unmapped the destination before
/// failing, and another thread may have mapped into it since, so it is
/// unmapped only once taken back without replacing anything; otherwise it is
/// left alone, which at worst leaks that much inaccessible address space.
fn release_after_failed_move(target: Reservation, destination: Range<usize>) {
    if sys::reserve_at(destination.start, destination.len()).is_ok() {
        drop(target);
    } else {
        target.release_around(destination);
    }
}

/// Adds `offset` to the ascending `seams`, unless it is there already.
fn add_seam(seams: &mut Vec<usize>, offset: usize) {
    if let Err(position) = seams.binary_search(&offset) {
        seams.insert(position, offset);
    }
}

/// Checks a size against the maximum and the limit.
fn check_bounds(
    bytes: u64,
    maximum_bytes: Option<u64>,
    limit_bytes: Option<u64>,
) -> Result<(), MemoryError> {
    if let Some(maximum_bytes) = maximum_bytes
        && bytes > maximum_bytes
    {
        return Err(MemoryError::ExceedsMaximum {
            requested_bytes: bytes,
            maximum_bytes,
        });
    }
    if let Some(limit_bytes) = limit_bytes
        && bytes > limit_bytes
    {
        return Err(MemoryError::ExceedsLimit {
            requested_bytes: bytes,
            limit_bytes,
        });
    }
    Ok(())
}

/// The length of a reservation, with room to align its base.
fn reservation_len(
    pre_guard: usize,
    capacity: usize,
    post_guard: usize,
) -> Result<usize, MemoryError> {
    pre_guard
        .checked_add(BASE_ALIGNMENT - sys::host_page_size())
        .and_then(|bytes| bytes.checked_add(capacity))
        .and_then(|bytes| bytes.checked_add(post_guard))
        .ok_or(MemoryError::Overflow {
            what: "reservation size",
        })
}
