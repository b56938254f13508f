//! The native backend's atomics on real OS threads: what loom cannot check (it treats
//! `SeqCst` like acquire/release, docs/native.md) and what needs real contention.
//!
//! * store buffering with seq-cst accesses never shows (0,0): the test that must fail on
//!   the planted fault `weaken-seqcst-for-tests` (`.ci/run` requires it to);
//! * atomic read-modify-writes count exactly under contention;
//! * a `cmpxchg` spin lock keeps a non-atomic counter exact;
//! * `wait`/`notify` ping-pong never loses a wake-up;
//! * concurrent `memory.grow` through Wasm.
//!
//! Store buffering's two locations are in different words (and cache lines): in one word
//! the word's coherence alone would forbid (0,0), whatever the orderings.
#![cfg(not(loom))]

mod common;
use common::{func, module, native_memory, shared};
use heddle_interp::exec::ThreadId;
use heddle_interp::memory::{Ordering, SharedMemory};
use heddle_interp::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const T0: ThreadId = ThreadId(0);

/// The tests of this file run one at a time (each holds this lock): each wants both cores,
/// and two at once would make the others' threads overlap less.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A reusable barrier that spins (yielding after a while): the threads leave it within
/// a few hundred nanoseconds of each other, so that their next accesses overlap. A
/// sleeping barrier (`std::sync::Barrier`) wakes them microseconds apart, and store
/// buffering's (0,0) was then never seen even on the weakened build.
struct SpinBarrier {
    n: usize,
    arrived: AtomicUsize,
    generation: AtomicU64,
}

impl SpinBarrier {
    fn new(n: usize) -> SpinBarrier {
        SpinBarrier {
            n,
            arrived: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// Wait for the `n` threads; the last to arrive runs `last` before releasing the
    /// others. For a thread that waited: `false` if it waited long enough to yield its
    /// core (some other thread was not running then: 2 cores, other load), so that the
    /// threads may not have left the barrier together. `None` for the last to arrive.
    fn wait(&self, last: impl FnOnce()) -> Option<bool> {
        let g = self.generation.load(SeqCst);
        if self.arrived.fetch_add(1, SeqCst) + 1 == self.n {
            last();
            self.arrived.store(0, SeqCst);
            self.generation.store(g + 1, SeqCst);
            return None;
        }
        let mut spins = 0u32;
        while self.generation.load(SeqCst) == g {
            if spins < 2_000 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
                spins += 1;
            }
        }
        Some(spins <= 2_000)
    }
}

/// Store-buffering instances per round, run back to back after the barrier, each on its
/// own pair of locations: several per round make more of the time both threads run
/// count.
const SLOTS: u64 = 16;

/// Instance `k`'s location written by thread 1 (`second` false) or thread 2: `128k` and
/// `128k + 64`, in different words and different cache lines.
fn slot(k: u64, second: bool) -> u64 {
    128 * k + if second { 64 } else { 0 }
}

/// A store-buffering test runs until this many rounds were *together* (the thread that
/// waited at the barrier did not have to yield: both threads were running when they left
/// it; on a loaded 2-core machine many rounds are not)...
const SB_TOGETHER_ROUNDS: u64 = 100_000;
/// ...or for this long, whichever comes first. Measured on the project's machine (2
/// cores, x86, under load) with the planted fault `weaken-seqcst-for-tests`:
/// docs/native.md.
const SB_BUDGET: Duration = Duration::from_secs(8);

/// What a store-buffering run saw.
struct StoreBuffering {
    rounds: u64,
    /// Rounds the threads left the barrier together (see [`SB_TOGETHER_ROUNDS`]), when
    /// counted.
    together: Option<u64>,
    /// Instances where neither thread saw the other's store: SB's (0,0).
    both_zero: u64,
    elapsed: Duration,
}

impl std::fmt::Display for StoreBuffering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(0,0) in {} of {} instances ({} rounds of {SLOTS}",
            self.both_zero,
            self.rounds * SLOTS,
            self.rounds
        )?;
        if let Some(t) = self.together {
            write!(f, ", {t} of them together")?;
        }
        write!(f, ", {:.2?})", self.elapsed)
    }
}

