//! wasmtime, in process: each script thread on its own OS thread, each of its instances in
//! a `Store` of its own, one `SharedMemory` imported by every thread's instances.
//!
//! One store per instance: wasmtime 48.0.8 panics (`assertion failed: fault.is_none()`)
//! instead of trapping when an access past the length faults in a `SharedMemory` that one
//! store imports twice (docs/findings.md, part 1). A test that grows the memory
//! ([`crate::litmus::SharedMemorySpec::grows`]) gets a fresh memory, and fresh instances,
//! every iteration.
//!
//! The harness is the one docs/xcheck.md describes (the JavaScript harness follows the same
//! design): per iteration, restore the reset region, meet at a barrier, run each thread's
//! steps (a seeded random delay before its first invoke), meet again; the last thread to
//! arrive records the outcome. A watchdog thread finds threads blocked in a `wait` that
//! nothing can wake, marks them `"blocked"` and wakes them with `memory.atomic.notify`.

use super::watchdog::{self, Verdict};
use crate::diff::compare::panic_message;
use crate::engine::{DiscardReason, Engine, EngineFailure, HangBound, Histogram, RunOptions};
use crate::engines::barrier::{Barrier, Parking};
use crate::litmus::{LitmusTest, RawResult, Step};
use crate::value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::{
    Config, Extern, Func, Instance, MemoryType, Module, SharedMemory, Store, Trap, Val,
};

/// The version of the wasmtime crate Heddle is built with (pinned in fuzz/Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// The in-process wasmtime engine (Cranelift, threads and shared memory on).
pub struct WasmtimeEngine {
    engine: Result<wasmtime::Engine, String>,
}

impl Default for WasmtimeEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl WasmtimeEngine {
    /// A wasmtime engine of [`threads_config`].
    pub fn new() -> WasmtimeEngine {
        WasmtimeEngine {
            engine: wasmtime::Engine::new(&threads_config()).map_err(|e| format!("{e:#}")),
        }
    }
}

/// The configuration of the wasmtime engines that run threads (the litmus engine and
/// [`super::wasi_threads`]): Cranelift with `wasm_threads`,
/// `shared_memory` and epoch interruption (to stop a runaway thread at a time bound).
pub fn threads_config() -> Config {
    let mut c = Config::new();
    c.wasm_threads(true);
    c.shared_memory(true);
    c.epoch_interruption(true);
    c
}

impl Engine for WasmtimeEngine {
    fn name(&self) -> &str {
        "wasmtime"
    }

    fn version(&self) -> Result<String, EngineFailure> {
        match &self.engine {
            Ok(_) => Ok(format!("wasmtime {WASMTIME_VERSION} (in process)")),
            Err(e) => Err(EngineFailure::Unavailable(e.clone())),
        }
    }

    fn run(&self, test: &LitmusTest, opts: &RunOptions) -> Result<Histogram, EngineFailure> {
        let engine = self
            .engine
            .as_ref()
            .map_err(|e| EngineFailure::Unavailable(e.clone()))?;
        let modules = test
            .modules
            .iter()
            .map(|b| Module::new(engine, b))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineFailure::Compile(format!("{e:#}")))?;
        let reset = wat::parse_str(reset_module(test))
            .map_err(|e| e.to_string())
            .and_then(|b| Module::new(engine, b).map_err(|e| format!("{e:#}")))
            .map_err(|e| EngineFailure::Harness(format!("reset module: {e}")))?;
        let memory = new_memory(engine, test)?;
        Harness::new(test, opts).run(engine, &modules, &reset, memory)
    }
}

/// A fresh shared memory of the test's initial and maximum size, all zeros.
fn new_memory(engine: &wasmtime::Engine, test: &LitmusTest) -> Result<SharedMemory, EngineFailure> {
    let ty = MemoryType::shared(
        u32::try_from(test.memory.initial_pages).unwrap_or(u32::MAX),
        u32::try_from(test.memory.maximum_pages).unwrap_or(u32::MAX),
    );
    SharedMemory::new(engine, ty)
        .map_err(|e| EngineFailure::Harness(format!("shared memory: {e:#}")))
}

