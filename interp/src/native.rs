//! The native shared-memory backend: Wasm threads on OS threads over a memory of atomic
//! words, without `unsafe` (design and soundness argument: `docs/native.md`).
//!
//! A [`NativeMemory`] is shared between OS threads by [`Arc`]; each thread's
//! [`crate::Configuration`] holds a [`NativeHandle`] to it in an ordinary
//! [`MemInst::Shared`](crate::memory::MemInst) instance (see
//! [`crate::Configuration::import_native_memory`]). Its contents are blocks of [`AtomicU64`]
//! words, little-endian (byte `i` of a word is bits `8i..8i+8`):
//!
//! * a non-atomic access (spec `RD_unord` / `WR_unord`, `exec/relaxed.rst`) is one
//!   `Relaxed` atomic operation per word it touches: a load, a store of a whole word, or a
//!   compare-and-swap loop that splices the written bytes into a partly written word, so
//!   that bytes written concurrently by another thread in the same word are kept. It may
//!   tear between words, as the spec allows, and is never undefined behaviour; an aligned
//!   access of at most 8 bytes touches one word, so the spec's `noTear` accesses never tear;
//! * an atomic access (spec `RD_seqcst` / `WR_seqcst` / `RMW`) is aligned and at most 8
//!   bytes, so it lies in one word: one `SeqCst` load, store, or compare-and-swap loop on
//!   that word (sub-word stores and RMWs splice their bytes in the CAS);
//! * the contents are stored in blocks of 64 KiB, whatever the memory's page size (64 KiB
//!   or, with custom page sizes, 1 byte); `memory.grow` (spec `growmem`) appends blocks
//!   under a mutex and then publishes the new length; blocks never move or shrink, so
//!   accesses need no lock: each handle caches the blocks and the length it has seen and
//!   takes the mutex only for an access past its cached length;
//! * `memory.atomic.wait` / `notify` (spec instr *wait*, *notify*) use FIFO queues keyed by
//!   effective address behind one mutex; the compare of `wait` happens under that mutex, so
//!   no `notify` can slip between the compare and the enqueue (no lost wake-ups). A waiter
//!   blocks its OS thread on its own condition variable until a `notify` dequeues it
//!   ([`WaitOutcome::Woken`]) or its timeout, measured in real time, expires
//!   ([`WaitOutcome::TimedOut`]); spurious condition-variable wake-ups are waited out.
//!
//! Built with `--cfg loom`, the atomics, mutexes, condition variables and `Arc` are loom's
//! (`interp/tests/loom.rs` model-checks the backend).
//!
//! The cargo feature `weaken-seqcst-for-tests` is a **planted fault**, never on by default:
//! it turns every `SeqCst` operation of the backend into acquire, release or acq-rel (see
//! `order`), so that the real-thread tests of `interp/tests/native_seqcst.rs` can be seen
//! to fail (`.ci/run` requires them to). Never build Heddle for use with it.

use crate::memory::{
    bounds, fits_implementation, grown_pages, MemInst, Notified, Ordering, SharedBackend,
    SharedMemory, WaitOutcome,
};
use crate::runtime::ThreadId;
use crate::trace::Trace;
use crate::types::{Limits, MemType};
use crate::Trap;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};
use sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use sync::{Arc, Condvar, Mutex, MutexGuard};

/// A native memory as shared between configurations (loom's `Arc` under `--cfg loom`).
pub type SharedNative = Arc<NativeMemory>;

/// The synchronisation primitives of the backend: loom's when built with `--cfg loom`
/// (for model checking), the standard library's otherwise.
mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::{atomic, Arc, Condvar, Mutex, MutexGuard};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{atomic, Arc, Condvar, Mutex, MutexGuard};
}

/// The orderings of the backend's seq-cst operations: `SeqCst` everywhere, unless the
/// planted fault `weaken-seqcst-for-tests` weakens each to what release/acquire gives
/// (acquire loads, release stores, acq-rel read-modify-writes and fences), under which
/// store buffering's (0,0) becomes observable on x86 for whole-word stores.
pub(crate) mod order {
    use super::sync::atomic::Ordering;