/// Store buffering on two OS threads, in rounds separated by a spinning barrier. In
/// round `r`, for each instance `k`, thread 1 stores `r` to `slot(k, false)` and then
/// loads `slot(k, true)`; thread 2 stores `r` to `slot(k, true)` and then loads
/// `slot(k, false)`. `make(second)` builds a thread's round function, which returns the
/// instances (bit `k`) where it loaded at least `r`, i.e. saw the other thread's store of
/// this round (values only grow).
fn store_buffering<F: FnMut(u64) -> u64>(make: impl Fn(bool) -> F + Sync) -> StoreBuffering {
    let barrier = SpinBarrier::new(2);
    let stop = AtomicBool::new(false);
    let together = AtomicU64::new(0);
    let start = Instant::now();
    let run = |second: bool| {
        let mut round = make(second);
        let mut saw = Vec::new();
        for r in 1.. {
            let waited = barrier.wait(|| {
                if together.load(SeqCst) >= SB_TOGETHER_ROUNDS || start.elapsed() > SB_BUDGET {
                    stop.store(true, SeqCst);
                }
            });
            if stop.load(SeqCst) {
                break;
            }
            // Of two threads, one waited: the round was together if it did not yield.
            if waited == Some(true) {
                together.fetch_add(1, SeqCst);
            }
            saw.push(round(r));
        }
        saw
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(false));
        let b = s.spawn(|| run(true));
        (a.join().unwrap(), b.join().unwrap())
    });
    let all = (1u64 << SLOTS) - 1;
    StoreBuffering {
        rounds: a.len() as u64,
        together: Some(together.load(SeqCst)),
        both_zero: a
            .iter()
            .zip(&b)
            .map(|(a, b)| u64::from((!a & !b & all).count_ones()))
            .sum(),
        elapsed: start.elapsed(),
    }
}

/// [`store_buffering`] with seq-cst stores and loads of `width` bytes (8, or 4: a
/// sub-word access) on the backend's handles, a handle per thread.
fn sb_on_handles(memory: &Arc<NativeMemory>, width: usize) -> StoreBuffering {
    let sub_word = width < 8;
    store_buffering(|second| {
        let mut h = NativeHandle::new(memory.clone());
        move |r: u64| {
            let mut saw = 0;
            for k in 0..SLOTS {
                let value = r.to_le_bytes();
                h.write(
                    T0,
                    Ordering::SeqCst,
                    slot(k, second),
                    &value[..width],
                    sub_word,
                )
                .unwrap();
                // Little-endian: the upper bytes of a narrower load stay 0.
                let mut b = [0u8; 8];
                h.read(
                    T0,
                    Ordering::SeqCst,
                    slot(k, !second),
                    &mut b[..width],
                    sub_word,
                )
                .unwrap();
                saw |= u64::from(u64::from_le_bytes(b) >= r) << k;
            }
            saw
        }
    })
}

/// SB with 8-byte seq-cst stores and loads on the backend's handles: each access is one
/// atomic operation on its word (a store, a load), exactly the backend's mapping of
/// `WR_seqcst` / `RD_seqcst`. Fails on the weakened build.
#[test]
fn sb_seqcst_whole_words_never_shows_both_zero() {
    let _serial = serial();
    let sb = sb_on_handles(&shared(1, 1), 8);
    eprintln!("SB, 8-byte seq-cst accesses on handles: {sb}");
    assert_eq!(
        sb.both_zero, 0,
        "SB (0,0) with 8-byte seq-cst accesses on the backend's handles: {sb}"
    );
}

/// Rounds of the Wasm store-buffering test (all run by one invocation per thread).
const SB_WASM_ROUNDS: i64 = 30_000;

