//! Resource limiters: `StoreLimits` and a custom `ResourceLimiter` decide
//! `memory.grow`, `table.grow`, the host API's growth and the counts and
//! initial sizes at instantiation. A denied growth returns -1 and leaves the
//! memory (size, contents, pins, statistics) unchanged, in both memory
//! styles; asked to, a denial stops the guest instead.

use remap::{
    Config, Engine, Instance, MemoryStyle, Module, ResourceLimiter, Store, StoreLimits,
    StoreLimitsBuilder,
};

const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    (table.grow (ref.null func) (local.get 0)))
  (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))
"#;

const PAGE: usize = 65536;

fn engine(style: MemoryStyle, pin: bool) -> Engine {
    let mut config = Config::new();
    config.memory_style(style).pin_memory(pin);
    Engine::new(&config).unwrap()
}

fn limited_store(engine: &Engine, limits: StoreLimits) -> Store<StoreLimits> {
    let mut store = Store::new(engine, limits);
    store.limiter(|limits| limits);
    store
}

fn call(
    store: &mut Store<StoreLimits>,
    instance: Instance,
    name: &str,
    arg: i32,
) -> anyhow::Result<i32> {
    instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .unwrap()
        .call(&mut *store, arg)
}

#[test]
fn a_denied_memory_grow_returns_minus_one_and_changes_nothing() {
    let pin_tests = std::env::var_os("REMAP_SKIP_PIN_TESTS").is_none();
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        for pin in [false, pin_tests] {
            let engine = engine(style, pin);
            let module = Module::new(&engine, WAT).unwrap();
            let limits = StoreLimitsBuilder::new().memory_size(3 * PAGE).build();
            let mut store = limited_store(&engine, limits);
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let poke = instance
                .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
                .unwrap();
            poke.call(&mut store, (PAGE as i32 - 1, 42)).unwrap();
            assert_eq!(call(&mut store, instance, "grow_memory", 2).unwrap(), 1);
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let before = store.memory_stats();
            assert_eq!(call(&mut store, instance, "grow_memory", 1).unwrap(), -1);
            assert_eq!(memory.size(&store), 3);
            assert_eq!(memory.data(&store)[PAGE - 1], 42);
            assert_eq!(store.memory_stats(), before, "{style:?}, pinned {pin}");
            // The host API is limited too.
            assert!(memory.grow(&mut store, 1).is_err());
            assert_eq!(memory.size(&store), 3);
        }
    }
}

#[test]
fn a_limit_can_stop_the_guest_instead() {
    let engine = engine(MemoryStyle::Dynamic, false);
    let module = Module::new(&engine, WAT).unwrap();
    let limits = StoreLimitsBuilder::new()
        .memory_size(2 * PAGE)
        .table_elements(4)
        .trap_on_grow_failure(true)
        .build();
    let mut store = limited_store(&engine, limits);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let error = call(&mut store, instance, "grow_memory", 5).unwrap_err();
    assert!(
        format!("{error:#}").contains("exceeds the store's limit"),
        "{error:#}"
    );
    let error = call(&mut store, instance, "grow_table", 10).unwrap_err();
    assert!(format!("{error:#}").contains("table growth"), "{error:#}");
    // Within the limits the store goes on.
    assert_eq!(call(&mut store, instance, "grow_memory", 1).unwrap(), 1);
    assert_eq!(call(&mut store, instance, "grow_table", 3).unwrap(), 1);
}

#[test]
fn a_denied_table_grow_returns_minus_one() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style, false);
        let module = Module::new(&engine, WAT).unwrap();
        let limits = StoreLimitsBuilder::new().table_elements(5).build();
        let mut store = limited_store(&engine, limits);
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(call(&mut store, instance, "grow_table", 4).unwrap(), 1);
        assert_eq!(call(&mut store, instance, "grow_table", 1).unwrap(), -1);
        let table = instance.get_table(&mut store, "table").unwrap();
        assert_eq!(table.size(&store), 5);
    }
}

#[test]
fn instantiation_respects_counts_and_initial_sizes() {
    let engine = engine(MemoryStyle::Static, false);
    let module = Module::new(&engine, WAT).unwrap();
    let limits = StoreLimitsBuilder::new().instances(2).build();
    let mut store = limited_store(&engine, limits);
    Instance::new(&mut store, &module, &[]).unwrap();
    Instance::new(&mut store, &module, &[]).unwrap();
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(error.to_string().contains("3 instances"), "{error}");

    let limits = StoreLimitsBuilder::new().memories(0).build();
    let mut store = limited_store(&engine, limits);
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(error.to_string().contains("memories"), "{error}");

    let big = Module::new(&engine, "(module (memory 4))").unwrap();
    let limits = StoreLimitsBuilder::new().memory_size(2 * PAGE).build();
    let mut store = limited_store(&engine, limits);
    let error = Instance::new(&mut store, &big, &[]).unwrap_err();
    assert!(error.to_string().contains("refused a memory"), "{error}");
}

/// Records every question and allows memories up to two pages.
#[derive(Default)]
struct Recorder {
    memory_questions: Vec<(usize, usize, Option<usize>)>,
}

impl ResourceLimiter for Recorder {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> anyhow::Result<bool> {
        self.memory_questions.push((current, desired, maximum));
        Ok(desired <= 2 * PAGE)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> anyhow::Result<bool> {
        Ok(true)
    }
}

#[test]
fn a_custom_limiter_sees_sizes_in_bytes() {
    let engine = engine(MemoryStyle::Dynamic, false);
    let module = Module::new(&engine, "(module (memory 1 8) (func (export \"grow_memory\") (param i32) (result i32) (memory.grow (local.get 0))))").unwrap();
    let mut store = Store::new(&engine, Recorder::default());
    store.limiter(|recorder| recorder);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_memory")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    // A growth past the type's maximum is refused before the limiter.
    assert_eq!(grow.call(&mut store, 100).unwrap(), -1);
    assert_eq!(
        store.data().memory_questions,
        [
            (0, PAGE, Some(8 * PAGE)),
            (PAGE, 2 * PAGE, Some(8 * PAGE)),
            (2 * PAGE, 3 * PAGE, Some(8 * PAGE)),
        ]
    );
}