    #[cfg(not(feature = "weaken-seqcst-for-tests"))]
    mod chosen {
        use super::Ordering;
        pub const LOAD: Ordering = Ordering::SeqCst;
        pub const STORE: Ordering = Ordering::SeqCst;
        pub const RMW: Ordering = Ordering::SeqCst;
        pub const RMW_LOAD: Ordering = Ordering::SeqCst;
        pub const FENCE: Ordering = Ordering::SeqCst;
    }

    #[cfg(feature = "weaken-seqcst-for-tests")]
    mod chosen {
        use super::Ordering;
        pub const LOAD: Ordering = Ordering::Acquire;
        pub const STORE: Ordering = Ordering::Release;
        pub const RMW: Ordering = Ordering::AcqRel;
        pub const RMW_LOAD: Ordering = Ordering::Acquire;
        pub const FENCE: Ordering = Ordering::AcqRel;
    }

    /// A seq-cst load (atomic load, `memory.size`, the compare of `wait`).
    pub const LOAD: Ordering = chosen::LOAD;
    /// A seq-cst store (atomic store of a whole word, the new length after a grow).
    pub const STORE: Ordering = chosen::STORE;
    /// A seq-cst read-modify-write (atomic RMW, `cmpxchg`, the splice of a sub-word atomic
    /// store): the ordering of its successful compare-and-swap...
    pub const RMW: Ordering = chosen::RMW;
    /// ...and of its load (and failed compare-and-swap).
    pub const RMW_LOAD: Ordering = chosen::RMW_LOAD;
    /// `atomic.fence`.
    pub const FENCE: Ordering = chosen::FENCE;
}

/// Bytes per word of the memory.
const WORD: u64 = 8;

/// Bytes per block of storage (64 KiB, whatever the memory's page size).
const BLOCK: u64 = 65536;

/// Words per block (65536 / 8).
const WORDS_PER_BLOCK: usize = (BLOCK / WORD) as usize;

/// One block of the memory's storage: [`WORDS_PER_BLOCK`] atomic words.
type Block = Box<[AtomicU64]>;

/// A block holding `words` (zeroed when `words` yields zeros).
fn new_block(words: impl Iterator<Item = u64>) -> Arc<Block> {
    Arc::new(words.map(AtomicU64::new).collect())
}

/// A zeroed block.
fn zeroed_block() -> Arc<Block> {
    new_block(std::iter::repeat_n(0, WORDS_PER_BLOCK))
}

/// The number of blocks that hold `bytes` bytes.
fn blocks_for(bytes: u64) -> usize {
    bytes.div_ceil(BLOCK) as usize
}

/// The storage of a native memory, changed only under its mutex: blocks only ever
/// appended, and the size in the memory's pages.
struct Storage {
    /// The blocks, in address order: enough to hold `pages` pages (the bytes past the size
    /// in the last block are zero, never written).
    blocks: Vec<Arc<Block>>,
    /// The current size in pages (mirrored by [`NativeMemory::len_pages`]).
    pages: u64,
}

/// The mask of bytes `lo..lo + n` of a word (`lo + n <= 8`).
#[inline]
fn byte_mask(lo: u64, n: u64) -> u64 {
    let ones = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    ones << (8 * lo)
}

/// A shared memory instance whose contents are atomic words, shared by [`Arc`] between the
/// configurations of several OS threads (one [`NativeHandle`] each). Every method takes
/// `&self`: it is safe to call from any number of threads at once.
pub struct NativeMemory {
    /// The declared type (limits as declared; the current size is [`NativeMemory::pages`]).
    ty: MemType,
    /// The blocks and the size; blocks are only ever appended, under this mutex.
    storage: Mutex<Storage>,
    /// The current size in pages (spec: the `len` location in pages), written with
    /// `SeqCst` under the `storage` mutex after the blocks are in place.
    len_pages: AtomicU64,
    /// The wait queues (spec: suspension), with the compare of `wait` done under this lock.
    waiters: Mutex<WaitQueues>,
    /// How long a wait without timeout may block before it traps with
    /// [`Trap::Deadlock`] (a harness's guard against a script that deadlocks); `None`:
    /// forever, as the spec says.
    wait_limit: Option<Duration>,
    /// Asked when a wait without timeout reaches `wait_limit`, with the number of waiters
    /// without timeout queued on this memory (itself included): `true` if no thread can
    /// notify them any more (every thread still running is one of them), and the wait
    /// traps; `false` and the wait blocks for another `wait_limit`. `None`: it traps.
    deadlock_check: Option<DeadlockCheck>,
}

