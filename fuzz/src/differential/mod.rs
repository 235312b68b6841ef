//! The differential execution target.
//!
//! A seed becomes a `wasm-smith` module limited to what Remap supports
//! (Wasm 2.0 with SIMD, multi-memory, extended-const, memory64 and table64,
//! custom page sizes, tail calls, wide arithmetic; one case in four also
//! relaxed SIMD, typed function references, GC types and exception
//! handling, which only Wasmtime can check), with NaNs canonicalized and every loop and call
//! bounded by wasm-smith's fuel global. Every export is exported. The module
//! runs in two Remap configurations (one static, one dynamic memory style,
//! each with a guard chosen from 0 bytes up to the default, some of them
//! precompiled: serialized and loaded again from the bytes or from a
//! file, which is then used in place), in wasmi 1.1.0 (core cases
//! only), and, with the `wasmtime-oracle` feature, in Wasmtime 48. One case
//! in four also meters fuel in Remap and Wasmtime (same cost model).
//!
//! The same script runs everywhere: instantiation, then calls of exported
//! functions with boundary-heavy arguments, interleaved with host-side
//! memory grows and writes and global sets. After every step each runtime's
//! outcome (results with NaNs equal, trap or not and the trap's class, an uncaught exception, the
//! host operation's result) and state (every exported memory's size and
//! contents, every exported global, every exported table's size and
//! null-ness) is compared.
//!
//! A finding is reported when the Remap configurations disagree with one
//! another, or when Remap disagrees with an oracle and the other oracle
//! sides with that oracle (or no second oracle ran, as in CI's smoke run).
//! When one oracle disagrees with Remap and the other oracle agrees with
//! Remap, the disagreement is an oracle bug: it is noted in the report
//! and the case goes on without that oracle. A stack overflow or a full
//! GC heap anywhere (runtimes have different limits) or fuel running out ends a case's
//! comparison; fuel running out in only one of Remap and Wasmtime is a
//! finding when the other returned with an eighth of the budget left.

mod remap_subject;
mod value;
mod wasmi_subject;
#[cfg(feature = "wasmtime-oracle")]
mod wasmtime_subject;

use crate::rng::SplitMix;
use crate::{CaseReport, Finding, Target};
use remap::{ExternType, MemoryStyle, Mutability, ValType};
pub use value::{Observation, Outcome, Snapshot, TrapClass, Value, hash_bytes};

/// Wasm-smith's loop-and-call budget for a whole case: enough for real
/// work, small enough that a case ends in milliseconds.
const SMITH_FUEL: u32 = 2_000;

/// Steps in a case's script after instantiation.
const MAX_STEPS: u64 = 48;

/// Which features a case's module may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Profile {
    /// What wasmi 1.1.0 runs too.
    Core,
    /// Adds relaxed SIMD, typed function references, GC types and exception
    /// handling: Remap and Wasmtime only.
    Extended,
}

/// One host-side action of a case's script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Calls an exported function (null references for reference parameters).
    Call {
        /// The export's name.
        export: String,
        /// The arguments.
        args: Vec<Value>,
    },
    /// Grows an exported memory from the host.
    Grow {
        /// The export's name.
        memory: String,
        /// Pages to add.
        delta: u64,
    },
    /// Writes bytes into an exported memory from the host.
    Write {
        /// The export's name.
        memory: String,
        /// Where.
        offset: u64,
        /// What.
        bytes: Vec<u8>,
    },
    /// Sets an exported mutable global from the host.
    SetGlobal {
        /// The export's name.
        global: String,
        /// The new value.
        value: Value,
    },
}

/// The exports a case's snapshots read, in export order.
#[derive(Clone, Debug, Default)]
pub struct Exports {
    /// Exported memories.
    pub memories: Vec<String>,
    /// Exported globals.
    pub globals: Vec<String>,
    /// Exported tables.
    pub tables: Vec<String>,
}

