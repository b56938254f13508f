//! Memory instances (spec *Runtime Structure › Memory Instances*, threads proposal).
//!
//! Per the threads spec (`exec/runtime.rst`), an **unshared** memory instance holds its bytes,
//! while a **shared** memory instance holds only its type: its contents are whatever the
//! memory model lets reads observe. Heddle keeps that split: [`MemInst::Unshared`] owns a
//! byte vector, [`MemInst::Shared`] owns a [`SharedMemory`] backend. Every shared access is
//! one call shaped like the spec's actions: `(thread, ordering, effective address, bytes)`,
//! with the `len` read (bounds check) folded into the same call, as the spec's instruction
//! rules emit `RD len` and the data action in one event.

use crate::addr::MemAddr;
use crate::content_hash::ContentHash;
use crate::race::{AccessKind, RaceDetector, Site};
use crate::runtime::ThreadId;
use crate::scheduler::ChoiceLog;
pub use crate::trace::Ordering;
use crate::trace::{Trace, TraceAction};
pub use crate::types::MAX_MEMORY_BYTES;
use crate::types::{Limits, MemType};
use crate::Trap;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Size of a page, in bytes (spec: 64 KiB), unless the memory type has a custom page size
/// ([`MemType::page_size`]).
pub const PAGE_SIZE: u64 = 65536;

/// The address that stands for a shared memory's *length* location (runtime.rst `a.len`;
/// relaxed.rst *Consistency*, note: "a distinguished *length* location") in traces and in
/// the relaxed backend's log: an 8-byte location holding the length in bytes,
/// little-endian, above every data address (a memory has at most [`MAX_MEMORY_BYTES`]
/// bytes, and an access beyond its length traps before it makes an event). Its events are
/// recorded only for a memory whose length location is modelled
/// ([`SharedMemory::model_length`]).
pub const LENGTH_ADDRESS: u64 = 1 << 62;

/// Width in bytes of the length location's value ([`LENGTH_ADDRESS`]).
pub const LENGTH_WIDTH: usize = 8;

/// The length location's value as its bytes (little-endian, [`LENGTH_WIDTH`] of them).
pub fn length_bytes(len: u64) -> Vec<u8> {
    len.to_le_bytes().to_vec()
}

/// What a `memory.atomic.wait` did in its one indivisible step (spec instr *wait*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The loaded value differed from the expected one: the instruction returns 1.
    NotEqual,
    /// The thread was enqueued as a waiter on the effective address; the configuration
    /// suspends it until a `notify` or its timeout (backends stepped by a scheduler).
    Suspended,
    /// A blocking backend ([`crate::native`]) suspended the calling OS thread itself, and a
    /// `notify` woke it: the instruction returns 0.
    Woken,
    /// A blocking backend suspended the calling OS thread and the timeout expired before a
    /// `notify` woke it: the instruction returns 2.
    TimedOut,
}

/// What a `memory.atomic.notify` did (spec instr *notify*): how many waiters it woke, and
/// which of them are threads of the calling configuration, which the configuration
/// resumes with result 0. A blocking backend ([`crate::native`]) wakes its waiters itself
/// (they are OS threads of other configurations), so `resume` is empty there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notified {
    /// Number of waiters woken (the instruction's result).
    pub count: u32,
    /// The woken threads of this configuration, oldest waiter first.
    pub resume: Vec<ThreadId>,
}

impl Notified {
    /// Every woken waiter is a thread of this configuration, to be resumed.
    pub fn resume(threads: Vec<ThreadId>) -> Self {
        Notified {
            count: threads.len() as u32,
            resume: threads,
        }
    }
}

