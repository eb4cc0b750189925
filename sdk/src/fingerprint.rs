//! A fixed 64-bit fingerprint of a configuration's words, for recognising
//! tried configurations without keeping a key (an allocation) per trial.

/// The fingerprint of `words` (one per knob: a float's bits, or a grid
/// index), for "was this configuration tried?" sets over a long history.
///
/// Hand-written and fixed (no `Hash`/`HashMap`, whose hasher is randomly
/// seeded and may change between Rust releases), so it is the same in every
/// run, natively and in the sandbox. It absorbs the number of words, then
/// each word with `h = (h ^ w) * M` and `h ^= h >> 32` (`M` odd): both steps
/// are bijections of the state, so sequences differing in a single word
/// never collide, and other collisions are as unlikely as for a random
/// 64-bit value (about 3e-14 for a pair among 1,000 trials). 64 bits rather
/// than 128 because wasm32 has no 128-bit multiply.
///
/// Safe in place of exact keys: equal words always give equal fingerprints,
/// so a tried configuration is always recognised; a collision can only make
/// a genuinely new configuration look tried (it is skipped), never let a
/// repeat through.
///
/// ```
/// use aiopt_sdk::fingerprint;
/// let a = fingerprint([1.0f64.to_bits(), 2]);
/// assert_eq!(a, fingerprint([1.0f64.to_bits(), 2]));
/// assert_ne!(a, fingerprint([1.0f64.to_bits(), 3]));
/// ```
pub fn fingerprint<I>(words: I) -> u64
where
    I: IntoIterator<Item = u64>,
    I::IntoIter: ExactSizeIterator,
{
    const M: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut absorb = |w: u64| {
        h = (h ^ w).wrapping_mul(M);
        h ^= h >> 32;
    };
    let words = words.into_iter();
    absorb(words.len() as u64);
    for w in words {
        absorb(w);
    }
    // Two more rounds so the last words reach every bit.
    absorb(0);
    absorb(0);
    h
}
