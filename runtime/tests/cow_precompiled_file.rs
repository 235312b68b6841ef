//! Issue 16: a module loaded with `Module::deserialize_file` maps its
//! memory images copy-on-write straight from the precompiled file (no
//! `memfd` is built) and reads its segments from the file, and behaves like
//! the module it was compiled from: active, overlapping and passive
//! segments, private writes, re-serialization; both memory styles.

mod images;

use images::{exported_memory, image_mapped_bytes, mapped_bytes_from};
use remap::{Config, Engine, Instance, MemoryStyle, Module, Store};

const DATA: &str = r#"
(module
  (memory (export "memory") 2)
  (data (i32.const 100) "image")
  (data (i32.const 70000) "second page")
  (data (i32.const 102) "AGE")
  (data $passive "passive bytes")
  (func (export "init") (memory.init $passive (i32.const 200) (i32.const 0) (i32.const 13)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))
"#;

#[test]
fn a_precompiled_file_is_its_modules_memory_image() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let bytes = Module::new(&engine, DATA).unwrap().serialize().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data-image.cwasm");
        std::fs::write(&path, &bytes).unwrap();
        // SAFETY: the file was just written by serialize() and nothing changes it.
        let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();

        let mut first = Store::new(&engine, ());
        let instance = Instance::new(&mut first, &module, &[]).unwrap();
        let memory = exported_memory(&mut first, &instance);
        assert!(
            mapped_bytes_from(&first, memory, "data-image.cwasm") > 0,
            "{style:?}"
        );
        assert_eq!(image_mapped_bytes(&first, memory), 0, "no memfd: {style:?}");
        let data = memory.data(&first);
        assert_eq!(&data[100..105], b"imAGE");
        assert_eq!(&data[70000..70011], b"second page");
        assert!(data[..100].iter().chain(&data[105..70000]).all(|&b| b == 0));

        instance
            .get_typed_func::<(), ()>(&mut first, "init")
            .unwrap()
            .call(&mut first, ())
            .unwrap();
        instance
            .get_typed_func::<(i32, i32), ()>(&mut first, "store")
            .unwrap()
            .call(&mut first, (100, i32::from(b'I')))
            .unwrap();
        let data = memory.data(&first);
        assert_eq!(&data[200..213], b"passive bytes");
        assert_eq!(&data[100..105], b"ImAGE");

        let mut second = Store::new(&engine, ());
        let other = Instance::new(&mut second, &module, &[]).unwrap();
        let other_memory = exported_memory(&mut second, &other);
        let data = other_memory.data(&second);
        assert_eq!(
            &data[100..105],
            b"imAGE",
            "the first instance's write is its own"
        );
        assert!(data[200..213].iter().all(|&b| b == 0));

        assert_eq!(module.serialize().unwrap(), bytes, "re-serializes the same");
    }
}
