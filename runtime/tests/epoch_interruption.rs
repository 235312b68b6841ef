//! Epoch interruption: an endless loop and an endless recursion stop when
//! another thread advances the epoch past the store's deadline; a callback
//! can extend the deadline (three times here) and then stop the guest with
//! its own error; a store's deadline starts at 0. In both memory styles.

mod epoch_common;

use epoch_common::{extend_three_times_then_stop, ticker};

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Trap, TrapKind, UpdateDeadline};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const WAT: &str = r#"
(module
  (func (export "spin") (loop $forever (br $forever)))
  (func $recurse (export "recurse") (return_call $recurse))
  (func (export "count") (param $n i64) (result i64)
    (local $i i64)
    (loop $next
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))
"#;

fn engine(style: MemoryStyle) -> Engine {
    let mut config = Config::new();
    config.memory_style(style).epoch_interruption(true);
    Engine::new(&config).unwrap()
}

fn trap_kind(error: &anyhow::Error) -> TrapKind {
    error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {error:#}"))
        .kind()
}

#[test]
fn an_endless_loop_and_an_endless_recursion_are_interrupted() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = ticker(&engine, &stop);
        for name in ["spin", "recurse"] {
            store.set_epoch_deadline(5);
            let func = instance.get_typed_func::<(), ()>(&mut store, name).unwrap();
            let error = func.call(&mut store, ()).unwrap_err();
            assert_eq!(trap_kind(&error), TrapKind::Interrupt, "{name}");
        }
        stop.store(true, Ordering::Relaxed);
        ticking.join().unwrap();
    }
}

#[test]
fn a_callback_extends_the_deadline_three_times_then_stops_the_guest() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, 0u32);
        store.epoch_deadline_callback(extend_three_times_then_stop);
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = ticker(&engine, &stop);
        store.set_epoch_deadline(1);
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let error = spin.call(&mut store, ()).unwrap_err();
        stop.store(true, Ordering::Relaxed);
        ticking.join().unwrap();
        assert!(
            format!("{error:#}").contains("stopped after 4 deadlines"),
            "{error:#}"
        );
        assert_eq!(*store.data(), 4);
    }
}

#[test]
fn a_deadline_far_enough_lets_the_guest_finish() {
    let engine = engine(MemoryStyle::Static);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i64, i64>(&mut store, "count")
        .unwrap();
    store.set_epoch_deadline(1);
    assert_eq!(count.call(&mut store, 1_000_000).unwrap(), 1_000_000);
    // The epoch reaching the deadline stops the next call at its entry.
    engine.increment_epoch();
    let error = count.call(&mut store, 10).unwrap_err();
    assert_eq!(trap_kind(&error), TrapKind::Interrupt);
}

#[test]
fn a_store_starts_with_its_deadline_reached() {
    let engine = engine(MemoryStyle::Dynamic);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let count = instance
        .get_typed_func::<i64, i64>(&mut store, "count")
        .unwrap();
    let error = count.call(&mut store, 10).unwrap_err();
    assert_eq!(trap_kind(&error), TrapKind::Interrupt);
    store.set_epoch_deadline(10);
    assert_eq!(count.call(&mut store, 10).unwrap(), 10);
}

#[test]
fn a_panicking_callback_resumes_on_the_host_side() {
    let engine = engine(MemoryStyle::Static);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    store.epoch_deadline_callback(|_| panic!("callback panicked"));
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = spin.call(&mut store, ());
    }));
    assert!(outcome.is_err());
    // The store survives the panic and runs guests again.
    store.epoch_deadline_trap();
    let error = spin.call(&mut store, ()).unwrap_err();
    assert_eq!(trap_kind(&error), TrapKind::Interrupt);
}

#[test]
fn values_live_across_a_deadline_survive_the_callback() {
    // Floats, vectors and integers stay live in registers across every loop
    // header while the callback, called at each, clobbers them in Rust.
    const MATH: &str = r#"
    (module
      (func (export "mix") (param $n i32) (result f64)
        (local $x f64) (local $y f64) (local $v v128) (local $i i32) (local $k i64)
        (local.set $x (f64.const 1.5))
        (local.set $y (f64.const -0.25))
        (local.set $v (v128.const f32x4 1 2 3 4))
        (loop $next
          (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 0.5)) (local.get $y)))
          (local.set $y (f64.sub (local.get $y) (f64.const 0.125)))
          (local.set $v (f32x4.add (local.get $v) (v128.const f32x4 0.5 0.25 1 2)))
          (local.set $k (i64.add (local.get $k) (i64.extend_i32_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
        (f64.add
          (f64.add (local.get $x) (local.get $y))
          (f64.add
            (f64.convert_i64_u (local.get $k))
            (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))))
    "#;
    let plain = Engine::default();
    let module = Module::new(&plain, MATH).unwrap();
    let mut store = Store::new(&plain, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mix = instance
        .get_typed_func::<i32, f64>(&mut store, "mix")
        .unwrap();
    let expected = mix.call(&mut store, 1000).unwrap();

    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let engine = engine(style);
        let module = Module::new(&engine, MATH).unwrap();
        let mut store = Store::new(&engine, 0.0f64);
        store.epoch_deadline_callback(|mut store| {
            // Work in every float register class the guest uses.
            let noise = (*store.data() + 1.0).sqrt() * std::f64::consts::PI;
            *store.data_mut() = noise.sin();
            Ok(UpdateDeadline::Continue(0))
        });
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let mix = instance
            .get_typed_func::<i32, f64>(&mut store, "mix")
            .unwrap();
        // A deadline of 0 ticks: the callback runs at every check.
        store.set_epoch_deadline(0);
        assert_eq!(
            mix.call(&mut store, 1000).unwrap().to_bits(),
            expected.to_bits()
        );
        assert_ne!(*store.data(), 0.0, "the callback ran");
    }
}
