//! Events and actions (runtime.rst l.664–756; MODEL.md §2).
//!
//! An [`Event`] is a set of [`Action`]s performed by one thread as one indivisible step.
//! A location is a shared memory's `data` region and a byte address in it
//! (`region[offset]`, [`Location`]), or the distinguished *length* location of a memory
//! (its `len` region, relaxed.rst *Consistency*, note: "bounds checks … additionally
//! access a distinguished length location"; [`length_location`]). The length holds a value,
//! not bytes: its actions carry the length in bytes as 8 little-endian bytes at offset 0 of
//! that location, always all 8 (so every two length actions have the same range), and a
//! read of it carries `noTear` (a value is read whole; see `docs/model.md`, *The length
//! location*).
//!
//! The helper functions of relaxed.rst l.20–80 (`read`, `write`, `ord`, `range`, `same`,
//! `overlap`, `sync`, `tearfree`) are methods of [`Event`]; they see the event's *access*
//! action (read, write or RMW). Suspension predicates see its *suspension* action
//! (wait, woken, timeout, notify). A `wait` event has both, on the same location: the two
//! are treated separately (MODEL.md §7.3 erratum 6).

use serde::Serialize;

/// A byte location: byte `address` of the litmus program's shared memory number `memory`
/// (memories numbered in the order the script defines them), as one number:
/// `memory · 2^48 + address`. Memory 0's locations are its byte addresses. No access
/// crosses from one memory into the next (every access is bounds-checked, and a litmus
/// memory is at most [`MEMORY_SPAN`] bytes), so byte ranges of locations overlap exactly
/// when the accesses are to the same memory and their address ranges overlap: the
/// relaxed.rst predicates (`same`, `overlap`, ...) apply to locations unchanged.
pub type Location = u64;

/// The most bytes a litmus memory may have (2^48), and the distance between the locations
/// of consecutive memories.
pub const MEMORY_SPAN: u64 = 1 << 48;

/// The location of byte `address` of memory `memory` (`address < MEMORY_SPAN`).
pub fn location(memory: usize, address: u64) -> Location {
    memory as u64 * MEMORY_SPAN + address
}

/// The memory number from which locations are *length* locations: the length location of
/// memory `m` is `location(LENGTH_REGION + m, 0)` ([`length_location`]). A litmus program
/// has fewer memories (the front end refuses more than [`MAX_MEMORIES`]).
pub const LENGTH_REGION: usize = 1 << 15;

/// The most shared memories a litmus program may define.
pub const MAX_MEMORIES: usize = 1 << 10;

/// The distinguished length location of shared memory `memory` (relaxed.rst, *Consistency*,
/// note; runtime.rst `a.len`): read by bounds checks (unord) and `memory.size` (seq-cst),
/// read-modified-written by `memory.grow` (instructions.rst *memory.size*, *memory.grow*).
pub fn length_location(memory: usize) -> Location {
    location(LENGTH_REGION + memory, 0)
}

/// The memory whose length location `loc` is, if it is one.
pub fn length_of(loc: Location) -> Option<usize> {
    let (m, a) = memory_and_address(loc);
    (m >= LENGTH_REGION && a == 0).then(|| m - LENGTH_REGION)
}

/// A location for messages: `address 8` in memory 0, `memory 1 address 8` in another,
/// `the length of memory 0` for a length location.
pub fn describe(loc: Location) -> String {
    match memory_and_address(loc) {
        (m, 0) if m >= LENGTH_REGION => format!("the length of memory {}", m - LENGTH_REGION),
        (m, byte) if m >= LENGTH_REGION => {
            format!("byte {byte} of the length of memory {}", m - LENGTH_REGION)
        }
        (0, address) => format!("address {address}"),
        (memory, address) => format!("memory {memory} address {address}"),
    }
}

/// `(memory, address)` of a location.
pub fn memory_and_address(loc: Location) -> (usize, u64) {
    ((loc / MEMORY_SPAN) as usize, loc % MEMORY_SPAN)
}

/// Index of an event in an [`crate::Execution`]'s event list.
pub type EventId = usize;

/// Index of a script thread in a [`crate::Program`] (`0` is the top-level script, `main`).
pub type ThreadId = usize;