/// A runtime running one case's module.
pub trait Subject {
    /// Calls an exported function; `fuel` is the budget given first when
    /// the case meters fuel.
    fn call(&mut self, export: &str, args: &[Value], fuel: Option<u64>) -> Outcome;
    /// Grows an exported memory from the host: the old size, or refused.
    fn grow(&mut self, memory: &str, delta: u64) -> Option<u64>;
    /// Writes into an exported memory from the host: whether it was in bounds.
    fn write(&mut self, memory: &str, offset: usize, bytes: &[u8]) -> bool;
    /// Sets an exported global from the host: whether it was accepted.
    fn set_global(&mut self, global: &str, value: Value) -> bool;
    /// An exported memory's size in bytes and the hash of its contents.
    fn memory(&mut self, name: &str) -> (u64, u64);
    /// An exported global's value.
    fn global(&mut self, name: &str) -> Value;
    /// An exported table's size and which of its elements are null.
    fn table(&mut self, name: &str) -> (u64, Vec<bool>);
    /// Fuel left after the last call, when metered.
    fn fuel_left(&mut self) -> Option<u64>;
}

/// Performs one step of the script in `subject`.
fn step(subject: &mut dyn Subject, step: &Step, fuel: Option<u64>) -> Outcome {
    match step {
        Step::Call { export, args } => subject.call(export, args, fuel),
        Step::Grow { memory, delta } => Outcome::Grew(subject.grow(memory, *delta)),
        Step::Write {
            memory,
            offset,
            bytes,
        } => Outcome::Done(
            usize::try_from(*offset).is_ok_and(|offset| subject.write(memory, offset, bytes)),
        ),
        Step::SetGlobal { global, value } => Outcome::Done(subject.set_global(global, *value)),
    }
}

/// The exported state of `subject`.
fn snapshot(subject: &mut dyn Subject, exports: &Exports) -> Snapshot {
    Snapshot {
        memories: exports.memories.iter().map(|m| subject.memory(m)).collect(),
        globals: exports.globals.iter().map(|g| subject.global(g)).collect(),
        tables: exports.tables.iter().map(|t| subject.table(t)).collect(),
    }
}

/// What instantiating a module in one runtime gave.
pub enum Instantiated {
    /// An instance, ready for the script.
    Ready(Box<dyn Subject>),
    /// Instantiation trapped or failed after compiling (data or element
    /// segment out of bounds, a trapping start function).
    Failed(Outcome),
    /// The runtime cannot compile this module; the message says why.
    Unsupported(String),
}

/// Which Remap configuration runs a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RemapSetup {
    /// Static or dynamic memories (64-bit memories are always dynamic).
    pub style: MemoryStyle,
    /// The guard after each memory; `None` is the default.
    pub guard: Option<u64>,
    /// Room a dynamic memory has before it relocates; `None` is the default.
    pub reserve: Option<u64>,
    /// Whether code consumes fuel.
    pub fuel: bool,
    /// Whether code checks epoch deadlines (a deadline never reached).
    pub epoch: bool,
    /// Whether, and how, the module is serialized and loaded again before use.
    pub precompiled: Option<Precompiled>,
}

/// How a precompiled case's module is loaded again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precompiled {
    /// `Module::deserialize` of the bytes.
    FromBytes,
    /// `Module::deserialize_file` of the bytes written to a file: the code,
    /// tables, segments and memory images are used in place in the mapping.
    FromFile,
}

/// Everything the differential target keeps between cases: engines.
pub struct Differential {
    remap: remap_subject::Engines,
    wasmi: wasmi_subject::Engines,
    #[cfg(feature = "wasmtime-oracle")]
    wasmtime: wasmtime_subject::Engines,
}

impl Default for Differential {
    fn default() -> Differential {
        Differential::new()
    }
}

/// A participant in a case.
struct Participant {
    name: String,
    kind: Kind,
    subject: Option<Box<dyn Subject>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Remap,
    Wasmi,
    #[cfg(feature = "wasmtime-oracle")]
    Wasmtime,
}

impl Differential {
    /// Engines are made on first use.
    pub fn new() -> Differential {
        Differential {
            remap: remap_subject::Engines::default(),
            wasmi: wasmi_subject::Engines::default(),
            #[cfg(feature = "wasmtime-oracle")]
            wasmtime: wasmtime_subject::Engines::default(),
        }
    }

