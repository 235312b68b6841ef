//! Remap as a subject of the differential target.

use super::{ExportTypes, Instantiated, Outcome, Precompiled, RemapSetup, Subject};
use super::{TrapClass, Value};
use remap::{
    Config, Engine, Instance, Linker, Module, Store, ThrownException, Trap, TrapKind, Val, ValType,
};
use remap_compiler::CompileError;
use std::collections::HashMap;

/// One engine per configuration (a setup but for how its module is
/// loaded), made on first use.
#[derive(Default)]
pub struct Engines(HashMap<RemapSetup, Engine>);

impl Engines {
    fn engine(&mut self, setup: RemapSetup) -> &Engine {
        let key = RemapSetup {
            precompiled: None,
            ..setup
        };
        self.0.entry(key).or_insert_with(|| {
            let mut config = Config::new();
            config
                .memory_style(setup.style)
                .consume_fuel(setup.fuel)
                .epoch_interruption(setup.epoch)
                .relaxed_simd_deterministic(true)
                .parallel_compilation(false);
            if let Some(guard) = setup.guard {
                config.memory_guard_size(guard);
            }
            if let Some(reserve) = setup.reserve {
                config.dynamic_memory_reserve(reserve);
            }
            Engine::new(&config).expect("a valid configuration")
        })
    }

    /// Compiles (and, for a precompiled setup, serializes and reloads) and
    /// instantiates `wasm`. `Err` holds why Remap refused the module, and
    /// starts with "unsupported" when it used an unsupported feature.
    pub fn instantiate(
        &mut self,
        wasm: &[u8],
        setup: RemapSetup,
    ) -> Result<(Instantiated, ExportTypes), String> {
        let engine = self.engine(setup).clone();
        let mut module = Module::new(&engine, wasm).map_err(|error| {
            match error.chain().find_map(|e| e.downcast_ref::<CompileError>()) {
                Some(CompileError::Unsupported { feature, .. }) => {
                    format!("unsupported feature {feature}")
                }
                _ => format!("{error:#}"),
            }
        })?;
        if let Some(how) = setup.precompiled {
            let bytes = module
                .serialize()
                .map_err(|e| format!("serialize: {e:#}"))?;
            module = match how {
                // SAFETY: the bytes were just produced by `Module::serialize`
                // in this process and never left it.
                Precompiled::FromBytes => unsafe { Module::deserialize(&engine, &bytes) },
                Precompiled::FromFile => load_from_file(&engine, &bytes),
            }
            .map_err(|e| format!("deserialize: {e:#}"))?;
        }
        let types = ExportTypes::of(&module);
        let mut store = Store::new(&engine, ());
        if setup.fuel {
            // Instantiation may run a start function: give it room.
            store.set_fuel(u64::MAX / 2).expect("fuel is on");
        }
        if setup.epoch {
            // Checks everywhere, a deadline never reached: the results must
            // be those of uninstrumented code.
            store.set_epoch_deadline(u64::MAX);
        }
        let linker = Linker::new(&engine);
        let instantiated = match linker.instantiate(&mut store, &module) {
            Ok(instance) => Instantiated::Ready(Box::new(RemapSubject {
                store,
                instance,
                fuel: setup.fuel,
            })),
            Err(error) => Instantiated::Failed(outcome_of_error(&error)),
        };
        Ok((instantiated, types))
    }
}

