//! `Config::relaxed_simd_deterministic`: every relaxed SIMD instruction
//! gives the result of the Wasm deterministic profile (that of the strict
//! instruction, with a fused multiply-add) on edge cases and on seeded
//! random operands, and a module precompiled with the other setting is
//! refused with a message naming it.

mod seeded;
mod vectors;

use remap::{Config, Engine, Module};
use seeded::SplitMix;
use vectors::{INSTRUCTIONS, Lane, Relaxed, lanes, mixed_masks, v128};

fn deterministic() -> Config {
    let mut config = Config::new();
    config.relaxed_simd_deterministic(true);
    config
}

/// Whether the f32 lanes of `got` and `want` are the same, NaN matching any
/// NaN (the profile fixes which lanes are NaN, not their bits).
fn same_f32x4(got: u128, want: u128) -> bool {
    let (got, want) = (lanes::<f32, 4>(got), lanes::<f32, 4>(want));
    (0..4).all(|i| (got[i].is_nan() && want[i].is_nan()) || got[i].to_bits() == want[i].to_bits())
}

/// As [`same_f32x4`] for f64 lanes.
fn same_f64x2(got: u128, want: u128) -> bool {
    let (got, want) = (lanes::<f64, 2>(got), lanes::<f64, 2>(want));
    (0..2).all(|i| (got[i].is_nan() && want[i].is_nan()) || got[i].to_bits() == want[i].to_bits())
}

