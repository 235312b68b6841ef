//! The memory-subsystem model target.
//!
//! A seed becomes a sequence of operations on up to three `remap-memory`
//! [`LinearMemory`]s sharing one [`Accounting`], one [`PinBudget`] and one
//! [`SlotCache`]: create (static or dynamic, 64 KiB or 1-byte pages, with or
//! without maximum, limit and pinning, fresh or from the slot cache), grow
//! (in place, by relocation, refused), write, reset, subscribe and
//! unsubscribe invalidation notifiers, drop or recycle into the cache.
//! After every operation the memory is checked against a model: its
//! contents byte for byte, its length, whether the operation succeeded,
//! whether it relocated, its statistics (grows, relocations, committed,
//! peak and pinned bytes), the owner's accounting and the pin budget, and
//! the notifier calls (balanced start/end pairs, the last view reported
//! equal to the memory's view, nothing after an unsubscription, one
//! `release` at teardown). A mismatch is a [`Finding`] describing the
//! operations so far.

use crate::rng::SplitMix;
use crate::{CaseReport, Finding, Target};
use remap_memory::{
    Accounting, InvalidationNotifier, LinearMemory, MemoryConfig, MemoryStyle, MemoryView,
    NotifierRegistration, PinBudget, SlotCache, WASM_PAGE_SIZE, host_page_size,
};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

/// The largest memory a case makes, so full comparisons stay cheap.
const MAX_BYTES: u64 = 1 << 20;
/// The pin budget shared by a case's memories.
const PIN_BUDGET: u64 = 24 * WASM_PAGE_SIZE;

/// A notifier call.
#[derive(Clone, Debug, PartialEq)]
enum Event {
    Start,
    End(usize, usize),
    Release,
}

/// A notifier that records its calls.
#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl InvalidationNotifier for Recorder {
    fn invalidate_range_start(&self, _range: Range<usize>) {
        self.0.lock().expect("recorder").push(Event::Start);
    }
    fn invalidate_range_end(&self, _range: Range<usize>, new_view: MemoryView) {
        let event = Event::End(new_view.base as usize, new_view.len);
        self.0.lock().expect("recorder").push(event);
    }
    fn release(&self) {
        self.0.lock().expect("recorder").push(Event::Release);
    }
}

impl Recorder {
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().expect("recorder"))
    }
}

/// A memory and what the model expects of it.
struct Modelled {
    memory: LinearMemory,
    contents: Vec<u8>,
    page_size: u64,
    maximum: Option<u64>,
    limit: Option<u64>,
    reservation: Option<u64>,
    pinned: bool,
    grows: u64,
    relocations: u64,
    peak: u64,
    subscribers: Vec<(Arc<Recorder>, NotifierRegistration)>,
    /// Unsubscribed recorders: they must stay silent.
    former: Vec<Arc<Recorder>>,
}

fn round_host(bytes: u64) -> u64 {
    let page = host_page_size() as u64;
    bytes.div_ceil(page).saturating_mul(page)
}

/// Whether this process may pin a small memory (mlock may be refused).
fn can_pin() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| {
        LinearMemory::new(MemoryConfig {
            style: MemoryStyle::dynamic(0, WASM_PAGE_SIZE),
            initial_bytes: WASM_PAGE_SIZE,
            pinned: true,
            ..MemoryConfig::default()
        })
        .is_ok()
    })
}

struct Case {
    rng: SplitMix,
    memories: Vec<Modelled>,
    accounting: Accounting,
    budget: PinBudget,
    cache: SlotCache,
    log: Vec<String>,
    total_grows: u64,
    total_relocations: u64,
}