/// The memory-model interface behind a shared memory instance. Implementations decide
/// what a read returns; the default, [`ScMemory`], is sequentially consistent.
///
/// All addresses are effective addresses in bytes; `Err(Trap::OutOfBoundsMemoryAccess)`
/// when `ea + len > current length`.
pub trait SharedMemory: Send + fmt::Debug {
    /// A copy of this memory, its contents and its wait queues (for exploration, which
    /// snapshots whole configurations).
    fn box_clone(&self) -> Box<dyn SharedMemory>;
    /// Feed everything that determines this memory's future behaviour (contents, wait
    /// queues, and for a relaxed backend its event log) to `h`: equal states hash equally.
    fn hash_state(&self, h: &mut dyn Hasher);
    /// Feed `h` the exact data behind the digests [`hash_state`](Self::hash_state) feeds
    /// (where it feeds the incremental hash of some bytes, the bytes themselves), so that
    /// `hash_state` followed by this is an exact encoding of the state: two states give
    /// equal streams only if they are equal. An explorer's state cache compares these
    /// streams to prune only on equal states, not on equal hashes. A backend whose
    /// `hash_state` feeds no digest feeds nothing.
    fn hash_contents(&self, h: &mut dyn Hasher);
    /// Start recording a [`Trace`] of every action on this memory (from now on).
    fn enable_trace(&mut self);
    /// The trace recorded so far, if tracing is on.
    fn trace(&self) -> Option<&Trace>;
    /// At the end of a run: whether every read that took bytes from writes not yet
    /// executed (promises, [`crate::relaxed::RelaxedMemory::with_promises`]) can be given
    /// such writes, completing the trace's reads-from lists. `false` means the run is not
    /// an execution of the memory model. Backends without promises keep none: `true`.
    fn fulfil_promises(&mut self) -> bool {
        true
    }
    /// `FENCE` (spec instr *atomic.fence*): recorded in the trace; no effect on contents.
    fn fence(&mut self, thread: ThreadId);
    /// The memory's type, with the current size in pages as `min`.
    fn ty(&self) -> MemType;
    /// Current length in bytes: the latest write of the length, read by no thread (for
    /// set-up, predictions and messages; a thread reads the length with
    /// [`SharedMemory::size`] or [`SharedMemory::check_bounds`]).
    fn len_bytes(&self, thread: ThreadId) -> u64;
    /// Model the memory's length location (relaxed.rst *Consistency*, note; runtime.rst
    /// `a.len`): from now on bounds checks are `RD_unord` reads of it
    /// ([`SharedMemory::check_bounds`]), `memory.size` an `RD_seqcst`
    /// ([`SharedMemory::size`]) and `memory.grow` an `RMW` (or, failing, an `RD_seqcst`),
    /// each its own event, before the access for a bounds check (the allocation's
    /// `WR_seqcst` of the length is event 1, after the initialising write). With
    /// `grow_failure`, every `memory.grow` may also fail (returning -1) though it would fit,
    /// as instructions.rst *memory.grow* 10.b allows: a choice through that log, option 0
    /// succeeding. Called before any thread runs, and before [`SharedMemory::enable_trace`].
    /// Without it (`heddle run`, `heddle wast`) a memory reads its current length, records
    /// no length events, and a grow fails only beyond the maximum: one of the behaviours
    /// the spec allows. The default does nothing (the native backend).
    fn model_length(&mut self, _grow_failure: Option<Arc<Mutex<ChoiceLog>>>) {}
    /// A bounds check of thread `thread`: `RD_unord len n` (instructions.rst, e.g. *t.load*
    /// step 13), then a trap if `end` (the access's end address, or `u64::MAX` when it
    /// overflows) exceeds `n`. The default compares with the current length.
    fn check_bounds(&mut self, thread: ThreadId, end: u64) -> Result<(), Trap> {
        if end <= self.len_bytes(thread) {
            Ok(())
        } else {
            Err(Trap::OutOfBoundsMemoryAccess)
        }
    }
    /// `memory.size` of thread `thread`: `RD_seqcst len n` (instructions.rst *memory.size*);
    /// `n` in bytes. The default returns the current length.
    fn size(&mut self, thread: ThreadId) -> u64 {
        self.len_bytes(thread)
    }
    /// `RD_ord data[ea] out [noTear]` (after `RD len`): fill `out` with the bytes read.
    /// `no_tear` is the spec's flag (runtime.rst: integer access of at most 32 bits,
    /// aligned).
    fn read(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
        no_tear: bool,
    ) -> Result<(), Trap>;
    /// `WR_ord data[ea] bytes [noTear]` (after `RD len`).
    fn write(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        bytes: &[u8],
        no_tear: bool,
    ) -> Result<(), Trap>;
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
    /// `memory.fill`: `n` bytes of `val` at `ea`, as one non-atomic write. The interpreter
    /// calls it only on memories that do not take the spec's byte steps
    /// ([`MemInst::steps_by_bytes`]: the native backend); on the others a fill is a
    /// sequence of one-byte [`SharedMemory::write`]s, one per small step. The default
    /// builds the bytes and calls [`SharedMemory::write`], for backends whose event log
    /// keeps every write's bytes anyway; a backend holding plain bytes overrides it to fill
    /// in place, so that a bulk operation never holds a second copy of the memory.
    fn fill(&mut self, thread: ThreadId, ea: u64, val: u8, n: usize) -> Result<(), Trap> {
        bounds(self.len_bytes(thread) as usize, ea, n)?;
        self.write(thread, Ordering::Unord, ea, &vec![val; n], false)
    }
    /// `memory.copy`: read `n` bytes at `src`, then write them at `dst` (non-atomic). Called
    /// as [`SharedMemory::fill`] is (else a copy is one-byte reads and writes). The
    /// default goes through a buffer and [`SharedMemory::read`]/[`SharedMemory::write`]
    /// (see [`SharedMemory::fill`]); a backend holding plain bytes copies in place.
    fn copy_within(&mut self, thread: ThreadId, dst: u64, src: u64, n: usize) -> Result<(), Trap> {
        let len = self.len_bytes(thread) as usize;
        bounds(len, src, n)?;
        bounds(len, dst, n)?;
        let mut buf = vec![0u8; n];
        self.read(thread, Ordering::Unord, src, &mut buf, false)?;
        self.write(thread, Ordering::Unord, dst, &buf, false)
    }
    /// `memory.grow` by `delta` pages: `Some(old size in pages)`, or `None` on failure
    /// (beyond the maximum, or, with [`SharedMemory::model_length`]'s `grow_failure`, by
    /// choice).
    fn grow(&mut self, thread: ThreadId, delta: u64) -> Option<u64>;
    /// The read-and-enqueue step of `memory.atomic.wait{32,64}`: compare the `width`-byte
    /// value at `ea` with `expected` and, if equal, append `thread` to the FIFO wait queue
    /// of `ea` (`WAIT data[ea] timeout`, timeout in ns, negative for none).
    fn wait(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        expected: u64,
        timeout: i64,
    ) -> Result<WaitOutcome, Trap>;
    /// `memory.atomic.notify`: dequeue up to `count` waiters of `ea`, oldest first, and
    /// say how many, and which of them the caller resumes with result 0.
    fn notify(&mut self, thread: ThreadId, ea: u64, count: u32) -> Result<Notified, Trap>;
    /// Remove `thread` from the wait queue of `ea`: its timeout expired (`TIMEOUT`).
    fn cancel_wait(&mut self, thread: ThreadId, ea: u64);
    /// Everything `from` has done so far happens before everything `to` does from now on
    /// (spec runtime.rst: thread spawning; and the embedding's join of a finished thread).
    /// Backends that keep happens-before views join `from`'s view into `to`'s; the
    /// sequentially consistent backend has nothing to do.
    fn join_view(&mut self, _to: ThreadId, _from: ThreadId) {}
    /// Start detecting races (relaxed.rst; [`crate::race`]) from now on: whether this
    /// backend can (only the sequentially consistent one can). Off by default, and then
    /// it costs nothing but [`SharedMemory::race_hook`]'s empty call.
    fn enable_races(&mut self) -> bool {
        false
    }
    /// The race detector, when detection is on.
    fn races(&self) -> Option<&RaceDetector> {
        None
    }
    /// What the interpreter tells a race detector besides the accesses themselves: the
    /// code location of the instruction a thread executes next, and `memory.size`.
    fn race_hook(&mut self, _thread: ThreadId, _hook: RaceHook) {}
    /// This backend as [`std::any::Any`], for a backend that an embedder must find again
    /// behind a [`MemInst::Shared`]: the native one, whose memory it shares with the
    /// configurations of other OS threads (`native()` on a `dyn SharedMemory`, in
    /// [`crate::native`], is built on it). `None` by default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// Whether bulk instructions take the spec's byte steps on this backend (see
    /// [`MemInst::steps_by_bytes`]); `false` for a backend that keeps its own bulk
    /// operations (the native one). `true` by default.
    fn steps_by_bytes(&self) -> bool {
        true
    }
    /// The contents as plain bytes, borrowed, when this backend holds them that way (the
    /// sequentially consistent one); `None` for a backend whose reads depend on the reader
    /// (relaxed) or whose bytes other OS threads may be writing (native). Reading them is
    /// not an action of any thread: nothing is traced.
    fn plain_bytes(&self) -> Option<&[u8]> {
        None
    }
}