#[test]
fn edge_cases_get_the_strict_instructions_results() {
    let mut relaxed = Relaxed::new(&deterministic());
    let bytes: [u8; 16] = std::array::from_fn(|i| 100 + i as u8);
    let indices = [
        0u8, 15, 16, 17, 31, 127, 128, 255, 200, 5, 64, 112, 15, 1, 2, 3,
    ];
    assert_eq!(
        lanes::<u8, 16>(relaxed.call("i8x16.relaxed_swizzle", &[v128(bytes), v128(indices)])),
        [100, 115, 0, 0, 0, 0, 0, 0, 0, 105, 0, 0, 115, 101, 102, 103],
        "an index of 16 or more gives 0"
    );

    let trunc = |relaxed: &mut Relaxed, instruction, input| -> [i32; 4] {
        lanes(relaxed.call(instruction, &[input]))
    };
    let (min, max) = (i32::MIN, i32::MAX);
    let f32s = v128([f32::NAN, 3e9, -3e9, -1.9]);
    assert_eq!(
        trunc(&mut relaxed, "i32x4.relaxed_trunc_f32x4_s", f32s),
        [0, max, min, -1]
    );
    let f32s = v128([
        f32::INFINITY,
        f32::NEG_INFINITY,
        2147483520.0,
        -2147483648.0,
    ]);
    assert_eq!(
        trunc(&mut relaxed, "i32x4.relaxed_trunc_f32x4_s", f32s),
        [max, min, 2147483520, min]
    );
    let f32s = v128([f32::NAN, 5e9, -3e9, 4294967040.0]);
    let unsigned: [u32; 4] = lanes(relaxed.call("i32x4.relaxed_trunc_f32x4_u", &[f32s]));
    assert_eq!(unsigned, [0, u32::MAX, 0, 4294967040]);
    let f64s = v128([f64::NAN, -1e10]);
    assert_eq!(
        trunc(&mut relaxed, "i32x4.relaxed_trunc_f64x2_s_zero", f64s),
        [0, min, 0, 0]
    );
    let f64s = v128([f64::NAN, 1e10]);
    let unsigned: [u32; 4] = lanes(relaxed.call("i32x4.relaxed_trunc_f64x2_u_zero", &[f64s]));
    assert_eq!(unsigned, [0, u32::MAX, 0, 0]);

    // x * y is 1 + 2^-15 + 2^-22 + 2^-37: rounding the product before the
    // addition would lose the 2^-37, and overflow MAX * 2 to infinity.
    let x = 1.0 + 2f32.powi(-22);
    let y = 1.0 + 2f32.powi(-15);
    let z = -(1.0 + 2f32.powi(-15) + 2f32.powi(-22));
    let fused = v128([2f32.powi(-37), f32::MAX, 2.0, 6.5]);
    let (b, c) = (v128([y, 2.0, 1.0, 3.0]), v128([z, -f32::MAX, 1.0, 0.5]));
    let madd = relaxed.call("f32x4.relaxed_madd", &[v128([x, f32::MAX, 1.0, 2.0]), b, c]);
    assert!(same_f32x4(madd, fused), "{:?}", lanes::<f32, 4>(madd));
    let nmadd = relaxed.call(
        "f32x4.relaxed_nmadd",
        &[v128([-x, -f32::MAX, -1.0, -2.0]), b, c],
    );
    assert!(same_f32x4(nmadd, fused), "{:?}", lanes::<f32, 4>(nmadd));
    let x = 1.0 + f64::EPSILON;
    let fused = v128([f64::EPSILON * f64::EPSILON, f64::MAX]);
    let (b, c) = (
        v128([x, 2.0]),
        v128([-(1.0 + 2.0 * f64::EPSILON), -f64::MAX]),
    );
    let madd = relaxed.call("f64x2.relaxed_madd", &[v128([x, f64::MAX]), b, c]);
    assert!(same_f64x2(madd, fused), "{:?}", lanes::<f64, 2>(madd));
    let nmadd = relaxed.call("f64x2.relaxed_nmadd", &[v128([-x, -f64::MAX]), b, c]);
    assert!(same_f64x2(nmadd, fused), "{:?}", lanes::<f64, 2>(nmadd));

    // Selecting from all ones and all zeros shows the mask that was used:
    // bit by bit, whatever the lane's top bit.
    for (instruction, _, mask) in mixed_masks() {
        assert_eq!(
            relaxed.call(instruction, &[u128::MAX, 0, mask]),
            mask,
            "{instruction}"
        );
    }

    let (a, b) = (
        v128([f32::NAN, 1.0, 0.0, -0.0]),
        v128([1.0, f32::NAN, -0.0, 0.0]),
    );
    let min = relaxed.call("f32x4.relaxed_min", &[a, b]);
    assert!(
        same_f32x4(min, v128([f32::NAN, f32::NAN, -0.0, -0.0])),
        "{:?}",
        lanes::<f32, 4>(min)
    );
    let max = relaxed.call("f32x4.relaxed_max", &[a, b]);
    assert!(
        same_f32x4(max, v128([f32::NAN, f32::NAN, 0.0, 0.0])),
        "{:?}",
        lanes::<f32, 4>(max)
    );
    let min = relaxed.call(
        "f64x2.relaxed_min",
        &[v128([1.0, 0.0]), v128([f64::NAN, -0.0])],
    );
    assert!(
        same_f64x2(min, v128([f64::NAN, -0.0])),
        "{:?}",
        lanes::<f64, 2>(min)
    );
    let max = relaxed.call(
        "f64x2.relaxed_max",
        &[v128([f64::NAN, -0.0]), v128([1.0, 0.0])],
    );
    assert!(
        same_f64x2(max, v128([f64::NAN, 0.0])),
        "{:?}",
        lanes::<f64, 2>(max)
    );

    let a = v128([i16::MIN, i16::MIN, 16384, i16::MIN, 1, i16::MAX, 3, -1]);
    let b = v128([i16::MIN, i16::MAX, 16384, 1, 1, i16::MAX, 3, -1]);
    let q15: [i16; 8] = lanes(relaxed.call("i16x8.relaxed_q15mulr_s", &[a, b]));
    assert_eq!(
        q15,
        [i16::MAX, -32767, 8192, -1, 0, 32766, 0, 0],
        "-1 * -1 saturates"
    );

    // Both operands signed; the pair sum -128 * -128 * 2 wraps in 16 bits.
    let a = v128([
        -128i8, -128, -128, -128, 127, 127, 1, 2, -128, -128, 0, 0, 5, -7, 100, -100,
    ]);
    let b = v128([
        -128i8, -128, -127, -127, -1, -1, 3, 4, 127, 127, 0, 0, 9, 11, 127, 127,
    ]);
    let dot: [i16; 8] = lanes(relaxed.call("i16x8.relaxed_dot_i8x16_i7x16_s", &[a, b]));
    assert_eq!(dot, [-32768, 32512, -254, 11, -32512, 0, -32, 0]);
    // Four signed products summed exactly in 32 bits, then a wrapping add.
    let a = v128([
        -128i8, -128, -128, -128, 127, 127, 127, 127, 1, 2, 3, 4, -128, -128, -128, -128,
    ]);
    let b = v128([
        -128i8, -128, -128, -128, -1, -1, -1, -1, 1, 2, 3, 4, 127, 127, 127, 127,
    ]);
    let c = v128([1, 2, i32::MAX, 4]);
    let dot: [i32; 4] = lanes(relaxed.call("i32x4.relaxed_dot_i8x16_i7x16_add_s", &[a, b, c]));
    assert_eq!(dot, [65537, -506, i32::MIN + 29, -65020]);
}

