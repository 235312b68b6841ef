//! Wide arithmetic (`i64.add128`, `i64.sub128`, `i64.mul_wide_s`,
//! `i64.mul_wide_u`) gives the results of Rust's u128/i128 arithmetic: on
//! carry, borrow and sign edge cases, on many seeded random operands, and
//! in a multiply-accumulate loop over memory; it can be turned off.

mod seeded;

use remap::{Config, Engine, Instance, Module, Store, TypedFunc};
use seeded::SplitMix;

const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "add128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "sub128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.sub128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "mul_wide_s") (param i64 i64) (result i64 i64)
    (i64.mul_wide_s (local.get 0) (local.get 1)))
  (func (export "mul_wide_u") (param i64 i64) (result i64 i64)
    (i64.mul_wide_u (local.get 0) (local.get 1)))
  ;; The 128-bit sum of x[i] * y[i] (unsigned) over the n pairs (x, y) of
  ;; u64s stored from address 0.
  (func (export "dot") (param $n i32) (result i64 i64)
    (local $address i32) (local $low i64) (local $high i64)
    (local $product_low i64) (local $product_high i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (i64.mul_wide_u
          (i64.load (local.get $address))
          (i64.load offset=8 (local.get $address)))
        (local.set $product_high)
        (local.set $product_low)
        (i64.add128 (local.get $low) (local.get $high)
                    (local.get $product_low) (local.get $product_high))
        (local.set $high)
        (local.set $low)
        (local.set $address (i32.add (local.get $address) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $low) (local.get $high)))
"#;

type Wide = TypedFunc<(i64, i64, i64, i64), (i64, i64)>;
type Mul = TypedFunc<(i64, i64), (i64, i64)>;

/// An instance of [`WAT`] and its exports.
struct Wasm {
    store: Store<()>,
    instance: Instance,
    add128: Wide,
    sub128: Wide,
    mul_wide_s: Mul,
    mul_wide_u: Mul,
}

impl Wasm {
    fn new() -> Wasm {
        let engine = Engine::default();
        let module = Module::new(&engine, WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let add128 = instance.get_typed_func(&mut store, "add128").unwrap();
        let sub128 = instance.get_typed_func(&mut store, "sub128").unwrap();
        let mul_wide_s = instance.get_typed_func(&mut store, "mul_wide_s").unwrap();
        let mul_wide_u = instance.get_typed_func(&mut store, "mul_wide_u").unwrap();
        Wasm {
            store,
            instance,
            add128,
            sub128,
            mul_wide_s,
            mul_wide_u,
        }
    }

    /// `func` (add128 or sub128) on the halves of `a` and `b`.
    fn wide(func: &Wide, store: &mut Store<()>, a: u128, b: u128) -> u128 {
        let (low, high) = func
            .call(store, (low(a), high(a), low(b), high(b)))
            .unwrap();
        join(low, high)
    }

    fn add128(&mut self, a: u128, b: u128) -> u128 {
        Wasm::wide(&self.add128, &mut self.store, a, b)
    }

    fn sub128(&mut self, a: u128, b: u128) -> u128 {
        Wasm::wide(&self.sub128, &mut self.store, a, b)
    }

    fn mul_wide_s(&mut self, a: i64, b: i64) -> i128 {
        let (low, high) = self.mul_wide_s.call(&mut self.store, (a, b)).unwrap();
        join(low, high) as i128
    }

    fn mul_wide_u(&mut self, a: u64, b: u64) -> u128 {
        let (low, high) = self
            .mul_wide_u
            .call(&mut self.store, (a as i64, b as i64))
            .unwrap();
        join(low, high)
    }

    /// Checks all four instructions on these operands against Rust.
    fn check(&mut self, a: u128, b: u128) {
        assert_eq!(self.add128(a, b), a.wrapping_add(b), "{a:#x} + {b:#x}");
        assert_eq!(self.sub128(a, b), a.wrapping_sub(b), "{a:#x} - {b:#x}");
        let (x, y) = (a as u64, b as u64);
        assert_eq!(
            self.mul_wide_u(x, y),
            u128::from(x) * u128::from(y),
            "{x:#x} * {y:#x} unsigned"
        );
        let (x, y) = (x as i64, y as i64);
        assert_eq!(
            self.mul_wide_s(x, y),
            i128::from(x) * i128::from(y),
            "{x} * {y} signed"
        );
    }
}

fn low(value: u128) -> i64 {
    value as u64 as i64
}

fn high(value: u128) -> i64 {
    (value >> 64) as u64 as i64
}

fn join(low: i64, high: i64) -> u128 {
    u128::from(high as u64) << 64 | u128::from(low as u64)
}

#[test]
fn carries_borrows_and_signs_at_the_edges() {
    let mut wasm = Wasm::new();
    let max = u64::MAX as u128;
    // The carry out of the low half, and out of the whole (dropped).
    assert_eq!(wasm.add128(max, 1), 1 << 64);
    assert_eq!(wasm.add128(u128::MAX, 1), 0);
    assert_eq!(wasm.add128(max << 64, 1 << 64), 0);
    // The borrow into the low half, and below zero.
    assert_eq!(wasm.sub128(1 << 64, 1), max);
    assert_eq!(wasm.sub128(0, 1), u128::MAX);
    assert_eq!(wasm.sub128(1 << 127, 1), (1 << 127) - 1);
    // Products whose high half is all sign, or the largest there are.
    assert_eq!(wasm.mul_wide_s(-1, -1), 1);
    assert_eq!(wasm.mul_wide_s(-1, 1), -1);
    assert_eq!(wasm.mul_wide_s(i64::MIN, i64::MIN), 1 << 126);
    assert_eq!(wasm.mul_wide_s(i64::MIN, -1), 1 << 63);
    assert_eq!(wasm.mul_wide_s(i64::MIN, i64::MAX), -(1 << 126) + (1 << 63));
    assert_eq!(wasm.mul_wide_u(u64::MAX, u64::MAX), u128::MAX - 2 * max);
    assert_eq!(wasm.mul_wide_u(u64::MAX, 2), 2 * max);
    assert_eq!(wasm.mul_wide_u(1 << 63, 1 << 63), 1 << 126);
    let edges = [
        0,
        1,
        max,
        max + 1,
        1 << 63,
        (1 << 127) - 1,
        1 << 127,
        u128::MAX,
    ];
    for a in edges {
        for b in edges {
            wasm.check(a, b);
        }
    }
}

#[test]
fn random_operands_match_rust_128_bit_arithmetic() {
    let mut wasm = Wasm::new();
    let mut random = SplitMix(0x128);
    for _ in 0..20_000 {
        // Half the time one half is all zeros or all ones, so carries and
        // borrows run through a whole half.
        let mut operand = || match random.next() % 4 {
            0 => random.next_u128() & u128::from(u64::MAX),
            1 => random.next_u128() | !u128::from(u64::MAX),
            _ => random.next_u128(),
        };
        let (a, b) = (operand(), operand());
        wasm.check(a, b);
    }
}

#[test]
fn a_multiply_accumulate_loop_carries_into_the_high_half() {
    let mut wasm = Wasm::new();
    let mut random = SplitMix(0xacc);
    let pairs: Vec<(u64, u64)> = (0..1000)
        .map(|_| (random.next() | 1 << 63, random.next() | 1 << 63))
        .collect();
    let bytes: Vec<u8> = pairs
        .iter()
        .flat_map(|&(x, y)| [x.to_le_bytes(), y.to_le_bytes()].concat())
        .collect();
    let memory = wasm.instance.get_memory(&mut wasm.store, "memory").unwrap();
    memory.write(&mut wasm.store, 0, &bytes).unwrap();
    let dot = wasm
        .instance
        .get_typed_func::<i32, (i64, i64)>(&mut wasm.store, "dot")
        .unwrap();
    let (low, high) = dot.call(&mut wasm.store, pairs.len() as i32).unwrap();
    let want = pairs.iter().fold(0u128, |sum, &(x, y)| {
        sum.wrapping_add(u128::from(x) * u128::from(y))
    });
    assert_eq!(join(low, high), want);
}

#[test]
fn wide_arithmetic_can_be_turned_off() {
    let mut config = Config::new();
    config.wasm_wide_arithmetic(false);
    let error = Module::new(&Engine::new(&config).unwrap(), WAT).unwrap_err();
    assert!(format!("{error:#}").contains("wide"), "{error:#}");
}