/// What the interpreter tells a race detector ([`SharedMemory::race_hook`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaceHook {
    /// The thread executes the memory instruction at this code location next.
    Site(Site),
    /// The thread executes `memory.size`: a seq-cst read of the length location.
    Size,
}

/// Sequentially consistent shared memory (MODEL.md §9.1): one byte vector, every action
/// performed whole in one step, FIFO wait queues keyed by effective address.
#[derive(Debug, Clone)]
pub struct ScMemory {
    ty: MemType,
    bytes: Vec<u8>,
    /// The hash of `bytes`, kept up to date by every write (for `hash_state`).
    content: ContentHash,
    waiters: WaitQueues,
    /// When tracing: the trace, and for every byte the event that last wrote it (the
    /// write a sequentially consistent read reads from).
    tracing: Option<(Trace, Vec<usize>)>,
    /// The race detector, when detection is on ([`SharedMemory::enable_races`]).
    races: Option<Box<RaceDetector>>,
    /// The length location, when modelled ([`SharedMemory::model_length`]).
    length: Option<ScLength>,
}

/// The length location of a sequentially consistent memory ([`SharedMemory::model_length`]):
/// every read of it reads its latest write, the current length.
#[derive(Debug, Clone)]
struct ScLength {
    /// When tracing, the trace event of the latest write of the length.
    writer: usize,
    /// The log through which a `memory.grow` may fail though it would fit.
    grow_failure: Option<Arc<Mutex<ChoiceLog>>>,
}

impl ScMemory {
    /// Allocate (spec `allocmem`): `ty.limits.min` pages of zeros.
    pub fn new(ty: MemType) -> Self {
        ScMemory {
            ty,
            bytes: vec![0; initial_bytes(&ty)],
            content: ContentHash::default(),
            waiters: WaitQueues::default(),
            tracing: None,
            length: None,
            races: None,
        }
    }

    /// When tracing a modelled length location: the event `RD_ord len n` of `thread`, `n`
    /// the current length, reading from the latest write of the length.
    fn record_length_read(&mut self, thread: ThreadId, ord: Ordering) {
        if let (Some(l), Some((trace, _))) = (&self.length, &mut self.tracing) {
            let action = TraceAction::Read {
                ord,
                ea: LENGTH_ADDRESS,
                bytes: length_bytes(self.bytes.len() as u64),
                no_tear: true,
            };
            trace.push(Some(thread), vec![action], vec![l.writer; LENGTH_WIDTH]);
        }
    }

    /// The bounds check of an access of `n` bytes at `ea` by `thread`: its event (when the
    /// length location is modelled and traced), then the byte range, or the trap.
    fn checked_range(
        &mut self,
        thread: ThreadId,
        ea: u64,
        n: usize,
    ) -> Result<std::ops::Range<usize>, Trap> {
        self.record_length_read(thread, Ordering::Unord);
        self.range(ea, n)
    }

    fn range(&self, ea: u64, n: usize) -> Result<std::ops::Range<usize>, Trap> {
        bounds(self.bytes.len(), ea, n)
    }