    /// Runs the case `seed`.
    pub fn run(&mut self, seed: u64) -> Result<CaseReport, Box<Finding>> {
        let mut rng = SplitMix::new(seed, Target::Differential as u64);
        let profile = if rng.one_in(4) {
            Profile::Extended
        } else {
            Profile::Core
        };
        let metered = rng.one_in(4);
        let Some(wasm) = generate(&mut rng, profile) else {
            return Ok(CaseReport::skipped("wasm-smith produced no module"));
        };
        let setups = [MemoryStyle::Static, MemoryStyle::Dynamic].map(|style| RemapSetup {
            style,
            guard: rng.pick(&[None, Some(0), Some(0), Some(4096), Some(65536)]),
            reserve: match style {
                MemoryStyle::Static => None,
                MemoryStyle::Dynamic | MemoryStyle::Arena => {
                    rng.pick(&[None, Some(0), Some(65536)])
                }
            },
            fuel: metered,
            epoch: rng.one_in(2),
            precompiled: rng.one_in(3).then(|| {
                if rng.one_in(2) {
                    Precompiled::FromFile
                } else {
                    Precompiled::FromBytes
                }
            }),
        });
        let fuel_budget = metered.then(|| rng.pick(&[50, 500, 5_000, 100_000]));
        let finding = |description: String, observations: String| {
            Box::new(Finding {
                target: Target::Differential,
                seed,
                description,
                module: Some(wasm.clone()),
                outcomes: observations,
            })
        };

        let mut participants = Vec::new();
        let mut exports_ty = None;
        for setup in setups {
            let name = format!("remap {setup:?}");
            match self.remap.instantiate(&wasm, setup) {
                Ok((instantiated, types)) => {
                    exports_ty.get_or_insert(types);
                    participants.push((name, Kind::Remap, instantiated));
                }
                Err(error) if error.starts_with("unsupported") => {
                    return Ok(CaseReport::skipped("uses an operator Remap refuses"));
                }
                Err(error) => {
                    return Err(finding(
                        format!("Remap refused a valid module: {error}"),
                        String::new(),
                    ));
                }
            }
        }
        if profile == Profile::Core && !metered {
            participants.push((
                "wasmi 1.1.0".into(),
                Kind::Wasmi,
                self.wasmi.instantiate(&wasm),
            ));
        }
        #[cfg(feature = "wasmtime-oracle")]
        participants.push((
            "wasmtime 48".into(),
            Kind::Wasmtime,
            self.wasmtime.instantiate(&wasm, metered),
        ));
        let exports_ty = exports_ty.expect("two Remap setups ran");

        let mut report = CaseReport::default();
        let mut live = Vec::new();
        let mut observations = Vec::new();
        for (name, kind, instantiated) in participants {
            let (subject, outcome) = match instantiated {
                Instantiated::Ready(subject) => (Some(subject), Outcome::Returned(Vec::new())),
                Instantiated::Failed(outcome) => (None, outcome),
                Instantiated::Unsupported(why) => {
                    report.notes.push(format!("{name} cannot run it: {why}"));
                    continue;
                }
            };
            observations.push(Observation {
                outcome,
                snapshot: None,
            });
            live.push(Participant {
                name,
                kind,
                subject,
            });
        }
        let exports = exports_ty.exports.clone();
        let mut steps = Vec::new();
        // Instantiation is step 0; its snapshot is taken when it succeeded.
        for (participant, observation) in live.iter_mut().zip(&mut observations) {
            if let Some(subject) = &mut participant.subject {
                observation.snapshot = Some(snapshot(subject.as_mut(), &exports));
            }
        }
        let describe = |live: &[Participant], observations: &[Observation], steps: &[Step]| {
            let mut text = format!("script so far ({} steps):\n", steps.len());
            for step in steps {
                text += &format!("  {step:?}\n");
            }
            for (participant, observation) in live.iter().zip(observations) {
                text += &format!("{}:\n  {:?}\n", participant.name, observation);
            }
            text
        };
        let step_count = rng.below(MAX_STEPS) + 1;
        loop {
            match compare(&mut live, &mut observations, fuel_budget, &mut report) {
                Verdict::Agree => {}
                Verdict::Stop => break,
                Verdict::Finding(what) => {
                    return Err(finding(what, describe(&live, &observations, &steps)));
                }
            }
            if live.iter().all(|p| p.subject.is_none()) || steps.len() as u64 == step_count {
                break;
            }
            let Some(step) = exports_ty.random_step(&mut rng) else {
                break;
            };
            let is_call = matches!(step, Step::Call { .. });
            for (participant, observation) in live.iter_mut().zip(&mut observations) {
                let subject = participant.subject.as_mut().expect("all instantiated");
                let outcome = self::step(subject.as_mut(), &step, fuel_budget);
                *observation = Observation {
                    outcome,
                    snapshot: Some(snapshot(subject.as_mut(), &exports)),
                };
            }
            if is_call {
                report.calls += 1;
            }
            steps.push(step);
        }
        report.steps = steps.len() as u64;
        Ok(report)
    }
}