/// A harness's test for a deadlock: given the number of waiters without timeout, whether
/// they are all the threads that still run (see [`NativeMemory::with_deadlock_check`]).
pub type DeadlockCheck = Box<dyn Fn(usize) -> bool + Send + Sync>;

/// One blocked `wait`: its condition variable, and whether a `notify` dequeued it.
struct Waiter {
    /// Set (under the wait-queue mutex) by the `notify` that dequeues this waiter.
    woken: AtomicBool,
    /// Signalled by that `notify`; waited on with the wait-queue mutex.
    condvar: Condvar,
    /// A wait without timeout (only `notify` can end it).
    forever: bool,
}

/// The FIFO wait queues of a native memory, by effective address, oldest waiter first.
#[derive(Default)]
struct WaitQueues(BTreeMap<u64, VecDeque<Arc<Waiter>>>);

impl WaitQueues {
    /// Take `waiter` out of the queue of `ea` (its timeout expired), if it is still there.
    fn remove(&mut self, ea: u64, waiter: &Arc<Waiter>) {
        if let Some(q) = self.0.get_mut(&ea) {
            q.retain(|w| !Arc::ptr_eq(w, waiter));
            if q.is_empty() {
                self.0.remove(&ea);
            }
        }
    }

    /// Number of waiters in the queue of `ea`.
    fn len(&self, ea: u64) -> usize {
        self.0.get(&ea).map_or(0, VecDeque::len)
    }

    /// Number of waiters without timeout, on every address.
    fn forever(&self) -> usize {
        self.0.values().flatten().filter(|w| w.forever).count()
    }
}

impl fmt::Debug for NativeMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeMemory")
            .field("ty", &self.ty)
            .field("pages", &self.pages())
            .finish_non_exhaustive()
    }
}

impl NativeMemory {
    /// Allocate (spec `allocmem`): `ty.limits.min` pages of zeros, of the type's page size
    /// (64 KiB, or a custom one). `ty` should be shared (the backend works for any type, but
    /// only shared memories are shared by threads). `None` if the initial size passes what
    /// the implementation allocates ([`fits_implementation`]).
    pub fn new(ty: MemType) -> Option<Self> {
        if !fits_implementation(&ty) {
            return None;
        }
        let bytes = ty.limits.min << ty.page_size_log2;
        Some(NativeMemory {
            ty,
            storage: Mutex::new(Storage {
                blocks: (0..blocks_for(bytes)).map(|_| zeroed_block()).collect(),
                pages: ty.limits.min,
            }),
            len_pages: AtomicU64::new(ty.limits.min),
            waiters: Mutex::new(WaitQueues::default()),
            wait_limit: None,
            deadlock_check: None,
        })
    }

    /// The same memory, but a wait without timeout that reaches the wait limit
    /// ([`NativeMemory::with_wait_limit`]) traps only when `check` says every thread that
    /// still runs is waiting without timeout (it gets their number), and else waits for
    /// another limit: a harness that knows its threads can tell a deadlock from a slow
    /// notifier this way.
    pub fn with_deadlock_check(mut self, check: DeadlockCheck) -> Self {
        self.deadlock_check = Some(check);
        self
    }

    /// The same memory, but a `wait` without timeout that blocks longer than `limit` traps
    /// with [`Trap::Deadlock`] instead of blocking forever (a harness's bound on scripts
    /// that deadlock; not the spec's behaviour, which blocks forever).
    pub fn with_wait_limit(mut self, limit: Option<Duration>) -> Self {
        self.wait_limit = limit;
        self
    }

    /// The memory's type, with the current size in pages as `min` (spec *External Typing*).
    pub fn ty(&self) -> MemType {
        MemType {
            limits: Limits {
                min: self.pages(),
                max: self.ty.limits.max,
            },
            ..self.ty
        }
    }