    /// When detecting races: a bounds check (the length read), then, if in bounds, the
    /// access of `n` bytes at `ea` (relaxed.rst *Consistency*, note).
    fn race_access(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        n: usize,
        kind: AccessKind,
    ) {
        if let Some(r) = &mut self.races {
            r.bounds_check(thread);
            if bounds(self.bytes.len(), ea, n).is_ok() {
                r.access(thread, ord, ea, n as u64, kind);
            }
        }
    }

    /// Record an event when tracing: `reads` is the byte range read (its sources are the
    /// last writers of those bytes), `writes` the range written (this event becomes their
    /// last writer).
    fn record(
        &mut self,
        thread: ThreadId,
        actions: Vec<TraceAction>,
        reads: Option<std::ops::Range<usize>>,
        writes: Option<std::ops::Range<usize>>,
    ) {
        if let Some((trace, last)) = &mut self.tracing {
            let id = trace.events.len();
            let reads_from = reads.map_or_else(Vec::new, |r| last[r].to_vec());
            if let Some(w) = writes {
                last[w].fill(id);
            }
            trace.push(Some(thread), actions, reads_from);
        }
    }
}

/// The byte range `[ea, ea + n)` if it lies within a memory of `len` bytes.
pub(crate) fn bounds(len: usize, ea: u64, n: usize) -> Result<std::ops::Range<usize>, Trap> {
    match ea.checked_add(n as u64) {
        Some(end) if end <= len as u64 => Ok(ea as usize..end as usize),
        _ => Err(Trap::OutOfBoundsMemoryAccess),
    }
}

/// The length in bytes of a new memory of type `ty` (spec `allocmem`: `min` pages). The
/// caller has checked it against [`MAX_MEMORY_BYTES`] (see [`fits_implementation`]).
pub(crate) fn initial_bytes(ty: &MemType) -> usize {
    (ty.limits.min << ty.page_size_log2) as usize
}

/// Whether a memory of type `ty` can be allocated: its initial size is within
/// [`MAX_MEMORY_BYTES`].
pub fn fits_implementation(ty: &MemType) -> bool {
    ty.limits
        .min
        .checked_mul(ty.page_size())
        .is_some_and(|b| b <= MAX_MEMORY_BYTES)
}

/// Spec `growmem`'s size check: the size in pages after growing `old` pages by `delta`,
/// or `None` when that passes the type's maximum, the address space of its address type
/// (spec 3.0: `2^|addrtype|` bytes), or [`MAX_MEMORY_BYTES`].
pub(crate) fn grown_pages(ty: &MemType, old: u64, delta: u64) -> Option<u64> {
    let new = old.checked_add(delta)?;
    let max = ty
        .limits
        .max
        .unwrap_or(u64::MAX)
        .min(ty.addr.max_units(ty.page_size_log2))
        .min(MAX_MEMORY_BYTES >> ty.page_size_log2);
    (new <= max).then_some(new)
}

/// Spec `growmem`: add `delta` zeroed pages unless [`grown_pages`] refuses; the old size in
/// pages, or `None` when it fails. A larger buffer is allocated zeroed and the old bytes
/// copied in, so that the new pages cost nothing until touched.
pub(crate) fn grow_bytes(bytes: &mut Vec<u8>, ty: &MemType, delta: u64) -> Option<u64> {
    let old = bytes.len() as u64 >> ty.page_size_log2;
    let new = grown_pages(ty, old, delta)?;
    let new_len = (new << ty.page_size_log2) as usize;
    if new_len > bytes.capacity() {
        let mut grown = vec![0; new_len];
        grown[..bytes.len()].copy_from_slice(bytes);
        *bytes = grown;
    } else {
        bytes.resize(new_len, 0);
    }
    Some(old)
}

/// The FIFO wait queues of a shared memory, keyed by effective address, oldest waiter
/// first (spec relaxed.rst, suspension consistency: `notify` wakes the oldest waiters).
#[derive(Clone, Debug, Default)]
pub(crate) struct WaitQueues(BTreeMap<u64, VecDeque<ThreadId>>);

impl WaitQueues {
    /// `thread` waits on `ea`, behind every earlier waiter there.
    pub(crate) fn enqueue(&mut self, ea: u64, thread: ThreadId) {
        self.0.entry(ea).or_default().push_back(thread);
    }

    /// Remove and return the `min(count, waiters)` oldest waiters on `ea`, oldest first.
    pub(crate) fn dequeue(&mut self, ea: u64, count: u32) -> Vec<ThreadId> {
        match self.0.get_mut(&ea) {
            Some(queue) => {
                let n = queue.len().min(count as usize);
                queue.drain(..n).collect()
            }
            None => Vec::new(),
        }
    }

    /// Take `thread` out of the queue of `ea`; whether it was waiting there.
    pub(crate) fn remove(&mut self, ea: u64, thread: ThreadId) -> bool {
        let Some(queue) = self.0.get_mut(&ea) else {
            return false;
        };
        let Some(p) = queue.iter().position(|t| *t == thread) else {
            return false;
        };
        queue.remove(p);
        true
    }