/// The ordering annotation of a read or write action (runtime.rst `ord`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MemOrder {
    /// Non-atomic (`unord`): plain loads and stores.
    Unord,
    /// Sequentially consistent (`seqcst`): atomic loads, stores, RMWs, the read of a wait.
    SeqCst,
    /// The initialising write of a memory allocation (`init`).
    Init,
}

/// One action of an event (runtime.rst l.673–731). Offsets are [`Location`]s (a shared
/// memory's `data` region and a byte address in it); byte strings are little-endian memory
/// contents.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Action {
    /// `RD_ord loc bytes [noTear]`: a read of `bytes.len()` bytes at `offset`.
    Read {
        /// Ordering of the read.
        ord: MemOrder,
        /// First byte address.
        offset: Location,
        /// The bytes read (guessed by the operational layer).
        bytes: Vec<u8>,
        /// The `noTear` flag (runtime.rst l.740–747): integer, `N ≤ 32`, aligned.
        no_tear: bool,
    },
    /// `WR_ord loc bytes [noTear]`: a write of `bytes` at `offset`.
    Write {
        /// Ordering of the write.
        ord: MemOrder,
        /// First byte address.
        offset: Location,
        /// The bytes written.
        bytes: Vec<u8>,
        /// The `noTear` flag.
        no_tear: bool,
    },
    /// `RMW loc bytes_read bytes_written`: always seq-cst, both strings the same length.
    Rmw {
        /// First byte address.
        offset: Location,
        /// The bytes read.
        read: Vec<u8>,
        /// The bytes written.
        written: Vec<u8>,
    },
    /// `WAIT loc timeout`: the thread enqueues itself as a waiter on `offset`.
    /// `timeout` is in nanoseconds; negative means infinite.
    Wait {
        /// Location (effective address) waited on.
        offset: Location,
        /// Timeout in nanoseconds, negative for none.
        timeout: i64,
    },
    /// `WOKEN loc`: the thread was resumed by a notify.
    Woken {
        /// Location waited on.
        offset: Location,
    },
    /// `TIMEOUT loc`: the thread resumed because its timeout expired.
    Timeout {
        /// Location waited on.
        offset: Location,
    },
    /// `NOTIFY loc woken max`: woke `woken` of at most `max` waiters.
    Notify {
        /// Location notified.
        offset: Location,
        /// Number of waiters woken (the instruction's result).
        woken: u32,
        /// The count operand.
        max: u32,
    },
    /// `FENCE`: emitted by `atomic.fence`; it has no meaning in relaxed.rst (MODEL.md §7.3
    /// erratum 9). See [`crate::FenceSemantics`].
    Fence,
}

/// The kind of a suspension action, without its location.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SuspensionKind {
    /// `WAIT`.
    Wait,
    /// `WOKEN`.
    Woken,
    /// `TIMEOUT`.
    Timeout,
    /// `NOTIFY` with the number woken and the maximum.
    Notify {
        /// Number woken.
        woken: u32,
        /// Maximum.
        max: u32,
    },
}

/// An event: a set of actions performed by one thread in one step, stamped with a time
/// stamp (here: its position in the execution's total order) (runtime.rst l.664–756).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Event {
    /// The script thread that performed the event; `None` for the init write of the
    /// memory allocation (performed before any thread of the litmus test runs).
    pub thread: Option<ThreadId>,
    /// Position in the thread's program order (0-based); 0 for the init write.
    pub po_index: usize,
    /// The actions of the event (at most one access and one suspension action).
    pub actions: Vec<Action>,
    /// Human-readable description, e.g. `"T1 i32.atomic.store @ line 12"`.
    pub label: String,
}

impl Event {
    /// The access action (read, write or RMW), if any.
    pub fn access(&self) -> Option<&Action> {
        self.actions.iter().find(|a| {
            matches!(
                a,
                Action::Read { .. } | Action::Write { .. } | Action::Rmw { .. }
            )
        })
    }

    /// The suspension action (wait, woken, timeout, notify) and its location, if any.
    pub fn suspension(&self) -> Option<(Location, SuspensionKind)> {
        self.actions.iter().find_map(|a| match *a {
            Action::Wait { offset, .. } => Some((offset, SuspensionKind::Wait)),
            Action::Woken { offset } => Some((offset, SuspensionKind::Woken)),
            Action::Timeout { offset } => Some((offset, SuspensionKind::Timeout)),
            Action::Notify { offset, woken, max } => {
                Some((offset, SuspensionKind::Notify { woken, max }))
            }
            _ => None,
        })
    }

