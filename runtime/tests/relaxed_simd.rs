//! Relaxed SIMD in the default (native) mode: on edge cases each result is
//! one the proposal allows, and on x86-64 the one Remap documents for this
//! CPU's features (remap-compiler's `translate/relaxed_simd.rs`); where the
//! proposal fixes the result, native and deterministic code agree; and the
//! instructions can be turned off.

mod seeded;
mod vectors;

use remap::{Config, Engine, Module};
use seeded::SplitMix;
use vectors::{INSTRUCTIONS, Relaxed, lanes, mixed_masks, v128};

/// The x86-64 features that pick native lowerings.
struct Cpu {
    /// `pshufb`, `pmulhrsw`, `pmaddubsw`.
    ssse3: bool,
    /// `pblendvb`, `blendvps`, `blendvpd`.
    sse41: bool,
    /// `vfmadd` (needs AVX as well).
    fma: bool,
}

/// This CPU's features, on x86-64 (where Remap documents its choices).
fn x86_64() -> Option<Cpu> {
    #[cfg(target_arch = "x86_64")]
    return Some(Cpu {
        ssse3: std::arch::is_x86_feature_detected!("ssse3"),
        sse41: std::arch::is_x86_feature_detected!("sse4.1"),
        fma: std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("avx"),
    });
    #[cfg(not(target_arch = "x86_64"))]
    None
}

fn native() -> Relaxed {
    Relaxed::new(&Config::new())
}

#[test]
fn swizzle_zeroes_negative_indices_and_wraps_others_on_x86() {
    let bytes: [u8; 16] = std::array::from_fn(|i| 100 + i as u8);
    let indices = [
        0u8, 15, 16, 17, 31, 127, 128, 255, 200, 5, 64, 112, 15, 1, 2, 3,
    ];
    let got: [u8; 16] =
        lanes(native().call("i8x16.relaxed_swizzle", &[v128(bytes), v128(indices)]));
    for (lane, &index) in indices.iter().enumerate() {
        let index = usize::from(index);
        let allowed = match index {
            0..16 => vec![bytes[index]],
            128.. => vec![0],
            _ => vec![0, bytes[index % 16]],
        };
        assert!(allowed.contains(&got[lane]), "index {index}: {}", got[lane]);
    }
    if let Some(cpu) = x86_64() {
        let pshufb = [
            100, 115, 100, 101, 115, 115, 0, 0, 0, 105, 100, 100, 115, 101, 102, 103,
        ];
        let strict = [100, 115, 0, 0, 0, 0, 0, 0, 0, 105, 0, 0, 115, 101, 102, 103];
        assert_eq!(got, if cpu.ssse3 { pshufb } else { strict });
    }
}

#[test]
fn signed_truncation_gives_i32_min_for_nan_and_out_of_range_on_x86() {
    let mut relaxed = native();
    let (min, max) = (i32::MIN, i32::MAX);
    let cases = [
        (
            "i32x4.relaxed_trunc_f32x4_s",
            v128([f32::NAN, 3e9, -3e9, -1.9]),
            [0, max, min, -1],
            [min, min, min, -1],
        ),
        (
            "i32x4.relaxed_trunc_f32x4_s",
            v128([
                f32::INFINITY,
                f32::NEG_INFINITY,
                2147483520.0,
                -2147483648.0,
            ]),
            [max, min, 2147483520, min],
            [min, min, 2147483520, min],
        ),
        (
            "i32x4.relaxed_trunc_f64x2_s_zero",
            v128([f64::NAN, -1e10]),
            [0, min, 0, 0],
            [min, min, 0, 0],
        ),
    ];
    for (instruction, input, saturated, cvtt) in cases {
        let got: [i32; 4] = lanes(relaxed.call(instruction, &[input]));
        for lane in 0..4 {
            // In range, or the saturated result, or INT_MIN.
            assert!(
                [saturated[lane], min].contains(&got[lane]),
                "{instruction} {got:?}"
            );
            if saturated[lane] != cvtt[lane] {
                continue;
            }
            assert_eq!(got[lane], saturated[lane], "{instruction}: a fixed lane");
        }
        if x86_64().is_some() {
            assert_eq!(got, cvtt, "{instruction}: cvttps2dq/cvttpd2dq");
        }
    }
    // The unsigned ones saturate in both modes (SSE has no unsigned
    // conversion to use instead), which the proposal allows.
    let got: [u32; 4] = lanes(relaxed.call(
        "i32x4.relaxed_trunc_f32x4_u",
        &[v128([f32::NAN, 5e9, -3e9, 4294967040.0])],
    ));
    assert_eq!(got, [0, u32::MAX, 0, 4294967040]);
    let got: [u32; 4] = lanes(relaxed.call(
        "i32x4.relaxed_trunc_f64x2_u_zero",
        &[v128([f64::NAN, 1e10])],
    ));
    assert_eq!(got, [0, u32::MAX, 0, 0]);
}

