//! A small, frozen pseudo-random generator.
//!
//! Hand-rolled on purpose: a study replays byte-identically only if every
//! draw from a seed stays the same forever, and an upgraded dependency may
//! change its algorithm or its sampling methods. xoshiro256** (Blackman and
//! Vigna, 2018) is fast, has a 2^256 − 1 period and passes BigCrush; its state
//! is filled from the seed by SplitMix64, as its authors recommend. It is not
//! cryptographic, which a strategy does not need.

#![forbid(unsafe_code)]

/// The golden-ratio increment of SplitMix64.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijection on `u64` that mixes every
/// input bit into every output bit.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic generator (xoshiro256** seeded by SplitMix64).
///
/// The output for a given seed is part of aiopt's compatibility promise: it
/// will not change in any release, so a strategy that draws the same way from
/// the same seed gives the same answer forever. Every method documents how
/// many raw draws it consumes when that matters for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed`: the four state words are the first
    /// four SplitMix64 outputs starting from state `seed`, so every seed
    /// (zero included) gives a valid, well-mixed state.
    pub fn new(seed: u64) -> Self {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(GOLDEN_GAMMA);
            mix64(state)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// A seed for an independent sub-stream number `stream` of `seed`.
    ///
    /// Use it to give each part of a computation (each objective, each
    /// bootstrap replicate, each batch slot) its own generator, so that
    /// changing how many draws one part makes does not shift the draws of
    /// the others. Distinct streams of one seed give distinct seeds.
    pub fn derive(seed: u64, stream: u64) -> u64 {
        mix64(mix64(seed) ^ mix64(stream ^ 0x6A09_E667_F3BC_C909))
    }

    /// The next 64 raw bits (one xoshiro256** step).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform float in `[0, 1)`: the top 53 bits of one draw, so every
    /// multiple of 2^-53 in the interval is equally likely.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in `[lo, hi)` (one draw). Returns `lo` when the
    /// interval is empty (`hi <= lo`) or a bound is NaN, so callers need not
    /// special-case a knob whose bounds are equal.
    pub fn range_f64(&mut self, lo: f64, hi: f64) -> f64 {
        let u = self.f64();
        if lo >= hi || lo.is_nan() || hi.is_nan() {
            return lo;
        }
        // Interpolating instead of `lo + (hi - lo) * u` cannot overflow when
        // the bounds span more than f64::MAX.
        let x = lo * (1.0 - u) + hi * u;
        if x >= hi {
            hi.next_down().max(lo)
        } else {
            x.max(lo)
        }
    }

    /// A uniform integer in `[0, n)`, without modulo bias (Lemire's
    /// multiply-and-reject: usually one draw, more only on rejection).
    ///
    /// # Panics
    ///
    /// If `n == 0`: there is nothing to choose from.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0): empty range");
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// A uniform integer in `[lo, hi]`, both inclusive and without bias.
    ///
    /// # Panics
    ///
    /// If `lo > hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "Rng::range_i64({lo}, {hi}): empty range");
        let span = hi.wrapping_sub(lo) as u64;
        match span.checked_add(1) {
            Some(n) => lo.wrapping_add(self.below(n) as i64),
            // The whole i64 range: every bit pattern is one value.
            None => self.next_u64() as i64,
        }
    }

    /// A uniform index in `[0, n)`, e.g. into a slice of length `n`.
    ///
    /// # Panics
    ///
    /// If `n == 0`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A fair coin (the top bit of one draw).
    pub fn bool(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }

    /// A uniformly chosen element, or `None` for an empty slice (which
    /// consumes no draw).
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(&items[self.index(items.len())])
        }
    }

    /// Shuffles `items` in place, every permutation equally likely
    /// (Fisher–Yates from the back, `len - 1` calls to [`Rng::below`]).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_state_is_splitmix64() {
        // The published SplitMix64 sequence from state 0.
        let rng = Rng::new(0);
        assert_eq!(
            rng.s,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f,
                0xf88b_b8a8_724c_81ec
            ]
        );
    }

    #[test]
    fn seed_zero_first_outputs_are_frozen() {
        // Computed with an independent implementation of xoshiro256**; if
        // this fails, every stored study stops replaying.
        let mut rng = Rng::new(0);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                0x99ec_5f36_cb75_f2b4,
                0xbf6e_1f78_4956_452a,
                0x1a5f_849d_4933_e6e0,
                0x6aa5_94f1_262d_2d2c,
                0xbba5_ad4a_1f84_2e59
            ]
        );
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(8);
            (0..16).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn derive_gives_distinct_seeds() {
        let seeds: std::collections::BTreeSet<u64> =
            (0..1000).map(|stream| Rng::derive(42, stream)).collect();
        assert_eq!(seeds.len(), 1000);
        assert!(!seeds.contains(&42));
        assert_ne!(Rng::derive(1, 0), Rng::derive(2, 0));
        assert_eq!(Rng::derive(9, 3), Rng::derive(9, 3));
    }

    #[test]
    fn f64_is_in_unit_interval_and_roughly_uniform() {
        let mut rng = Rng::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            let x = rng.f64();
            assert!((0.0..1.0).contains(&x));
            buckets[(x * 10.0) as usize] += 1;
        }
        for b in buckets {
            assert!((9_500..10_500).contains(&b), "{buckets:?}");
        }
    }

    #[test]
    fn range_f64_stays_in_bounds() {
        let mut rng = Rng::new(2);
        for _ in 0..10_000 {
            let x = rng.range_f64(-3.5, 2.25);
            assert!((-3.5..2.25).contains(&x));
        }
        assert_eq!(rng.range_f64(4.0, 4.0), 4.0);
        assert_eq!(rng.range_f64(5.0, 4.0), 5.0);
        let huge = rng.range_f64(f64::MIN, f64::MAX);
        assert!(huge.is_finite());
    }

    #[test]
    fn range_i64_is_inclusive_and_unbiased() {
        let mut rng = Rng::new(3);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            let x = rng.range_i64(-3, 3);
            assert!((-3..=3).contains(&x));
            counts[(x + 3) as usize] += 1;
        }
        for c in counts {
            assert!((9_400..10_600).contains(&c), "{counts:?}");
        }
        assert_eq!(rng.range_i64(5, 5), 5);
        // Extreme bounds neither overflow nor leave the range.
        for _ in 0..1000 {
            let x = rng.range_i64(i64::MAX - 1, i64::MAX);
            assert!(x >= i64::MAX - 1);
            let _ = rng.range_i64(i64::MIN, i64::MAX);
            let y = rng.range_i64(i64::MIN, i64::MIN + 2);
            assert!(y <= i64::MIN + 2);
        }
    }

    #[test]
    fn below_handles_awkward_bounds() {
        let mut rng = Rng::new(4);
        let n = (1u64 << 63) + 1; // the worst case for rejection
        for _ in 0..1000 {
            assert!(rng.below(n) < n);
            assert_eq!(rng.below(1), 0);
            assert!(rng.below(u64::MAX) < u64::MAX);
        }
    }

    #[test]
    fn index_bool_choose_shuffle() {
        let mut rng = Rng::new(5);
        let mut seen = [false; 5];
        let mut heads = 0;
        for _ in 0..1000 {
            seen[rng.index(5)] = true;
            heads += u32::from(rng.bool());
        }
        assert!(seen.iter().all(|&s| s));
        assert!((400..600).contains(&heads));
        assert_eq!(rng.choose::<u8>(&[]), None);
        assert_eq!(rng.choose(&[9]), Some(&9));

        let mut items: Vec<u32> = (0..50).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..50).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..50).collect::<Vec<_>>());
    }
}
