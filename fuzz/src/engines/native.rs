//! Heddle's native backend as an engine (`heddle-native`): the interpreter with every
//! script thread on its own OS thread over a shared memory of atomic words
//! (`interp/src/native.rs`, docs/native.md), run many times like the real engines.
//!
//! The harness is deliberately simple (docs/xcheck.md describes the real engines' one):
//! every iteration allocates a fresh memory with the test's initial bytes and runs the
//! script from the start, each `thread` on a new OS thread (scoped), `(wait $T)` a join.
//! Each thread has its own configuration and instances (the test's modules are decoded
//! once). The threads that `main` starts before its first join meet at a barrier just
//! before their first invoke (after instantiating), then each waits a seeded number of
//! spin-loop hints, so that their bodies overlap. A `wait` without timeout that nothing
//! notifies within the test's watchdog time is `"blocked"` (it traps with "deadlock") only
//! if every script thread still running is itself in such a wait (`Liveness`); otherwise
//! it waits on (a slow notifier is not a deadlock). A thread that joins a blocked thread
//! stops there, as in the model.
//! Iterations stop early once [`RunOptions::timeout`] (for the other engines the floor of
//! the per-iteration hang bound) has passed in all; the histogram then counts the
//! iterations done.
//!
//! The iterations run on a runner thread; the calling thread watches them with the same
//! per-iteration hang bound as the other engines ([`HangBound`]: the larger of the floor
//! and 100 times the slowest of the first 100 iterations). An iteration that makes no
//! progress within it is reported as a hang. The interpreter cannot be interrupted, so the
//! hung iteration's threads are left running, detached, until the process ends (they stop
//! after that iteration if it ever ends).

use crate::diff::compare::panic_message;
use crate::engine::{Engine, EngineFailure, HangBound, Histogram, RunOptions};
use crate::engines::barrier::AbortableBarrier;
use crate::litmus::{LitmusTest, RawResult, Step};
use crate::value;
use heddle_interp::exec::ThreadId;
use heddle_interp::memory::{Ordering, SharedMemory};
use heddle_interp::types::{Limits, MemType};
use heddle_interp::{
    Configuration, ExternVal, Module, NativeHandle, NativeMemory, SharedBackend, Trap, Value,
};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The interpreter on the native backend, on real threads.
#[derive(Clone, Debug, Default)]
pub struct NativeEngine;

impl NativeEngine {
    /// The engine (`heddle-native`).
    pub fn new() -> NativeEngine {
        NativeEngine
    }
}

impl Engine for NativeEngine {
    fn name(&self) -> &str {
        "heddle-native"
    }

    fn version(&self) -> Result<String, EngineFailure> {
        Ok(format!(
            "heddle {} (native backend, OS threads)",
            env!("CARGO_PKG_VERSION")
        ))
    }

    fn run(&self, test: &LitmusTest, opts: &RunOptions) -> Result<Histogram, EngineFailure> {
        let modules = test
            .modules
            .iter()
            .map(|b| Module::decode(b).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineFailure::Compile(e.to_string()))?;
        let plan = Plan::new(test);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let runner = {
            let (test, opts, stop) = (test.clone(), opts.clone(), stop.clone());
            move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    plan.run(&test, &modules, &opts, &stop, &mut || {
                        let _ = tx.send(Report::Iteration);
                    })
                }));
                let r = r.unwrap_or_else(|p| {
                    Err(EngineFailure::Crash(format!(
                        "the native harness panicked: {}",
                        panic_message(&*p)
                    )))
                });
                let _ = tx.send(Report::Done(r));
            }
        };
        std::thread::Builder::new()
            .name("heddle-native runner".into())
            .spawn(runner)
            .map_err(|e| EngineFailure::Harness(format!("cannot start the runner: {e}")))?;
        // The watch: the first completed iterations calibrate the bound (HangBound).
        let mut hang = HangBound::new(opts.timeout);
        let mut completed = 0u64;
        let mut last_progress = Instant::now();
        loop {
            let left = hang.bound().saturating_sub(last_progress.elapsed());
            match rx.recv_timeout(left) {
                Ok(Report::Iteration) => {
                    hang.observe(1, last_progress.elapsed());
                    completed += 1;
                    last_progress = Instant::now();
                }
                Ok(Report::Done(r)) => return r,
                Err(RecvTimeoutError::Timeout) => {
                    let stalled = last_progress.elapsed();
                    if stalled > hang.bound() {
                        stop.store(true, SeqCst);
                        return Err(EngineFailure::Hang(format!(
                            "{}; {completed} of {} iterations completed",
                            hang.hang_message(completed, stalled),
                            opts.iterations
                        )));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(EngineFailure::Harness(
                        "the runner ended without a result".into(),
                    ))
                }
            }
        }
    }
}

/// What the runner thread tells the watch.
enum Report {
    /// One more iteration completed.
    Iteration,
    /// The run ended.
    Done(Result<Histogram, EngineFailure>),
}