#[test]
fn multiply_add_is_fused_where_the_cpu_has_fma() {
    let mut relaxed = native();
    // x * y is 1 + 2^-15 + 2^-22 + 2^-37: rounded before the addition it
    // loses the 2^-37, and MAX * 2 overflows.
    let x = 1.0 + 2f32.powi(-22);
    let y = 1.0 + 2f32.powi(-15);
    let z = -(1.0 + 2f32.powi(-15) + 2f32.powi(-22));
    let (b, c) = (v128([y, 2.0, 1.0, 3.0]), v128([z, -f32::MAX, 1.0, 0.5]));
    let fused = v128([2f32.powi(-37), f32::MAX, 2.0, 6.5]);
    let unfused = v128([0.0, f32::INFINITY, 2.0, 6.5]);
    let x64 = 1.0 + f64::EPSILON;
    let (b64, c64) = (
        v128([x64, 2.0]),
        v128([-(1.0 + 2.0 * f64::EPSILON), -f64::MAX]),
    );
    let fused64 = v128([f64::EPSILON * f64::EPSILON, f64::MAX]);
    let unfused64 = v128([0.0, f64::INFINITY]);
    let cases = [
        (
            "f32x4.relaxed_madd",
            [v128([x, f32::MAX, 1.0, 2.0]), b, c],
            fused,
            unfused,
        ),
        (
            "f32x4.relaxed_nmadd",
            [v128([-x, -f32::MAX, -1.0, -2.0]), b, c],
            fused,
            unfused,
        ),
        (
            "f64x2.relaxed_madd",
            [v128([x64, f64::MAX]), b64, c64],
            fused64,
            unfused64,
        ),
        (
            "f64x2.relaxed_nmadd",
            [v128([-x64, -f64::MAX]), b64, c64],
            fused64,
            unfused64,
        ),
    ];
    for (instruction, operands, fused, unfused) in cases {
        let got = relaxed.call(instruction, &operands);
        assert!(got == fused || got == unfused, "{instruction}: {got:#x}");
        if let Some(cpu) = x86_64() {
            assert_eq!(got, if cpu.fma { fused } else { unfused }, "{instruction}");
        }
    }
}

#[test]
fn lane_select_uses_the_top_bit_of_8_32_and_64_bit_lanes_on_x86() {
    let mut relaxed = native();
    // Selecting from all ones and all zeros shows the mask that was used.
    for (instruction, lane_bytes, mask) in mixed_masks() {
        let got = relaxed.call(instruction, &[u128::MAX, 0, mask]);
        // Each lane: the mask's bits, or its top bit copied to all bits.
        let top_bits = mask_from_top_bits(mask, lane_bytes);
        for lane in 0..16 / lane_bytes {
            let bits = |value: u128| (value >> (lane * lane_bytes * 8)) & lane_mask(lane_bytes);
            assert!(
                bits(got) == bits(mask) || bits(got) == bits(top_bits),
                "{instruction} lane {lane}: {got:#x}"
            );
        }
        if let Some(cpu) = x86_64() {
            let blendv = cpu.sse41 && lane_bytes != 2;
            assert_eq!(got, if blendv { top_bits } else { mask }, "{instruction}");
        }
    }
}