    /// Current size in pages of the memory's page size (spec `memory.size`: a seq-cst
    /// read of `len`).
    pub fn pages(&self) -> u64 {
        self.len_pages.load(order::LOAD)
    }

    /// Current size in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.pages() << self.ty.page_size_log2
    }

    /// The storage, locked (a poisoned lock is still valid storage: blocks are only ever
    /// appended, whole, before the size is updated).
    fn lock_storage(&self) -> MutexGuard<'_, Storage> {
        self.storage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new memory with this one's type, wait limit, size and contents (relaxed loads of
    /// each word: a consistent copy only while no other thread writes), and no waiters:
    /// they are OS threads blocked on this memory, which the copy does not have. The
    /// deadlock check is not copied either (it counts the threads of this memory's
    /// harness); a wait without timeout on the copy traps at the wait limit, as without one.
    pub fn snapshot(&self) -> NativeMemory {
        let storage = self.lock_storage();
        let blocks = storage
            .blocks
            .iter()
            .map(|b| new_block(b.iter().map(|w| w.load(AtomicOrdering::Relaxed))))
            .collect();
        NativeMemory {
            ty: self.ty,
            storage: Mutex::new(Storage {
                blocks,
                pages: storage.pages,
            }),
            len_pages: AtomicU64::new(storage.pages),
            waiters: Mutex::new(WaitQueues::default()),
            wait_limit: self.wait_limit,
            deadlock_check: None,
        }
    }

    /// The wait queues, locked (a poisoned lock holds valid queues: each update is one
    /// push, pop or retain).
    fn lock_waiters(&self) -> MutexGuard<'_, WaitQueues> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spec `growmem`, `memory.grow` by `delta` pages: the old size in pages, or `None`
    /// (nothing changes) past the declared maximum or what the implementation allocates.
    /// Safe against concurrent accesses: blocks are appended, never moved, and the new
    /// length is published after they are in place.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let mut storage = self.lock_storage();
        let old = storage.pages;
        let new = grown_pages(&self.ty, old, delta)?;
        let blocks = blocks_for(new << self.ty.page_size_log2);
        while storage.blocks.len() < blocks {
            storage.blocks.push(zeroed_block());
        }
        storage.pages = new;
        self.len_pages.store(new, order::STORE);
        Some(old)
    }

    /// Number of waiters queued on effective address `ea` (for tests and harnesses).
    pub fn waiters(&self, ea: u64) -> usize {
        self.lock_waiters().len(ea)
    }

    /// `memory.atomic.notify` (spec instr *notify*): wake up to `count` waiters of `ea`,
    /// oldest first; the number woken. Bounds are the caller's to check.
    pub fn notify(&self, ea: u64, count: u32) -> u32 {
        let mut queues = self.lock_waiters();
        let Some(queue) = queues.0.get_mut(&ea) else {
            return 0;
        };
        let n = queue.len().min(count as usize);
        for w in queue.drain(..n) {
            w.woken.store(true, AtomicOrdering::Relaxed);
            w.condvar.notify_one();
        }
        if queue.is_empty() {
            queues.0.remove(&ea);
        }
        n as u32
    }
}

/// One OS thread's handle on a [`NativeMemory`]: the memory, and the blocks and size this
/// thread has seen (a cache that makes accesses lock-free; see the module docs). Cloning a
/// handle gives another handle on the same memory; [`SharedMemory::box_clone`] gives a
/// snapshot instead.
#[derive(Clone)]
pub struct NativeHandle {
    memory: Arc<NativeMemory>,
    /// The blocks known to this handle: a prefix of the memory's blocks, holding at least
    /// `len` bytes.
    blocks: Vec<Arc<Block>>,
    /// A size in bytes the memory has had (it never shrinks): accesses below it need no
    /// lock.
    len: u64,
}

impl fmt::Debug for NativeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeHandle")
            .field("memory", &self.memory)
            .field("cached_bytes", &self.len)
            .finish()
    }
}

impl NativeHandle {
    /// A handle on `memory` for the calling thread.
    pub fn new(memory: Arc<NativeMemory>) -> Self {
        let mut h = NativeHandle {
            memory,
            blocks: Vec::new(),
            len: 0,
        };
        h.catch_up();
        h
    }