/// SB run by the interpreter: `i64.atomic.store` then `i64.atomic.load`, with the rounds,
/// the instances and the spinning barrier all in Wasm (one invocation per thread; a
/// host call per round makes the threads' instances overlap far less), each thread its
/// own configuration importing the memory.
#[test]
fn sb_seqcst_wasm_never_shows_both_zero() {
    let _serial = serial();
    let wat = format!(
        r#"(module
             (memory (import "env" "mem") 10 10 shared)
             ;; Round r = 1..$rounds: meet the other thread (a counter at 4096 that each
             ;; thread increments once per round; spin, then sleep 50 us at a time, until
             ;; it is 2r), then instance k = 0..{SLOTS}: store r at 128k + 64 $second, load
             ;; 128k + 64 (1 - $second), bit k of the round's mask if the load saw r or
             ;; more. The masks go to 65536 + 262144 $second + 8 (r - 1).
             (func (export "sb") (param $second i32) (param $rounds i64)
               (local $r i64) (local $k i32) (local $saw i64) (local $spins i32)
               (local $count i64) (local $mine i32) (local $other i32)
               (loop $round
                 (local.set $r (i64.add (local.get $r) (i64.const 1)))
                 (drop (i64.atomic.rmw.add (i32.const 4096) (i64.const 1)))
                 (local.set $spins (i32.const 0))
                 (block $met
                   (loop $spin
                     (local.set $count (i64.atomic.load (i32.const 4096)))
                     (br_if $met (i64.ge_u (local.get $count) (i64.shl (local.get $r) (i64.const 1))))
                     (local.set $spins (i32.add (local.get $spins) (i32.const 1)))
                     (if (i32.gt_u (local.get $spins) (i32.const 10000))
                       (then (drop (memory.atomic.wait64 (i32.const 4096) (local.get $count)
                                                         (i64.const 50000)))))
                     (br $spin)))
                 (local.set $k (i32.const 0))
                 (local.set $saw (i64.const 0))
                 (loop $instance
                   ;; The addresses first, so that only two instructions separate the
                   ;; store from the load.
                   (local.set $mine (i32.or (i32.shl (local.get $k) (i32.const 7))
                                            (i32.shl (local.get $second) (i32.const 6))))
                   (local.set $other (i32.xor (local.get $mine) (i32.const 64)))
                   (i64.atomic.store (local.get $mine) (local.get $r))
                   (if (i64.ge_u (i64.atomic.load (local.get $other)) (local.get $r))
                     (then (local.set $saw
                       (i64.or (local.get $saw)
                               (i64.shl (i64.const 1) (i64.extend_i32_u (local.get $k)))))))
                   (local.set $k (i32.add (local.get $k) (i32.const 1)))
                   (br_if $instance (i32.lt_u (local.get $k) (i32.const {SLOTS}))))
                 (i64.store
                   (i32.add (i32.add (i32.const 65536) (i32.mul (local.get $second) (i32.const 262144)))
                            (i32.wrap_i64 (i64.shl (i64.sub (local.get $r) (i64.const 1)) (i64.const 3))))
                   (local.get $saw))
                 (br_if $round (i64.lt_u (local.get $r) (local.get $rounds))))))"#
    );
    let memory = shared(10, 10);
    let start = Instant::now();
    let results = on_threads(&memory, 2, &wat, "sb", &|k| {
        vec![Value::I32(k as i32), Value::I64(SB_WASM_ROUNDS)]
    });
    assert_eq!(results, vec![Ok(vec![]), Ok(vec![])]);
    let all = (1u64 << SLOTS) - 1;
    let both_zero: u64 = (0..SB_WASM_ROUNDS as u64)
        .map(|r| {
            let (a, b) = (
                load64(&memory, 65536 + 8 * r),
                load64(&memory, 65536 + 262144 + 8 * r),
            );
            u64::from((!a & !b & all).count_ones())
        })
        .sum();
    let sb = StoreBuffering {
        rounds: SB_WASM_ROUNDS as u64,
        together: None,
        both_zero,
        elapsed: start.elapsed(),
    };
    eprintln!("SB, Wasm i64 atomics: {sb}");
    assert_eq!(sb.both_zero, 0, "SB (0,0) with Wasm i64 atomics: {sb}");
}

/// SB with 4-byte seq-cst stores: a sub-word store is a compare-and-swap on its word.
/// On x86 every compare-and-swap is a full barrier whatever its ordering, so this one
/// passes on the weakened build too; it guards other architectures (and a change of the
/// store's implementation).
#[test]
fn sb_seqcst_sub_word_never_shows_both_zero() {
    let _serial = serial();
    let sb = sb_on_handles(&shared(1, 1), 4);
    eprintln!("SB, 4-byte seq-cst accesses on handles: {sb}");
    assert_eq!(
        sb.both_zero, 0,
        "SB (0,0) with 4-byte seq-cst accesses: {sb}"
    );
}

