//! Issue 16: 100 instances of a module with 16 MiB of data segments share
//! the pages of its copy-on-write image: every instance reads all of its
//! data, yet the process's proportional set size (a page mapped N times
//! counts once) grows by about one copy of the data, far below 100 copies.

mod images;

use images::{exported_memory, image_mapped_bytes, proportional_set_bytes, with_data_segments};
use remap::{Config, Engine, Instance, Module, Store};

const MIB: u64 = 1 << 20;
const INSTANCES: u64 = 100;

/// 16 MiB + one page of memory and `sum`, which adds one byte of every
/// 4 KiB of the first 16 MiB.
const CODE: &str = r#"
(module
  (memory (export "memory") 257)
  (func (export "sum") (result i32)
    (local i32 i32)
    (loop
      (local.set 1 (i32.add (local.get 1) (i32.load8_u (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 4096)))
      (br_if 0 (i32.lt_u (local.get 0) (i32.const 16777216))))
    (local.get 1)))
"#;

#[test]
fn a_hundred_instances_share_the_pages_of_their_data_segments() {
    // 16 segments of 1 MiB, segment i filled with i + 1.
    let segments: Vec<(u64, Vec<u8>)> = (0..16u64)
        .map(|i| (i * MIB, vec![i as u8 + 1; MIB as usize]))
        .collect();
    let wasm = with_data_segments(wat::parse_str(CODE).unwrap(), &segments, false);
    let expected_sum: i32 = (1..=16).map(|value| value * 256).sum();

    let engine = Engine::new(&Config::new()).unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    drop(wasm);
    let before = proportional_set_bytes();
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let sum = instance
            .get_typed_func::<(), i32>(&mut store, "sum")
            .unwrap();
        assert_eq!(sum.call(&mut store, ()).unwrap(), expected_sum);
        let memory = exported_memory(&mut store, &instance);
        assert_eq!(image_mapped_bytes(&store, memory), 16 * MIB);
        stores.push(store);
    }
    let grown = proportional_set_bytes().saturating_sub(before);
    eprintln!(
        "{INSTANCES} instances reading 16 MiB of data each: PSS +{:.1} MiB",
        grown as f64 / MIB as f64
    );
    assert!(
        grown < INSTANCES * 16 * MIB / 16,
        "PSS grew by {grown} bytes, not far below {INSTANCES} copies of 16 MiB"
    );
}