impl Case {
    fn create(&mut self) -> Result<(), String> {
        let rng = &mut self.rng;
        let page_size = if rng.one_in(4) { 1 } else { WASM_PAGE_SIZE };
        let unit = page_size.max(host_page_size() as u64);
        let initial = rng.below(4) * unit;
        let maximum = rng
            .one_in(2)
            .then(|| initial + rng.below(8) * unit)
            .filter(|&m| m <= MAX_BYTES);
        let limit = rng.one_in(4).then(|| initial + rng.below(16) * unit);
        let reservation = rng
            .one_in(3)
            .then(|| round_host(initial + rng.below(4) * unit));
        let style = match reservation {
            Some(reservation_bytes) => MemoryStyle::Static {
                reservation_bytes,
                guard_bytes: rng.pick(&[0, 4096, WASM_PAGE_SIZE]),
            },
            None => MemoryStyle::dynamic(
                rng.pick(&[0, 4096, WASM_PAGE_SIZE, 4 * WASM_PAGE_SIZE]),
                rng.pick(&[0, 4096, WASM_PAGE_SIZE]),
            ),
        };
        let pinned = can_pin() && rng.one_in(3);
        let config = MemoryConfig {
            style,
            pre_guard_bytes: rng.pick(&[0, 4096, WASM_PAGE_SIZE]),
            initial_bytes: initial,
            maximum_bytes: maximum,
            limit_bytes: limit,
            page_size,
            pinned,
            pin_budget: Some(self.budget.clone()),
            accounting: Some(self.accounting.clone()),
        };
        let from_cache = rng.one_in(2);
        self.log.push(format!(
            "create {config:?} from_cache={from_cache} -> #{}",
            self.memories.len()
        ));
        let over_budget = pinned && self.budget.used() + round_host(initial) > PIN_BUDGET;
        let created = if from_cache {
            self.cache.create(config)
        } else {
            LinearMemory::new(config)
        };
        let memory = match created {
            Ok(memory) if over_budget => {
                drop(memory);
                return Err("creation succeeded past the pin budget".into());
            }
            Ok(memory) => memory,
            Err(_) if over_budget => return Ok(()),
            Err(error) => return Err(format!("creation failed: {error}")),
        };
        let committed = round_host(initial);
        self.memories.push(Modelled {
            memory,
            contents: vec![0; initial as usize],
            page_size,
            maximum,
            limit,
            reservation,
            pinned,
            grows: 0,
            relocations: 0,
            peak: committed,
            subscribers: Vec::new(),
            former: Vec::new(),
        });
        Ok(())
    }

    fn grow(&mut self, index: usize) -> Result<bool, String> {
        let delta = match self.rng.below(6) {
            0 => u64::MAX,
            1 => 0,
            2 => self.rng.below(64),
            _ => self.rng.below(3) + 1,
        };
        let budget_used = self.budget.used();
        let m = &mut self.memories[index];
        let old_len = m.contents.len() as u64;
        let old_pages = old_len / m.page_size;
        let capacity = m.memory.capacity_bytes();
        let new_len = old_pages
            .checked_add(delta)
            .and_then(|p| p.checked_mul(m.page_size));
        let expect_ok = new_len.is_some_and(|new_len| {
            let added = round_host(new_len).saturating_sub(round_host(old_len));
            m.maximum.is_none_or(|max| new_len <= max)
                && m.limit.is_none_or(|limit| new_len <= limit)
                && m.reservation.is_none_or(|r| round_host(new_len) <= r)
                && new_len <= MAX_BYTES
                && (!m.pinned || budget_used + added <= PIN_BUDGET)
        });
        if !expect_ok && new_len.is_some_and(|n| n > MAX_BYTES) {
            // Too large for this model to compare: skip, unless the memory
            // must refuse it anyway.
            let refused_anyway = m.maximum.is_some_and(|max| new_len > Some(max))
                || m.limit.is_some_and(|limit| new_len > Some(limit))
                || m.reservation.is_some();
            if !refused_anyway {
                return Ok(false);
            }
        }
        self.log.push(format!("grow #{index} by {delta}"));
        let result = m.memory.grow(delta);
        match (result, expect_ok) {
            (Ok(old), true) => {
                if old != old_pages {
                    return Err(format!("grow returned {old}, expected {old_pages}"));
                }
                let new_len = new_len.expect("checked");
                if delta > 0 {
                    m.grows += 1;
                    self.total_grows += 1;
                    if round_host(new_len) > capacity {
                        m.relocations += 1;
                        self.total_relocations += 1;
                    }
                }
                m.contents.resize(new_len as usize, 0);
                m.peak = m.peak.max(round_host(new_len));
                Ok(delta > 0)
            }
            (Err(_), false) => Ok(false),
            (Ok(_), false) => Err("grow succeeded, the model expected a refusal".into()),
            (Err(error), true) => Err(format!(
                "grow refused ({error}), the model expected success"
            )),
        }
    }

