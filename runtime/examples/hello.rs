//! Loads a module that imports a host function, lets it write a greeting into
//! its memory, reads the greeting back from the host, and calls a typed export.

use anyhow::{Context, Result};
use remap::{Caller, Engine, Extern, Linker, Module, Store};

const WAT: &str = r#"
(module
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Hello from Wasm!")
  (func (export "greet") (param $times i32) (result i32)
    (local $i i32)
    (loop $again
      (call $log (i32.const 16) (i32.const 16))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $times))))
    (i32.mul (local.get $times) (i32.const 16))))
"#;

fn main() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT)?;
    let mut store = Store::new(&engine, Vec::<String>::new());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| -> Result<()> {
            let memory = match caller.get_export("memory") {
                Some(Extern::Memory(memory)) => memory,
                _ => anyhow::bail!("the guest exports no memory"),
            };
            let mut bytes = vec![0; len as usize];
            memory.read(&caller, ptr as usize, &mut bytes)?;
            let text = String::from_utf8(bytes).context("the guest's string is not UTF-8")?;
            println!("guest says: {text}");
            caller.data_mut().push(text);
            Ok(())
        },
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let greet = instance.get_typed_func::<i32, i32>(&mut store, "greet")?;
    let bytes = greet.call(&mut store, 3)?;
    println!(
        "greet(3) returned {bytes}; the host logged {} messages",
        store.data().len()
    );
    Ok(())
}
