//! Issue 16: memories mapped from a copy-on-write image obey the same
//! limits as copied ones: `Config::max_memory_size` below the initial size
//! refuses the instance with the same error, and a store's limiter refuses
//! growth past its limit with the image's contents intact.

mod images;

use images::{exported_memory, image_mapped_bytes};
use remap::{Config, Engine, Instance, Module, Store, StoreLimitsBuilder};

const PAGE: usize = 65536;

const MODULE: &str = r#"
(module
  (memory (export "memory") 2)
  (data (i32.const 65540) "limited image")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#;

fn instantiation_error(cow: bool) -> String {
    let mut config = Config::new();
    config
        .memory_init_cow(cow)
        .max_memory_size(Some(PAGE as u64));
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    format!("{:#}", Instance::new(&mut store, &module, &[]).unwrap_err())
}

#[test]
fn a_memory_over_the_configured_maximum_is_refused_as_without_images() {
    let imaged = instantiation_error(true);
    assert_eq!(imaged, instantiation_error(false));
    assert!(imaged.contains("exceeds the configured limit"), "{imaged}");
}

#[test]
fn a_limiter_refuses_growth_of_an_image_memory_and_keeps_its_contents() {
    let engine = Engine::default();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(3 * PAGE).build(),
    );
    store.limiter(|limits| limits);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let memory = exported_memory(&mut store, &instance);
    assert!(image_mapped_bytes(&store, memory) > 0);
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 2);
    assert_eq!(
        grow.call(&mut store, 1).unwrap(),
        -1,
        "past the limiter's limit"
    );
    assert_eq!(memory.data_size(&store), 3 * PAGE);
    assert_eq!(&memory.data(&store)[65540..65553], b"limited image");
}