    /// Take the memory's current blocks and size into the cache (under the storage
    /// mutex, which every grow holds while it appends blocks and sets the size).
    fn catch_up(&mut self) {
        let storage = self.memory.lock_storage();
        if storage.blocks.len() > self.blocks.len() {
            self.blocks
                .extend(storage.blocks[self.blocks.len()..].iter().cloned());
        }
        self.len = storage.pages << self.memory.ty.page_size_log2;
    }

    /// The shared memory this handle accesses.
    pub fn memory(&self) -> &Arc<NativeMemory> {
        &self.memory
    }

    /// Bounds check of `[ea, ea + n)` (spec: `RD len`, then the access traps past it): in
    /// bounds of the cached size, or else of the memory's current size (which the cache
    /// then catches up with). The memory never shrinks, so the fast path is sound.
    #[inline]
    fn check(&mut self, ea: u64, n: usize) -> Result<(), Trap> {
        if bounds(self.len as usize, ea, n).is_ok() {
            return Ok(());
        }
        self.catch_up();
        bounds(self.len as usize, ea, n).map(|_| ())
    }

    /// The word holding byte address `ea` (in bounds of the cached size).
    #[inline]
    fn word(&self, ea: u64) -> &AtomicU64 {
        let block = (ea / BLOCK) as usize;
        let index = ((ea % BLOCK) / WORD) as usize;
        &self.blocks[block][index]
    }

    /// Visit the words of `[ea, ea + n)`: `(word address, first byte in the word, bytes,
    /// offset in the access)`.
    #[inline]
    fn for_each_word(ea: u64, n: usize, mut f: impl FnMut(u64, u64, u64, usize)) {
        let end = ea + n as u64;
        let mut at = ea;
        while at < end {
            let lo = at % WORD;
            let take = (WORD - lo).min(end - at);
            f(at - lo, lo, take, (at - ea) as usize);
            at += take;
        }
    }

    /// Read `out.len()` bytes at `ea` with one load per word, of ordering `ord.load`.
    fn load_bytes(&self, ea: u64, out: &mut [u8], ord: AccessOrder) {
        Self::for_each_word(ea, out.len(), |w, lo, n, off| {
            let bytes = self.word(w).load(ord.load).to_le_bytes();
            out[off..off + n as usize].copy_from_slice(&bytes[lo as usize..(lo + n) as usize]);
        });
    }

    /// Write `data` at `ea` with one atomic operation per word, of ordering `ord`: a store
    /// of a whole word, or a compare-and-swap loop that changes only the written bytes.
    fn store_bytes(&self, ea: u64, data: &[u8], ord: AccessOrder) {
        Self::for_each_word(ea, data.len(), |w, lo, n, off| {
            let word = self.word(w);
            let mut bytes = [0u8; 8];
            bytes[lo as usize..(lo + n) as usize].copy_from_slice(&data[off..off + n as usize]);
            let value = u64::from_le_bytes(bytes);
            if n == WORD {
                word.store(value, ord.store);
            } else {
                let mask = byte_mask(lo, n);
                let _ = word.fetch_update(ord.cas, ord.cas_load, |old| Some((old & !mask) | value));
            }
        });
    }
}

/// The atomic orderings of an access of the spec's ordering `ord`: `(load, store,
/// compare-and-swap, its load)`, seq-cst ([`order`]) for atomic accesses, relaxed for
/// non-atomic ones and initialisation.
#[derive(Clone, Copy)]
struct AccessOrder {
    load: AtomicOrdering,
    store: AtomicOrdering,
    cas: AtomicOrdering,
    cas_load: AtomicOrdering,
}

impl AccessOrder {
    fn of(ord: Ordering) -> AccessOrder {
        match ord {
            Ordering::SeqCst => AccessOrder {
                load: order::LOAD,
                store: order::STORE,
                cas: order::RMW,
                cas_load: order::RMW_LOAD,
            },
            Ordering::Unord | Ordering::Init => AccessOrder {
                load: AtomicOrdering::Relaxed,
                store: AtomicOrdering::Relaxed,
                cas: AtomicOrdering::Relaxed,
                cas_load: AtomicOrdering::Relaxed,
            },
        }
    }
}