/// All ones in lanes of `mask` (of `lane_bytes` bytes) whose top bit is
/// set, zero in the others.
fn mask_from_top_bits(mask: u128, lane_bytes: usize) -> u128 {
    (0..16 / lane_bytes)
        .filter(|lane| mask >> ((lane + 1) * lane_bytes * 8 - 1) & 1 == 1)
        .map(|lane| lane_mask(lane_bytes) << (lane * lane_bytes * 8))
        .fold(0, |all, lane| all | lane)
}

/// The bits of one lane of `lane_bytes` bytes, in the lowest lane.
fn lane_mask(lane_bytes: usize) -> u128 {
    u128::MAX >> (128 - lane_bytes * 8)
}

#[test]
fn min_and_max_give_the_first_operand_for_nan_and_zeros_on_x86() {
    let mut relaxed = native();
    let (a, b) = (
        v128([f32::NAN, 1.0, 0.0, -0.0]),
        v128([1.0, f32::NAN, -0.0, 0.0]),
    );
    for instruction in ["f32x4.relaxed_min", "f32x4.relaxed_max"] {
        let got: [f32; 4] = lanes(relaxed.call(instruction, &[a, b]));
        // A NaN lane gives NaN or the other operand; zeros of either sign
        // give a zero.
        assert!(got[0].is_nan() || got[0] == 1.0, "{instruction} {got:?}");
        assert!(got[1].is_nan() || got[1] == 1.0, "{instruction} {got:?}");
        assert!(got[2] == 0.0 && got[3] == 0.0, "{instruction} {got:?}");
        if x86_64().is_some() {
            let first: [f32; 4] = lanes(a);
            assert!(got[0].is_nan(), "{instruction} {got:?}");
            assert_eq!(
                got[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                first[1..].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{instruction}: minps/maxps"
            );
        }
    }
    let got: [f64; 2] = lanes(relaxed.call(
        "f64x2.relaxed_min",
        &[v128([1.0, 0.0]), v128([f64::NAN, -0.0])],
    ));
    assert!(
        (got[0].is_nan() || got[0] == 1.0) && got[1] == 0.0,
        "{got:?}"
    );
    if x86_64().is_some() {
        assert_eq!(got.map(f64::to_bits), [1.0, 0.0].map(f64::to_bits), "minpd");
    }
    let got: [f64; 2] = lanes(relaxed.call(
        "f64x2.relaxed_max",
        &[v128([f64::NAN, -0.0]), v128([1.0, 0.0])],
    ));
    assert!(
        (got[0].is_nan() || got[0] == 1.0) && got[1] == 0.0,
        "{got:?}"
    );
    if x86_64().is_some() {
        assert!(
            got[0].is_nan() && got[1].to_bits() == (-0.0f64).to_bits(),
            "maxpd: {got:?}"
        );
    }
}

#[test]
fn q15_multiplication_of_minus_one_by_itself_wraps_on_x86() {
    let a = v128([i16::MIN, i16::MIN, 16384, i16::MIN, 1, i16::MAX, 3, -1]);
    let b = v128([i16::MIN, i16::MAX, 16384, 1, 1, i16::MAX, 3, -1]);
    let got: [i16; 8] = lanes(native().call("i16x8.relaxed_q15mulr_s", &[a, b]));
    assert!([i16::MAX, i16::MIN].contains(&got[0]), "{got:?}");
    assert_eq!(got[1..], [-32767, 8192, -1, 0, 32766, 0, 0]);
    if let Some(cpu) = x86_64() {
        assert_eq!(
            got[0],
            if cpu.ssse3 { i16::MIN } else { i16::MAX },
            "pmulhrsw"
        );
    }
}

/// The sums of a pair of products `a[i] * b[i]` that the proposal allows:
/// `b` signed or unsigned, the sum exact, saturated or wrapped to 16 bits.
fn allowed_pair_sums(a: [i8; 2], b: [i8; 2]) -> Vec<i32> {
    let signed = i32::from(a[0]) * i32::from(b[0]) + i32::from(a[1]) * i32::from(b[1]);
    let unsigned =
        i32::from(a[0]) * i32::from(b[0] as u8) + i32::from(a[1]) * i32::from(b[1] as u8);
    [signed, unsigned]
        .into_iter()
        .flat_map(|sum| [sum, sum.clamp(-32768, 32767), i32::from(sum as i16)])
        .collect()
}

#[test]
fn dot_products_treat_the_second_operand_as_unsigned_and_saturate_on_x86() {
    let mut relaxed = native();
    let a = [
        -128i8, -128, -128, -128, 127, 127, 1, 2, -128, -128, 0, 0, 5, -7, 100, -100,
    ];
    let b = [
        -128i8, -128, -127, -127, -1, -1, 3, 4, 127, 127, 0, 0, 9, 11, 127, 127,
    ];
    let got: [i16; 8] = lanes(relaxed.call("i16x8.relaxed_dot_i8x16_i7x16_s", &[v128(a), v128(b)]));
    for lane in 0..8 {
        let pair = |v: [i8; 16]| [v[2 * lane], v[2 * lane + 1]];
        let allowed = allowed_pair_sums(pair(a), pair(b));
        assert!(
            allowed.contains(&i32::from(got[lane])),
            "lane {lane}: {got:?}"
        );
    }
    assert_eq!(
        got[3..],
        [11, -32512, 0, -32, 0],
        "the i7 operand is in range"
    );
    if let Some(cpu) = x86_64() {
        let pmaddubsw = [-32768, -32768, 32767, 11, -32512, 0, -32, 0];
        let signed = [-32768, 32512, -254, 11, -32512, 0, -32, 0];
        assert_eq!(got, if cpu.ssse3 { pmaddubsw } else { signed });
    }

    let a = [
        -128i8, -128, -128, -128, 127, 127, 127, 127, 1, 2, 3, 4, -128, -128, -128, -128,
    ];
    let b = [
        -128i8, -128, -128, -128, -1, -1, -1, -1, 1, 2, 3, 4, 127, 127, 127, 127,
    ];
    let c = [1, 2, i32::MAX, 4];
    let got: [i32; 4] = lanes(relaxed.call(
        "i32x4.relaxed_dot_i8x16_i7x16_add_s",
        &[v128(a), v128(b), v128(c)],
    ));
    for lane in 0..2 {
        let pair = |v: [i8; 16], first: usize| [v[4 * lane + first], v[4 * lane + first + 1]];
        let low = allowed_pair_sums(pair(a, 0), pair(b, 0));
        let high = allowed_pair_sums(pair(a, 2), pair(b, 2));
        let allowed = low
            .iter()
            .flat_map(|low| high.iter().map(move |high| low + high + c[lane]));
        assert!(
            allowed.clone().any(|sum| sum == got[lane]),
            "lane {lane}: {got:?}"
        );
    }
    assert_eq!(
        got[2..],
        [i32::MIN + 29, -65020],
        "the i7 operand is in range"
    );
    if let Some(cpu) = x86_64() {
        let pmaddubsw = [-65535, 65536, i32::MIN + 29, -65020];
        let signed = [65537, -506, i32::MIN + 29, -65020];
        assert_eq!(got, if cpu.ssse3 { pmaddubsw } else { signed });
    }
}

/// Random operands for which the proposal fixes `instruction`'s result:
/// in-range indices and conversions, full lane masks, exact products,
/// no NaN, no `-0`/`+0` pair, no `-1 * -1` in Q15, i7 operands in 0..=127.
fn fixed_operands(random: &mut SplitMix, instruction: &str, arity: usize) -> Vec<u128> {
    let mut operands: Vec<u128> = (0..arity).map(|_| random.next_u128()).collect();
    let scale = |bits: u64| 2f64.powi(-((bits % 24) as i32));
    match instruction {
        "i8x16.relaxed_swizzle" => {
            // Indices below 16 or negative.
            operands[1] = v128(
                lanes::<u8, 16>(operands[1]).map(|i| if i & 0x80 == 0 { i & 0x0f } else { i }),
            );
        }
        "i32x4.relaxed_trunc_f32x4_s" => {
            operands[0] = v128(
                [0; 4].map(|_| ((random.next() as i32 >> 1) as f64 * scale(random.next())) as f32),
            );
        }
        "i32x4.relaxed_trunc_f32x4_u" => {
            operands[0] = v128(
                [0; 4].map(|_| ((random.next() as u32 >> 1) as f64 * scale(random.next())) as f32),
            );
        }
        "i32x4.relaxed_trunc_f64x2_s_zero" => {
            operands[0] =
                v128([0; 2].map(|_| f64::from(random.next() as i32) * scale(random.next())));
        }
        "i32x4.relaxed_trunc_f64x2_u_zero" => {
            operands[0] =
                v128([0; 2].map(|_| f64::from(random.next() as u32) * scale(random.next())));
        }
        name if name.contains("madd") || name.contains("min") || name.contains("max") => {
            // Multiples of 1/16 below 8: products and sums are exact.
            for operand in &mut operands {
                *operand = if name.starts_with("f32x4") {
                    v128([0; 4].map(|_| f32::from(random.next() as i8) / 16.0))
                } else {
                    v128([0; 2].map(|_| f64::from(random.next() as i8) / 16.0))
                };
            }
        }
        name if name.ends_with("laneselect") => {
            let lane_bits = match &name[..5] {
                "i8x16" => 8,
                "i16x8" => 16,
                "i32x4" => 32,
                _ => 64,
            };
            let lane = u128::MAX >> (128 - lane_bits);
            operands[2] = (0..128 / lane_bits)
                .filter(|_| random.next() & 1 == 1)
                .fold(0, |mask, index| mask | lane << (index * lane_bits));
        }
        "i16x8.relaxed_q15mulr_s" => {
            let (a, b) = (lanes::<i16, 8>(operands[0]), lanes::<i16, 8>(operands[1]));
            operands[1] = v128(std::array::from_fn::<i16, 8, _>(|i| {
                if a[i] == i16::MIN && b[i] == i16::MIN {
                    0
                } else {
                    b[i]
                }
            }));
        }
        _ => {
            // The dot products: the second operand's lanes in 0..=127.
            operands[1] &= u128::from_le_bytes([0x7f; 16]);
        }
    }
    operands
}

#[test]
fn native_code_agrees_with_deterministic_code_where_the_result_is_fixed() {
    let mut native = native();
    let mut config = Config::new();
    config.relaxed_simd_deterministic(true);
    let mut deterministic = Relaxed::new(&config);
    let mut random = SplitMix(0xf1_0ed);
    for (instruction, arity) in INSTRUCTIONS {
        for _ in 0..2000 {
            let operands = fixed_operands(&mut random, instruction, arity);
            assert_eq!(
                native.call(instruction, &operands),
                deterministic.call(instruction, &operands),
                "{instruction}{operands:x?}"
            );
        }
    }
}

#[test]
fn relaxed_simd_can_be_turned_off() {
    let relaxed = "(module (func (param v128 v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 1))))";
    let mut config = Config::new();
    config.wasm_relaxed_simd(false);
    let error = Module::new(&Engine::new(&config).unwrap(), relaxed).unwrap_err();
    assert!(format!("{error:#}").contains("relaxed"), "{error:#}");
    // Without SIMD there is no relaxed SIMD either.
    let mut config = Config::new();
    config.wasm_simd(false);
    assert!(Module::new(&Engine::new(&config).unwrap(), relaxed).is_err());
    Module::new(&Engine::default(), relaxed).unwrap();
}
