//! Memory instances (spec *Runtime Structure › Memory Instances*, threads proposal).
//!
//! Per the threads spec (`exec/runtime.rst`), an **unshared** memory instance holds its bytes,
//! while a **shared** memory instance holds only its type: its contents are whatever the
//! memory model lets reads observe. Heddle keeps that split: [`MemInst::Unshared`] owns a
//! byte vector, [`MemInst::Shared`] owns a [`SharedMemory`] backend. Every shared access is
//! one call shaped like the spec's actions: `(thread, ordering, effective address, bytes)`,
//! with the `len` read (bounds check) folded into the same call, as the spec's instruction
//! rules emit `RD len` and the data action in one event.

use crate::exec::ThreadId;
use crate::types::{Limits, MemType};
use crate::Trap;
use std::collections::{HashMap, VecDeque};
use std::fmt;

/// Size of a page, in bytes (spec: 64 KiB).
pub const PAGE_SIZE: u64 = 65536;

/// The largest number of pages a 32-bit memory can have (4 GiB).
pub const MAX_PAGES: u64 = 65536;

/// Ordering of a memory action (spec `ord ::= unord | seqcst | init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordering {
    /// A non-atomic access.
    Unord,
    /// An atomic (sequentially consistent) access.
    SeqCst,
    /// The initialising write of an allocation.
    Init,
}

/// What a `memory.atomic.wait` did in its one indivisible step (spec instr *wait*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The loaded value differed from the expected one: the instruction returns 1.
    NotEqual,
    /// The thread was enqueued as a waiter on the effective address.
    Suspended,
}

/// The memory-model interface behind a shared memory instance. Implementations decide
/// what a read returns; the default, [`ScMemory`], is sequentially consistent.
///
/// All addresses are effective addresses in bytes; `Err(Trap::OutOfBoundsMemoryAccess)`
/// when `ea + len > current length`.
pub trait SharedMemory: Send + fmt::Debug {
    /// The memory's type, with the current size in pages as `min`.
    fn ty(&self) -> MemType;
    /// Current length in bytes (spec: the `len` location, read seq-cst).
    fn len_bytes(&self, thread: ThreadId) -> u64;
    /// `RD_ord data[ea] out` (after `RD len`): fill `out` with the bytes read.
    fn read(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
    ) -> Result<(), Trap>;
    /// `WR_ord data[ea] bytes` (after `RD len`).
    fn write(&mut self, thread: ThreadId, ord: Ordering, ea: u64, bytes: &[u8])
        -> Result<(), Trap>;
    /// `RMW data[ea] old new`: read `width` bytes as a little-endian unsigned integer `old`,
    /// and if `modify(old)` is `Some(new)` write `new`'s low `width` bytes in the same
    /// indivisible step; if it is `None` the action is a seq-cst read only (a failed
    /// `cmpxchg`, spec instr l.3313). Returns `old`.
    fn rmw(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        modify: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Trap>;
    /// `memory.grow` by `delta` pages: `Some(old size in pages)`, or `None` on failure.
    fn grow(&mut self, thread: ThreadId, delta: u64) -> Option<u64>;
    /// The read-and-enqueue step of `memory.atomic.wait{32,64}`: compare the `width`-byte
    /// value at `ea` with `expected` and, if equal, append `thread` to the FIFO wait queue
    /// of `ea`.
    fn wait(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        expected: u64,
    ) -> Result<WaitOutcome, Trap>;
    /// `memory.atomic.notify`: dequeue up to `count` waiters of `ea`, oldest first, and
    /// return them (the caller resumes them with result 0).
    fn notify(&mut self, thread: ThreadId, ea: u64, count: u32) -> Result<Vec<ThreadId>, Trap>;
    /// Remove `thread` from the wait queue of `ea` (its timeout expired).
    fn cancel_wait(&mut self, thread: ThreadId, ea: u64);
}

/// Sequentially consistent shared memory (MODEL.md §9.1): one byte vector, every action
/// performed whole in one step, FIFO wait queues keyed by effective address.
#[derive(Debug, Clone)]
pub struct ScMemory {
    ty: MemType,
    bytes: Vec<u8>,
    waiters: HashMap<u64, VecDeque<ThreadId>>,
}

impl ScMemory {
    /// Allocate (spec `allocmem`): `ty.limits.min` pages of zeros.
    pub fn new(ty: MemType) -> Self {
        ScMemory {
            ty,
            bytes: vec![0; (ty.limits.min * PAGE_SIZE) as usize],
            waiters: HashMap::new(),
        }
    }

    fn range(&self, ea: u64, n: usize) -> Result<std::ops::Range<usize>, Trap> {
        bounds(self.bytes.len(), ea, n)
    }
}

/// The byte range `[ea, ea + n)` if it lies within a memory of `len` bytes.
pub(crate) fn bounds(len: usize, ea: u64, n: usize) -> Result<std::ops::Range<usize>, Trap> {
    match ea.checked_add(n as u64) {
        Some(end) if end <= len as u64 => Ok(ea as usize..end as usize),
        _ => Err(Trap::OutOfBoundsMemoryAccess),
    }
}

/// Little-endian unsigned integer of `bytes` (at most 8).
pub(crate) fn le_to_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

impl SharedMemory for ScMemory {
    fn ty(&self) -> MemType {
        MemType {
            limits: Limits {
                min: self.bytes.len() as u64 / PAGE_SIZE,
                max: self.ty.limits.max,
            },
            shared: true,
        }
    }

    fn len_bytes(&self, _thread: ThreadId) -> u64 {
        self.bytes.len() as u64
    }