/// `f` applied to each lane of `v`.
fn map<L: Lane, R: Lane, const N: usize>(v: u128, f: impl Fn(L) -> R) -> u128 {
    v128(lanes::<L, N>(v).map(f))
}

/// `f` applied to the lanes of `a`, `b` and `c` at each index.
fn zip3<L: Lane, const N: usize>(a: u128, b: u128, c: u128, f: impl Fn(L, L, L) -> L) -> u128 {
    let (a, b, c) = (lanes::<L, N>(a), lanes::<L, N>(b), lanes::<L, N>(c));
    v128::<L, N>(std::array::from_fn(|i| f(a[i], b[i], c[i])))
}

/// The strict instruction's result for `instruction` on `operands`, lane
/// by lane in plain Rust (`as` casts saturate and turn NaN into 0, as
/// `trunc_sat` does).
fn strict(instruction: &str, operands: &[u128]) -> u128 {
    let [a, b, c] = std::array::from_fn(|i| operands.get(i).copied().unwrap_or(0));
    match instruction {
        "i8x16.relaxed_swizzle" => {
            let bytes: [u8; 16] = lanes(a);
            map::<u8, u8, 16>(b, |index| {
                bytes.get(usize::from(index)).copied().unwrap_or(0)
            })
        }
        "i32x4.relaxed_trunc_f32x4_s" => map::<f32, i32, 4>(a, |x| x as i32),
        "i32x4.relaxed_trunc_f32x4_u" => map::<f32, u32, 4>(a, |x| x as u32),
        "i32x4.relaxed_trunc_f64x2_s_zero" => {
            let [x, y] = lanes::<f64, 2>(a);
            v128([x as i32, y as i32, 0, 0])
        }
        "i32x4.relaxed_trunc_f64x2_u_zero" => {
            let [x, y] = lanes::<f64, 2>(a);
            v128([x as u32, y as u32, 0, 0])
        }
        "f32x4.relaxed_madd" => zip3::<f32, 4>(a, b, c, f32::mul_add),
        "f32x4.relaxed_nmadd" => zip3::<f32, 4>(a, b, c, |x, y, z| (-x).mul_add(y, z)),
        "f64x2.relaxed_madd" => zip3::<f64, 2>(a, b, c, f64::mul_add),
        "f64x2.relaxed_nmadd" => zip3::<f64, 2>(a, b, c, |x, y, z| (-x).mul_add(y, z)),
        "i8x16.relaxed_laneselect"
        | "i16x8.relaxed_laneselect"
        | "i32x4.relaxed_laneselect"
        | "i64x2.relaxed_laneselect" => (a & c) | (b & !c),
        "f32x4.relaxed_min" => {
            zip3::<f32, 4>(a, b, 0, |x, y, _| min_max(x.into(), y.into(), true) as f32)
        }
        "f32x4.relaxed_max" => {
            zip3::<f32, 4>(a, b, 0, |x, y, _| min_max(x.into(), y.into(), false) as f32)
        }
        "f64x2.relaxed_min" => zip3::<f64, 2>(a, b, 0, |x, y, _| min_max(x, y, true)),
        "f64x2.relaxed_max" => zip3::<f64, 2>(a, b, 0, |x, y, _| min_max(x, y, false)),
        "i16x8.relaxed_q15mulr_s" => zip3::<i16, 8>(a, b, 0, |x, y, _| {
            ((i32::from(x) * i32::from(y) + 0x4000) >> 15).clamp(-32768, 32767) as i16
        }),
        "i16x8.relaxed_dot_i8x16_i7x16_s" => {
            let (x, y) = (lanes::<i8, 16>(a), lanes::<i8, 16>(b));
            let product = |i: usize| i16::from(x[i]) * i16::from(y[i]);
            v128::<i16, 8>(std::array::from_fn(|i| {
                product(2 * i).wrapping_add(product(2 * i + 1))
            }))
        }
        "i32x4.relaxed_dot_i8x16_i7x16_add_s" => {
            let (x, y, z) = (lanes::<i8, 16>(a), lanes::<i8, 16>(b), lanes::<i32, 4>(c));
            v128::<i32, 4>(std::array::from_fn(|i| {
                let sum: i32 = (4 * i..4 * i + 4)
                    .map(|j| i32::from(x[j]) * i32::from(y[j]))
                    .sum();
                sum.wrapping_add(z[i])
            }))
        }
        other => panic!("no model of {other}"),
    }
}

