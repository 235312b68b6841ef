//! Issue 16: `Config::memory_init_cow(false)` initialises memories by
//! copying their data segments, with exactly the contents the copy-on-write
//! image gives (overlapping segments in order, 32- and 64-bit memories),
//! and maps no image.

mod images;

use images::{exported_memory, image_mapped_bytes};
use remap::{Config, Engine, Instance, Module, Store};

const MODULE: &str = r#"
(module
  (memory (export "memory") 3)
  (data (i32.const 0) "first")
  (data (i32.const 3) "overlap")
  (data (i32.const 65530) "crosses a page")
  (data (i32.add (i32.const 131072) (i32.const 5)) "extended constant")
  (data "passive"))
"#;

const MODULE64: &str = r#"
(module
  (memory (export "memory") i64 2)
  (data (i64.const 70000) "sixty-four"))
"#;

fn contents(cow: bool, text: &str) -> (Vec<u8>, u64) {
    let mut config = Config::new();
    config.memory_init_cow(cow);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, text).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let memory = exported_memory(&mut store, &instance);
    (
        memory.data(&store).to_vec(),
        image_mapped_bytes(&store, memory),
    )
}

#[test]
fn copying_gives_the_contents_of_the_image() {
    for text in [MODULE, MODULE64] {
        let (copied, copied_mapped) = contents(false, text);
        let (imaged, imaged_mapped) = contents(true, text);
        assert_eq!(copied_mapped, 0, "off: no image");
        assert!(imaged_mapped > 0, "on: an image");
        assert!(copied == imaged, "the same contents");
    }
    let (data, _) = contents(true, MODULE);
    assert_eq!(&data[..10], b"firoverlap");
    assert_eq!(&data[65530..65544], b"crosses a page");
    assert_eq!(&data[131077..131094], b"extended constant");
}
