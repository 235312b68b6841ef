//! Helpers for the relaxed SIMD tests: v128 values built from lanes and
//! split back into them, and an instance that exports every relaxed SIMD
//! instruction as a function of its operands.

use remap::{Config, Engine, Instance, Module, Store, Val};

/// Every relaxed SIMD instruction and how many v128 operands it takes.
pub const INSTRUCTIONS: [(&str, usize); 20] = [
    ("i8x16.relaxed_swizzle", 2),
    ("i32x4.relaxed_trunc_f32x4_s", 1),
    ("i32x4.relaxed_trunc_f32x4_u", 1),
    ("i32x4.relaxed_trunc_f64x2_s_zero", 1),
    ("i32x4.relaxed_trunc_f64x2_u_zero", 1),
    ("f32x4.relaxed_madd", 3),
    ("f32x4.relaxed_nmadd", 3),
    ("f64x2.relaxed_madd", 3),
    ("f64x2.relaxed_nmadd", 3),
    ("i8x16.relaxed_laneselect", 3),
    ("i16x8.relaxed_laneselect", 3),
    ("i32x4.relaxed_laneselect", 3),
    ("i64x2.relaxed_laneselect", 3),
    ("f32x4.relaxed_min", 2),
    ("f32x4.relaxed_max", 2),
    ("f64x2.relaxed_min", 2),
    ("f64x2.relaxed_max", 2),
    ("i16x8.relaxed_q15mulr_s", 2),
    ("i16x8.relaxed_dot_i8x16_i7x16_s", 2),
    ("i32x4.relaxed_dot_i8x16_i7x16_add_s", 3),
];

/// A lane type of a v128 value, stored little endian.
pub trait Lane: Copy {
    /// Bytes per lane.
    const BYTES: usize;
    /// The lane's bytes.
    fn to_bytes(self) -> Vec<u8>;
    /// The lane with these `BYTES` bytes.
    fn from_bytes(bytes: &[u8]) -> Self;
}

macro_rules! lanes {
    ($($ty:ty),*) => {$(
        impl Lane for $ty {
            const BYTES: usize = size_of::<$ty>();
            fn to_bytes(self) -> Vec<u8> {
                self.to_le_bytes().to_vec()
            }
            fn from_bytes(bytes: &[u8]) -> Self {
                <$ty>::from_le_bytes(bytes.try_into().expect("one lane"))
            }
        }
    )*};
}

lanes!(i8, u8, i16, i32, u32, i64, f32, f64);

/// The v128 value with these lanes (lane 0 first).
pub fn v128<L: Lane, const N: usize>(lanes: [L; N]) -> u128 {
    let bytes: Vec<u8> = lanes.iter().flat_map(|lane| lane.to_bytes()).collect();
    u128::from_le_bytes(bytes.try_into().expect("16 bytes of lanes"))
}

/// The lanes of `value` (lane 0 first).
pub fn lanes<L: Lane, const N: usize>(value: u128) -> [L; N] {
    let bytes = value.to_le_bytes();
    std::array::from_fn(|index| L::from_bytes(&bytes[index * L::BYTES..][..L::BYTES]))
}

/// For each `relaxed_laneselect`, its lane width in bytes and a mask whose
/// lanes mix set and clear bits, with the top bit set in some lanes only.
pub fn mixed_masks() -> [(&'static str, usize, u128); 4] {
    let bytes = [0x80u8, 0x7f, 0x0f, 0xf0, 0, 0xff, 1, 0x81];
    [
        (
            "i8x16.relaxed_laneselect",
            1,
            v128::<u8, 16>([bytes, bytes].concat().try_into().unwrap()),
        ),
        (
            "i16x8.relaxed_laneselect",
            2,
            v128([i16::MIN, 0x7fff, 0x00ff, -256, 0, -1, 1, -32767]),
        ),
        (
            "i32x4.relaxed_laneselect",
            4,
            v128([i32::MIN, i32::MAX, 0x0000_ffff, -65536]),
        ),
        (
            "i64x2.relaxed_laneselect",
            8,
            v128([i64::MIN, 0x0000_0000_ffff_ffff]),
        ),
    ]
}

/// The module whose export named after each of [`INSTRUCTIONS`] applies it
/// to its parameters.
pub fn wat() -> String {
    let functions: String = INSTRUCTIONS
        .iter()
        .map(|&(instruction, arity)| {
            let params = "(param v128) ".repeat(arity);
            let args: String = (0..arity).map(|i| format!("(local.get {i}) ")).collect();
            format!(
                "(func (export \"{instruction}\") {params}(result v128) ({instruction} {args}))\n"
            )
        })
        .collect();
    format!("(module\n{functions})")
}

/// An instance of [`wat`]'s module, to call relaxed instructions on.
pub struct Relaxed {
    store: Store<()>,
    instance: Instance,
}

impl Relaxed {
    /// Compiles and instantiates the module with an engine of `config`.
    pub fn new(config: &Config) -> Relaxed {
        let engine = Engine::new(config).expect("a valid configuration");
        Relaxed::instantiate(&Module::new(&engine, wat()).expect("the module compiles"))
    }

    /// Instantiates `module`, compiled (or precompiled) from [`wat`].
    pub fn instantiate(module: &Module) -> Relaxed {
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, module, &[]).expect("instantiates");
        Relaxed { store, instance }
    }

    /// `instruction` applied to `operands`.
    pub fn call(&mut self, instruction: &str, operands: &[u128]) -> u128 {
        let func = self
            .instance
            .get_func(&mut self.store, instruction)
            .unwrap_or_else(|| panic!("no export {instruction}"));
        let params: Vec<Val> = operands.iter().map(|&operand| Val::V128(operand)).collect();
        let mut results = [Val::I32(0)];
        func.call(&mut self.store, &params, &mut results)
            .unwrap_or_else(|error| panic!("{instruction}: {error:#}"));
        match results[0] {
            Val::V128(result) => result,
            ref other => panic!("{instruction} returned {other:?}"),
        }
    }
}
