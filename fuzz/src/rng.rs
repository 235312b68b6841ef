//! The deterministic generator every target draws from: a seed names a case.

/// SplitMix64: small, fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// The generator for one case. Mixing the target's tag in keeps the
    /// targets' streams apart for the same seed.
    pub fn new(seed: u64, tag: u64) -> SplitMix {
        let mut rng = SplitMix(seed ^ tag.rotate_left(32));
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (which must not be 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// One of `choices`.
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len() as u64) as usize]
    }

    /// A reference to one of `choices`.
    pub fn pick_ref<'a, T>(&mut self, choices: &'a [T]) -> &'a T {
        &choices[self.below(choices.len() as u64) as usize]
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// An `i64` that is often a boundary value (0, ±1, the extremes, a
    /// power of two) rather than uniformly random.
    pub fn interesting_i64(&mut self) -> i64 {
        match self.below(8) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i64::MIN,
            4 => i64::MAX,
            5 => 1i64 << self.below(63),
            6 => self.below(0x1_0000) as i64,
            _ => self.next_u64() as i64,
        }
    }

    /// An `i32` that is often a boundary value.
    pub fn interesting_i32(&mut self) -> i32 {
        match self.below(8) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i32::MIN,
            4 => i32::MAX,
            5 => 1i32 << self.below(31),
            6 => self.below(0x1_0000) as i32,
            _ => self.next_u64() as i32,
        }
    }

    /// The bits of an `f32` that is often special (zeros, infinities, NaNs
    /// with and without payload, the smallest subnormal).
    pub fn interesting_f32(&mut self) -> u32 {
        match self.below(8) {
            0 => 0,
            1 => 0x8000_0000,
            2 => f32::INFINITY.to_bits(),
            3 => f32::NEG_INFINITY.to_bits(),
            4 => f32::NAN.to_bits() | (self.below(2) as u32) << 31,
            5 => 1,
            6 => (self.below(2000) as f32 - 1000.0).to_bits(),
            _ => self.next_u64() as u32,
        }
    }

    /// The bits of an `f64` that is often special.
    pub fn interesting_f64(&mut self) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => 1 << 63,
            2 => f64::INFINITY.to_bits(),
            3 => f64::NEG_INFINITY.to_bits(),
            4 => f64::NAN.to_bits() | self.below(2) << 63,
            5 => 1,
            6 => (self.below(2000) as f64 - 1000.0).to_bits(),
            _ => self.next_u64(),
        }
    }
}