/// Wasm's `min` (or `max`): NaN if an operand is NaN, and `-0` below `+0`
/// (f32 operands convert to f64 and back exactly).
fn min_max(x: f64, y: f64, min: bool) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == y {
        // Equal, or zeros of either sign: the negative one is the minimum.
        if min == x.is_sign_negative() { x } else { y }
    } else if min {
        x.min(y)
    } else {
        x.max(y)
    }
}

/// Whether `got` is `want` for `instruction`: float results match lane by
/// lane with NaN matching any NaN, all others bit for bit.
fn matches(instruction: &str, got: u128, want: u128) -> bool {
    if instruction.starts_with("f32x4") {
        same_f32x4(got, want)
    } else if instruction.starts_with("f64x2") {
        same_f64x2(got, want)
    } else {
        got == want
    }
}

/// A random operand: random bits, or lanes of small values (for the float
/// instructions: ordinary numbers, which random bits rarely are).
fn operand(random: &mut SplitMix, instruction: &str) -> u128 {
    match random.next() % 3 {
        0 => random.next_u128(),
        _ if instruction.contains("f64x2") => {
            v128([0, 1].map(|_| (random.next() as i32 >> 8) as f64 / 256.0))
        }
        _ if instruction.contains("f32x4") => {
            v128([0; 4].map(|_| (random.next() as i32 >> 8) as f32 / 256.0))
        }
        _ => v128([0; 16].map(|_| (random.next() % 41) as i8 - 20)),
    }
}

#[test]
fn random_operands_get_the_strict_instructions_results() {
    let mut relaxed = Relaxed::new(&deterministic());
    let mut random = SplitMix(0xde7e_7a11);
    for (instruction, arity) in INSTRUCTIONS {
        for _ in 0..2000 {
            let operands: Vec<u128> = (0..arity)
                .map(|_| operand(&mut random, instruction))
                .collect();
            let got = relaxed.call(instruction, &operands);
            let want = strict(instruction, &operands);
            assert!(
                matches(instruction, got, want),
                "{instruction}{operands:x?}: got {got:#034x}, want {want:#034x}"
            );
        }
    }
}

#[test]
fn a_module_precompiled_with_the_other_setting_is_refused() {
    let native = Engine::new(&Config::new()).unwrap();
    let deterministic = Engine::new(&deterministic()).unwrap();
    let wat = vectors::wat();
    for (compiler, loader, compiled_with) in [
        (&native, &deterministic, "relaxed_simd_deterministic off"),
        (&deterministic, &native, "relaxed_simd_deterministic on"),
    ] {
        let bytes = compiler.precompile_module(wat.as_bytes()).unwrap();
        // SAFETY: the bytes come from precompile_module just above.
        let error = unsafe { Module::deserialize(loader, &bytes) }.unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains(compiled_with), "{message}");
        // SAFETY: as above.
        unsafe { Module::deserialize(compiler, &bytes) }.expect("the same setting loads");
    }
    // The precompiled deterministic code keeps its results.
    let bytes = deterministic.precompile_module(wat.as_bytes()).unwrap();
    // SAFETY: the bytes come from precompile_module just above.
    let loaded = unsafe { Module::deserialize(&deterministic, &bytes) }.unwrap();
    let swizzled =
        Relaxed::instantiate(&loaded).call("i8x16.relaxed_swizzle", &[u128::MAX, v128([16u8; 16])]);
    assert_eq!(swizzled, 0);
}