    /// Feed the non-empty queues, in address order, to `h`.
    pub(crate) fn hash_state(&self, mut h: &mut dyn Hasher) {
        for (ea, q) in &self.0 {
            if !q.is_empty() {
                (ea, q).hash(&mut h);
            }
        }
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
    fn box_clone(&self) -> Box<dyn SharedMemory> {
        Box::new(self.clone())
    }

    /// The length and the incremental hash of the contents (not the bytes: `O(1)`), and the
    /// wait queues; when detecting races, the detector's state ([`RaceDetector::hash_state`]).
    fn hash_state(&self, mut h: &mut dyn Hasher) {
        (self.bytes.len(), self.content).hash(&mut h);
        self.waiters.hash_state(h);
        if let Some(r) = &self.races {
            r.hash_state(h);
        }
    }

    /// The bytes behind the incremental hash `hash_state` feeds.
    fn hash_contents(&self, mut h: &mut dyn Hasher) {
        self.bytes.hash(&mut h);
    }

    fn plain_bytes(&self) -> Option<&[u8]> {
        Some(&self.bytes)
    }

    fn enable_trace(&mut self) {
        let mut trace = Trace::default();
        // The allocation's `WR_init data[0] 0^n` (modules.rst *allocmem*), with the current
        // contents: event 0, the source of every byte not written since.
        trace.push(
            None,
            vec![TraceAction::Write {
                ord: Ordering::Init,
                ea: 0,
                bytes: self.bytes.clone(),
                no_tear: false,
            }],
            Vec::new(),
        );
        if let Some(l) = &mut self.length {
            // The allocation's `WR_seqcst a.len n` (modules.rst *allocmem*): event 1.
            l.writer = trace.events.len();
            trace.push(
                None,
                vec![TraceAction::Write {
                    ord: Ordering::SeqCst,
                    ea: LENGTH_ADDRESS,
                    bytes: length_bytes(self.bytes.len() as u64),
                    no_tear: true,
                }],
                Vec::new(),
            );
        }
        self.tracing = Some((trace, vec![0; self.bytes.len()]));
    }

    /// Every read of the length reads the current length (sequential consistency); the
    /// events are recorded when tracing.
    fn model_length(&mut self, grow_failure: Option<Arc<Mutex<ChoiceLog>>>) {
        self.length = Some(ScLength {
            writer: 0,
            grow_failure,
        });
    }

    fn check_bounds(&mut self, thread: ThreadId, end: u64) -> Result<(), Trap> {
        self.record_length_read(thread, Ordering::Unord);
        if end <= self.bytes.len() as u64 {
            Ok(())
        } else {
            Err(Trap::OutOfBoundsMemoryAccess)
        }
    }

    fn size(&mut self, thread: ThreadId) -> u64 {
        self.record_length_read(thread, Ordering::SeqCst);
        self.bytes.len() as u64
    }

    fn trace(&self) -> Option<&Trace> {
        self.tracing.as_ref().map(|(t, _)| t)
    }

    fn enable_races(&mut self) -> bool {
        if self.races.is_none() {
            self.races = Some(Box::default());
        }
        true
    }

    fn races(&self) -> Option<&RaceDetector> {
        self.races.as_deref()
    }

    fn race_hook(&mut self, thread: ThreadId, hook: RaceHook) {
        if let Some(r) = &mut self.races {
            match hook {
                RaceHook::Site(site) => r.set_site(thread, site),
                RaceHook::Size => r.length_access(thread, true, AccessKind::Read),
            }
        }
    }

    fn join_view(&mut self, to: ThreadId, from: ThreadId) {
        if let Some(r) = &mut self.races {
            r.join(to, from);
        }
    }

    fn fence(&mut self, thread: ThreadId) {
        self.record(thread, vec![TraceAction::Fence], None, None);
    }

    fn ty(&self) -> MemType {
        MemType {
            limits: Limits {
                min: self.bytes.len() as u64 >> self.ty.page_size_log2,
                max: self.ty.limits.max,
            },
            ..self.ty
        }
    }

    fn len_bytes(&self, _thread: ThreadId) -> u64 {
        self.bytes.len() as u64
    }

    fn read(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
        no_tear: bool,
    ) -> Result<(), Trap> {
        self.race_access(thread, ord, ea, out.len(), AccessKind::Read);
        let r = self.checked_range(thread, ea, out.len())?;
        out.copy_from_slice(&self.bytes[r.clone()]);
        if self.tracing.is_some() {
            let action = TraceAction::Read {
                ord,
                ea,
                bytes: out.to_vec(),
                no_tear,
            };
            self.record(thread, vec![action], Some(r), None);
        }
        Ok(())
    }

    fn write(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        bytes: &[u8],
        no_tear: bool,
    ) -> Result<(), Trap> {
        self.race_access(thread, ord, ea, bytes.len(), AccessKind::Write);
        let r = self.checked_range(thread, ea, bytes.len())?;
        self.content.toggle(r.start, &self.bytes[r.clone()]);
        self.bytes[r.clone()].copy_from_slice(bytes);
        self.content.toggle(r.start, bytes);
        if self.tracing.is_some() {
            let action = TraceAction::Write {
                ord,
                ea,
                bytes: bytes.to_vec(),
                no_tear,
            };
            self.record(thread, vec![action], None, Some(r));
        }
        Ok(())
    }

    fn fill(&mut self, thread: ThreadId, ea: u64, val: u8, n: usize) -> Result<(), Trap> {
        let r = self.range(ea, n)?;
        if self.tracing.is_some() || self.races.is_some() {
            // The trace records the written bytes: one event, as `write` makes it.
            return self.write(thread, Ordering::Unord, ea, &vec![val; n], false);
        }
        self.content.toggle(r.start, &self.bytes[r.clone()]);
        self.bytes[r.clone()].fill(val);
        self.content.toggle(r.start, &self.bytes[r]);
        Ok(())
    }

    fn copy_within(&mut self, thread: ThreadId, dst: u64, src: u64, n: usize) -> Result<(), Trap> {
        let r = self.range(src, n)?;
        let d = self.range(dst, n)?;
        if self.tracing.is_some() || self.races.is_some() {
            let mut buf = vec![0u8; n];
            self.read(thread, Ordering::Unord, src, &mut buf, false)?;
            return self.write(thread, Ordering::Unord, dst, &buf, false);
        }
        self.content.toggle(d.start, &self.bytes[d.clone()]);
        self.bytes.copy_within(r, d.start);
        self.content.toggle(d.start, &self.bytes[d]);
        Ok(())
    }

    fn rmw(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        modify: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Trap> {
        let r = self.checked_range(thread, ea, width)?;
        let read = self.bytes[r.clone()].to_vec();
        let old = le_to_u64(&read);
        let new = modify(old);
        // A failed cmpxchg is a seq-cst read (spec instr l.3313).
        let kind = match new {
            Some(_) => AccessKind::Rmw,
            None => AccessKind::Read,
        };
        self.race_access(thread, Ordering::SeqCst, ea, width, kind);
        match new {
            Some(new) => {
                let written = new.to_le_bytes()[..width].to_vec();
                self.content.toggle(r.start, &read);
                self.bytes[r.clone()].copy_from_slice(&written);
                self.content.toggle(r.start, &written);
                let action = TraceAction::Rmw { ea, read, written };
                self.record(thread, vec![action], Some(r.clone()), Some(r));
            }
            None => {
                // A failed cmpxchg is a seq-cst read (spec instr l.3313).
                let action = TraceAction::Read {
                    ord: Ordering::SeqCst,
                    ea,
                    bytes: read,
                    no_tear: false,
                };
                self.record(thread, vec![action], Some(r), None);
            }
        }
        Ok(old)
    }

    /// Spec *memory.grow* (`growmem`): fails beyond the maximum, and, with a modelled
    /// length location and `grow_failure`, by choice (option 1) though it would fit. When
    /// tracing: the new pages' zeros, then (modelled length) `RMW len l (l+k)`; a failure
    /// is `RD_seqcst len l`.
    fn grow(&mut self, thread: ThreadId, delta: u64) -> Option<u64> {
        // Spec erratum MODEL.md §7.3 (11): the formal rule has no maximum check for shared
        // memories; the overview and the test suite require it.
        let old_len = self.bytes.len();
        let fits = grown_pages(&self.ty, old_len as u64 >> self.ty.page_size_log2, delta).is_some();
        let fails_by_choice = fits
            && self
                .length
                .as_ref()
                .and_then(|l| l.grow_failure.as_ref())
                .is_some_and(|log| log.lock().unwrap_or_else(|e| e.into_inner()).choose(2) == 1);
        let grown = if !fits || fails_by_choice {
            self.record_length_read(thread, Ordering::SeqCst);
            None
        } else {
            grow_bytes(&mut self.bytes, &self.ty, delta)
        };
        if let Some(r) = &mut self.races {
            // `memory.grow`: a seq-cst RMW of the length, or a seq-cst read when it fails
            // (instructions.rst *memory.grow*).
            let kind = match grown {
                Some(_) => AccessKind::Rmw,
                None => AccessKind::Read,
            };
            r.length_access(thread, true, kind);
        }
        let old = grown?;
        if let Some(r) = &mut self.races {
            // The new bytes' zeros: a non-atomic write by the growing thread (instructions.rst
            // *memory.grow*, as the trace records it below).
            let n = (self.bytes.len() - old_len) as u64;
            r.access(
                thread,
                Ordering::Unord,
                old_len as u64,
                n,
                AccessKind::Write,
            );
        }
        if let Some((_, last)) = &mut self.tracing {
            last.resize(self.bytes.len(), 0);
        }
        if self.tracing.is_some() && self.bytes.len() > old_len {
            // The new pages' zeros are written by the growing thread (exec/instructions.rst
            // *memory.grow*: `growmem` appends zero bytes), as the relaxed backend records
            // them: a read of a new byte reads from this event, not from the allocation's.
            let action = TraceAction::Write {
                ord: Ordering::Unord,
                ea: old_len as u64,
                bytes: vec![0; self.bytes.len() - old_len],
                no_tear: false,
            };
            self.record(thread, vec![action], None, Some(old_len..self.bytes.len()));
        }
        if let (Some(l), Some((trace, _))) = (&mut self.length, &mut self.tracing) {
            let action = TraceAction::Rmw {
                ea: LENGTH_ADDRESS,
                read: length_bytes(old_len as u64),
                written: length_bytes(self.bytes.len() as u64),
            };
            let id = trace.events.len();
            trace.push(Some(thread), vec![action], vec![l.writer; LENGTH_WIDTH]);
            l.writer = id;
        }
        Some(old)
    }

    fn wait(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        expected: u64,
        timeout: i64,
    ) -> Result<WaitOutcome, Trap> {
        self.race_access(thread, Ordering::SeqCst, ea, width, AccessKind::Read);
        let r = self.checked_range(thread, ea, width)?;
        let read = self.bytes[r.clone()].to_vec();
        let equal = le_to_u64(&read) == expected;
        if let (true, Some(races)) = (equal, &mut self.races) {
            races.suspension(thread, ea);
        }
        let mut actions = vec![TraceAction::Read {
            ord: Ordering::SeqCst,
            ea,
            bytes: read,
            no_tear: false,
        }];
        if equal {
            actions.push(TraceAction::Wait { ea, timeout });
            self.waiters.enqueue(ea, thread);
        }
        self.record(thread, actions, Some(r), None);
        Ok(if equal {
            WaitOutcome::Suspended
        } else {
            WaitOutcome::NotEqual
        })
    }

    fn notify(&mut self, thread: ThreadId, ea: u64, count: u32) -> Result<Notified, Trap> {
        if let Some(r) = &mut self.races {
            r.bounds_check(thread);
        }
        self.checked_range(thread, ea, 4)?;
        let woken = self.waiters.dequeue(ea, count);
        if let Some(r) = &mut self.races {
            // NOTIFY, then the WOKEN of each woken waiter, oldest first (MODEL.md §9.3).
            r.suspension(thread, ea);
            for w in &woken {
                r.suspension(*w, ea);
            }
        }
        let action = TraceAction::Notify {
            ea,
            woken: woken.len() as u32,
            max: count,
        };
        self.record(thread, vec![action], None, None);
        // The woken threads' WOKEN events follow the NOTIFY in the same step (MODEL.md
        // §9.3), oldest waiter first.
        for w in &woken {
            self.record(*w, vec![TraceAction::Woken { ea }], None, None);
        }
        Ok(Notified::resume(woken))
    }

    fn cancel_wait(&mut self, thread: ThreadId, ea: u64) {
        self.waiters.remove(ea, thread);
        if let Some(r) = &mut self.races {
            r.suspension(thread, ea);
        }
        self.record(thread, vec![TraceAction::Timeout { ea }], None, None);
    }
}

/// Which backend a [`crate::Configuration`] gives the shared memories it allocates
/// ([`crate::Configuration::set_shared_backend`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SharedBackend {
    /// [`ScMemory`]: sequentially consistent bytes, threads stepped by a scheduler.
    #[default]
    Sc,
    /// [`crate::native::NativeMemory`]: atomic words shared with the configurations of
    /// other OS threads; `wait` blocks the OS thread. `wait_limit` bounds a wait without
    /// timeout (it then traps with [`Trap::Deadlock`]); `None` blocks forever.
    Native {
        /// See [`crate::native::NativeMemory::with_wait_limit`].
        wait_limit: Option<std::time::Duration>,
    },
}

/// Spec *memory.copy x y* (multi-memory): `n` bytes from memory `src` at `s` to memory
/// `dst` at `d`, both ranges checked before anything is written. Within one memory the
/// bytes move in place ([`MemInst::copy_within`]); between two memories they are read
/// (one non-atomic read of `src`) and then written (one non-atomic write of `dst`).
pub(crate) fn copy(
    mems: &mut [MemInst],
    thread: ThreadId,
    dst: MemAddr,
    d: u64,
    src: MemAddr,
    s: u64,
    n: usize,
) -> Result<(), Trap> {
    if dst == src {
        return mems[dst.0 as usize].copy_within(thread, d, s, n);
    }
    bounds(mems[src.0 as usize].len_bytes(thread) as usize, s, n)?;
    bounds(mems[dst.0 as usize].len_bytes(thread) as usize, d, n)?;
    let mut buf = vec![0u8; n];
    mems[src.0 as usize].read(thread, Ordering::Unord, s, &mut buf, false)?;
    mems[dst.0 as usize].write(thread, Ordering::Unord, d, &buf, false)
}

/// A memory instance (spec `meminst`).
#[derive(Debug)]
pub enum MemInst {
    /// An unshared memory: its type (declared limits) and its bytes.
    #[allow(missing_docs)] // declared type and contents, as the variant's doc says
    Unshared { ty: MemType, bytes: Vec<u8> },
    /// A shared memory: only its backend, which knows its type.
    Shared(Box<dyn SharedMemory>),
}

impl Clone for MemInst {
    fn clone(&self) -> Self {
        match self {
            MemInst::Unshared { ty, bytes } => MemInst::Unshared {
                ty: *ty,
                bytes: bytes.clone(),
            },
            MemInst::Shared(m) => MemInst::Shared(m.box_clone()),
        }
    }
}

impl MemInst {
    /// Whether this is a shared memory instance.
    pub fn is_shared(&self) -> bool {
        matches!(self, MemInst::Shared(_))
    }

