//! Wasmtime 48, the compiled-code oracle of the differential target (and
//! the only one for relaxed SIMD, typed function references and GC types).

use super::{Instantiated, Outcome, Subject, TrapClass, Value};
use wasmtime::{Config, Engine, Instance, Linker, Module, Store, Trap, Val, ValType};

/// Two engines: without and with fuel.
pub struct Engines {
    plain: Engine,
    metered: Engine,
}

fn engine(fuel: bool) -> Engine {
    let mut config = Config::new();
    config
        .wasm_memory64(true)
        .wasm_multi_memory(true)
        .wasm_custom_page_sizes(true)
        .wasm_wide_arithmetic(true)
        .wasm_tail_call(true)
        .wasm_function_references(true)
        .wasm_gc(true)
        .wasm_exceptions(true)
        .wasm_relaxed_simd(true)
        .relaxed_simd_deterministic(true)
        .parallel_compilation(false)
        .consume_fuel(fuel);
    Engine::new(&config).expect("a valid Wasmtime configuration")
}

impl Default for Engines {
    fn default() -> Engines {
        Engines {
            plain: engine(false),
            metered: engine(true),
        }
    }
}

impl Engines {
    /// Compiles and instantiates `wasm`, metering fuel when `fuel`.
    pub fn instantiate(&mut self, wasm: &[u8], fuel: bool) -> Instantiated {
        let engine = if fuel { &self.metered } else { &self.plain };
        let module = match Module::new(engine, wasm) {
            Ok(module) => module,
            Err(error) => return Instantiated::Unsupported(format!("{error:#}")),
        };
        let mut store = Store::new(engine, ());
        if fuel {
            store.set_fuel(u64::MAX / 2).expect("fuel is on");
        }
        let linker = Linker::new(engine);
        match linker.instantiate(&mut store, &module) {
            Ok(instance) => Instantiated::Ready(Box::new(WasmtimeSubject {
                store,
                instance,
                fuel,
            })),
            Err(error) => Instantiated::Failed(outcome_of_error(&error)),
        }
    }
}

struct WasmtimeSubject {
    store: Store<()>,
    instance: Instance,
    fuel: bool,
}

fn outcome_of_error(error: &wasmtime::Error) -> Outcome {
    if error.is::<wasmtime::ThrownException>() {
        return Outcome::Uncaught;
    }
    if error.is::<wasmtime::GcHeapOutOfMemory<()>>() {
        return Outcome::Trapped(TrapClass::GcHeapExhausted);
    }
    let Some(trap) = error.downcast_ref::<Trap>() else {
        return Outcome::Failed;
    };
    Outcome::Trapped(match trap {
        Trap::StackOverflow => TrapClass::StackOverflow,
        Trap::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
        Trap::TableOutOfBounds => TrapClass::TableOutOfBounds,
        Trap::IndirectCallToNull => TrapClass::IndirectCallToNull,
        Trap::BadSignature => TrapClass::BadSignature,
        Trap::IntegerOverflow => TrapClass::IntegerOverflow,
        Trap::IntegerDivisionByZero => TrapClass::IntegerDivisionByZero,
        Trap::BadConversionToInteger => TrapClass::BadConversionToInteger,
        Trap::UnreachableCodeReached => TrapClass::Unreachable,
        Trap::NullReference => TrapClass::NullReference,
        Trap::CastFailure => TrapClass::CastFailure,
        Trap::OutOfFuel => TrapClass::OutOfFuel,
        Trap::AllocationTooLarge => TrapClass::GcHeapExhausted,
        _ => TrapClass::Other,
    })
}

fn to_val(value: Value, ty: &ValType) -> Val {
    match (value, ty) {
        (Value::I32(v), _) => Val::I32(v),
        (Value::I64(v), _) => Val::I64(v),
        (Value::F32(v), _) => Val::F32(v),
        (Value::F64(v), _) => Val::F64(v),
        (Value::V128(v), _) => Val::V128(v.into()),
        (Value::Ref { .. }, ValType::Ref(r)) => Val::null_ref(r.heap_type()),
        (Value::Ref { .. }, _) => unreachable!("reference values are made for reference types"),
    }
}

fn from_val(val: &Val) -> Value {
    match val {
        Val::I32(v) => Value::I32(*v),
        Val::I64(v) => Value::I64(*v),
        Val::F32(v) => Value::F32(*v),
        Val::F64(v) => Value::F64(*v),
        Val::V128(v) => Value::V128(v.as_u128()),
        other => Value::Ref {
            null: (*other).ref_().is_none_or(|r| r.is_null()),
        },
    }
}

impl Subject for WasmtimeSubject {
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
            .map(|(v, t)| to_val(*v, &t))
            .collect();
        let mut results = vec![Val::I32(0); ty.results().len()];
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
        let ty = global.ty(&self.store).content().clone();
        global.set(&mut self.store, to_val(value, &ty)).is_ok()
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