/// Writes `bytes` to a fresh temporary file and loads it with
/// `Module::deserialize_file`; the file is unlinked once loaded (the
/// mapping keeps its contents), and nothing writes it again.
fn load_from_file(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Module> {
    let mut file = tempfile::NamedTempFile::new()?;
    std::io::Write::write_all(&mut file, bytes)?;
    // SAFETY: the file holds bytes `Module::serialize` just produced; it is
    // private to this process and never written again (dropping it only
    // unlinks it, which leaves the mapping's contents as they are).
    unsafe { Module::deserialize_file(engine, file.path()) }
}

struct RemapSubject {
    store: Store<()>,
    instance: Instance,
    fuel: bool,
}

fn trap_class(kind: TrapKind) -> TrapClass {
    match kind {
        TrapKind::StackOverflow => TrapClass::StackOverflow,
        TrapKind::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds | TrapKind::IndirectCallOutOfBounds => {
            TrapClass::TableOutOfBounds
        }
        TrapKind::IndirectCallToNull => TrapClass::IndirectCallToNull,
        TrapKind::BadSignature => TrapClass::BadSignature,
        TrapKind::IntegerOverflow => TrapClass::IntegerOverflow,
        TrapKind::IntegerDivisionByZero => TrapClass::IntegerDivisionByZero,
        TrapKind::BadConversionToInteger => TrapClass::BadConversionToInteger,
        TrapKind::UnreachableCodeReached => TrapClass::Unreachable,
        TrapKind::NullReference
        | TrapKind::CallToNull
        | TrapKind::NullStructReference
        | TrapKind::NullArrayReference
        | TrapKind::NullI31Reference
        | TrapKind::NullDescriptorReference => TrapClass::NullReference,
        TrapKind::CastFailure | TrapKind::DescriptorCastFailure => TrapClass::CastFailure,
        TrapKind::OutOfFuel => TrapClass::OutOfFuel,
        TrapKind::Interrupt
        | TrapKind::UnalignedAtomic
        | TrapKind::WaitOnUnsharedMemory
        | TrapKind::ArrayOutOfBounds => TrapClass::Other,
        TrapKind::GcHeapExhausted => TrapClass::GcHeapExhausted,
    }
}

fn outcome_of_error(error: &anyhow::Error) -> Outcome {
    if error.chain().any(|e| e.is::<ThrownException>()) {
        return Outcome::Uncaught;
    }
    match error.chain().find_map(|e| e.downcast_ref::<Trap>()) {
        Some(trap) => Outcome::Trapped(trap_class(trap.kind())),
        None => Outcome::Failed,
    }
}

fn to_val(value: Value, ty: ValType) -> Val {
    match (value, ty) {
        (Value::I32(v), _) => Val::I32(v),
        (Value::I64(v), _) => Val::I64(v),
        (Value::F32(v), _) => Val::F32(v),
        (Value::F64(v), _) => Val::F64(v),
        (Value::V128(v), _) => Val::V128(v),
        (Value::Ref { .. }, ValType::Ref(r)) => Val::null_ref(r),
        (Value::Ref { .. }, _) => unreachable!("reference values are made for reference types"),
    }
}

fn from_val(val: &Val) -> Value {
    match val {
        Val::I32(v) => Value::I32(*v),
        Val::I64(v) => Value::I64(*v),
        Val::F32(v) => Value::F32(*v),
        Val::F64(v) => Value::F64(*v),
        Val::V128(v) => Value::V128(*v),
        Val::FuncRef(f) => Value::Ref { null: f.is_none() },
        Val::ExternRef(e) => Value::Ref { null: e.is_none() },
        Val::ExnRef(e) => Value::Ref { null: e.is_none() },
        Val::AnyRef(a) => Value::Ref { null: a.is_none() },
    }
}

impl Subject for RemapSubject {
    fn call(&mut self, export: &str, args: &[Value], fuel: Option<u64>) -> Outcome {
        let store = &mut self.store;
        let func = self
            .instance
            .get_func(&mut *store, export)
            .expect("function");
        let ty = func.ty(&*store);
        let params: Vec<Val> = args
            .iter()
            .zip(ty.params())
            .map(|(v, t)| to_val(*v, *t))
            .collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        if let (Some(fuel), true) = (fuel, self.fuel) {
            store.set_fuel(fuel).expect("fuel is on");
        }
        match func.call(&mut *store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(from_val).collect()),
            Err(error) => outcome_of_error(&error),
        }
    }

    fn grow(&mut self, memory: &str, delta: u64) -> Option<u64> {
        let memory = self
            .instance
            .get_memory(&mut self.store, memory)
            .expect("memory");
        memory.grow(&mut self.store, delta).ok()
    }

    fn write(&mut self, memory: &str, offset: usize, bytes: &[u8]) -> bool {
        let memory = self
            .instance
            .get_memory(&mut self.store, memory)
            .expect("memory");
        memory.write(&mut self.store, offset, bytes).is_ok()
    }

    fn set_global(&mut self, global: &str, value: Value) -> bool {
        let global = self
            .instance
            .get_global(&mut self.store, global)
            .expect("global");
        let ty = *global.ty(&self.store).content();
        global.set(&mut self.store, to_val(value, ty)).is_ok()
    }

    fn memory(&mut self, name: &str) -> (u64, u64) {
        let memory = self
            .instance
            .get_memory(&mut self.store, name)
            .expect("memory");
        let data = memory.data(&self.store);
        (data.len() as u64, super::hash_bytes(data))
    }

    fn global(&mut self, name: &str) -> Value {
        let global = self
            .instance
            .get_global(&mut self.store, name)
            .expect("global");
        from_val(&global.get(&mut self.store))
    }

    fn table(&mut self, name: &str) -> (u64, Vec<bool>) {
        let table = self
            .instance
            .get_table(&mut self.store, name)
            .expect("table");
        let size = table.size(&self.store);
        let nulls = (0..size)
            .map(|i| table.get(&mut self.store, i).is_none_or(|r| r.is_null()))
            .collect();
        (size, nulls)
    }

    fn fuel_left(&mut self) -> Option<u64> {
        self.store.get_fuel().ok()
    }
}