impl SharedMemory for NativeHandle {
    /// A snapshot: a handle on a new native memory with this one's size and contents and
    /// no waiters ([`NativeMemory::snapshot`]; consistent only while no other thread
    /// writes). The copy is no longer shared with the threads of the original: to share
    /// the memory, clone its `Arc` ([`crate::Configuration::native_memory`]) instead.
    fn box_clone(&self) -> Box<dyn SharedMemory> {
        Box::new(NativeHandle::new(Arc::new(self.memory.snapshot())))
    }

    /// [`hash_state`](SharedMemory::hash_state) feeds the contents themselves: nothing.
    fn hash_contents(&self, _h: &mut dyn Hasher) {}

    /// The size and the current contents (a relaxed read of each word) and the number of
    /// waiters per address; only meaningful while no other thread runs.
    fn hash_state(&self, mut h: &mut dyn Hasher) {
        let storage = self.memory.lock_storage();
        storage.pages.hash(&mut h);
        for b in storage.blocks.iter() {
            for w in b.iter() {
                w.load(AtomicOrdering::Relaxed).hash(&mut h);
            }
        }
        for (ea, q) in &self.memory.lock_waiters().0 {
            (ea, q.len()).hash(&mut h);
        }
    }

    /// Not supported: the native backend records no trace (`trace` stays `None`).
    fn enable_trace(&mut self) {}

    fn trace(&self) -> Option<&Trace> {
        None
    }

    /// A seq-cst fence (spec: `FENCE` has no effect in the model; this one orders
    /// nothing the model needs, and costs little).
    fn fence(&mut self, _thread: ThreadId) {
        sync::atomic::fence(order::FENCE);
    }

    fn ty(&self) -> MemType {
        self.memory.ty()
    }

    fn len_bytes(&self, _thread: ThreadId) -> u64 {
        self.memory.len_bytes()
    }

    fn read(
        &mut self,
        _thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
        _no_tear: bool,
    ) -> Result<(), Trap> {
        self.check(ea, out.len())?;
        self.load_bytes(ea, out, AccessOrder::of(ord));
        Ok(())
    }

    fn write(
        &mut self,
        _thread: ThreadId,
        ord: Ordering,
        ea: u64,
        bytes: &[u8],
        _no_tear: bool,
    ) -> Result<(), Trap> {
        self.check(ea, bytes.len())?;
        self.store_bytes(ea, bytes, AccessOrder::of(ord));
        Ok(())
    }

    /// In place, a word at a time (no buffer of `n` bytes).
    fn fill(&mut self, _thread: ThreadId, ea: u64, val: u8, n: usize) -> Result<(), Trap> {
        self.check(ea, n)?;
        let chunk = [val; 4096];
        let mut done = 0;
        while done < n {
            let take = (n - done).min(chunk.len());
            self.store_bytes(
                ea + done as u64,
                &chunk[..take],
                AccessOrder::of(Ordering::Unord),
            );
            done += take;
        }
        Ok(())
    }