    fn read(
        &mut self,
        _thread: ThreadId,
        _ord: Ordering,
        ea: u64,
        out: &mut [u8],
    ) -> Result<(), Trap> {
        let r = self.range(ea, out.len())?;
        out.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write(
        &mut self,
        _thread: ThreadId,
        _ord: Ordering,
        ea: u64,
        bytes: &[u8],
    ) -> Result<(), Trap> {
        let r = self.range(ea, bytes.len())?;
        self.bytes[r].copy_from_slice(bytes);
        Ok(())
    }

    fn rmw(
        &mut self,
        _thread: ThreadId,
        ea: u64,
        width: usize,
        modify: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Trap> {
        let r = self.range(ea, width)?;
        let old = le_to_u64(&self.bytes[r.clone()]);
        if let Some(new) = modify(old) {
            self.bytes[r].copy_from_slice(&new.to_le_bytes()[..width]);
        }
        Ok(old)
    }

    fn grow(&mut self, _thread: ThreadId, delta: u64) -> Option<u64> {
        let old = self.bytes.len() as u64 / PAGE_SIZE;
        let new = old.checked_add(delta)?;
        // Spec erratum MODEL.md §7.3 (11): the formal rule has no maximum check for shared
        // memories; the overview and the test suite require it.
        if new > self.ty.limits.max.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
            return None;
        }
        self.bytes.resize((new * PAGE_SIZE) as usize, 0);
        Some(old)
    }

    fn wait(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        expected: u64,
    ) -> Result<WaitOutcome, Trap> {
        let r = self.range(ea, width)?;
        if le_to_u64(&self.bytes[r]) != expected {
            return Ok(WaitOutcome::NotEqual);
        }
        self.waiters.entry(ea).or_default().push_back(thread);
        Ok(WaitOutcome::Suspended)
    }

    fn notify(&mut self, _thread: ThreadId, ea: u64, count: u32) -> Result<Vec<ThreadId>, Trap> {
        self.range(ea, 4)?;
        let Some(queue) = self.waiters.get_mut(&ea) else {
            return Ok(Vec::new());
        };
        let n = queue.len().min(count as usize);
        Ok(queue.drain(..n).collect())
    }

    fn cancel_wait(&mut self, thread: ThreadId, ea: u64) {
        if let Some(queue) = self.waiters.get_mut(&ea) {
            queue.retain(|t| *t != thread);
        }
    }
}

/// A memory instance (spec `meminst`).
#[derive(Debug)]
pub enum MemInst {
    /// An unshared memory: its type (declared limits) and its bytes.
    Unshared { ty: MemType, bytes: Vec<u8> },
    /// A shared memory: only its backend, which knows its type.
    Shared(Box<dyn SharedMemory>),
}

impl MemInst {
    /// Allocate a memory of type `ty` (spec `allocmem`) with the sequentially consistent
    /// backend for shared memories.
    pub fn new(ty: MemType) -> Self {
        if ty.shared {
            MemInst::Shared(Box::new(ScMemory::new(ty)))
        } else {
            MemInst::Unshared {
                ty,
                bytes: vec![0; (ty.limits.min * PAGE_SIZE) as usize],
            }
        }
    }

    /// The type with the current size in pages as `min` (spec *External Typing*).
    pub fn current_type(&self) -> MemType {
        match self {
            MemInst::Unshared { ty, bytes } => MemType {
                limits: Limits {
                    min: bytes.len() as u64 / PAGE_SIZE,
                    max: ty.limits.max,
                },
                shared: false,
            },
            MemInst::Shared(m) => m.ty(),
        }
    }

    /// Current length in bytes.
    pub fn len_bytes(&self, thread: ThreadId) -> u64 {
        match self {
            MemInst::Unshared { bytes, .. } => bytes.len() as u64,
            MemInst::Shared(m) => m.len_bytes(thread),
        }
    }

    /// Read `out.len()` bytes at effective address `ea` (spec *load*, the data action).
    pub fn read(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
    ) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), ea, out.len())?;
                out.copy_from_slice(&bytes[r]);
                Ok(())
            }
            MemInst::Shared(m) => m.read(thread, ord, ea, out),
        }
    }

    /// Write `data` at effective address `ea` (spec *store*, the data action).
    pub fn write(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        data: &[u8],
    ) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), ea, data.len())?;
                bytes[r].copy_from_slice(data);
                Ok(())
            }
            MemInst::Shared(m) => m.write(thread, ord, ea, data),
        }
    }

    /// Atomic read-modify-write, see [`SharedMemory::rmw`]; on an unshared memory the same
    /// thing on plain bytes.
    pub fn rmw(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        modify: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), ea, width)?;
                let old = le_to_u64(&bytes[r.clone()]);
                if let Some(new) = modify(old) {
                    bytes[r].copy_from_slice(&new.to_le_bytes()[..width]);
                }
                Ok(old)
            }
            MemInst::Shared(m) => m.rmw(thread, ea, width, modify),
        }
    }

    /// `memory.grow` by `delta` pages (spec *memory.grow*, `growmem`): the old size in pages,
    /// or `None` if the result would exceed the maximum (or 4 GiB).
    pub fn grow(&mut self, thread: ThreadId, delta: u64) -> Option<u64> {
        match self {
            MemInst::Unshared { ty, bytes } => {
                let old = bytes.len() as u64 / PAGE_SIZE;
                let new = old.checked_add(delta)?;
                if new > ty.limits.max.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
                    return None;
                }
                bytes.resize((new * PAGE_SIZE) as usize, 0);
                Some(old)
            }
            MemInst::Shared(m) => m.grow(thread, delta),
        }
    }
}
