//! At an import boundary an exact function import takes only a function of
//! exactly its type, where an inexact one also takes a subtype.

use remap::{Config, Engine, Extern, Instance, Module, Store};

const TYPES: &str = r#"
  (type $super (sub (func)))
  (type $sub (sub $super (func)))
"#;

fn importer(engine: &Engine, import: &str) -> Module {
    let wat = format!(r#"(module {TYPES} (import "provider" "f" {import}))"#);
    Module::new(engine, &wat).unwrap()
}

#[test]
fn exact_imports_reject_subtypes() {
    let mut config = Config::new();
    config.wasm_custom_descriptors(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let provider = Module::new(
        &engine,
        format!(r#"(module {TYPES} (func (export "f") (type $sub)))"#),
    )
    .unwrap();
    let provider = Instance::new(&mut store, &provider, &[]).unwrap();
    let imports: [Extern; 1] = [provider.get_func(&mut store, "f").unwrap().into()];

    let inexact_super = importer(&engine, "(func (type $super))");
    assert!(Instance::new(&mut store, &inexact_super, &imports).is_ok());
    let exact_sub = importer(&engine, "(func (exact (type $sub)))");
    assert!(Instance::new(&mut store, &exact_sub, &imports).is_ok());

    let exact_super = importer(&engine, "(func (exact (type $super)))");
    let error = Instance::new(&mut store, &exact_super, &imports).unwrap_err();
    assert!(
        format!("{error:#}").contains("incompatible import type"),
        "{error:#}"
    );
}