enum Verdict {
    Agree,
    Stop,
    Finding(String),
}

/// Compares the last observations, dropping an oracle found wrong.
fn compare(
    live: &mut Vec<Participant>,
    observations: &mut Vec<Observation>,
    fuel_budget: Option<u64>,
    report: &mut CaseReport,
) -> Verdict {
    let trapped = |o: &Observation, class| o.outcome == Outcome::Trapped(class);
    if observations
        .iter()
        .any(|o| trapped(o, TrapClass::StackOverflow) || trapped(o, TrapClass::GcHeapExhausted))
    {
        return Verdict::Stop;
    }
    let remap: Vec<usize> = (0..live.len())
        .filter(|&i| live[i].kind == Kind::Remap)
        .collect();
    let first = remap[0];
    for &other in &remap[1..] {
        if observations[other] != observations[first] {
            return Verdict::Finding(format!(
                "Remap configurations disagree: {} vs {}",
                live[first].name, live[other].name
            ));
        }
    }
    if let Some(budget) = fuel_budget {
        let out: Vec<bool> = observations
            .iter()
            .map(|o| trapped(o, TrapClass::OutOfFuel))
            .collect();
        if out.iter().any(|&o| o) {
            if !out.iter().all(|&o| o) {
                // Out of fuel in one runtime only: a real divergence when the
                // other returned with much of its budget left. (After a trap
                // the store's count is not exact: compiled code keeps the
                // straight run's cost in a register until a call or return,
                // and the two runtimes check fuel at different points.)
                for (i, participant) in live.iter_mut().enumerate() {
                    let returned = matches!(observations[i].outcome, Outcome::Returned(_));
                    let left = participant.subject.as_mut().and_then(|s| s.fuel_left());
                    if !out[i] && returned && left.is_some_and(|left| left > budget / 8) {
                        return Verdict::Finding(format!(
                            "out of fuel in one runtime only; {} had {} of {budget} left",
                            participant.name,
                            left.unwrap_or_default(),
                        ));
                    }
                }
            }
            return Verdict::Stop;
        }
    }
    let oracles: Vec<usize> = (0..live.len())
        .filter(|&i| live[i].kind != Kind::Remap)
        .collect();
    let disagreeing: Vec<usize> = oracles
        .iter()
        .copied()
        .filter(|&i| observations[i] != observations[first])
        .collect();
    if disagreeing.is_empty() {
        return Verdict::Agree;
    }
    let agreeing = oracles.len() - disagreeing.len();
    if agreeing > 0 {
        // Another oracle sides with Remap: the disagreeing ones are wrong.
        for &i in disagreeing.iter().rev() {
            report.notes.push(format!(
                "oracle bug? {} disagrees with Remap and the other oracle: {:?} vs Remap {:?}",
                live[i].name, observations[i], observations[first]
            ));
            live.remove(i);
            observations.remove(i);
        }
        report.oracle_disagreements += 1;
        return Verdict::Agree;
    }
    let confirmed = disagreeing.len() > 1
        && disagreeing
            .iter()
            .all(|&i| observations[i] == observations[disagreeing[0]]);
    Verdict::Finding(if confirmed {
        "Remap disagrees with both oracles, which agree with each other".into()
    } else if disagreeing.len() == 1 {
        format!(
            "Remap disagrees with {} (the only oracle in this case)",
            live[disagreeing[0]].name
        )
    } else {
        "Remap and both oracles all disagree".into()
    })
}

