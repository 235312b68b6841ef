//! Backtrace frames carry the Wasm offset of the exact instruction: the
//! trapping one in the innermost frame, the call in each caller. Expected
//! offsets come from the binary itself (wasmparser's operator offsets).

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};
use wasmparser::{Operator, Parser, Payload};

const WAT: &str = r#"
(module
  (memory 1)
  (func $inner (param i32) (result i32)
    (i32.add (i32.const 1) (i32.load (local.get 0))))
  (func $middle (param i32) (result i32)
    (i32.const 5)
    (drop)
    (call $inner (local.get 0)))
  (func $outer (export "load") (param i32) (result i32)
    (nop)
    (call $middle (local.get 0)))
  (func $divide (param i32) (result i32) (i32.div_u (i32.const 9) (local.get 0)))
  (func (export "divide") (param i32) (result i32) (call $divide (local.get 0)))
  (func $fill (memory.fill (i32.const 65530) (i32.const 0) (i32.const 100)))
  (func (export "fill") (nop) (call $fill))
  (func $unreachable (unreachable))
  (func (export "unreachable") (call $unreachable)))
"#;

/// Per defined function (in order): its body offset and its operators with offsets.
fn operators(wasm: &[u8]) -> Vec<(usize, Vec<(String, usize)>)> {
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut reader = body.get_operators_reader().unwrap();
            let mut ops = Vec::new();
            while !reader.eof() {
                let (op, offset) = reader.read_with_offset().unwrap();
                let name = match op {
                    Operator::Call { .. } => "call".to_string(),
                    other => format!("{other:?}"),
                };
                ops.push((name, offset as usize));
            }
            bodies.push((body.range().start as usize, ops));
        }
    }
    bodies
}

/// Offset of the only operator of function `func` whose name starts with `prefix`.
fn offset_of(wasm: &[u8], func: usize, prefix: &str) -> usize {
    let bodies = operators(wasm);
    let found: Vec<usize> = bodies[func]
        .1
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|&(_, offset)| offset)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{prefix} in function {func}: {:?}",
        bodies[func]
    );
    found[0]
}

fn trap(module: &Module, name: &str, arg: Option<i32>) -> Trap {
    let mut store = Store::new(module.engine(), ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let func = instance.get_func(&mut store, name).unwrap();
    let params: Vec<remap::Val> = arg.into_iter().map(remap::Val::I32).collect();
    let mut results = vec![remap::Val::I32(0); func.ty(&store).results().len()];
    let error = func.call(&mut store, &params, &mut results).unwrap_err();
    error.downcast_ref::<Trap>().expect("a trap").clone()
}

fn offsets(trap: &Trap) -> Vec<Option<usize>> {
    trap.backtrace()
        .frames()
        .iter()
        .map(|frame| frame.module_offset())
        .collect()
}

fn engines() -> Vec<Engine> {
    [MemoryStyle::Static, MemoryStyle::Dynamic]
        .into_iter()
        .map(|style| {
            let mut config = Config::new();
            config.memory_style(style);
            Engine::new(&config).unwrap()
        })
        .collect()
}

#[test]
fn a_fault_in_a_nested_call_reports_the_load_and_each_call() {
    let wasm = wat::parse_str(WAT).unwrap();
    for engine in engines() {
        let module = Module::new(&engine, &wasm).unwrap();
        let trap = trap(&module, "load", Some(65535));
        assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds);
        assert_eq!(
            offsets(&trap),
            [
                Some(offset_of(&wasm, 0, "I32Load")),
                Some(offset_of(&wasm, 1, "call")),
                Some(offset_of(&wasm, 2, "call")),
            ],
            "{trap}"
        );
        let frames = trap.backtrace().frames();
        let body = operators(&wasm)[0].0;
        assert_eq!(
            frames[0].func_offset(),
            Some(offset_of(&wasm, 0, "I32Load") - body)
        );
        assert!(
            trap.to_string()
                .contains(&format!("0: {:#x} - ", offset_of(&wasm, 0, "I32Load"))),
            "{trap}"
        );
    }
}