/// A worker's instances on one memory, each in its own `Store` (see the module docs): the
/// reset function and the function of every invoke, resolved once.
struct Instances {
    stores: Vec<Store<()>>,
    /// The reset module's `reset`, in `stores[0]`.
    reset: Func,
    /// Per invoke: its store's index, the function, its arguments and result slots.
    calls: Vec<(usize, Func, Vec<Val>, Vec<Val>)>,
}

/// The reset module: `reset` copies the initial contents of bytes `0..reset_len` from a
/// passive data segment into the shared memory (no host access to the memory needed).
fn reset_module(test: &LitmusTest) -> String {
    let mut data = String::new();
    for b in test.initial_bytes() {
        data.push_str(&format!("\\{b:02x}"));
    }
    format!(
        "(module (import \"m\" \"m\" (memory {} {} shared)) (data $d \"{data}\") \
         (func (export \"reset\") (memory.init $d (i32.const 0) (i32.const 0) (i32.const {}))))",
        test.memory.initial_pages, test.memory.maximum_pages, test.memory.reset_len
    )
}

/// What a script thread is doing, as the watchdog sees it. A thread is *running* unless it
/// is DONE, or waits for a spawn or a join that has not happened yet in this iteration
/// (states are set so that a thread is never taken for waiting while it runs: a stale
/// state may only overstate running, which makes the watchdog more careful, never wrong).
const DONE: u64 = 0;
const RUNNING: u64 = 1;
/// Waiting for its parent's `spawn`.
const SPAWN: u64 = 2;
/// Waiting for thread `s - JOIN` to finish.
const JOIN: u64 = 3;

/// Iterations by their key: per thread, the id of its result list (interned by its worker)
/// and its blocked mark (`id | (blocked index + 1) << 32`, 0 in the high half for none).
type RawHistogram = HashMap<Vec<u64>, u64>;

/// The id of an empty result list (a thread without a worker).
const NO_RESULTS: u32 = u32::MAX;

/// Shared control state of one test run.
struct Control {
    threads: usize,
    start: Barrier,
    end: Barrier,
    /// Iterations completed (the end barrier's last arriver bumps it).
    completed: AtomicU64,
    state: Vec<AtomicU64>,
    /// The invoke index each thread is in (valid while RUNNING).
    invoke: Vec<AtomicU64>,
    /// Steps each thread has completed (invokes returned, spawns made), ever.
    progress: Vec<AtomicU64>,
    spawned: Vec<AtomicU64>,
    done: Vec<AtomicU64>,
    /// The memory of the current iteration (replaced by the end barrier's last thread when
    /// the test grows it).
    memory: Mutex<SharedMemory>,
    /// Committed blocked marks (invoke index, -1 for none), per thread.
    blocked_at: Vec<AtomicI64>,
    /// Why this iteration is discarded: 0 for not, else [`discard_code`] of the first reason.
    discard: AtomicU8,
    watchdog_busy: AtomicBool,
    abort: AtomicBool,
    parking: Parking,
    /// The id of each thread's result list in this iteration (interned by its worker).
    result_id: Vec<AtomicU32>,
    /// Each worker's interned result lists, handed over when it finishes.
    result_lists: Vec<Mutex<Vec<Vec<RawResult>>>>,
    /// Raw iteration results → count, and the discarded iterations by reason.
    histogram: Mutex<(RawHistogram, BTreeMap<DiscardReason, u64>)>,
}

struct Harness<'a> {
    test: &'a LitmusTest,
    opts: &'a RunOptions,
    /// Threads that run on a worker (the others only spawn and join: elided).
    workers: Vec<usize>,
    /// Threads that start at the barrier (spawned by an elided thread).
    at_barrier: Vec<bool>,
    /// `wait` instructions in each invoke's function, `[t][k]`.
    waits: Vec<Vec<usize>>,
    /// Whether no `wait` of invoke `k` of thread `t` can time out, `[t][k]`.
    untimed: Vec<Vec<bool>>,
    /// Whether a step after invoke `k` of thread `t` may wait or spawn, `[t][k]`.
    wait_or_spawn_after: Vec<Vec<bool>>,
}

