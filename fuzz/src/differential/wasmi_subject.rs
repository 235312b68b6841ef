//! wasmi 1.1.0, the interpreter oracle of the differential target.

use super::{Instantiated, Outcome, Subject, TrapClass, Value};
use wasmi::{Config, Engine, Instance, Linker, Module, Ref, Store, TrapCode, Val, ValType};

/// The one wasmi engine, with every proposal a core case may use.
pub struct Engines(Engine);

impl Default for Engines {
    fn default() -> Engines {
        let mut config = Config::default();
        config
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_custom_page_sizes(true)
            .wasm_wide_arithmetic(true)
            .wasm_simd(true);
        Engines(Engine::new(&config))
    }
}

impl Engines {
    /// Compiles and instantiates `wasm` (running its start function).
    pub fn instantiate(&mut self, wasm: &[u8]) -> Instantiated {
        let module = match Module::new(&self.0, wasm) {
            Ok(module) => module,
            Err(error) => return Instantiated::Unsupported(error.to_string()),
        };
        let mut store = Store::new(&self.0, ());
        let linker = Linker::<()>::new(&self.0);
        match linker.instantiate_and_start(&mut store, &module) {
            Ok(instance) => Instantiated::Ready(Box::new(WasmiSubject { store, instance })),
            Err(error) => Instantiated::Failed(outcome_of_error(&error)),
        }
    }
}

struct WasmiSubject {
    store: Store<()>,
    instance: Instance,
}

fn outcome_of_error(error: &wasmi::Error) -> Outcome {
    let Some(code) = error.as_trap_code() else {
        return Outcome::Failed;
    };
    Outcome::Trapped(match code {
        TrapCode::UnreachableCodeReached => TrapClass::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapClass::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapClass::TableOutOfBounds,
        TrapCode::IndirectCallToNull => TrapClass::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero => TrapClass::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => TrapClass::IntegerOverflow,
        TrapCode::BadConversionToInteger => TrapClass::BadConversionToInteger,
        TrapCode::StackOverflow => TrapClass::StackOverflow,
        TrapCode::BadSignature => TrapClass::BadSignature,
        TrapCode::OutOfFuel => TrapClass::OutOfFuel,
        TrapCode::GrowthOperationLimited => TrapClass::Other,
    })
}

fn to_val(value: Value, ty: ValType) -> Val {
    match (value, ty) {
        (Value::I32(v), _) => Val::I32(v),
        (Value::I64(v), _) => Val::I64(v),
        (Value::F32(v), _) => Val::F32(wasmi::F32::from_bits(v)),
        (Value::F64(v), _) => Val::F64(wasmi::F64::from_bits(v)),
        (Value::V128(v), _) => Val::V128(wasmi::V128::from(v)),
        (Value::Ref { .. }, ValType::ExternRef) => Val::ExternRef(Ref::Null),
        (Value::Ref { .. }, _) => Val::FuncRef(Ref::Null),
    }
}

fn from_val(val: &Val) -> Value {
    match val {
        Val::I32(v) => Value::I32(*v),
        Val::I64(v) => Value::I64(*v),
        Val::F32(v) => Value::F32(v.to_bits()),
        Val::F64(v) => Value::F64(v.to_bits()),
        Val::V128(v) => Value::V128(v.as_u128()),
        Val::FuncRef(f) => Value::Ref { null: f.is_null() },
        Val::ExternRef(e) => Value::Ref { null: e.is_null() },
    }
}

impl Subject for WasmiSubject {
    fn call(&mut self, export: &str, args: &[Value], _fuel: Option<u64>) -> Outcome {
        let store = &mut self.store;
        let func = self.instance.get_func(&*store, export).expect("function");
        let ty = func.ty(&*store);
        let params: Vec<Val> = args
            .iter()
            .zip(ty.params())
            .map(|(v, t)| to_val(*v, *t))
            .collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
        match func.call(&mut *store, &params, &mut results) {
            Ok(()) => Outcome::Returned(results.iter().map(from_val).collect()),
            Err(error) => outcome_of_error(&error),
        }
    }

    fn grow(&mut self, memory: &str, delta: u64) -> Option<u64> {
        let memory = self
            .instance
            .get_memory(&self.store, memory)
            .expect("memory");
        memory.grow(&mut self.store, delta).ok()
    }

    fn write(&mut self, memory: &str, offset: usize, bytes: &[u8]) -> bool {
        let memory = self
            .instance
            .get_memory(&self.store, memory)
            .expect("memory");
        memory.write(&mut self.store, offset, bytes).is_ok()
    }

    fn set_global(&mut self, global: &str, value: Value) -> bool {
        let global = self
            .instance
            .get_global(&self.store, global)
            .expect("global");
        let ty = global.ty(&self.store).content();
        global.set(&mut self.store, to_val(value, ty)).is_ok()
    }

    fn memory(&mut self, name: &str) -> (u64, u64) {
        let memory = self.instance.get_memory(&self.store, name).expect("memory");
        let data = memory.data(&self.store);
        (data.len() as u64, super::hash_bytes(data))
    }

    fn global(&mut self, name: &str) -> Value {
        let global = self.instance.get_global(&self.store, name).expect("global");
        from_val(&global.get(&self.store))
    }

    fn table(&mut self, name: &str) -> (u64, Vec<bool>) {
        let table = self.instance.get_table(&self.store, name).expect("table");
        let size = table.size(&self.store);
        let nulls = (0..size)
            .map(|i| {
                table
                    .get(&self.store, i)
                    .is_none_or(|v| from_val(&v) == Value::Ref { null: true })
            })
            .collect();
        (size, nulls)
    }

    fn fuel_left(&mut self) -> Option<u64> {
        None
    }
}