    /// Whether bulk instructions on this memory take the spec's byte steps (exec/instructions.rst
    /// *memory.fill*, *memory.copy*, *memory.init*: a sequence of `i32.store8`, and of
    /// `i32.load8_u` for a copy), between which other threads may step: on a shared memory
    /// whose threads a scheduler or an explorer interleaves. An unshared memory belongs to
    /// one thread, which nothing can interrupt, so one step does the whole range there; a
    /// native memory ([`crate::native`]) is written by OS threads that interleave by
    /// themselves, and keeps its own bulk operations.
    pub fn steps_by_bytes(&self) -> bool {
        match self {
            MemInst::Unshared { .. } => false,
            MemInst::Shared(m) => m.steps_by_bytes(),
        }
    }

    /// Feed the instance's state to `h` (see [`SharedMemory::hash_state`]).
    pub fn hash_state(&self, mut h: &mut dyn Hasher) {
        match self {
            MemInst::Unshared { bytes, .. } => bytes.hash(&mut h),
            MemInst::Shared(m) => m.hash_state(h),
        }
    }

    /// Feed the data behind the digests of [`MemInst::hash_state`] to `h` (see
    /// [`SharedMemory::hash_contents`]); an unshared memory's `hash_state` feeds its bytes,
    /// so nothing.
    pub fn hash_contents(&self, h: &mut dyn Hasher) {
        if let MemInst::Shared(m) = self {
            m.hash_contents(h);
        }
    }