/// `threads` configurations on their own OS threads, each instantiating `wat` over
/// `memory` and invoking `name` with `args`; their results.
fn on_threads(
    memory: &Arc<NativeMemory>,
    threads: usize,
    wat: &str,
    name: &str,
    args: &(dyn Fn(usize) -> Vec<Value> + Sync),
) -> Vec<Result<Vec<Value>, Trap>> {
    let m = module(wat);
    let barrier = SpinBarrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (m, memory, barrier) = (m.clone(), memory.clone(), &barrier);
                s.spawn(move || {
                    let mut c = Configuration::new();
                    let mem = c.import_native_memory(memory);
                    let inst = c
                        .instantiate(m, &[ExternVal::Memory(mem)])
                        .expect("instantiates");
                    let f = func(&c, inst, name);
                    let _ = barrier.wait(|| {});
                    c.invoke(f, &args(k))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Read the i64 at `ea`.
fn load64(memory: &Arc<NativeMemory>, ea: u64) -> u64 {
    let mut h = NativeHandle::new(memory.clone());
    let mut b = [0u8; 8];
    h.read(T0, Ordering::SeqCst, ea, &mut b, false).unwrap();
    u64::from_le_bytes(b)
}

/// Atomic RMWs are atomic: 4 threads each add 1 `n` times to a shared i32 (offset 0) and
/// to a shared i64 (offset 8), and each adds 1 `n` times to its own 16-bit half-word of
/// the word at 16 (sub-word RMWs on neighbouring bytes of one word); every count is exact.
#[test]
fn atomic_rmw_counts_exactly() {
    let _serial = serial();
    const N: i32 = 20_000;
    const THREADS: usize = 4;
    let memory = shared(1, 1);
    let results = on_threads(
        &memory,
        THREADS,
        r#"(module
             (memory (import "env" "mem") 1 1 shared)
             (func (export "add") (param $k i32) (param $n i32)
               (loop $l
                 (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
                 (drop (i64.atomic.rmw.add (i32.const 8) (i64.const 1)))
                 (drop (i32.atomic.rmw16.add_u
                   (i32.add (i32.const 16) (i32.shl (local.get $k) (i32.const 1)))
                   (i32.const 1)))
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br_if $l (local.get $n)))))"#,
        "add",
        &|k| vec![Value::I32(k as i32), Value::I32(N)],
    );
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let total = THREADS as u64 * N as u64;
    assert_eq!(
        load64(&memory, 0) & 0xffff_ffff,
        total,
        "i32.atomic.rmw.add"
    );
    assert_eq!(load64(&memory, 8), total, "i64.atomic.rmw.add");
    let halves = load64(&memory, 16);
    for k in 0..THREADS {
        assert_eq!(
            (halves >> (16 * k)) & 0xffff,
            N as u64,
            "rmw16 of thread {k}"
        );
    }
}

/// A spin lock made of `i32.atomic.rmw.cmpxchg` (acquire: 0 → 1) and `i32.atomic.store`
/// (release: 0) protects a non-atomic counter in another word: 4 threads each increment
/// it `n` times under the lock, and it ends exact. The winners of each cmpxchg are
/// counted too (the old value 0 is returned to exactly one contender).
#[test]
fn cmpxchg_lock_protects_a_plain_counter() {
    let _serial = serial();
    const N: i32 = 20_000;
    const THREADS: usize = 4;
    let memory = shared(1, 1);
    let results = on_threads(
        &memory,
        THREADS,
        r#"(module
             (memory (import "env" "mem") 1 1 shared)
             ;; lock at 0, counter at 64 (another word and cache line)
             (func (export "count") (param $n i32) (result i32)
               (local $acquired i32)
               (loop $l
                 (loop $spin
                   (br_if $spin (i32.atomic.rmw.cmpxchg (i32.const 0) (i32.const 0) (i32.const 1))))
                 (local.set $acquired (i32.add (local.get $acquired) (i32.const 1)))
                 (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
                 (i32.atomic.store (i32.const 0) (i32.const 0))
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br_if $l (local.get $n)))
               (local.get $acquired)))"#,
        "count",
        &|_| vec![Value::I32(N)],
    );
    for r in &results {
        assert_eq!(r, &Ok(vec![Value::I32(N)]));
    }
    assert_eq!(load64(&memory, 64), THREADS as u64 * N as u64, "counter");
    assert_eq!(load64(&memory, 0), 0, "lock released");
}

/// `wait`/`notify` ping-pong: two threads take turns through a turn word, each waiting
/// (no timeout) until it is its turn, then passing the turn and notifying. A lost
/// wake-up leaves both waiting: the memory's wait limit turns that into a trap
/// (`Trap::Deadlock`) instead of a hang.
#[test]
fn wait_notify_ping_pong_loses_no_wake_up() {
    let _serial = serial();
    const ROUNDS: i32 = 2_000;
    let memory = Arc::new(native_memory(1, 1).with_wait_limit(Some(Duration::from_secs(10))));
    let start = Instant::now();
    let results = on_threads(
        &memory,
        2,
        r#"(module
             (memory (import "env" "mem") 1 1 shared)
             ;; turn at 0: thread $me runs when it holds $me; it then passes 1 - $me.
             ;; Returns how many of its waits were woken by a notify (result 0).
             (func (export "play") (param $me i32) (param $n i32) (result i32)
               (local $woken i32)
               (loop $round
                 (block $mine
                   (loop $wait
                     (br_if $mine (i32.eq (i32.atomic.load (i32.const 0)) (local.get $me)))
                     (if (i32.eqz (memory.atomic.wait32 (i32.const 0)
                                    (i32.sub (i32.const 1) (local.get $me)) (i64.const -1)))
                       (then (local.set $woken (i32.add (local.get $woken) (i32.const 1)))))
                     (br $wait)))
                 (i32.atomic.store (i32.const 0) (i32.sub (i32.const 1) (local.get $me)))
                 (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br_if $round (local.get $n)))
               (local.get $woken)))"#,
        "play",
        &|k| vec![Value::I32(k as i32), Value::I32(ROUNDS)],
    );
    eprintln!(
        "wait/notify ping-pong: {ROUNDS} rounds in {:?}, woken {results:?}",
        start.elapsed()
    );
    for r in &results {
        assert!(matches!(r.as_deref(), Ok([Value::I32(_)])), "{r:?}");
    }
    assert_eq!(memory.waiters(0), 0);
    // Thread 0 starts with the turn: both played every round.
    assert_eq!(load64(&memory, 0), 0);
}

