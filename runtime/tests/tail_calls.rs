//! Tail calls run in constant stack: ten million mutual tail calls, within
//! an instance and between two instances, finish where the same recursion
//! with ordinary calls exhausts the stack; a tail call to a host function
//! returns its results to the caller's caller; a trap inside a tail-called
//! function has a backtrace without the frames tail calls replaced. In both
//! memory styles.

use remap::{
    Caller, Config, Engine, Extern, Func, Instance, MemoryStyle, Module, Store, Trap, TrapKind,
    WasmBacktrace,
};

const CALLS: i64 = 10_000_000;

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

const EVEN_ODD: &str = r#"
(module
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (export "odd") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
  (func $even_by_call (export "even_by_call") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (call $odd_by_call (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd_by_call (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (call $even_by_call (i64.sub (local.get 0) (i64.const 1)))))))
"#;

#[test]
fn ten_million_mutual_tail_calls_run_in_constant_stack() {
    for engine in engines() {
        let module = Module::new(&engine, EVEN_ODD).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let even = instance
            .get_typed_func::<i64, i32>(&mut store, "even")
            .unwrap();
        assert_eq!(even.call(&mut store, CALLS).unwrap(), 1);
        assert_eq!(even.call(&mut store, CALLS + 1).unwrap(), 0);
    }
}

#[test]
fn the_same_recursion_with_calls_exhausts_the_stack() {
    for engine in engines() {
        let module = Module::new(&engine, EVEN_ODD).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let even = instance
            .get_typed_func::<i64, i32>(&mut store, "even_by_call")
            .unwrap();
        let error = even.call(&mut store, CALLS).unwrap_err();
        let trap = error.downcast_ref::<Trap>().expect("a trap");
        assert_eq!(trap.kind(), TrapKind::StackOverflow);
    }
}

/// `ping` and `pong` live in two instances and tail-call each other through
/// a table both share: A's `ping` at element 0, B's `pong` at element 1.
const PING: &str = r#"
(module
  (type $step (func (param i64) (result i64)))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $ping)
  (func $ping (export "ping") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 100))
      (else (return_call_indirect (type $step)
        (i64.sub (local.get 0) (i64.const 1)) (i32.const 1))))))
"#;

const PONG: &str = r#"
(module
  (type $step (func (param i64) (result i64)))
  (import "a" "table" (table 2 funcref))
  (elem (i32.const 1) $pong)
  (func $pong (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 200))
      (else (return_call_ref $step
        (i64.sub (local.get 0) (i64.const 1))
        (ref.cast (ref $step) (table.get (i32.const 0))))))))
"#;

#[test]
fn mutual_tail_calls_between_two_instances_run_in_constant_stack() {
    for engine in engines() {
        let mut store = Store::new(&engine, ());
        let ping_module = Module::new(&engine, PING).unwrap();
        let pong_module = Module::new(&engine, PONG).unwrap();
        let a = Instance::new(&mut store, &ping_module, &[]).unwrap();
        let table = a.get_table(&mut store, "table").unwrap();
        Instance::new(&mut store, &pong_module, &[Extern::Table(table)]).unwrap();
        let ping = a.get_typed_func::<i64, i64>(&mut store, "ping").unwrap();
        // An even count ends in `ping`, an odd one in `pong`.
        assert_eq!(ping.call(&mut store, CALLS).unwrap(), 100);
        assert_eq!(ping.call(&mut store, CALLS + 1).unwrap(), 200);
    }
}

#[test]
fn a_tail_call_to_a_host_function_returns_to_the_callers_caller() {
    const WAT: &str = r#"
    (module
      (import "host" "scale" (func $scale (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "\07")
      (func $forward (param i32) (result i32) (return_call $scale (local.get 0)))
      (func (export "run") (param i32) (result i32)
        (i32.add (call $forward (local.get 0)) (i32.const 1))))
    "#;
    for engine in engines() {
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        // The host reads the caller's memory: the tail-calling instance's.
        let scale = Func::wrap(&mut store, |mut caller: Caller<'_, ()>, x: i32| {
            let memory = caller.get_export("memory").unwrap().into_memory().unwrap();
            x * i32::from(memory.data(&caller)[0])
        });
        let instance = Instance::new(&mut store, &module, &[Extern::Func(scale)]).unwrap();
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, 6).unwrap(), 43);
    }
}

#[test]
fn a_trap_after_tail_calls_has_no_replaced_frames() {
    const WAT: &str = r#"
    (module $tails
      (func $fails (unreachable))
      (func $replaced (return_call $fails))
      (func $caller (export "run") (call $replaced) (nop)))
    "#;
    for engine in engines() {
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        let error = run.call(&mut store, ()).unwrap_err();
        let trap = error.downcast_ref::<Trap>().expect("a trap");
        assert_eq!(trap.kind(), TrapKind::UnreachableCodeReached);
        let names: Vec<_> = trap
            .backtrace()
            .frames()
            .iter()
            .map(|frame| frame.func_name())
            .collect();
        assert_eq!(names, [Some("fails"), Some("caller")], "{trap}");
    }
}

#[test]
fn a_host_error_after_a_tail_call_shows_only_the_frames_left() {
    const WAT: &str = r#"
    (module $tails
      (import "host" "fail" (func $fail))
      (func $replaced (return_call $fail))
      (func $run (export "run") (call $replaced) (nop))
      (func (export "direct") (return_call $fail)))
    "#;
    for engine in engines() {
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let fail = Func::wrap(&mut store, || -> anyhow::Result<()> {
            anyhow::bail!("the host refuses")
        });
        let instance = Instance::new(&mut store, &module, &[Extern::Func(fail)]).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        let error = run.call(&mut store, ()).unwrap_err();
        assert!(
            format!("{error:#}").contains("the host refuses"),
            "{error:#}"
        );
        let backtrace = error.downcast_ref::<WasmBacktrace>().expect("Wasm frames");
        let names: Vec<_> = backtrace.frames().iter().map(|f| f.func_name()).collect();
        assert_eq!(names, [Some("run")], "{backtrace}");

        // Tail-called straight from the host's entry: no Wasm frame is left.
        let direct = instance
            .get_typed_func::<(), ()>(&mut store, "direct")
            .unwrap();
        let error = direct.call(&mut store, ()).unwrap_err();
        assert!(
            format!("{error:#}").contains("the host refuses"),
            "{error:#}"
        );
        assert!(error.downcast_ref::<WasmBacktrace>().is_none(), "{error:?}");
        // The store is still usable.
        assert!(run.call(&mut store, ()).is_err());
    }
}