    /// Allocate a memory of type `ty` (spec `allocmem`) with the sequentially consistent
    /// backend for shared memories.
    pub fn new(ty: MemType) -> Self {
        if ty.shared {
            MemInst::Shared(Box::new(ScMemory::new(ty)))
        } else {
            MemInst::Unshared {
                ty,
                bytes: vec![0; initial_bytes(&ty)],
            }
        }
    }

    /// The type with the current size in pages as `min` (spec *External Typing*).
    pub fn current_type(&self) -> MemType {
        match self {
            MemInst::Unshared { ty, bytes } => MemType {
                limits: Limits {
                    min: bytes.len() as u64 >> ty.page_size_log2,
                    max: ty.limits.max,
                },
                ..*ty
            },
            MemInst::Shared(m) => m.ty(),
        }
    }

    /// The contents, borrowed, when they are plain bytes: always for an unshared memory,
    /// for a shared one see [`SharedMemory::plain_bytes`].
    pub fn plain_bytes(&self) -> Option<&[u8]> {
        match self {
            MemInst::Unshared { bytes, .. } => Some(bytes),
            MemInst::Shared(m) => m.plain_bytes(),
        }
    }

    /// Current length in bytes.
    pub fn len_bytes(&self, thread: ThreadId) -> u64 {
        match self {
            MemInst::Unshared { bytes, .. } => bytes.len() as u64,
            MemInst::Shared(m) => m.len_bytes(thread),
        }
    }

