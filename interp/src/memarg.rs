//! The memory immediate of load, store and atomic instructions (spec *Structure ›
//! Instructions › Memory Instructions*, `memarg`), below [`crate::syntax`] and
//! [`crate::simd`], whose instructions both carry it; re-exported at its former path in
//! [`crate::syntax`].

/// A memory immediate (spec 3.0 `memarg`): the memory it addresses (multi-memory) and the
/// static offset added to the address operand to form the effective address (up to 64
/// bits with memory64). The alignment hint has no run-time meaning; atomic accesses are
/// checked against their natural alignment.
///
/// Kept to 8 bytes so that [`crate::syntax::Instr`] stays 16: the offset in 48 bits and the
/// memory index in 16. An offset of [`MemArg::OFFSET_LIMIT`] or more is stored as
/// `OFFSET_LIMIT - 8 + offset mod 8`, which behaves the same: every effective address at
/// or above `OFFSET_LIMIT - 8` is out of bounds (no memory is larger than
/// [`crate::types::MAX_MEMORY_BYTES`]), and the alignment of an address depends only on it
/// modulo 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemArg {
    offset_low: u32,
    offset_high: u16,
    /// The memory index (0 without multi-memory).
    pub memory: u16,
}

// The stored offset of a large offset must stay out of bounds.
const _: () = assert!(crate::types::MAX_MEMORY_BYTES < MemArg::OFFSET_LIMIT - 8);

impl MemArg {
    /// Offsets below this are stored exactly (see [`MemArg`]).
    pub const OFFSET_LIMIT: u64 = 1 << 48;

    /// The immediate of memory `memory` with static offset `offset`.
    pub fn new(offset: u64, memory: u16) -> MemArg {
        let stored = if offset < Self::OFFSET_LIMIT {
            offset
        } else {
            Self::OFFSET_LIMIT - 8 + offset % 8
        };
        MemArg {
            offset_low: stored as u32,
            offset_high: (stored >> 32) as u16,
            memory,
        }
    }

    /// The static offset (as stored, see [`MemArg`]).
    #[inline(always)]
    pub fn offset(self) -> u64 {
        u64::from(self.offset_high) << 32 | u64::from(self.offset_low)
    }
}
