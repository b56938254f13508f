//! An incremental hash of a memory's contents, so that an explorer can compare states
//! without reading every byte at every choice point (issue 13).
//!
//! Zobrist hashing (A. L. Zobrist, *A new hashing method with application for game
//! playing*, 1970): every pair (address, non-zero byte value) has a pseudo-random 64-bit key,
//! and the hash of the contents is the XOR of the keys of its non-zero bytes. XOR is its own
//! inverse, so a write of `n` bytes updates the hash in `O(n)`: toggle the old bytes out,
//! write, toggle the new bytes in. Zero bytes contribute nothing, so a fresh (all-zero)
//! memory, and the pages `memory.grow` adds, hash to 0 without being read.

use crate::rng::{mix, GOLDEN_GAMMA};

/// The Zobrist hash of a byte vector (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ContentHash(u64);

impl ContentHash {
    /// The hash of `bytes` (addresses from 0), reading all of them.
    pub fn of(bytes: &[u8]) -> Self {
        let mut h = ContentHash::default();
        h.toggle(0, bytes);
        h
    }

    /// Toggle `bytes`, at addresses `start..start + bytes.len()`, in or out of the hash:
    /// call it with the old contents of a range before writing it and with the new contents
    /// after.
    pub fn toggle(&mut self, start: usize, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            if b != 0 {
                self.0 ^= key(start + i, b);
            }
        }
    }

    /// The hash value.
    pub fn value(self) -> u64 {
        self.0
    }
}

/// The key of byte value `b` at `address`: SplitMix64's finaliser (Steele, Lea, Flood 2014)
/// of the pair, a bijection, so distinct pairs have distinct keys.
fn key(address: usize, b: u8) -> u64 {
    mix(((address as u64) << 8 | u64::from(b)).wrapping_add(GOLDEN_GAMMA))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_updates_equal_the_hash_of_the_result() {
        let mut bytes = vec![0u8; 64];
        let mut h = ContentHash::of(&bytes);
        assert_eq!(h, ContentHash::default());
        for (start, new) in [
            (3, &[1u8, 2, 3][..]),
            (4, &[0, 9]),
            (60, &[7, 7, 7, 7]),
            (3, &[0]),
        ] {
            h.toggle(start, &bytes[start..start + new.len()]);
            bytes[start..start + new.len()].copy_from_slice(new);
            h.toggle(start, new);
            assert_eq!(h, ContentHash::of(&bytes));
        }
        // Same bytes at other addresses, or other bytes at the same address: other hashes.
        let mut moved = vec![0u8; 64];
        moved[4..6].copy_from_slice(&bytes[3..5]);
        assert_ne!(ContentHash::of(&moved), h);
        assert_ne!(ContentHash::of(&[1]), ContentHash::of(&[2]));
    }
}