    /// A bounds check of `thread` for an access ending at `end` (see
    /// [`SharedMemory::check_bounds`]; `u64::MAX` for an end that overflows): an unshared
    /// memory compares with its length.
    pub fn check_bounds(&mut self, thread: ThreadId, end: u64) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } if end <= bytes.len() as u64 => Ok(()),
            MemInst::Unshared { .. } => Err(Trap::OutOfBoundsMemoryAccess),
            MemInst::Shared(m) => m.check_bounds(thread, end),
        }
    }

    /// `memory.size` of `thread`, in bytes (see [`SharedMemory::size`]).
    pub fn size(&mut self, thread: ThreadId) -> u64 {
        match self {
            MemInst::Unshared { bytes, .. } => bytes.len() as u64,
            MemInst::Shared(m) => m.size(thread),
        }
    }

    /// Read `out.len()` bytes at effective address `ea` (spec *load*, the data action
    /// `RD_ord data[ea] out [noTear]`).
    pub fn read(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
        no_tear: bool,
    ) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), ea, out.len())?;
                out.copy_from_slice(&bytes[r]);
                Ok(())
            }
            MemInst::Shared(m) => m.read(thread, ord, ea, out, no_tear),
        }
    }

    /// Write `data` at effective address `ea` (spec *store*, the data action
    /// `WR_ord data[ea] data [noTear]`).
    pub fn write(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        data: &[u8],
        no_tear: bool,
    ) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), ea, data.len())?;
                bytes[r].copy_from_slice(data);
                Ok(())
            }
            MemInst::Shared(m) => m.write(thread, ord, ea, data, no_tear),
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

    /// `memory.fill` (spec *memory.fill*): `n` bytes of `val` at `ea`, written in place (no
    /// buffer of `n` bytes, see [`SharedMemory::fill`]). Out of bounds: nothing is written.
    pub fn fill(&mut self, thread: ThreadId, ea: u64, val: u8, n: usize) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), ea, n)?;
                bytes[r].fill(val);
                Ok(())
            }
            MemInst::Shared(m) => m.fill(thread, ea, val, n),
        }
    }

    /// `memory.copy` (spec *memory.copy*): `n` bytes from `src` to `dst`, overlapping ranges
    /// allowed, copied in place (see [`SharedMemory::copy_within`]). Out of bounds (either
    /// range): nothing is written.
    pub fn copy_within(
        &mut self,
        thread: ThreadId,
        dst: u64,
        src: u64,
        n: usize,
    ) -> Result<(), Trap> {
        match self {
            MemInst::Unshared { bytes, .. } => {
                let r = bounds(bytes.len(), src, n)?;
                let d = bounds(bytes.len(), dst, n)?;
                bytes.copy_within(r, d.start);
                Ok(())
            }
            MemInst::Shared(m) => m.copy_within(thread, dst, src, n),
        }
    }

    /// `memory.grow` by `delta` pages (spec *memory.grow*, `growmem`): the old size in pages,
    /// or `None` if the result would exceed the maximum, the address space, or
    /// [`MAX_MEMORY_BYTES`].
    pub fn grow(&mut self, thread: ThreadId, delta: u64) -> Option<u64> {
        match self {
            MemInst::Unshared { ty, bytes } => grow_bytes(bytes, ty, delta),
            MemInst::Shared(m) => m.grow(thread, delta),
        }
    }
}