/// `memory.grow` through Wasm on 4 threads at once: each grows by one page 8 times,
/// stores its mark in the first word of the page it added and reads it back; the old
/// sizes are distinct and complete, the final `memory.size` is their total, and every
/// page holds the mark of the thread that added it.
#[test]
fn concurrent_memory_grow_through_wasm() {
    let _serial = serial();
    const THREADS: usize = 4;
    const GROWS: i32 = 8;
    let total = 1 + THREADS as u64 * GROWS as u64;
    let memory = shared(1, total);
    let wat = format!(
        r#"(module
             (memory (import "env" "mem") 1 {total} shared)
             ;; Grows $n times by 1; returns the sum of the old sizes it got, or -1 when a
             ;; grow fails or a mark does not read back.
             (func (export "grow") (param $mark i32) (param $n i32) (result i32)
               (local $old i32) (local $sum i32)
               (loop $l
                 (local.set $old (memory.grow (i32.const 1)))
                 (if (i32.lt_s (local.get $old) (i32.const 1)) (then (return (i32.const -1))))
                 (local.set $sum (i32.add (local.get $sum) (local.get $old)))
                 (i32.store (i32.shl (local.get $old) (i32.const 16)) (local.get $mark))
                 (if (i32.ne (i32.load (i32.shl (local.get $old) (i32.const 16))) (local.get $mark))
                   (then (return (i32.const -1))))
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br_if $l (local.get $n)))
               (local.get $sum))
             )"#
    );
    let results = on_threads(&memory, THREADS, &wat, "grow", &|k| {
        vec![Value::I32(k as i32 + 1), Value::I32(GROWS)]
    });
    let sum: i64 = results
        .iter()
        .map(|r| match r.as_deref() {
            Ok([Value::I32(s)]) if *s > 0 => i64::from(*s),
            other => panic!("grow: {other:?}"),
        })
        .sum();
    // The old sizes are 1..total-1, each returned once: their sum, and below, every page
    // holds a mark and each thread's mark is on as many pages as it grew (two grows that
    // returned the same old size would leave a page unmarked).
    assert_eq!(sum as u64, (1..total).sum::<u64>());
    assert_eq!(memory.pages(), total);
    let mut marks = [0u64; THREADS + 1];
    for page in 1..total {
        let mark = load64(&memory, page << 16);
        assert!((1..=THREADS as u64).contains(&mark), "page {page}: {mark}");
        marks[mark as usize] += 1;
    }
    assert_eq!(&marks[1..], &[GROWS as u64; THREADS], "pages per thread");
    // Past the maximum, grow fails (-1) and the size stays.
    let r = on_threads(&memory, 1, &wat, "grow", &|_| {
        vec![Value::I32(9), Value::I32(1)]
    });
    assert_eq!(r, vec![Ok(vec![Value::I32(-1)])]);
    assert_eq!(memory.pages(), total);
}
