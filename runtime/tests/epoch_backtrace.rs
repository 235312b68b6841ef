//! An interrupt's backtrace starts at the check that stopped the guest: the
//! loop header of the interrupted loop, then the call in each caller, in both
//! memory styles.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};
use wasmparser::{Operator, Parser, Payload};

const WAT: &str = r#"
(module
  (func $spin (param i32) (result i32)
    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
    (loop $forever (br $forever))
    (local.get 0))
  (func (export "spin") (result i32) (call $spin (i32.const 1))))
"#;

/// Offset of the first operator of defined function `func` matching `wanted`.
fn offset_of(wasm: &[u8], func: usize, wanted: fn(&Operator<'_>) -> bool) -> usize {
    let bodies = Parser::new(0)
        .parse_all(wasm)
        .filter_map(|payload| match payload.unwrap() {
            Payload::CodeSectionEntry(body) => Some(body),
            _ => None,
        });
    let body = bodies.into_iter().nth(func).unwrap();
    let mut reader = body.get_operators_reader().unwrap();
    loop {
        let (op, offset) = reader.read_with_offset().unwrap();
        if wanted(&op) {
            return offset as usize;
        }
    }
}

#[test]
fn an_interrupt_reports_the_loop_header_and_the_call() {
    let wasm = wat::parse_str(WAT).unwrap();
    let loop_header = offset_of(&wasm, 0, |op| matches!(op, Operator::Loop { .. }));
    let call = offset_of(&wasm, 1, |op| matches!(op, Operator::Call { .. }));
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style).epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, &wasm).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_epoch_deadline(1);
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance
            .get_typed_func::<(), i32>(&mut store, "spin")
            .unwrap();
        // The deadline passes while the guest spins; the check at the loop
        // header stops it.
        let ticker = {
            let engine = engine.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                engine.increment_epoch();
            })
        };
        let error = spin.call(&mut store, ()).unwrap_err();
        ticker.join().unwrap();
        let trap = error.downcast_ref::<Trap>().expect("a trap");
        assert_eq!(trap.kind(), TrapKind::Interrupt, "{style:?}");
        let offsets: Vec<Option<usize>> = trap
            .backtrace()
            .frames()
            .iter()
            .map(|frame| frame.module_offset())
            .collect();
        assert_eq!(
            offsets,
            [Some(loop_header), Some(call)],
            "{style:?}: {trap}"
        );
    }
}