    /// `RMW` on the word holding the aligned access (at most 8 bytes, so one word): a
    /// seq-cst compare-and-swap loop; `modify` may be called more than once (it must be a
    /// function of `old` only, as the interpreter's are). A failed `cmpxchg` (`modify`
    /// returns `None`) is the compare-and-swap's seq-cst load.
    fn rmw(
        &mut self,
        _thread: ThreadId,
        ea: u64,
        width: usize,
        modify: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Trap> {
        self.check(ea, width)?;
        let lo = ea % WORD;
        if width == 0 || width > 8 || lo + width as u64 > WORD {
            // The interpreter checks alignment first; a misaligned RMW would straddle words.
            return Err(Trap::UnalignedAtomic);
        }
        let mask = byte_mask(lo, width as u64);
        let shift = 8 * lo;
        let word = self.word(ea - lo);
        let r = word.fetch_update(order::RMW, order::RMW_LOAD, |w| {
            let old = (w & mask) >> shift;
            modify(old).map(|new| (w & !mask) | ((new << shift) & mask))
        });
        let w = r.unwrap_or_else(|w| w);
        Ok((w & mask) >> shift)
    }

    fn grow(&mut self, _thread: ThreadId, delta: u64) -> Option<u64> {
        self.memory.grow(delta)
    }

    /// Compare and enqueue under the wait-queue lock, then block this OS thread until
    /// notified ([`WaitOutcome::Woken`]) or the timeout (ns, negative for none) expires
    /// ([`WaitOutcome::TimedOut`]). Never [`WaitOutcome::Suspended`].
    fn wait(
        &mut self,
        _thread: ThreadId,
        ea: u64,
        width: usize,
        expected: u64,
        timeout: i64,
    ) -> Result<WaitOutcome, Trap> {
        self.check(ea, width)?;
        let lo = ea % WORD;
        if width == 0 || width > 8 || lo + width as u64 > WORD {
            return Err(Trap::UnalignedAtomic);
        }
        let mask = byte_mask(lo, width as u64);
        let memory = self.memory.clone();
        let mut queues = memory.lock_waiters();
        // The seq-cst read of `wait`, under the lock every `notify` takes.
        let value = (self.word(ea - lo).load(order::LOAD) & mask) >> (8 * lo);
        if value != expected {
            return Ok(WaitOutcome::NotEqual);
        }
        let waiter = Arc::new(Waiter {
            woken: AtomicBool::new(false),
            condvar: Condvar::new(),
            forever: timeout < 0,
        });
        queues.0.entry(ea).or_default().push_back(waiter.clone());
        let start = Instant::now();
        let (mut deadline, limited) = match u64::try_from(timeout) {
            Ok(ns) => (start.checked_add(Duration::from_nanos(ns)), false),
            Err(_) => (memory.wait_limit.and_then(|l| start.checked_add(l)), true),
        };
        loop {
            if waiter.woken.load(AtomicOrdering::Relaxed) {
                return Ok(WaitOutcome::Woken);
            }
            match deadline {
                None => {
                    queues = waiter
                        .condvar
                        .wait(queues)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        if limited {
                            if let Some(check) = &memory.deadlock_check {
                                if !check(queues.forever()) {
                                    deadline = memory.wait_limit.and_then(|l| now.checked_add(l));
                                    continue;
                                }
                            }
                        }
                        queues.remove(ea, &waiter);
                        if limited {
                            return Err(Trap::Deadlock(format!(
                                "wait without timeout on address {ea} not notified within \
                                 {} ms (the embedder's bound on such waits)",
                                memory.wait_limit.unwrap_or_default().as_millis()
                            )));
                        }
                        return Ok(WaitOutcome::TimedOut);
                    }
                    queues = waiter
                        .condvar
                        .wait_timeout(queues, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }

    fn notify(&mut self, _thread: ThreadId, ea: u64, count: u32) -> Result<Notified, Trap> {
        self.check(ea, 4)?;
        Ok(Notified {
            count: self.memory.notify(ea, count),
            resume: Vec::new(),
        })
    }

    /// Nothing to do: a native wait times out by itself.
    fn cancel_wait(&mut self, _thread: ThreadId, _ea: u64) {}

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    /// A native memory keeps its own bulk operations: its OS threads interleave by
    /// themselves.
    fn steps_by_bytes(&self) -> bool {
        false
    }
}

impl dyn SharedMemory {
    /// The native memory behind this backend, if it is one ([`NativeHandle`]): what an
    /// embedder shares with the configurations of other OS threads.
    pub fn native(&self) -> Option<&SharedNative> {
        let handle = self.as_any()?.downcast_ref::<NativeHandle>()?;
        Some(&handle.memory)
    }
}

impl MemInst {
    /// Allocate a memory of type `ty` (spec `allocmem`), shared memories with `backend`.
    /// A native memory whose minimum passes 4 GiB falls back to the sequentially
    /// consistent backend (instantiation rejects such types before allocating).
    pub fn with_backend(ty: MemType, backend: SharedBackend) -> Self {
        match backend {
            SharedBackend::Native { wait_limit } if ty.shared => {
                match crate::native::NativeMemory::new(ty) {
                    Some(m) => MemInst::Shared(Box::new(crate::native::NativeHandle::new(
                        crate::native::SharedNative::new(m.with_wait_limit(wait_limit)),
                    ))),
                    None => MemInst::new(ty),
                }
            }
            _ => MemInst::new(ty),
        }
    }
}
