//! Issue 16: a write into a memory mapped from its module's copy-on-write
//! image is the writer's alone: other instances of the module, and the next
//! instance that gets the writer's memory slot, read the image; a slot that
//! goes to a module with other data (or none) shows none of it. Both
//! memory styles.

mod images;

use images::{exported_memory, image_mapped_bytes};
use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

const DATA: &str = r#"
(module
  (memory (export "memory") 2)
  (data (i32.const 100) "image")
  (data (i32.const 70000) "second page")
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))
"#;

const OTHER_DATA: &str = r#"
(module
  (memory (export "memory") 2)
  (data (i32.const 104) "!"))
"#;

const NO_DATA: &str = r#"(module (memory (export "memory") 2))"#;

#[test]
fn writes_stay_private_to_the_instance_that_made_them() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, DATA).unwrap();

        let mut writer = Store::new(&engine, ());
        let instance = Instance::new(&mut writer, &module, &[]).unwrap();
        let written = exported_memory(&mut writer, &instance);
        assert!(
            image_mapped_bytes(&writer, written) > 0,
            "{style:?}: mapped from the image"
        );
        let store = instance
            .get_typed_func::<(i32, i32), ()>(&mut writer, "store")
            .unwrap();
        store.call(&mut writer, (100, i32::from(b'I'))).unwrap();
        store.call(&mut writer, (70001, i32::from(b'E'))).unwrap();
        store.call(&mut writer, (5, 1)).unwrap();
        written.write(&mut writer, 200, b"host write").unwrap();
        assert_eq!(&written.data(&writer)[100..105], b"Image");
        let slot = written.data_ptr(&writer);

        let mut reader = Store::new(&engine, ());
        let instance = Instance::new(&mut reader, &module, &[]).unwrap();
        let read = exported_memory(&mut reader, &instance);
        assert_eq!(&read.data(&reader)[100..105], b"image", "{style:?}");
        assert_eq!(&read.data(&reader)[70000..70011], b"second page");
        assert_eq!(read.data(&reader)[5], 0);
        assert_eq!(read.data(&reader)[200], 0);

        // The writer's slot goes to the next instance of the same module.
        drop(writer);
        let mut next = Store::new(&engine, ());
        let instance = Instance::new(&mut next, &module, &[]).unwrap();
        let reused = exported_memory(&mut next, &instance);
        assert_eq!(reused.data_ptr(&next), slot, "{style:?}: the writer's slot");
        assert_eq!(&reused.data(&next)[100..105], b"image", "{style:?}");
        assert_eq!(&reused.data(&next)[70000..70011], b"second page");
        assert!(reused.data(&next)[..100].iter().all(|&b| b == 0));
        assert!(reused.data(&next)[105..70000].iter().all(|&b| b == 0));

        // Then to a module with other data, then to one without any.
        reused.write(&mut next, 300, b"more").unwrap();
        drop(next);
        for (text, expected) in [(OTHER_DATA, b"\0\0\0\0!"), (NO_DATA, b"\0\0\0\0\0")] {
            let other = Module::new(&engine, text).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &other, &[]).unwrap();
            let memory = exported_memory(&mut store, &instance);
            assert_eq!(memory.data_ptr(&store), slot, "{style:?}: the same slot");
            let data = memory.data(&store);
            assert_eq!(&data[100..105], expected, "{style:?}");
            assert!(
                data[..100].iter().chain(&data[105..]).all(|&b| b == 0),
                "{style:?}"
            );
        }
    }
}
