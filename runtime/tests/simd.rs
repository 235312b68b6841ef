//! The vector (SIMD) instructions run by default: lane arithmetic in compiled
//! code, and `v128` values crossing between host and Wasm.

use remap::{Config, Engine, Instance, MemoryStyle, Module, Store, Val};

const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  ;; Sums four i32 lanes loaded from memory after adding a splat.
  (func (export "sum_plus") (param $addr i32) (param $k i32) (result i32)
    (local $v v128)
    (local.set $v (i32x4.add (v128.load (local.get $addr)) (i32x4.splat (local.get $k))))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
  (func (export "swap_halves") (param v128) (result v128)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get 0) (local.get 0))))
"#;

#[test]
fn vector_code_runs_and_v128_values_cross_the_boundary() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();

    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let lanes: Vec<u8> = [1i32, 2, 3, 4]
        .iter()
        .flat_map(|l| l.to_le_bytes())
        .collect();
    memory.write(&mut store, 32, &lanes).unwrap();
    let sum_plus = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "sum_plus")
        .unwrap();
    assert_eq!(
        sum_plus.call(&mut store, (32, 10)).unwrap(),
        1 + 2 + 3 + 4 + 4 * 10
    );

    let swap = instance.get_func(&mut store, "swap_halves").unwrap();
    let mut results = [Val::I32(0)];
    let input: u128 = 0x1111_2222_3333_4444_5555_6666_7777_8888;
    swap.call(&mut store, &[Val::V128(input)], &mut results)
        .unwrap();
    match results[0] {
        Val::V128(output) => assert_eq!(output, 0x5555_6666_7777_8888_1111_2222_3333_4444),
        ref other => panic!("expected a v128 result, got {other:?}"),
    }
}

#[test]
fn an_out_of_bounds_vector_load_traps_in_both_memory_styles() {
    for style in [MemoryStyle::Static, MemoryStyle::Dynamic] {
        let mut config = Config::new();
        config.memory_style(style);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let sum_plus = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "sum_plus")
            .unwrap();
        // The last 16-byte load that fits starts at 65520; one byte more straddles the end.
        assert!(sum_plus.call(&mut store, (65520, 0)).is_ok(), "{style:?}");
        let error = sum_plus.call(&mut store, (65521, 0)).unwrap_err();
        let trap = error.downcast_ref::<remap::Trap>().expect("a trap");
        assert_eq!(trap.kind(), remap::TrapKind::MemoryOutOfBounds, "{style:?}");
    }
}