/// The wasm-smith configuration for a profile.
fn smith_config(profile: Profile) -> wasm_smith::Config {
    let extended = profile == Profile::Extended;
    let mut allowed = wasm_smith::InstructionKinds::all();
    if extended {
        // GC types are supported, GC objects are not.
        allowed = wasm_smith::InstructionKinds::new(&[
            wasm_smith::InstructionKind::Numeric,
            wasm_smith::InstructionKind::Vector,
            wasm_smith::InstructionKind::Reference,
            wasm_smith::InstructionKind::Parametric,
            wasm_smith::InstructionKind::Variable,
            wasm_smith::InstructionKind::Table,
            wasm_smith::InstructionKind::Memory,
            wasm_smith::InstructionKind::Control,
        ]);
    }
    wasm_smith::Config {
        allowed_instructions: allowed,
        gc_enabled: extended,
        relaxed_simd_enabled: extended,
        exceptions_enabled: extended,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        simd_enabled: true,
        tail_call_enabled: true,
        memory64_enabled: true,
        wide_arithmetic_enabled: true,
        custom_page_sizes_enabled: true,
        extended_const_enabled: true,
        canonicalize_nans: true,
        export_everything: true,
        max_imports: 0,
        min_funcs: 1,
        max_funcs: 12,
        max_instructions: 150,
        max_memories: 3,
        max_tables: 3,
        max_globals: 12,
        max_data_segments: 8,
        max_element_segments: 8,
        memory_max_size_required: true,
        max_memory32_bytes: 1 << 20,
        max_memory64_bytes: 1 << 20,
        table_max_size_required: true,
        max_table_elements: 200,
        ..wasm_smith::Config::default()
    }
}

/// The case's module, or `None` when wasm-smith gives up on these bytes.
fn generate(rng: &mut SplitMix, profile: Profile) -> Option<Vec<u8>> {
    let len = 1024 + rng.below(15 * 1024) as usize;
    let data = rng.bytes(len);
    let mut unstructured = arbitrary::Unstructured::new(&data);
    let mut module = wasm_smith::Module::new(smith_config(profile), &mut unstructured).ok()?;
    module.ensure_termination(SMITH_FUEL).ok()?;
    Some(module.to_bytes())
}

/// The exports of a case's module and their types, which the script is
/// made from.
#[derive(Clone, Debug, Default)]
pub struct ExportTypes {
    /// The exports snapshots read.
    pub exports: Exports,
    /// Exported functions that can be called from the host (no
    /// non-nullable reference parameters): name and parameter types.
    pub funcs: Vec<(String, Vec<ValType>)>,
    /// Exported memories: name, whether 64-bit, and page size.
    pub memories: Vec<(String, bool, u64)>,
    /// Exported mutable globals of number or vector type.
    pub mutable_globals: Vec<(String, ValType)>,
}

impl ExportTypes {
    /// Reads a Remap module's exports.
    pub fn of(module: &remap::Module) -> ExportTypes {
        let mut types = ExportTypes::default();
        for export in module.exports() {
            let name = export.name().to_string();
            match export.ty() {
                ExternType::Func(ty) => {
                    let params = ty.params().to_vec();
                    if params
                        .iter()
                        .all(|p| !matches!(p, ValType::Ref(r) if !r.nullable))
                    {
                        types.funcs.push((name, params));
                    }
                }
                ExternType::Memory(ty) => {
                    types
                        .memories
                        .push((name.clone(), ty.is_64(), ty.page_size()));
                    types.exports.memories.push(name);
                }
                ExternType::Global(ty) => {
                    if ty.mutability() == Mutability::Var
                        && !matches!(ty.content(), ValType::Ref(_))
                    {
                        types.mutable_globals.push((name.clone(), *ty.content()));
                    }
                    types.exports.globals.push(name);
                }
                ExternType::Table(_) => types.exports.tables.push(name),
                // Tags hold no state to compare.
                ExternType::Tag(_) => {}
            }
        }
        types
    }

    /// A random step, mostly a call; `None` when the module exports
    /// nothing a step could use.
    fn random_step(&self, rng: &mut SplitMix) -> Option<Step> {
        let mut kinds = Vec::new();
        if !self.funcs.is_empty() {
            kinds.extend([0, 0, 0, 0, 0, 0, 0]);
        }
        if !self.memories.is_empty() {
            kinds.extend([1, 2]);
        }
        if !self.mutable_globals.is_empty() {
            kinds.push(3);
        }
        if kinds.is_empty() {
            return None;
        }
        Some(match rng.pick(&kinds) {
            1 => {
                let (memory, is_64, page_size) = rng.pick_ref(&self.memories).clone();
                let delta = match rng.below(8) {
                    0 => u64::MAX,
                    1 if !is_64 => u64::from(u32::MAX),
                    2 => (1 << 20) / page_size + 1,
                    _ => rng.below(3),
                };
                Step::Grow { memory, delta }
            }
            2 => {
                let (memory, _, page_size) = rng.pick_ref(&self.memories).clone();
                let len = rng.below(16) as usize;
                let offset = match rng.below(4) {
                    0 => rng.below(1 << 21),
                    1 => page_size
                        .saturating_mul(rng.below(4))
                        .wrapping_sub(rng.below(20)),
                    2 => u64::MAX - rng.below(20),
                    _ => rng.below(256),
                };
                Step::Write {
                    memory,
                    offset,
                    bytes: rng.bytes(len),
                }
            }
            3 => {
                let (global, ty) = rng.pick_ref(&self.mutable_globals).clone();
                Step::SetGlobal {
                    global,
                    value: random_value(rng, ty),
                }
            }
            _ => {
                let (export, params) = rng.pick_ref(&self.funcs).clone();
                let args = params.into_iter().map(|p| random_value(rng, p)).collect();
                Step::Call { export, args }
            }
        })
    }
}

