//! The native shared-memory backend: Wasm threads on OS threads over a memory of atomic
//! words, without `unsafe` (design and soundness argument: `docs/native.md`).
//!
//! A [`NativeMemory`] is shared between OS threads by [`Arc`]; each thread's
//! [`crate::Configuration`] holds a [`NativeHandle`] to it in an ordinary
//! [`MemInst::Shared`](crate::memory::MemInst) instance (see
//! [`crate::Configuration::import_native_memory`]). Its contents are pages of [`AtomicU64`]
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
//! * `memory.grow` (spec `growmem`) appends pages under a mutex and then publishes the new
//!   length; pages never move or shrink, so accesses need no lock: each handle caches the
//!   pages it has seen and takes the mutex only for an access past its cached length;
//! * `memory.atomic.wait` / `notify` (spec instr *wait*, *notify*) use FIFO queues keyed by
//!   effective address behind one mutex; the compare of `wait` happens under that mutex, so
//!   no `notify` can slip between the compare and the enqueue (no lost wake-ups). A waiter
//!   blocks its OS thread on its own condition variable until a `notify` dequeues it
//!   ([`WaitOutcome::Woken`]) or its timeout, measured in real time, expires
//!   ([`WaitOutcome::TimedOut`]); spurious condition-variable wake-ups are waited out.
//!
//! Built with `--cfg loom`, the atomics, mutexes, condition variables and `Arc` are loom's
//! (`interp/tests/loom.rs` model-checks the backend).

use crate::exec::ThreadId;
use crate::memory::{
    bounds, fits_implementation, grown_pages, Notified, Ordering, SharedMemory, WaitOutcome,
    PAGE_SIZE,
};
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

/// Bytes per word of the memory.
const WORD: u64 = 8;

/// Words per page (65536 / 8).
const WORDS_PER_PAGE: usize = (PAGE_SIZE / WORD) as usize;

/// One page of the memory: [`WORDS_PER_PAGE`] atomic words.
type Page = Box<[AtomicU64]>;

