//! Custom descriptors are off by default: a module that uses them is
//! rejected when it is compiled, with an error that names the feature.

use remap::{Config, Engine, Module};

const WAT: &str = r#"
(module
  (rec
    (type $object (descriptor $vtable) (struct))
    (type $vtable (describes $object) (struct))))
"#;

#[test]
fn descriptor_types_need_the_config_switch() {
    let error = Module::new(&Engine::default(), WAT).unwrap_err();
    assert!(
        format!("{error:#}").contains("custom descriptors"),
        "{error:#}"
    );
    let mut config = Config::new();
    config.wasm_custom_descriptors(true);
    assert!(Module::new(&Engine::new(&config).unwrap(), WAT).is_ok());
}