    fn reset(&mut self, index: usize) -> Result<bool, String> {
        let m = &mut self.memories[index];
        let unit = m.page_size.max(host_page_size() as u64);
        let bytes = self.rng.below(4) * unit;
        let pages = bytes / m.page_size;
        let old_len = m.contents.len() as u64;
        let added = round_host(bytes).saturating_sub(round_host(old_len));
        let expect_ok = m.maximum.is_none_or(|max| bytes <= max)
            && m.limit.is_none_or(|limit| bytes <= limit)
            && round_host(bytes) <= m.memory.capacity_bytes()
            && (!m.pinned || self.budget.used() + added <= PIN_BUDGET);
        self.log.push(format!("reset #{index} to {pages} pages"));
        match (m.memory.reset(pages), expect_ok) {
            (Ok(()), true) => {
                m.contents = vec![0; bytes as usize];
                m.peak = m.peak.max(round_host(bytes));
                Ok(true)
            }
            (Err(_), false) => Ok(false),
            (Ok(()), false) => Err("reset succeeded, the model expected a refusal".into()),
            (Err(error), true) => Err(format!(
                "reset refused ({error}), the model expected success"
            )),
        }
    }

    fn write(&mut self, index: usize) {
        let m = &mut self.memories[index];
        if m.contents.is_empty() {
            return;
        }
        let len = 1 + self.rng.below(64) as usize;
        let offset = match self.rng.below(3) {
            0 => 0,
            1 => m.contents.len().saturating_sub(len),
            _ => self.rng.below(m.contents.len() as u64) as usize,
        };
        let len = len.min(m.contents.len() - offset);
        let bytes = self.rng.bytes(len);
        self.log
            .push(format!("write #{index} {len} bytes at {offset}"));
        let view = m.memory.view();
        assert!(
            offset + len <= view.len,
            "the view is checked before writes"
        );
        // SAFETY: `[offset, offset + len)` lies inside the memory's current
        // view (checked above, and the view's length was compared with the
        // model's after the last operation); nothing else uses the memory
        // while the case runs on this thread.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), view.base.add(offset), len) };
        m.contents[offset..offset + len].copy_from_slice(&bytes);
    }

    /// Compares memory `index` with the model after an operation that
    /// `changed` its layout (so notifiers must have been told).
    fn check(&mut self, index: usize, changed: bool) -> Result<(), String> {
        let m = &mut self.memories[index];
        let view = m.memory.view();
        if view.len != m.contents.len() || m.memory.len_bytes() != m.contents.len() as u64 {
            return Err(format!(
                "length {} (view {}), model {}",
                m.memory.len_bytes(),
                view.len,
                m.contents.len()
            ));
        }
        if m.memory.size_pages() != m.contents.len() as u64 / m.page_size {
            return Err(format!("size_pages {}", m.memory.size_pages()));
        }
        let reservation = m.memory.reservation();
        if view.len > 0
            && !(reservation.start <= view.base as usize && view.range().end <= reservation.end)
        {
            return Err(format!(
                "view {:?} outside reservation {reservation:?}",
                view.range()
            ));
        }
        if view.len > 0 {
            // SAFETY: the view is the memory's current accessible extent and
            // nothing changes the memory while this case reads it.
            let actual = unsafe { std::slice::from_raw_parts(view.base, view.len) };
            if let Some(at) = actual.iter().zip(&m.contents).position(|(a, b)| a != b) {
                return Err(format!(
                    "byte {at} is {:#x}, model {:#x}",
                    actual[at], m.contents[at]
                ));
            }
        }
        let stats = m.memory.stats();
        let committed = round_host(m.contents.len() as u64);
        let expected = (
            m.grows,
            m.relocations,
            committed,
            m.peak,
            if m.pinned { committed } else { 0 },
        );
        let actual = (
            stats.grows,
            stats.relocations,
            stats.committed_bytes,
            stats.peak_committed_bytes,
            stats.pinned_bytes,
        );
        if actual != expected {
            return Err(format!(
                "stats (grows, relocations, committed, peak, pinned) {actual:?}, model {expected:?}"
            ));
        }
        for (recorder, _) in &m.subscribers {
            let events = recorder.take();
            let pairs = events
                .chunks(2)
                .all(|pair| matches!(pair, [Event::Start, Event::End(..)]))
                && events.len() % 2 == 0;
            if !pairs {
                return Err(format!("unbalanced notifier calls {events:?}"));
            }
            if changed && events.is_empty() {
                return Err("a subscriber was not told of a change".into());
            }
            if let Some(Event::End(base, len)) = events.last()
                && (*base, *len) != (view.base as usize, view.len)
            {
                return Err(format!(
                    "notifier's last view {base:#x}+{len}, memory's {view:?}"
                ));
            }
        }
        for recorder in &m.former {
            let events = recorder.take();
            if !events.is_empty() {
                return Err(format!("an unsubscribed notifier was called: {events:?}"));
            }
        }
        self.check_owner()
    }