    /// `read(a)`: the bytes read (relaxed.rst l.20ff); empty if the event does not read.
    pub fn read(&self) -> &[u8] {
        match self.access() {
            Some(Action::Read { bytes, .. }) => bytes,
            Some(Action::Rmw { read, .. }) => read,
            _ => &[],
        }
    }

    /// `write(a)`: the bytes written; empty if the event does not write.
    pub fn write(&self) -> &[u8] {
        match self.access() {
            Some(Action::Write { bytes, .. }) => bytes,
            Some(Action::Rmw { written, .. }) => written,
            _ => &[],
        }
    }

    /// `reading(a)`: `read(a) ≠ ε`.
    pub fn reading(&self) -> bool {
        !self.read().is_empty()
    }

    /// `writing(a)`: `write(a) ≠ ε`.
    pub fn writing(&self) -> bool {
        !self.write().is_empty()
    }

    /// `ord(a)`: the ordering of the access; `SeqCst` for an RMW; `None` without access.
    pub fn ord(&self) -> Option<MemOrder> {
        match self.access() {
            Some(Action::Read { ord, .. }) | Some(Action::Write { ord, .. }) => Some(*ord),
            Some(Action::Rmw { .. }) => Some(MemOrder::SeqCst),
            _ => None,
        }
    }

    /// `range(a)` as a half-open byte range `[start, end)`; empty without access.
    pub fn range(&self) -> (Location, Location) {
        match self.access() {
            Some(Action::Read { offset, bytes, .. })
            | Some(Action::Write { offset, bytes, .. }) => (*offset, offset + bytes.len() as u64),
            Some(Action::Rmw {
                offset,
                read,
                written,
            }) => (*offset, offset + read.len().max(written.len()) as u64),
            _ => (0, 0),
        }
    }

    /// Whether the access covers byte address `k`.
    pub fn covers(&self, k: Location) -> bool {
        let (s, e) = self.range();
        s <= k && k < e
    }

    /// The byte this event writes at address `k`, if it writes `k`.
    pub fn byte_written_at(&self, k: Location) -> Option<u8> {
        let (s, _) = self.range();
        let w = self.write();
        k.checked_sub(s).and_then(|j| w.get(j as usize).copied())
    }

    /// `same(a, b)`: identical, non-empty access ranges.
    pub fn same(&self, other: &Event) -> bool {
        let r = self.range();
        r.0 < r.1 && r == other.range()
    }

    /// `overlap(a, b)`: the access ranges intersect (relaxed.rst l.37 writes `∪`; the
    /// intended intersection is used, MODEL.md §7.3 erratum 1).
    pub fn overlap(&self, other: &Event) -> bool {
        let (a, b) = self.range();
        let (c, d) = other.range();
        a < d && c < b
    }

    /// `sync(a, b)`: same range and both seq-cst ("could synchronise").
    pub fn sync(&self, other: &Event) -> bool {
        self.same(other)
            && self.ord() == Some(MemOrder::SeqCst)
            && other.ord() == Some(MemOrder::SeqCst)
    }

    /// `tearfree(a)`: seq-cst, RMW, or unord with the `noTear` flag (MODEL.md §7.3
    /// erratum 4). With `literal` set, the spec's patterns as written (the flag is
    /// ignored, so no unord access is tear-free).
    pub fn tearfree(&self, literal: bool) -> bool {
        match self.access() {
            Some(Action::Rmw { .. }) => true,
            Some(Action::Read { ord, no_tear, .. }) | Some(Action::Write { ord, no_tear, .. }) => {
                match ord {
                    MemOrder::SeqCst => true,
                    MemOrder::Unord => *no_tear && !literal,
                    MemOrder::Init => false,
                }
            }
            _ => false,
        }
    }

    /// Whether the event takes part in the total order constraints (MODEL.md §3.4 `REL`):
    /// seq-cst accesses (including RMWs and the read of a wait) and suspension events.
    pub fn relevant_for_tot(&self) -> bool {
        self.ord() == Some(MemOrder::SeqCst) || self.suspension().is_some()
    }
}