/// A zeroed page.
fn new_page() -> Arc<Page> {
    Arc::new((0..WORDS_PER_PAGE).map(|_| AtomicU64::new(0)).collect())
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
    /// The pages, in address order; only ever appended to, under this mutex.
    pages: Mutex<Vec<Arc<Page>>>,
    /// The current size in pages (spec: the `len` location in pages), written with
    /// `SeqCst` under the `pages` mutex after the pages are in place.
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
    /// Allocate (spec `allocmem`): `ty.limits.min` pages of zeros. `ty` should be shared
    /// (the backend works for any type, but only shared memories are shared by threads).
    /// `None` if `min` passes the maximum number of pages of a 32-bit memory.
    pub fn new(ty: MemType) -> Option<Self> {
        // The backend's pages are 64 KiB (custom page sizes are for the other backends).
        if !fits_implementation(&ty) || ty.page_size_log2 != 16 {
            return None;
        }
        Some(NativeMemory {
            ty,
            pages: Mutex::new((0..ty.limits.min).map(|_| new_page()).collect()),
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

    /// Current size in pages (spec `memory.size`: a seq-cst read of `len`).
    pub fn pages(&self) -> u64 {
        self.len_pages.load(AtomicOrdering::SeqCst)
    }

    /// The pages, locked (a poisoned lock is still a valid page list: pages are only ever
    /// appended, whole).
    fn lock_pages(&self) -> MutexGuard<'_, Vec<Arc<Page>>> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The wait queues, locked (a poisoned lock holds valid queues: each update is one
    /// push, pop or retain).
    fn lock_waiters(&self) -> MutexGuard<'_, WaitQueues> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spec `growmem`, `memory.grow` by `delta` pages: the old size in pages, or `None`
    /// (nothing changes) past the declared maximum or 4 GiB. Safe against concurrent
    /// accesses: pages are appended, never moved, and the new length is published after
    /// they are in place.
    pub fn grow(&self, delta: u64) -> Option<u64> {
        let mut pages = self.lock_pages();
        let old = pages.len() as u64;
        let new = grown_pages(&self.ty, old, delta)?;
        pages.extend((old..new).map(|_| new_page()));
        self.len_pages.store(new, AtomicOrdering::SeqCst);
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

/// One OS thread's handle on a [`NativeMemory`]: the memory, and the pages this thread
/// has seen (a cache that makes accesses lock-free; see the module docs).
pub struct NativeHandle {
    memory: Arc<NativeMemory>,
    /// The pages known to this handle: a prefix of the memory's pages.
    pages: Vec<Arc<Page>>,
}

impl fmt::Debug for NativeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeHandle")
            .field("memory", &self.memory)
            .field("cached_pages", &self.pages.len())
            .finish()
    }
}

impl Clone for NativeHandle {
    fn clone(&self) -> Self {
        NativeHandle {
            memory: self.memory.clone(),
            pages: self.pages.clone(),
        }
    }
}

impl NativeHandle {
    /// A handle on `memory` for the calling thread.
    pub fn new(memory: Arc<NativeMemory>) -> Self {
        let pages = memory.lock_pages().clone();
        NativeHandle { memory, pages }
    }

    /// The shared memory this handle accesses.
    pub fn memory(&self) -> &Arc<NativeMemory> {
        &self.memory
    }

    /// Bounds check of `[ea, ea + n)` (spec: `RD len`, then the access traps past it): in
    /// bounds of the cached pages, or else of the memory's current pages (which the cache
    /// then catches up with). The memory never shrinks, so the fast path is sound.
    #[inline]
    fn check(&mut self, ea: u64, n: usize) -> Result<(), Trap> {
        let cached = self.pages.len() * PAGE_SIZE as usize;
        if bounds(cached, ea, n).is_ok() {
            return Ok(());
        }
        {
            let pages = self.memory.lock_pages();
            if pages.len() > self.pages.len() {
                self.pages.extend(pages[self.pages.len()..].iter().cloned());
            }
        }
        bounds(self.pages.len() * PAGE_SIZE as usize, ea, n).map(|_| ())
    }

    /// The word holding byte address `ea` (in bounds of the cached pages).
    #[inline]
    fn word(&self, ea: u64) -> &AtomicU64 {
        let page = (ea / PAGE_SIZE) as usize;
        let index = ((ea % PAGE_SIZE) / WORD) as usize;
        &self.pages[page][index]
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

    /// Read `out.len()` bytes at `ea` with one load per word, of ordering `ord`.
    fn load_bytes(&self, ea: u64, out: &mut [u8], ord: AtomicOrdering) {
        Self::for_each_word(ea, out.len(), |w, lo, n, off| {
            let bytes = self.word(w).load(ord).to_le_bytes();
            out[off..off + n as usize].copy_from_slice(&bytes[lo as usize..(lo + n) as usize]);
        });
    }

    /// Write `data` at `ea` with one atomic operation per word, of ordering `ord`: a store
    /// of a whole word, or a compare-and-swap loop that changes only the written bytes.
    fn store_bytes(&self, ea: u64, data: &[u8], ord: AtomicOrdering) {
        Self::for_each_word(ea, data.len(), |w, lo, n, off| {
            let word = self.word(w);
            let mut bytes = [0u8; 8];
            bytes[lo as usize..(lo + n) as usize].copy_from_slice(&data[off..off + n as usize]);
            let value = u64::from_le_bytes(bytes);
            if n == WORD {
                word.store(value, ord);
            } else {
                let mask = byte_mask(lo, n);
                let _ =
                    word.fetch_update(ord, load_ordering(ord), |old| Some((old & !mask) | value));
            }
        });
    }
}

/// The ordering of the load half of a compare-and-swap whose store half has `ord`.
fn load_ordering(ord: AtomicOrdering) -> AtomicOrdering {
    match ord {
        AtomicOrdering::SeqCst => AtomicOrdering::SeqCst,
        _ => AtomicOrdering::Relaxed,
    }
}

/// The atomic ordering of an access of the spec's ordering `ord`: seq-cst for atomic
/// accesses, relaxed for non-atomic ones and initialisation.
fn atomic_ordering(ord: Ordering) -> AtomicOrdering {
    match ord {
        Ordering::SeqCst => AtomicOrdering::SeqCst,
        Ordering::Unord | Ordering::Init => AtomicOrdering::Relaxed,
    }
}

impl SharedMemory for NativeHandle {
    /// Another handle on the same memory: a native memory is shared, never copied, so it
    /// cannot be snapshotted (exploration uses the other backends).
    fn box_clone(&self) -> Box<dyn SharedMemory> {
        Box::new(self.clone())
    }

    /// [`hash_state`](SharedMemory::hash_state) feeds the contents themselves: nothing.
    fn hash_contents(&self, _h: &mut dyn Hasher) {}

    /// The size and the current contents (a relaxed read of each word) and the number of
    /// waiters per address; only meaningful while no other thread runs.
    fn hash_state(&self, mut h: &mut dyn Hasher) {
        let pages = self.memory.lock_pages();
        pages.len().hash(&mut h);
        for p in pages.iter() {
            for w in p.iter() {
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
        sync::atomic::fence(AtomicOrdering::SeqCst);
    }

    fn ty(&self) -> MemType {
        self.memory.ty()
    }

    fn len_bytes(&self, _thread: ThreadId) -> u64 {
        self.memory.pages() * PAGE_SIZE
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
        self.load_bytes(ea, out, atomic_ordering(ord));
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
        self.store_bytes(ea, bytes, atomic_ordering(ord));
        Ok(())
    }

    /// In place, a word at a time (no buffer of `n` bytes).
    fn fill(&mut self, _thread: ThreadId, ea: u64, val: u8, n: usize) -> Result<(), Trap> {
        self.check(ea, n)?;
        let chunk = [val; 4096];
        let mut done = 0;
        while done < n {
            let take = (n - done).min(chunk.len());
            self.store_bytes(ea + done as u64, &chunk[..take], AtomicOrdering::Relaxed);
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
        let r = word.fetch_update(AtomicOrdering::SeqCst, AtomicOrdering::SeqCst, |w| {
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
        let value = (self.word(ea - lo).load(AtomicOrdering::SeqCst) & mask) >> (8 * lo);
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

    fn native(&self) -> Option<&SharedNative> {
        Some(&self.memory)
    }
}
