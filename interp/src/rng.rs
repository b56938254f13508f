//! The project's one seeded pseudo-random generator: SplitMix64 (G. L. Steele, D. Lea,
//! C. H. Flood, *Fast splittable pseudorandom number generators*, OOPSLA 2014).
//!
//! Not part of the semantics: the seeded scheduler ([`crate::scheduler::SeededRandom`]),
//! the engine harnesses' per-thread delays and the program generators draw from it, so that
//! the same seed gives the same choices everywhere. It imports nothing from this crate.

/// SplitMix64's finaliser: a bijection of `u64` that mixes every input bit into every
/// output bit. [`SplitMix64::next_u64`] is this function of the advanced state; it also
/// serves as a hash of a pair packed into a word (the Zobrist keys of `content_hash`).
pub fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's increment (the odd integer nearest 2^64 divided by the golden ratio).
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A SplitMix64 generator: 64 bits of state, the same sequence from the same seed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// A number in `0..n`, by the remainder (slightly biased when `n` is not a power of
    /// two; good enough for schedules and generated inputs). Panics if `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fills `buf` with random bytes: each draw of 64 bits gives 8 bytes, little-endian
    /// (the last draw is cut when `buf.len()` is not a multiple of 8).
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs of SplitMix64 seeded with 1234567, from the authors' reference
    /// implementation (also the test vector of Java's `SplittableRandom` ports).
    #[test]
    fn matches_the_reference_sequence() {
        let mut r = SplitMix64::new(1234567);
        let got: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821,
            ]
        );
    }

    #[test]
    fn fill_takes_eight_bytes_a_draw() {
        let mut a = SplitMix64::new(7);
        let mut buf = [0u8; 12];
        a.fill(&mut buf);
        let mut b = SplitMix64::new(7);
        let first = b.next_u64().to_le_bytes();
        let second = b.next_u64().to_le_bytes();
        assert_eq!(buf[..8], first);
        assert_eq!(buf[8..], second[..4]);
    }
}