    fn check_owner(&self) -> Result<(), String> {
        let committed: u64 = self
            .memories
            .iter()
            .map(|m| round_host(m.contents.len() as u64))
            .sum();
        let pinned: u64 = self
            .memories
            .iter()
            .filter(|m| m.pinned)
            .map(|m| round_host(m.contents.len() as u64))
            .sum();
        let stats = self.accounting.stats();
        let actual = (
            stats.committed_bytes,
            stats.grows,
            stats.relocations,
            stats.pinned_bytes,
        );
        let expected = (committed, self.total_grows, self.total_relocations, pinned);
        if actual != expected {
            return Err(format!(
                "accounting (committed, grows, relocations, pinned) {actual:?}, model {expected:?}"
            ));
        }
        if self.budget.used() != pinned {
            return Err(format!(
                "pin budget used {}, model {pinned}",
                self.budget.used()
            ));
        }
        Ok(())
    }

    fn step(&mut self) -> Result<(), String> {
        if self.memories.is_empty() || (self.memories.len() < 3 && self.rng.one_in(6)) {
            return self.create();
        }
        let index = self.rng.below(self.memories.len() as u64) as usize;
        match self.rng.below(12) {
            0..=3 => {
                let changed = self.grow(index)?;
                self.check(index, changed)
            }
            4..=6 => {
                self.write(index);
                self.check(index, false)
            }
            7 => {
                let changed = self.reset(index)?;
                self.check(index, changed)
            }
            8 => {
                let recorder = Arc::new(Recorder::default());
                let registration = self.memories[index]
                    .memory
                    .register_notifier(recorder.clone())
                    .map_err(|e| format!("register_notifier: {e}"))?;
                self.log.push(format!("subscribe to #{index}"));
                self.memories[index]
                    .subscribers
                    .push((recorder, registration));
                self.check(index, false)
            }
            9 => {
                let m = &mut self.memories[index];
                if !m.subscribers.is_empty() {
                    let at = self.rng.below(m.subscribers.len() as u64) as usize;
                    let (recorder, registration) = m.subscribers.remove(at);
                    drop(registration);
                    self.log.push(format!("unsubscribe from #{index}"));
                    m.former.push(recorder);
                }
                self.check(index, false)
            }
            _ => {
                let m = self.memories.remove(index);
                let recycle = self.rng.one_in(2);
                self.log.push(format!(
                    "{} #{index}",
                    if recycle { "recycle" } else { "drop" }
                ));
                let recorders: Vec<Arc<Recorder>> =
                    m.subscribers.iter().map(|(r, _)| r.clone()).collect();
                let Modelled {
                    memory,
                    subscribers,
                    former,
                    ..
                } = m;
                if recycle {
                    self.cache.recycle(memory);
                } else {
                    drop(memory);
                }
                // Teardown and retirement invalidate the whole memory (the
                // view becomes empty) and then release every subscriber.
                let released = [Event::Start, Event::End(0, 0), Event::Release];
                for recorder in &recorders {
                    let events = recorder.take();
                    if events != released {
                        return Err(format!("teardown told a subscriber {events:?}"));
                    }
                }
                if former.iter().any(|r| !r.take().is_empty()) {
                    return Err("teardown called an unsubscribed notifier".into());
                }
                drop(subscribers);
                self.check_owner()
            }
        }
    }
}

/// Runs the case `seed`.
pub fn run(seed: u64) -> Result<CaseReport, Box<Finding>> {
    let mut case = Case {
        rng: SplitMix::new(seed, Target::Memory as u64),
        memories: Vec::new(),
        accounting: Accounting::new(),
        budget: PinBudget::new(PIN_BUDGET),
        cache: SlotCache::new(2, 64 * 1024),
        log: Vec::new(),
        total_grows: 0,
        total_relocations: 0,
    };
    let steps = 10 + case.rng.below(50);
    for _ in 0..steps {
        if let Err(problem) = case.step() {
            return Err(Box::new(Finding {
                target: Target::Memory,
                seed,
                description: problem,
                module: None,
                outcomes: format!("operations:\n  {}", case.log.join("\n  ")),
            }));
        }
    }
    Ok(CaseReport {
        steps,
        ..CaseReport::default()
    })
}
