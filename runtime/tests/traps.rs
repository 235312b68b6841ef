//! One test per trap kind, in both memory styles: the host survives, the trap
//! has the right kind and a Wasm backtrace, and the store stays usable.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind};

const TRAPS_WAT: &str = r#"
(module $traps
  (type $void (func))
  (type $i32 (func (result i32)))
  (memory 1)
  (table $t 2 funcref)
  (elem (i32.const 0) $returns_one)
  (func $returns_one (result i32) (i32.const 1))
  (func $nothing)
  (func (export "memory_oob") (result i32) (i32.load (i32.const 65535)))
  (func (export "memory_oob_far") (result i32) (i32.load offset=4000000000 (i32.const 4000000000)))
  (func (export "store_oob") (i32.store8 (i32.const 65536) (i32.const 1)))
  (func (export "table_oob") (result funcref) (table.get $t (i32.const 7)))
  (func (export "indirect_oob") (result i32) (call_indirect (type $i32) (i32.const 9)))
  (func (export "indirect_null") (result i32) (call_indirect (type $i32) (i32.const 1)))
  (func (export "indirect_mismatch") (call_indirect (type $void) (i32.const 0)))
  (func (export "div_by_zero") (param i32) (result i32) (i32.div_s (i32.const 7) (local.get 0)))
  (func (export "rem_by_zero") (param i64) (result i64) (i64.rem_u (i64.const 7) (local.get 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "trunc_overflow") (result i32) (i32.trunc_f64_s (f64.const 1e100)))
  (func (export "trunc_nan") (result i32) (i32.trunc_f32_u (f32.const nan)))
  (func $inner (export "unreachable") (unreachable))
  (func $middle (call $inner))
  (func (export "nested_unreachable") (call $middle))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
  (func $forever (export "forever") (call $forever))
  (func (export "fine") (result i32) (i32.const 42))
  (func $outer (export "outer_forever") (call $forever))
  (func (export "call_ref_null") (result i32) (call_ref $i32 (ref.null $i32)))
  (func (export "as_non_null") (drop (ref.as_non_null (ref.null func))))
  (func (export "cast_failure") (drop (ref.cast (ref $void) (ref.func $returns_one)))))
"#;

fn setup(style: MemoryStyle) -> (Store<()>, Instance) {
    let mut config = Config::new();
    config.memory_style(style);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, TRAPS_WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Calls export `name` with `params` and returns the trap it raised.
fn trap_of(store: &mut Store<()>, instance: Instance, name: &str, params: &[remap::Val]) -> Trap {
    let func = instance.get_func(&mut *store, name).unwrap();
    let mut results = vec![remap::Val::I32(0); func.ty(&*store).results().len()];
    let error = func
        .call(&mut *store, params, &mut results)
        .expect_err("the call should trap");
    let trap = error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {error:#}"))
        .clone();
    // The store is still usable after the trap.
    let fine = instance
        .get_typed_func::<(), i32>(&mut *store, "fine")
        .unwrap();
    assert_eq!(fine.call(&mut *store, ()).unwrap(), 42);
    trap
}

fn check(style: MemoryStyle, name: &str, params: &[remap::Val], kind: TrapKind) -> Trap {
    let (mut store, instance) = setup(style);
    let trap = trap_of(&mut store, instance, name, params);
    assert_eq!(trap.kind(), kind, "{name}: {trap}");
    assert!(
        trap.to_string()
            .starts_with(&format!("wasm trap: {}", kind.message())),
        "{trap}"
    );
    trap
}

macro_rules! trap_tests {
    ($($test:ident: $name:literal $params:expr => $kind:ident;)*) => {
        mod static_style {
            use super::*;
            $(#[test] fn $test() { check(MemoryStyle::Static, $name, &$params, TrapKind::$kind); })*
        }
        mod dynamic_style {
            use super::*;
            $(#[test] fn $test() { check(MemoryStyle::Dynamic, $name, &$params, TrapKind::$kind); })*
        }
    };
}

trap_tests! {
    memory_out_of_bounds: "memory_oob" [] => MemoryOutOfBounds;
    memory_out_of_bounds_far: "memory_oob_far" [] => MemoryOutOfBounds;
    store_out_of_bounds: "store_oob" [] => MemoryOutOfBounds;
    table_out_of_bounds: "table_oob" [] => TableOutOfBounds;
    indirect_call_out_of_bounds: "indirect_oob" [] => IndirectCallOutOfBounds;
    indirect_call_to_null: "indirect_null" [] => IndirectCallToNull;
    indirect_call_type_mismatch: "indirect_mismatch" [] => BadSignature;
    integer_divide_by_zero: "div_by_zero" [remap::Val::I32(0)] => IntegerDivisionByZero;
    integer_remainder_by_zero: "rem_by_zero" [remap::Val::I64(0)] => IntegerDivisionByZero;
    integer_overflow: "overflow" [] => IntegerOverflow;
    float_to_int_overflow: "trunc_overflow" [] => IntegerOverflow;
    invalid_conversion: "trunc_nan" [] => BadConversionToInteger;
    unreachable: "unreachable" [] => UnreachableCodeReached;
    deep_recursion: "deep" [remap::Val::I32(10_000_000)] => StackOverflow;
    infinite_recursion: "forever" [] => StackOverflow;
    call_ref_to_null: "call_ref_null" [] => CallToNull;
    null_reference: "as_non_null" [] => NullReference;
    cast_failure: "cast_failure" [] => CastFailure;
}

#[test]
fn backtrace_names_every_wasm_frame() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let trap = check(
            style,
            "nested_unreachable",
            &[],
            TrapKind::UnreachableCodeReached,
        );
        let names: Vec<_> = trap
            .backtrace()
            .frames()
            .iter()
            .map(|f| f.func_name().map(str::to_owned))
            .collect();
        assert_eq!(
            names,
            [Some("inner".to_string()), Some("middle".to_string()), None],
            "{trap}"
        );
        assert_eq!(trap.backtrace().frames()[2].func_index(), 16);
        let text = trap.to_string();
        assert!(text.contains("wasm backtrace:"), "{text}");
        assert!(text.contains(" - traps!inner"), "{text}");
        assert!(
            trap.backtrace()
                .frames()
                .iter()
                .all(|f| f.module_offset().is_some())
        );
        assert!(text.contains("<wasm function 16>"), "{text}");
    }
}

#[test]
fn a_stack_overflow_backtrace_keeps_both_ends_of_the_stack() {
    let (mut store, instance) = setup(MemoryStyle::Static);
    let trap = trap_of(&mut store, instance, "outer_forever", &[]);
    assert_eq!(trap.kind(), TrapKind::StackOverflow);
    let frames = trap.backtrace().frames();
    let (position, elided) = trap
        .backtrace()
        .elided_frames()
        .expect("runaway recursion is too deep to keep whole");
    assert!(frames.len() <= 256, "{} frames kept", frames.len());
    assert!(elided > 1000, "only {elided} frames elided");
    assert_eq!(frames[0].func_name(), Some("forever"));
    assert_eq!(frames[position].func_name(), Some("forever"));
    assert_eq!(frames.last().unwrap().func_name(), Some("outer"));
    let text = trap.to_string();
    assert!(
        text.contains(&format!("... {elided} frames elided")),
        "{text}"
    );
}

/// A thread stack smaller than `max_wasm_stack` (512 KiB by default) must
/// still end runaway recursion with a trap, not a crash in its guard page.
#[test]
fn a_small_thread_stack_still_traps_stack_overflow() {
    let (mut store, instance) = setup(MemoryStyle::Static);
    let trap = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || trap_of(&mut store, instance, "forever", &[]))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(trap.kind(), TrapKind::StackOverflow);
}

#[test]
fn recursion_within_the_limit_completes() {
    let (mut store, instance) = setup(MemoryStyle::Static);
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    assert_eq!(deep.call(&mut store, 1000).unwrap(), 1000);
}

#[test]
fn repeated_traps_leave_the_thread_healthy() {
    let (mut store, instance) = setup(MemoryStyle::Static);
    for _ in 0..200 {
        trap_of(&mut store, instance, "memory_oob", &[]);
        trap_of(&mut store, instance, "forever", &[]);
        trap_of(&mut store, instance, "div_by_zero", &[remap::Val::I32(0)]);
    }
}

#[test]
fn a_smaller_stack_limit_traps_sooner() {
    let mut config = Config::new();
    config.max_wasm_stack(64 * 1024);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, TRAPS_WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    let error = deep.call(&mut store, 100_000).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::StackOverflow
    );
    assert_eq!(deep.call(&mut store, 100).unwrap(), 100);
}

#[test]
fn small_reservations_and_guards_still_trap_out_of_bounds_accesses() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config
            .memory_style(style)
            .static_memory_reservation(4 * 65536)
            .memory_guard_size(65536)
            .dynamic_memory_reserve(65536);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, TRAPS_WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        for name in ["memory_oob", "memory_oob_far", "store_oob"] {
            let trap = trap_of(&mut store, instance, name, &[]);
            assert_eq!(trap.kind(), TrapKind::MemoryOutOfBounds, "{style:?} {name}");
        }
        let grow = Module::new(
            &engine,
            r#"(module (memory 1)
                 (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
                 (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#,
        )
        .unwrap();
        let instance = Instance::new(&mut store, &grow, &[]).unwrap();
        let grow_fn = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        assert_eq!(grow_fn.call(&mut store, 3).unwrap(), 1);
        assert_eq!(load.call(&mut store, 4 * 65536 - 4).unwrap(), 0);
        let error = load.call(&mut store, 4 * 65536).unwrap_err();
        assert_eq!(
            error.downcast_ref::<Trap>().unwrap().kind(),
            TrapKind::MemoryOutOfBounds
        );
        let beyond = grow_fn.call(&mut store, 1).unwrap();
        match style {
            // A static memory cannot grow past its reservation.
            MemoryStyle::Static => assert_eq!(beyond, -1),
            // A dynamic one relocates, and an arena one moves out of its slot.
            MemoryStyle::Dynamic | MemoryStyle::Arena => assert_eq!(beyond, 4),
        }
    }
}

/// A builtin that traps must release what it borrowed first: after a failed
/// `table.init`, the same segment can still be used and dropped.
#[test]
fn a_trapping_table_init_leaves_its_segment_usable() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (table $t 2 funcref)
             (func $f)
             (elem $e func $f $f $f)
             (func (export "init") (param i32 i32)
               (table.init $t $e (local.get 0) (i32.const 0) (local.get 1)))
             (func (export "drop") (elem.drop $e)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let init = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "init")
        .unwrap();
    let drop = instance
        .get_typed_func::<(), ()>(&mut store, "drop")
        .unwrap();
    let error = init.call(&mut store, (0, 3)).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::TableOutOfBounds
    );
    init.call(&mut store, (0, 2)).unwrap();
    drop.call(&mut store, ()).unwrap();
    let error = init.call(&mut store, (0, 1)).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::TableOutOfBounds
    );
}