/// What one iteration needs besides the test.
struct Plan {
    /// Threads that meet at the start barrier: those `main` spawns before its first join.
    at_barrier: Vec<bool>,
}

impl Plan {
    fn new(test: &LitmusTest) -> Plan {
        let mut at_barrier = vec![false; test.threads.len()];
        for s in &test.threads[0].steps {
            match s {
                Step::Spawn(c) => at_barrier[*c] = true,
                Step::Join(_) => break,
                _ => {}
            }
        }
        Plan { at_barrier }
    }

    /// Runs the iterations (until `opts.timeout` has passed in all, or `stop`), calling
    /// `done` after each.
    fn run(
        &self,
        test: &LitmusTest,
        modules: &[Arc<Module>],
        opts: &RunOptions,
        stop: &AtomicBool,
        done: &mut dyn FnMut(),
    ) -> Result<Histogram, EngineFailure> {
        let start = Instant::now();
        let mut h = Histogram::default();
        for iteration in 0..opts.iterations {
            if start.elapsed() > opts.timeout || stop.load(SeqCst) {
                break;
            }
            let raw = self.iteration(test, modules, opts.seed, iteration)?;
            h.add(test.assemble(&raw), 1);
            h.iterations += 1;
            done();
        }
        h.seconds = start.elapsed().as_secs_f64();
        Ok(h)
    }

    /// Run the script once on a fresh memory: `raw[t][k]` is thread `t`'s `k`-th invoke.
    fn iteration(
        &self,
        test: &LitmusTest,
        modules: &[Arc<Module>],
        seed: u64,
        iteration: u64,
    ) -> Result<Vec<Vec<RawResult>>, EngineFailure> {
        let ty = MemType::new(
            Limits {
                min: test.memory.initial_pages,
                max: Some(test.memory.maximum_pages),
            },
            true,
        );
        let n = test.threads.len();
        let live = Arc::new(Liveness::new(n));
        let check = live.clone();
        let memory = NativeMemory::new(ty)
            .map(|m| {
                Arc::new(
                    m.with_wait_limit(Some(test.watchdog))
                        .with_deadlock_check(Box::new(move |waiting| check.all_waiting(waiting))),
                )
            })
            .ok_or_else(|| EngineFailure::Harness("memory too large".into()))?;
        let mut init = NativeHandle::new(memory.clone());
        for &(a, b) in &test.memory.init {
            init.write(ThreadId(0), Ordering::Init, u64::from(a), &[b], true)
                .map_err(|t| EngineFailure::Harness(format!("initial bytes: {t}")))?;
        }
        let group = self.at_barrier.iter().filter(|b| **b).count();
        let barrier = AbortableBarrier::new(group);
        let ctx = Ctx {
            test,
            modules,
            memory: &memory,
            barrier: &barrier,
            at_barrier: &self.at_barrier,
            seed: seed ^ iteration.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            live: &live,
        };
        let mut raw = vec![Vec::new(); n];
        std::thread::scope(|scope| ctx.run_thread(scope, 0, &mut raw))?;
        Ok(raw)
    }
}

/// Shared by the threads of one iteration.
struct Ctx<'a> {
    test: &'a LitmusTest,
    modules: &'a [Arc<Module>],
    memory: &'a Arc<NativeMemory>,
    barrier: &'a AbortableBarrier,
    at_barrier: &'a [bool],
    seed: u64,
    live: &'a Liveness,
}

/// Which script threads of an iteration still run wasm code (or will): the ones a waiter
/// without timeout may still be notified by. A thread counts from its spawn to its end,
/// except while it joins an unfinished thread; when a thread ends, the threads joining it
/// count again in the same step (so there is no moment when neither counts).
struct Liveness {
    state: Mutex<LiveState>,
}

struct LiveState {
    /// Threads counted now.
    running: usize,
    /// For each thread, how many threads are joining it.
    joiners: Vec<usize>,
    /// Which threads have ended.
    done: Vec<bool>,
}