impl<'a> Harness<'a> {
    fn new(test: &'a LitmusTest, opts: &'a RunOptions) -> Harness<'a> {
        let n = test.threads.len();
        // A thread whose steps only spawn children and then join them, and that itself
        // starts at the barrier, needs no worker: its children start at the barrier, and the
        // end barrier is its join.
        let mut at_barrier = vec![false; n];
        let mut elided = vec![false; n];
        at_barrier[0] = true;
        for t in 0..n {
            if !at_barrier[t] {
                continue;
            }
            let steps = &test.threads[t].steps;
            let spawns: Vec<usize> = steps
                .iter()
                .filter_map(|s| match s {
                    Step::Spawn(c) => Some(*c),
                    _ => None,
                })
                .collect();
            let trivial = steps.iter().all(|s| match s {
                Step::Spawn(_) | Step::Instantiate { .. } => true,
                Step::Join(c) => spawns.contains(c),
                Step::Invoke { .. } => false,
            }) && {
                // every spawn comes before every join
                let first_join = steps.iter().position(|s| matches!(s, Step::Join(_)));
                let last_spawn = steps.iter().rposition(|s| matches!(s, Step::Spawn(_)));
                match (first_join, last_spawn) {
                    (Some(j), Some(s)) => s < j,
                    _ => true,
                }
            };
            if trivial {
                elided[t] = true;
                for c in spawns {
                    at_barrier[c] = true;
                }
            }
        }
        let workers = (0..n).filter(|&t| !elided[t]).collect();
        Harness {
            test,
            opts,
            workers,
            at_barrier,
            waits: test.waits_per_invoke(),
            untimed: test.untimed_per_invoke(),
            wait_or_spawn_after: test.may_wait_or_spawn_after(),
        }
    }

    fn run(
        &self,
        engine: &wasmtime::Engine,
        modules: &[Module],
        reset: &Module,
        memory: SharedMemory,
    ) -> Result<Histogram, EngineFailure> {
        let n = self.test.threads.len();
        let nw = self.workers.len().max(1);
        let ctl = Arc::new(Control {
            threads: n,
            start: Barrier::new(nw),
            end: Barrier::new(nw),
            completed: AtomicU64::new(0),
            state: (0..n).map(|_| AtomicU64::new(DONE)).collect(),
            invoke: (0..n).map(|_| AtomicU64::new(0)).collect(),
            progress: (0..n).map(|_| AtomicU64::new(0)).collect(),
            spawned: (0..n).map(|_| AtomicU64::new(0)).collect(),
            done: (0..n).map(|_| AtomicU64::new(0)).collect(),
            blocked_at: (0..n).map(|_| AtomicI64::new(-1)).collect(),
            memory: Mutex::new(memory),
            discard: AtomicU8::new(0),
            watchdog_busy: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            parking: Parking::new(nw),
            result_id: (0..n).map(|_| AtomicU32::new(NO_RESULTS)).collect(),
            result_lists: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
            histogram: Mutex::new((HashMap::new(), BTreeMap::new())),
        });
        let started = Instant::now();
        let outcome: Result<(), EngineFailure> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for &t in &self.workers {
                let ctl = ctl.clone();
                handles.push((
                    t,
                    scope.spawn(move || self.worker(t, &ctl, engine, modules, reset)),
                ));
            }
            let watchdog = self.watchdog(&ctl, engine);
            let mut result = watchdog;
            for (t, h) in handles {
                let r = match h.join() {
                    Ok(r) => r,
                    Err(p) => Err(EngineFailure::Crash(format!(
                        "thread {} panicked: {}",
                        self.test.threads[t].name,
                        panic_message(&*p)
                    ))),
                };
                if result.is_ok() {
                    result = r;
                }
            }
            result
        });
        outcome?;
        let seconds = started.elapsed().as_secs_f64();
        let (counts, discards) =
            std::mem::take(&mut *ctl.histogram.lock().unwrap_or_else(|e| e.into_inner()));
        let mut h = Histogram {
            iterations: self.opts.iterations,
            seconds,
            ..Histogram::default()
        };
        for (reason, n) in discards {
            h.discard(reason, n);
        }
        let mut sorted: Vec<_> = counts.into_iter().collect();
        sorted.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let lists: Vec<Vec<Vec<RawResult>>> = ctl
            .result_lists
            .iter()
            .map(|l| std::mem::take(&mut *l.lock().unwrap_or_else(|e| e.into_inner())))
            .collect();
        for (key, count) in sorted {
            let raw: Vec<Vec<RawResult>> = key
                .iter()
                .enumerate()
                .map(|(t, &k)| {
                    let id = (k & 0xffff_ffff) as u32;
                    let mut r = match lists[t].get(id as usize) {
                        Some(r) if id != NO_RESULTS => r.clone(),
                        _ => Vec::new(),
                    };
                    if k >> 32 > 0 {
                        r.truncate(((k >> 32) - 1) as usize);
                        r.push(RawResult::Blocked);
                    }
                    r
                })
                .collect();
            h.add(self.test.assemble(&raw), count);
        }
        Ok(h)
    }

    /// Instantiates the reset module and thread `t`'s modules on `memory`, each in a store
    /// of its own, and resolves the function of every invoke.
    fn instantiate(
        &self,
        t: usize,
        engine: &wasmtime::Engine,
        modules: &[Module],
        reset: &Module,
        memory: &SharedMemory,
    ) -> Result<Instances, EngineFailure> {
        let instantiate = |m: &Module| {
            let mut store = Store::new(engine, ());
            store.set_epoch_deadline(1);
            store.epoch_deadline_trap();
            let imports: Vec<Extern> = m
                .imports()
                .map(|i| match i.ty() {
                    wasmtime::ExternType::Memory(_) => Ok(Extern::SharedMemory(memory.clone())),
                    other => Err(EngineFailure::Compile(format!(
                        "import {}.{} of kind {other:?}: only the shared memory can be imported",
                        i.module(),
                        i.name()
                    ))),
                })
                .collect::<Result<_, _>>()?;
            let instance = Instance::new(&mut store, m, &imports)
                .map_err(|e| EngineFailure::Compile(format!("instantiation: {e:#}")))?;
            Ok((store, instance))
        };
        let (mut store, instance) = instantiate(reset)?;
        let reset = instance
            .get_func(&mut store, "reset")
            .ok_or_else(|| EngineFailure::Harness("reset: no export".into()))?;
        let mut stores = vec![store];
        // The thread's n-th instance is in stores[n + 1].
        let mut instances = Vec::new();
        for s in &self.test.threads[t].steps {
            if let Step::Instantiate { module } = s {
                let (store, instance) = instantiate(&modules[*module])?;
                instances.push((stores.len(), instance));
                stores.push(store);
            }
        }
        let mut calls = Vec::new();
        for s in &self.test.threads[t].steps {
            if let Step::Invoke {
                instance,
                export,
                args,
                ..
            } = s
            {
                let (i, f) = instances
                    .get(*instance)
                    .and_then(|&(i, inst)| Some((i, inst.get_func(&mut stores[i], export)?)))
                    .ok_or_else(|| {
                        EngineFailure::Compile(format!("no exported function {export:?}"))
                    })?;
                let params: Vec<Val> = args.iter().map(value::to_wasmtime).collect();
                let results: Vec<Val> = f
                    .ty(&stores[i])
                    .results()
                    .map(|r| value::wasmtime_slot(&r))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.failure(&self.test.name, &self.test.threads[t].name))?;
                calls.push((i, f, params, results));
            }
        }
        Ok(Instances {
            stores,
            reset,
            calls,
        })
    }

    /// One script thread's worker: instantiate, then run every iteration (instantiating
    /// again on each iteration's fresh memory when the test grows it).
    fn worker(
        &self,
        t: usize,
        ctl: &Control,
        engine: &wasmtime::Engine,
        modules: &[Module],
        reset: &Module,
    ) -> Result<(), EngineFailure> {
        let fail = |e: EngineFailure| {
            ctl.abort.store(true, SeqCst);
            ctl.parking.wake();
            e
        };
        // However the worker ends, the watchdog stops counting it as running.
        let _exit = ExitGuard { ctl, t };
        let memory = || ctl.memory.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut inst = self
            .instantiate(t, engine, modules, reset, &memory())
            .map_err(fail)?;
        let mut delay = crate::engine::delay_sequence(self.opts.seed, t);
        let mut raw: Vec<RawResult> = Vec::with_capacity(inst.calls.len());
        // This thread's distinct result lists, each with a small id.
        let mut interned: HashMap<Vec<RawResult>, u32> = HashMap::new();
        let mut lists: Vec<Vec<RawResult>> = Vec::new();
        let steps = &self.test.threads[t].steps;
        for iter in 1..=self.opts.iterations {
            if iter > 1 && self.test.memory.grows {
                inst = self
                    .instantiate(t, engine, modules, reset, &memory())
                    .map_err(fail)?;
            }
            let mut reset_err = None;
            ctl.start.arrive(&ctl.parking, &ctl.abort, || {
                if let Err(e) = inst.reset.call(&mut inst.stores[0], &[], &mut []) {
                    reset_err = Some(format!("reset: {e:#}"));
                }
                for b in &ctl.blocked_at {
                    b.store(-1, SeqCst);
                }
                for &w in &self.workers {
                    ctl.state[w].store(RUNNING, SeqCst);
                }
                ctl.discard.store(0, SeqCst);
            });
            if let Some(e) = reset_err {
                return Err(fail(EngineFailure::Crash(e)));
            }
            if ctl.abort.load(SeqCst) {
                return Ok(());
            }
            if !self.at_barrier[t] {
                ctl.state[t].store(SPAWN, SeqCst);
                ctl.parking
                    .wait_until(|| ctl.spawned[t].load(SeqCst) == iter || ctl.abort.load(SeqCst));
            }
            ctl.state[t].store(RUNNING, SeqCst);
            raw.clear();
            let mut k = 0usize;
            let mut delayed = false;
            for s in steps {
                match s {
                    Step::Instantiate { .. } => {}
                    Step::Spawn(c) => {
                        ctl.progress[t].fetch_add(1, SeqCst);
                        ctl.spawned[*c].store(iter, SeqCst);
                        ctl.parking.wake();
                    }
                    Step::Join(c) => {
                        ctl.state[t].store(JOIN + *c as u64, SeqCst);
                        ctl.parking.wait_until(|| {
                            ctl.done[*c].load(SeqCst) == iter || ctl.abort.load(SeqCst)
                        });
                        ctl.state[t].store(RUNNING, SeqCst);
                    }
                    Step::Invoke { .. } => {
                        if !delayed {
                            for _ in 0..delay() {
                                std::hint::spin_loop();
                            }
                            delayed = true;
                        }
                        ctl.invoke[t].store(k as u64, SeqCst);
                        let (i, f, params, results) = &mut inst.calls[k];
                        raw.push(match f.call(&mut inst.stores[*i], params, results) {
                            Ok(()) => RawResult::Values(
                                results
                                    .iter()
                                    .map(value::from_wasmtime)
                                    .collect::<Result<_, _>>()
                                    .map_err(|e| {
                                        fail(e.failure(&self.test.name, &self.test.threads[t].name))
                                    })?,
                            ),
                            Err(e) if e.downcast_ref::<Trap>().is_some() => {
                                if ctl.abort.load(SeqCst) {
                                    return Ok(());
                                }
                                RawResult::Trap
                            }
                            Err(e) => {
                                return Err(fail(EngineFailure::Crash(format!(
                                    "invoke {:?}: {e:#}",
                                    self.test.threads[t].name
                                ))))
                            }
                        });
                        ctl.progress[t].fetch_add(1, SeqCst);
                        k += 1;
                    }
                }
            }
            let id = match interned.get(&raw) {
                Some(&id) => id,
                None => {
                    let id = lists.len() as u32;
                    lists.push(raw.clone());
                    interned.insert(raw.clone(), id);
                    id
                }
            };
            ctl.result_id[t].store(id, SeqCst);
            ctl.state[t].store(DONE, SeqCst);
            ctl.done[t].store(iter, SeqCst);
            ctl.parking.wake();
            let mut memory_err = None;
            ctl.end.arrive(&ctl.parking, &ctl.abort, || {
                // The watchdog may be deciding about this iteration: let it finish.
                ctl.parking.wait_until(|| !ctl.watchdog_busy.load(SeqCst));
                self.record(ctl);
                if self.test.memory.grows && iter < self.opts.iterations {
                    match new_memory(engine, self.test) {
                        Ok(m) => *ctl.memory.lock().unwrap_or_else(|e| e.into_inner()) = m,
                        Err(e) => memory_err = Some(e),
                    }
                }
                ctl.completed.fetch_add(1, SeqCst);
            });
            if let Some(e) = memory_err {
                return Err(fail(e));
            }
        }
        *ctl.result_lists[t]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = lists;
        Ok(())
    }

    /// The end barrier's serial section: the iteration's raw results (with the watchdog's
    /// blocked marks) into the histogram, or counted as discarded.
    fn record(&self, ctl: &Control) {
        let mut h = ctl.histogram.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reason) = discard_reason(ctl.discard.load(SeqCst)) {
            *h.1.entry(reason).or_insert(0) += 1;
            return;
        }
        let key: Vec<u64> = (0..ctl.threads)
            .map(|t| {
                let id = ctl.result_id[t].load(SeqCst) as u64;
                let b = ctl.blocked_at[t].load(SeqCst);
                id | (((b + 1).max(0) as u64) << 32)
            })
            .collect();
        *h.0.entry(key).or_insert(0) += 1;
    }

    /// The watchdog, on the calling thread until the run ends: finds threads blocked in a
    /// `wait` that nothing can wake (docs/xcheck.md, "Blocked threads") and ends a run whose
    /// current iteration makes no progress within the per-iteration bound ([`HangBound`]).
    fn watchdog(&self, ctl: &Control, engine: &wasmtime::Engine) -> Result<(), EngineFailure> {
        let period = self.test.watchdog;
        let mut hang = HangBound::new(self.opts.timeout);
        let mut last = ctl.completed.load(SeqCst);
        let mut last_progress = Instant::now();
        loop {
            std::thread::sleep(period);
            let now = ctl.completed.load(SeqCst);
            if now >= self.opts.iterations || ctl.abort.load(SeqCst) {
                return Ok(());
            }
            if now != last {
                // Each of these iterations took at most the time since the last progress.
                hang.observe(now - last, last_progress.elapsed());
                last = now;
                last_progress = Instant::now();
                continue;
            }
            let stalled = last_progress.elapsed();
            if stalled > hang.bound() {
                return Err(self.abort(ctl, engine, hang.hang_message(now, stalled)));
            }
            ctl.watchdog_busy.store(true, SeqCst);
            if ctl.completed.load(SeqCst) == now {
                let memory = ctl.memory.lock().unwrap_or_else(|e| e.into_inner()).clone();
                self.find_blocked(ctl, now + 1, &memory);
            }
            ctl.watchdog_busy.store(false, SeqCst);
            ctl.parking.wake();
        }
    }

    /// The watchdog's decision about an iteration that made no progress for a period
    /// (docs/xcheck.md, "Blocked threads"): wake the waiters one address at a time until as
    /// many have been woken as threads are running, then let [`watchdog::verdict`] decide:
    /// mark each running thread blocked at its invoke, or discard the iteration (with the
    /// first reason found), or keep watching.
    fn find_blocked(&self, ctl: &Control, iter: u64, memory: &SharedMemory) {
        let n = ctl.threads;
        let running: Vec<bool> = (0..n).map(|t| self.running(ctl, t, iter)).collect();
        let count = running.iter().filter(|r| **r).count() as u64;
        let invoke: Vec<usize> = (0..n)
            .map(|t| ctl.invoke[t].load(SeqCst) as usize)
            .collect();
        let progress: Vec<u64> = (0..n).map(|t| ctl.progress[t].load(SeqCst)).collect();
        let mut woken = 0u64;
        for &a in &self.test.wait_addresses {
            woken += memory.atomic_notify(a as u64, u32::MAX).unwrap_or(0) as u64;
            if woken >= count {
                break;
            }
        }
        let counted_once = (0..n).all(|t| {
            let moved = ctl.progress[t].load(SeqCst) != progress[t];
            if !running[t] {
                // A thread that was not running may only have been woken if it started.
                !moved && !self.running(ctl, t, iter)
            } else {
                let k = invoke[t];
                self.waits[t].get(k).copied().unwrap_or(0) <= 1
                    && (!moved || !self.wait_or_spawn_after[t].get(k).copied().unwrap_or(true))
            }
        });
        let untimed = (0..n)
            .filter(|&t| running[t])
            .all(|t| self.untimed[t].get(invoke[t]).copied().unwrap_or(false));
        let sweep = watchdog::Sweep {
            running: count,
            woken,
            counted_once,
            untimed,
        };
        match watchdog::verdict(sweep) {
            Verdict::Slow => {}
            Verdict::Blocked => {
                for t in (0..n).filter(|&t| running[t]) {
                    let k = invoke[t] as i64;
                    let prev = ctl.blocked_at[t].load(SeqCst);
                    if prev < 0 || k < prev {
                        ctl.blocked_at[t].store(k, SeqCst);
                    }
                }
            }
            Verdict::Discard(reason) => {
                // The first reason found stays.
                let _ = ctl
                    .discard
                    .compare_exchange(0, discard_code(reason), SeqCst, SeqCst);
            }
        }
    }

    /// Whether thread `t` is running in iteration `iter` (see [`RUNNING`]).
    fn running(&self, ctl: &Control, t: usize, iter: u64) -> bool {
        match ctl.state[t].load(SeqCst) {
            DONE => false,
            RUNNING => true,
            SPAWN => ctl.spawned[t].load(SeqCst) == iter,
            s => ctl.done[(s - JOIN) as usize].load(SeqCst) == iter,
        }
    }

    fn abort(&self, ctl: &Control, engine: &wasmtime::Engine, why: String) -> EngineFailure {
        ctl.abort.store(true, SeqCst);
        ctl.parking.wake();
        engine.increment_epoch();
        // Wake anything still waiting until every worker has seen the abort.
        for _ in 0..1000 {
            let memory = ctl.memory.lock().unwrap_or_else(|e| e.into_inner()).clone();
            notify_all(&self.test.wait_addresses, &memory);
            let iter = ctl.completed.load(SeqCst) + 1;
            if (0..ctl.threads).all(|t| !self.running(ctl, t, iter)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        EngineFailure::Hang(format!(
            "{why}; {} of {} iterations completed",
            ctl.completed.load(SeqCst),
            self.opts.iterations
        ))
    }
}

/// Marks a worker's thread [`DONE`] when the worker ends, whichever way, and stops the run
/// when it ends in a panic.
struct ExitGuard<'a> {
    ctl: &'a Control,
    t: usize,
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        self.ctl.state[self.t].store(DONE, SeqCst);
        if std::thread::panicking() {
            // The engine panicked in this worker: stop the others (the run reports a crash).
            self.ctl.abort.store(true, SeqCst);
            self.ctl.parking.wake();
        }
    }
}

/// [`Control::discard`]'s code of a reason (never 0).
fn discard_code(reason: DiscardReason) -> u8 {
    DiscardReason::ALL
        .iter()
        .position(|&r| r == reason)
        .map_or(u8::MAX, |i| i as u8 + 1)
}

/// The reason of a [`Control::discard`] code; `None` for 0 (not discarded).
fn discard_reason(code: u8) -> Option<DiscardReason> {
    match code {
        0 => None,
        c => Some(
            DiscardReason::ALL
                .get(usize::from(c) - 1)
                .copied()
                .unwrap_or(DiscardReason::AmbiguousWake),
        ),
    }
}

/// Notifies every given address (all waiters); the number woken.
fn notify_all(addresses: &[u32], memory: &SharedMemory) -> u64 {
    addresses
        .iter()
        .map(|&a| memory.atomic_notify(a as u64, u32::MAX).unwrap_or(0) as u64)
        .sum()
}