/// A random value of a type; references are null.
fn random_value(rng: &mut SplitMix, ty: ValType) -> Value {
    match ty {
        ValType::I32 => Value::I32(rng.interesting_i32()),
        ValType::I64 => Value::I64(rng.interesting_i64()),
        ValType::F32 => Value::F32(rng.interesting_f32()),
        ValType::F64 => Value::F64(rng.interesting_f64()),
        ValType::V128 => Value::V128(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())),
        ValType::Ref(_) => Value::Ref { null: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(value: i32) -> Observation {
        Observation {
            outcome: Outcome::Returned(vec![Value::I32(value)]),
            snapshot: None,
        }
    }

    fn participants(kinds: &[Kind]) -> Vec<Participant> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| Participant {
                name: format!("{kind:?} {i}"),
                kind,
                subject: None,
            })
            .collect()
    }

    fn judge(kinds: &[Kind], values: &[i32]) -> Verdict {
        let mut live = participants(kinds);
        let mut observations: Vec<Observation> = values.iter().map(|&v| observation(v)).collect();
        compare(
            &mut live,
            &mut observations,
            None,
            &mut CaseReport::default(),
        )
    }

    #[test]
    fn remap_configurations_must_agree() {
        let verdict = judge(&[Kind::Remap, Kind::Remap, Kind::Wasmi], &[1, 2, 1]);
        assert!(matches!(verdict, Verdict::Finding(what) if what.contains("configurations")));
    }

    #[test]
    fn a_lone_oracle_disagreeing_is_a_finding() {
        let verdict = judge(&[Kind::Remap, Kind::Remap, Kind::Wasmi], &[1, 1, 2]);
        assert!(matches!(verdict, Verdict::Finding(what) if what.contains("only oracle")));
        let verdict = judge(&[Kind::Remap, Kind::Remap, Kind::Wasmi], &[1, 1, 1]);
        assert!(matches!(verdict, Verdict::Agree));
    }

    #[test]
    fn an_oracle_outvoted_by_the_other_is_dropped_and_noted() {
        let mut live = participants(&[Kind::Remap, Kind::Wasmi, Kind::Wasmi]);
        let mut observations = vec![observation(1), observation(2), observation(1)];
        let mut report = CaseReport::default();
        let verdict = compare(&mut live, &mut observations, None, &mut report);
        assert!(matches!(verdict, Verdict::Agree));
        assert_eq!((report.oracle_disagreements, live.len()), (1, 2));
        assert!(report.notes[0].starts_with("oracle bug?"));
    }

    #[test]
    fn oracles_that_agree_against_remap_confirm_a_finding() {
        let mut live = participants(&[Kind::Remap, Kind::Wasmi, Kind::Wasmi]);
        let mut observations = vec![observation(1), observation(2), observation(2)];
        let verdict = compare(
            &mut live,
            &mut observations,
            None,
            &mut CaseReport::default(),
        );
        assert!(matches!(verdict, Verdict::Finding(what) if what.contains("both oracles")));
    }

    #[test]
    fn a_stack_overflow_or_a_full_gc_heap_anywhere_ends_the_comparison() {
        for limit in [TrapClass::StackOverflow, TrapClass::GcHeapExhausted] {
            let mut live = participants(&[Kind::Remap, Kind::Wasmi]);
            let mut observations = vec![
                observation(1),
                Observation {
                    outcome: Outcome::Trapped(limit),
                    snapshot: None,
                },
            ];
            let verdict = compare(
                &mut live,
                &mut observations,
                None,
                &mut CaseReport::default(),
            );
            assert!(matches!(verdict, Verdict::Stop), "{limit:?}");
        }
    }
}