#[test]
fn traps_from_trap_instructions_report_their_instruction() {
    let wasm = wat::parse_str(WAT).unwrap();
    for engine in engines() {
        let module = Module::new(&engine, &wasm).unwrap();
        let divide = trap(&module, "divide", Some(0));
        assert_eq!(divide.kind(), TrapKind::IntegerDivisionByZero);
        assert_eq!(
            offsets(&divide),
            [
                Some(offset_of(&wasm, 3, "I32DivU")),
                Some(offset_of(&wasm, 4, "call"))
            ]
        );
        let unreachable = trap(&module, "unreachable", None);
        assert_eq!(
            offsets(&unreachable),
            [
                Some(offset_of(&wasm, 7, "Unreachable")),
                Some(offset_of(&wasm, 8, "call"))
            ]
        );
    }
}

#[test]
fn a_trap_inside_a_builtin_reports_its_function_and_the_exact_callers() {
    let wasm = wat::parse_str(WAT).unwrap();
    let module = Module::new(&Engine::default(), &wasm).unwrap();
    let trap = trap(&module, "fill", None);
    assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds);
    let fill_body = operators(&wasm)[5].0;
    assert_eq!(
        offsets(&trap),
        [Some(fill_body), Some(offset_of(&wasm, 6, "call"))],
        "{trap}"
    );
    assert_eq!(trap.backtrace().frames()[0].func_offset(), Some(0));
}

#[test]
fn a_deserialized_module_reports_the_same_offsets() {
    let wasm = wat::parse_str(WAT).unwrap();
    let engine = Engine::default();
    let compiled = Module::new(&engine, &wasm).unwrap();
    // SAFETY: the bytes come straight from serialize().
    let loaded = unsafe { Module::deserialize(&engine, compiled.serialize().unwrap()) }.unwrap();
    for name in ["load", "fill"] {
        let arg = (name == "load").then_some(65535);
        assert_eq!(
            offsets(&trap(&compiled, name, arg)),
            offsets(&trap(&loaded, name, arg))
        );
    }
}

#[test]
fn a_module_mapped_from_its_file_reports_the_same_frames_and_names() {
    let wasm = wat::parse_str(WAT).unwrap();
    let engine = Engine::default();
    let compiled = Module::new(&engine, &wasm).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("module.cwasm");
    std::fs::write(&path, compiled.serialize().unwrap()).unwrap();
    // SAFETY: the file was just written by serialize() and nothing changes it.
    let mapped = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    let frames = |trap: &Trap| -> Vec<(Option<usize>, Option<String>)> {
        trap.backtrace()
            .frames()
            .iter()
            .map(|frame| (frame.module_offset(), frame.func_name().map(str::to_owned)))
            .collect()
    };
    for (name, arg, kind) in [
        ("load", Some(65535), TrapKind::MemoryOutOfBounds),
        ("divide", Some(0), TrapKind::IntegerDivisionByZero),
        ("fill", None, TrapKind::MemoryOutOfBounds),
        ("unreachable", None, TrapKind::UnreachableCodeReached),
    ] {
        let expected = trap(&compiled, name, arg);
        let found = trap(&mapped, name, arg);
        assert_eq!(found.kind(), kind);
        assert_eq!(frames(&found), frames(&expected), "{found}");
    }
    let load = trap(&mapped, "load", Some(65535));
    let names: Vec<_> = frames(&load).into_iter().map(|(_, name)| name).collect();
    assert_eq!(
        names,
        ["inner", "middle", "outer"].map(|name| Some(name.to_owned()))
    );
}

#[test]
fn a_stack_overflow_reports_the_function_body_and_the_recursive_call() {
    let wat = r#"(module (func $recurse (export "recurse") (nop) (call $recurse)))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let module = Module::new(&Engine::default(), &wasm).unwrap();
    let trap = trap(&module, "recurse", None);
    assert_eq!(trap.kind(), TrapKind::StackOverflow);
    let frames = offsets(&trap);
    let body = operators(&wasm)[0].0;
    let call = offset_of(&wasm, 0, "call");
    assert_eq!(frames[0], Some(body), "{trap}");
    assert!(
        frames[1..].iter().all(|&offset| offset == Some(call)),
        "{trap}"
    );
}