impl Liveness {
    /// `main` running, `n` script threads in all.
    fn new(n: usize) -> Liveness {
        Liveness {
            state: Mutex::new(LiveState {
                running: 1,
                joiners: vec![0; n],
                done: vec![false; n],
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A thread is about to be spawned.
    fn spawn(&self) {
        self.lock().running += 1;
    }

    /// The calling thread is about to join `c`.
    fn join(&self, c: usize) {
        let mut s = self.lock();
        if !s.done[c] {
            s.running -= 1;
            s.joiners[c] += 1;
        }
    }

    /// Thread `t` has ended: its joiners run again.
    fn end(&self, t: usize) {
        let mut s = self.lock();
        s.done[t] = true;
        s.running = s.running - 1 + s.joiners[t];
        s.joiners[t] = 0;
    }

    /// Whether `waiting` waiters without timeout are every thread still running.
    fn all_waiting(&self, waiting: usize) -> bool {
        waiting >= self.lock().running
    }
}

/// A thread's results, and those of the threads it started and joined.
type Results = Vec<Vec<RawResult>>;

impl<'a> Ctx<'a> {
    /// Run script thread `t` (on the calling OS thread), its children on scoped threads;
    /// its results and theirs go into `raw`.
    fn run_thread<'s>(
        &'s self,
        scope: &'s std::thread::Scope<'s, '_>,
        t: usize,
        raw: &mut Results,
    ) -> Result<(), EngineFailure>
    where
        'a: 's,
    {
        let mut met = !self.at_barrier[t];
        let r = self.run_steps(scope, t, raw, &mut met);
        if r.is_err() {
            // Release the threads at the barrier: some may never come (this thread may
            // have failed before spawning them), and the iteration has failed anyway.
            self.barrier.abort();
        } else if !met {
            self.barrier.wait();
        }
        self.live.end(t);
        r
    }

    /// The steps of [`Ctx::run_thread`]; `met` says whether this thread has passed the
    /// start barrier.
    fn run_steps<'s>(
        &'s self,
        scope: &'s std::thread::Scope<'s, '_>,
        t: usize,
        raw: &mut Results,
        met: &mut bool,
    ) -> Result<(), EngineFailure>
    where
        'a: 's,
    {
        let mut config = Configuration::new();
        config.set_shared_backend(SharedBackend::Native { wait_limit: None });
        let mem = config.import_native_memory(self.memory.clone());
        let mut instances = Vec::new();
        let mut children: Vec<(usize, std::thread::ScopedJoinHandle<'s, _>)> = Vec::new();
        let mut delay = crate::engine::delay_sequence(self.seed, t);
        let mut stopped = false;
        for s in &self.test.threads[t].steps {
            match s {
                Step::Instantiate { module } => {
                    let m = self.modules[*module].clone();
                    let imports = m
                        .imports
                        .iter()
                        .map(|i| match i.ty {
                            heddle_interp::ExternType::Memory(_) => Ok(ExternVal::Memory(mem)),
                            _ => Err(EngineFailure::Compile(format!(
                                "import {}.{}: only the shared memory can be imported",
                                i.module, i.name
                            ))),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let inst = config
                        .instantiate(m, &imports)
                        .map_err(|e| EngineFailure::Compile(format!("instantiation: {e}")))?;
                    instances.push(inst);
                }
                Step::Spawn(c) => {
                    let c = *c;
                    self.live.spawn();
                    children.push((
                        c,
                        scope.spawn(move || {
                            let mut r = vec![Vec::new(); self.test.threads.len()];
                            self.run_thread(scope, c, &mut r).map(|()| r)
                        }),
                    ));
                }
                Step::Join(c) => {
                    if let Some(p) = children.iter().position(|(k, _)| k == c) {
                        let (_, h) = children.swap_remove(p);
                        self.live.join(*c);
                        merge(raw, join(h)?);
                        // Joining a blocked thread never returns (the model's meaning).
                        stopped |= raw[*c].last() == Some(&RawResult::Blocked);
                    }
                }
                Step::Invoke {
                    instance,
                    export,
                    args,
                    ..
                } => {
                    if stopped {
                        continue;
                    }
                    if !*met {
                        *met = true;
                        if !self.barrier.wait() {
                            return Err(EngineFailure::Harness(
                                "another script thread of the iteration failed".into(),
                            ));
                        }
                    }
                    if raw[t].is_empty() {
                        for _ in 0..delay() {
                            std::hint::spin_loop();
                        }
                    }
                    let f = instances
                        .get(*instance)
                        .and_then(|i| config.export(*i, export))
                        .and_then(|e| match e {
                            ExternVal::Func(f) => Some(f),
                            _ => None,
                        })
                        .ok_or_else(|| {
                            EngineFailure::Compile(format!("no exported function {export:?}"))
                        })?;
                    let args: Vec<Value> = args.iter().map(value::to_interp).collect();
                    let r = match config.invoke(f, &args) {
                        Ok(vs) => RawResult::Values(
                            vs.iter()
                                .map(value::from_interp)
                                .collect::<Result<_, _>>()
                                .map_err(|e| {
                                    e.failure(&self.test.name, &self.test.threads[t].name)
                                })?,
                        ),
                        Err(Trap::Deadlock(_)) => RawResult::Blocked,
                        Err(Trap::Host(m)) => return Err(EngineFailure::Harness(m)),
                        Err(_) => RawResult::Trap,
                    };
                    stopped = r == RawResult::Blocked;
                    raw[t].push(r);
                }
            }
        }
        for (c, h) in children {
            self.live.join(c);
            merge(raw, join(h)?);
        }
        Ok(())
    }
}

/// A child's results.
fn join(
    h: std::thread::ScopedJoinHandle<'_, Result<Results, EngineFailure>>,
) -> Result<Results, EngineFailure> {
    h.join()
        .map_err(|_| EngineFailure::Crash("a script thread's OS thread panicked".into()))?
}

/// Add a child's results (its own and its descendants') to `raw`.
fn merge(raw: &mut Results, child: Results) {
    for (r, c) in raw.iter_mut().zip(child) {
        if !c.is_empty() {
            *r = c;
        }
    }
}
