//! Running a WASI program to its end.
//!
//! wasi-threads (README *Design choices*): the program is instantiated once and its
//! `_start` invoked on the main thread; each `thread-spawn` instantiates the module again
//! with the same imports (the same shared memory) and invokes `wasi_thread_start(tid,
//! start_arg)` on a new thread. The program ends ([`Ending`]) when `_start` returns (exit
//! status 0), when any thread calls `proc_exit`, when any thread traps, when every live
//! thread is blocked in `wait` with no timeout that can fire (a deadlock), or when the step
//! bound (fuel) runs out. The other threads simply stop.
//!
//! With the [`Backend::Sc`] backend all threads are stepped in one configuration by a
//! scheduler ([`SchedulePolicy`]); every scheduling decision between two or more runnable
//! threads is recorded in a [`ChoiceLog`] (the thread, then the quantum: two choices), so
//! [`RunReport::schedule`] replays the run exactly ([`SchedulePolicy::Replay`]). With
//! [`Backend::Native`], each thread runs on an OS thread over a native memory: real
//! parallelism, no schedule, no replay.
//!
//! Races ([`run_detecting_races`], `docs/races.md`): on [`Backend::Sc`], the race detector
//! of `heddle_interp::race` watches the program's shared memory from before its
//! instantiation; a `thread-spawn` orders the spawner's actions before the new thread's
//! ([`Configuration::start_spawned`]), and the main instantiation's start function before
//! `_start`.

use crate::link::{link, Program, ProgramError};
use crate::preview1::WasiCtx;
use heddle_interp::memory::MemInst;
use heddle_interp::native::NativeMemory;
use heddle_interp::{
    ChoiceLog, Configuration, ExecLimits, ExternVal, InstantiationError, Pct, RoundRobin,
    Scheduler, SeededRandom, SpawnHandler, SpawnRequest, ThreadId, ThreadStatus, Trap, Value,
};
use heddle_litmus::race_report::RaceReport;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The most small steps a thread runs between two scheduling decisions (quanta are
/// recorded as one of this many options).
pub const MAX_QUANTUM: u64 = 100;

/// The quantum when only one thread can run (nothing to decide, nothing recorded).
pub(crate) const SOLO_QUANTUM: u64 = 10_000;

/// How the [`Backend::Sc`] runner picks the next thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedulePolicy {
    /// Round-robin, quanta of [`MAX_QUANTUM`] steps.
    RoundRobin,
    /// Uniformly random thread and quantum (`1..=MAX_QUANTUM`), from a seed
    /// ([`SeededRandom`]).
    Random {
        /// The seed.
        seed: u64,
    },
    /// PCT ([`Pct`], Burckhardt et al., ASPLOS 2010) for bugs of depth `depth`, with change
    /// points among the first `steps` *scheduling steps*: the small steps taken while two or
    /// more threads could run ([`RunReport::scheduling_steps`]). A step taken while only one
    /// thread can run is no scheduling point (the paper's `k` counts the points where the
    /// scheduler chooses), so a long single-threaded start-up does not dilute the change
    /// points.
    Pct {
        /// The seed.
        seed: u64,
        /// The bug depth `d` (`d - 1` priority change points).
        depth: u64,
        /// `k`, the number of scheduling steps the change points are drawn from; `None`:
        /// measured by a first run of the same seed without change points (the paper's `k`
        /// is the length of a run; its output is discarded, then the run proper is made
        /// with `k` = that run's [`RunReport::scheduling_steps`]).
        steps: Option<u64>,
    },
    /// The decisions of a recorded schedule ([`ChoiceLog::parse_schedule`]), then (if the
    /// run goes on) always the first runnable thread for one step.
    Replay(Vec<u32>),
}

/// Where the threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One configuration, sequentially consistent shared memory, threads stepped by the
    /// schedule: deterministic and replayable.
    Sc,
    /// One OS thread per Wasm thread over a native shared memory (`docs/native.md`); a
    /// deadlock is detected when every live thread waits without timeout (polled every
    /// `wait_poll`).
    Native {
        /// How often a blocked wait checks for a deadlock or the end of the program.
        wait_poll: Duration,
    },
}

/// How to run a program.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The schedule (ignored by [`Backend::Native`]).
    pub policy: SchedulePolicy,
    /// Where the threads run.
    pub backend: Backend,
    /// Small steps the run may take, over all threads ([`Backend::Native`]: per thread);
    /// `None` for no bound.
    pub fuel: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            policy: SchedulePolicy::Random { seed: 0 },
            backend: Backend::Sc,
            fuel: Some(1_000_000_000),
        }
    }
}

/// How a program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `proc_exit(code)`, or `_start` returned (0).
    Exit(i32),
    /// A thread trapped (or an exception no handler caught left it).
    Trap {
        /// The thread, e.g. `main thread` or `thread 2 (wasi tid 1)`.
        thread: String,
        /// The trap's message.
        message: String,
    },
    /// Every live thread is blocked in `wait` without a timeout that can fire: one line per
    /// thread, its state then its call stack (innermost first, names from the name
    /// section).
    Deadlock(String),
    /// The step bound ran out first.
    FuelExhausted,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// How it ended.
    pub ending: Ending,
    /// Its schedule ([`ChoiceLog::schedule`] format), for [`SchedulePolicy::Replay`];
    /// `None` with [`Backend::Native`].
    pub schedule: Option<String>,
    /// Why a replayed schedule did not fit the run ([`ChoiceLog::misfit`]).
    pub misfit: Option<String>,
    /// Small steps taken (over all threads).
    pub steps: u64,
    /// Of those, the steps taken while two or more threads could run: the steps at which
    /// the schedule chose ([`SchedulePolicy::Pct`] draws its change points among these).
    pub scheduling_steps: u64,
    /// Threads started, the main thread included.
    pub threads: usize,
    /// The races found ([`run_detecting_races`]: one per pair of code locations and kind,
    /// each with the run's schedule); `None` when races were not detected.
    pub races: Option<Vec<RaceReport>>,
}

/// Run `program` with `ctx` to its end. Errors: the program cannot be instantiated (an
/// import of the wrong type, a segment out of bounds), before anything ran.
pub fn run(
    program: &Program,
    ctx: Arc<WasiCtx>,
    options: &RunOptions,
) -> Result<RunReport, ProgramError> {
    match options.backend {
        Backend::Sc => run_sc(program, ctx, options, false),
        Backend::Native { wait_poll } => run_native(program, ctx, options, wait_poll),
    }
}

/// [`run`], detecting the races of the run on its shared memory (relaxed.rst's *race* and
/// *data race*, `heddle_interp::race`, `docs/races.md`): [`RunReport::races`] holds them,
/// every race (the caller selects the data races), named with [`race_thread_name`]'s
/// names. [`Backend::Sc`] only: with [`Backend::Native`] the program runs as by [`run`]
/// and `races` is `None`.
pub fn run_detecting_races(
    program: &Program,
    ctx: Arc<WasiCtx>,
    options: &RunOptions,
) -> Result<RunReport, ProgramError> {
    match options.backend {
        Backend::Sc => run_sc(program, ctx, options, true),
        Backend::Native { .. } => run(program, ctx, options),
    }
}

/// The name a race report gives a program's thread: `main` for the main thread, `T<n>`
/// for the thread whose wasi-threads id is `n` (the id `thread-spawn` returned), and with
/// ` (start function)` appended, the thread that ran the start function of that thread's
/// instantiation. The same form as a script thread's name (`T0`) in `heddle wast` and
/// `heddle explore` reports.
pub fn race_thread_name(wasi_tid: Option<i32>, start_function: bool) -> String {
    let name = match wasi_tid {
        None => "main".to_string(),
        Some(n) => format!("T{n}"),
    };
    if start_function {
        format!("{name} (start function)")
    } else {
        name
    }
}

/// The races the detector of every shared memory of `config` found, as reports naming
/// threads by `names` (else `thread N`) and carrying `schedule`.
fn race_reports(
    config: &Configuration,
    names: &BTreeMap<ThreadId, String>,
    schedule: &str,
) -> Vec<RaceReport> {
    let name = |t: ThreadId| names.get(&t).cloned().unwrap_or_else(|| t.to_string());
    let mut out: Vec<RaceReport> = Vec::new();
    for m in &config.store.mems {
        if let MemInst::Shared(sm) = m {
            for r in sm.races().map(|d| d.races()).unwrap_or_default() {
                let report = RaceReport::new(r, &config.store, &name, schedule);
                if !out.iter().any(|x| x.same_locations(&report)) {
                    out.push(report);
                }
            }
        }
    }
    out
}

/// The ending of a thread that finished with `result`; `None` for a spawned thread that
/// returned (the program goes on).
pub(crate) fn thread_ending(
    result: Result<Vec<Value>, Trap>,
    name: &str,
    main: bool,
) -> Option<Ending> {
    match result {
        Ok(_) if main => Some(Ending::Exit(0)),
        Ok(_) => None,
        Err(Trap::Exit(code)) => Some(Ending::Exit(code)),
        Err(Trap::FuelExhausted) => Some(Ending::FuelExhausted),
        Err(trap) => Some(Ending::Trap {
            thread: name.to_string(),
            message: trap.message(),
        }),
    }
}

pub(crate) fn instantiation_failure(e: InstantiationError) -> Result<Ending, ProgramError> {
    match e {
        InstantiationError::Link(m) => Err(ProgramError::Instantiation(m)),
        InstantiationError::Trap(Trap::Exit(code)) => Ok(Ending::Exit(code)),
        InstantiationError::Trap(Trap::FuelExhausted) => Ok(Ending::FuelExhausted),
        InstantiationError::Trap(t) => Ok(Ending::Trap {
            thread: "main thread (instantiation)".into(),
            message: t.message(),
        }),
    }
}

pub(crate) fn start_func(
    config: &Configuration,
    inst: heddle_interp::InstanceAddr,
) -> heddle_interp::FuncAddr {
    match config.export(inst, "_start") {
        Some(ExternVal::Func(f)) => f,
        // `Program::check` saw the export.
        _ => unreachable!("a checked program exports _start"),
    }
}

/// The [`Backend::Sc`] run: one configuration, the schedule's decisions recorded.
fn run_sc(
    program: &Program,
    ctx: Arc<WasiCtx>,
    options: &RunOptions,
    races: bool,
) -> Result<RunReport, ProgramError> {
    let mut config = Configuration::with_limits(ExecLimits {
        fuel: options.fuel,
        ..ExecLimits::default()
    });
    let imports = link(&mut config, program, &ctx, None)?;
    if races {
        // From before the instantiation: its start function (`__wasm_init_memory`)
        // writes the data segments.
        for m in &mut config.store.mems {
            if let MemInst::Shared(sm) = m {
                sm.enable_races();
            }
        }
    }
    // The threads' names in race reports ([`race_thread_name`]).
    let mut race_names: BTreeMap<ThreadId, String> = BTreeMap::new();
    // Steps taken while two or more threads could run (the scheduling points).
    let mut scheduling_steps = 0u64;
    let report = |config: &Configuration,
                  ending,
                  log: &ChoiceLog,
                  scheduling_steps,
                  threads,
                  race_names: &BTreeMap<ThreadId, String>| {
        let schedule = log.schedule();
        RunReport {
            ending,
            races: races.then(|| race_reports(config, race_names, &schedule)),
            schedule: Some(schedule),
            misfit: log.misfit(),
            steps: config.steps(),
            scheduling_steps,
            threads,
        }
    };
    let mut log = match &options.policy {
        SchedulePolicy::Replay(prefix) => ChoiceLog::replaying(prefix.clone()),
        _ => ChoiceLog::default(),
    };
    let first = config.thread_count();
    let inst = match config.instantiate(program.module.clone(), &imports) {
        Ok(i) => i,
        Err(e) => {
            let ending = instantiation_failure(e)?;
            return Ok(report(&config, ending, &log, 0, 1, &race_names));
        }
    };
    let main = config
        .spawn(start_func(&config, inst), &[])
        .map_err(|t| ProgramError::Instantiation(t.message()))?;
    // The host runs the start function to its end before `_start` (spec *Instantiation*).
    for u in first..main.0 as usize {
        config.happens_before(ThreadId(u as u32), main);
        race_names.insert(ThreadId(u as u32), race_thread_name(None, true));
    }
    race_names.insert(main, race_thread_name(None, false));
    // End the run with `ending`, `threads` threads started.
    macro_rules! end_run {
        ($ending:expr, $threads:expr) => {
            return Ok(report(
                &config,
                $ending,
                &log,
                scheduling_steps,
                $threads,
                &race_names,
            ))
        };
    }
    let mut scheduler: Option<Box<dyn Scheduler>> = match options.policy {
        SchedulePolicy::RoundRobin => Some(Box::new(RoundRobin::new(MAX_QUANTUM))),
        SchedulePolicy::Random { seed } => Some(Box::new(SeededRandom::new(seed, MAX_QUANTUM))),
        SchedulePolicy::Pct { seed, depth, steps } => {
            let k = match steps {
                Some(k) => k,
                None => pct_run_length(program, &ctx, seed, options)?,
            };
            Some(Box::new(Pct::new(seed, depth, k, MAX_QUANTUM)))
        }
        SchedulePolicy::Replay(_) => None,
    };
    // The program's threads and their names (the instantiations' start functions run on
    // threads of their own, which are not the program's).
    let mut names: BTreeMap<ThreadId, String> = BTreeMap::new();
    names.insert(main, "main thread".into());
    loop {
        for request in config.take_spawn_requests() {
            let wasi_tid = match request.args.first() {
                Some(Value::I32(tid)) => Some(*tid),
                _ => None,
            };
            let first = config.thread_count();
            match config.start_spawned(request) {
                Ok(t) => {
                    let name = match wasi_tid {
                        Some(tid) => format!("{t} (wasi tid {tid})"),
                        None => t.to_string(),
                    };
                    names.insert(t, name);
                    let tid = Some(wasi_tid.unwrap_or(t.0 as i32));
                    for u in first..t.0 as usize {
                        race_names.insert(ThreadId(u as u32), race_thread_name(tid, true));
                    }
                    race_names.insert(t, race_thread_name(tid, false));
                }
                Err(trap) => {
                    let ending = thread_ending(Err(trap), "a new thread (starting)", false)
                        .expect("an error ends the program");
                    end_run!(ending, names.len() + 1);
                }
            }
        }
        for (&t, name) in &names {
            if config.status(t) == ThreadStatus::Finished {
                if let Some(result) = config.take_result(t) {
                    if let Some(ending) = thread_ending(result, name, t == main) {
                        end_run!(ending, names.len());
                    }
                }
            }
        }
        let runnable = runnable_threads(&config, &names);
        if runnable.is_empty() {
            if let Some(d) = config.next_deadline() {
                config.advance_clock(d);
                continue;
            }
            let ending = Ending::Deadlock(deadlock_report(&config, &names));
            end_run!(ending, names.len());
        }
        let (index, quantum) = if runnable.len() == 1 {
            (0, SOLO_QUANTUM)
        } else {
            let n = runnable.len();
            match scheduler.as_mut() {
                Some(s) => {
                    let c = s.pick_thread(&runnable, scheduling_steps);
                    let quantum = c.quantum.clamp(1, MAX_QUANTUM);
                    log.record(c.index, n);
                    log.record((quantum - 1) as usize, MAX_QUANTUM as usize);
                    (c.index, quantum)
                }
                None => {
                    let index = log.choose(n);
                    (index, 1 + log.choose(MAX_QUANTUM as usize) as u64)
                }
            }
        };
        let before = config.steps();
        config.step(runnable[index], quantum);
        if runnable.len() > 1 {
            scheduling_steps += config.steps() - before;
        }
    }
}

/// PCT's `k` for a run of `program` under `seed`: the scheduling steps of a first run with
/// the same priorities and no change point (depth 1), its output discarded.
fn pct_run_length(
    program: &Program,
    ctx: &WasiCtx,
    seed: u64,
    options: &RunOptions,
) -> Result<u64, ProgramError> {
    let first = RunOptions {
        policy: SchedulePolicy::Pct {
            seed,
            depth: 1,
            steps: Some(1),
        },
        ..options.clone()
    };
    let r = run_sc(program, Arc::new(ctx.silent_copy()), &first, false)?;
    Ok(r.scheduling_steps.max(1))
}

/// The program's threads (`names`) that can run now, in creation order.
pub(crate) fn runnable_threads(
    config: &Configuration,
    names: &BTreeMap<ThreadId, String>,
) -> Vec<ThreadId> {
    names
        .keys()
        .copied()
        .filter(|t| config.status(*t) == ThreadStatus::Runnable)
        .collect()
}

/// Every blocked thread: what it waits for, then its call stack, innermost frame first.
pub(crate) fn deadlock_report(
    config: &Configuration,
    names: &BTreeMap<ThreadId, String>,
) -> String {
    let mut out = Vec::new();
    for (&t, name) in names {
        if matches!(config.status(t), ThreadStatus::Blocked { .. }) {
            let block = config.describe_block(t);
            out.push(format!("{name} {block}"));
            for frame in config.call_stack(t) {
                out.push(format!("    in {frame}"));
            }
        }
    }
    out.join("\n")
}

/// What the OS threads of a native run share.
struct NativeRun {
    program: Program,
    ctx: Arc<WasiCtx>,
    memory: Option<Arc<NativeMemory>>,
    fuel: Option<u64>,
    /// Set when the program has ended: every thread stops.
    stop: Arc<AtomicBool>,
    /// OS threads started and not yet finished.
    live: Arc<AtomicUsize>,
    ending: Mutex<Option<Ending>>,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
    threads: AtomicUsize,
}

impl NativeRun {
    /// Record the program's ending (the first one wins) and stop every thread.
    fn end(&self, ending: Ending) {
        let mut e = self.ending.lock().unwrap_or_else(|e| e.into_inner());
        if e.is_none() {
            *e = Some(ending);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    /// A configuration of this run with the program instantiated: a link error is the
    /// program's fault ([`ProgramError`]), a trap of the start function ends the run.
    fn instance(
        self: &Arc<Self>,
    ) -> Result<(Configuration, heddle_interp::InstanceAddr), Result<Ending, ProgramError>> {
        let mut config = Configuration::with_limits(ExecLimits {
            fuel: self.fuel,
            ..ExecLimits::default()
        });
        // A thread-spawn starts its OS thread at once: the caller may block in `wait` for
        // it within the same step.
        let run = self.clone();
        config.set_spawn_handler(SpawnHandler(Arc::new(move |r| run.start(r))));
        let memory = self
            .memory
            .as_ref()
            .map(|m| config.import_native_memory(m.clone()));
        let imports = link(&mut config, &self.program, &self.ctx, memory).map_err(Err)?;
        match config.instantiate(self.program.module.clone(), &imports) {
            Ok(inst) => Ok((config, inst)),
            Err(e) => Err(instantiation_failure(e)),
        }
    }

    /// Run a spawned Wasm thread on the calling OS thread.
    fn thread(self: &Arc<Self>, request: SpawnRequest, name: String) {
        match self.instance() {
            Ok((config, inst)) => self.run_thread(config, inst, Some(request), &name, false),
            Err(failure) => self.end(failure.unwrap_or_else(|e| Ending::Trap {
                thread: name.clone(),
                message: e.to_string(),
            })),
        }
        self.live.fetch_sub(1, Ordering::SeqCst);
    }

    /// Run one Wasm thread in `config` (where the program is instantiated as `inst`):
    /// `_start` (`request` is `None`) or a spawn request.
    fn run_thread(
        self: &Arc<Self>,
        mut config: Configuration,
        inst: heddle_interp::InstanceAddr,
        request: Option<SpawnRequest>,
        name: &str,
        main: bool,
    ) {
        let spawned = match &request {
            None => config.spawn(start_func(&config, inst), &[]),
            Some(r) => match config.export(inst, &r.export) {
                Some(ExternVal::Func(f)) => config.spawn(f, &r.args),
                _ => Err(Trap::Host(format!("no exported function {:?}", r.export))),
            },
        };
        let tid = match spawned {
            Ok(t) => t,
            Err(trap) => return self.end(thread_ending(Err(trap), name, main).expect("error")),
        };
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let status = config.step(tid, SOLO_QUANTUM);
            if status == ThreadStatus::Finished {
                let result = config.take_result(tid).expect("a finished thread");
                if self.stop.load(Ordering::SeqCst) {
                    // The program ended while this thread waited: its trap is the stop.
                    return;
                }
                if let Some(ending) = thread_ending(result, name, main) {
                    self.end(match ending {
                        Ending::Trap { message, .. } if message.starts_with("deadlock") => {
                            Ending::Deadlock(format!("{name}: {message}"))
                        }
                        e => e,
                    });
                }
                return;
            }
        }
    }

    /// Start an OS thread for a spawn request.
    fn start(self: &Arc<Self>, request: SpawnRequest) {
        let name = match request.args.first() {
            Some(Value::I32(tid)) => format!("thread (wasi tid {tid})"),
            _ => "thread".into(),
        };
        self.live.fetch_add(1, Ordering::SeqCst);
        self.threads.fetch_add(1, Ordering::SeqCst);
        let run = self.clone();
        let spawned = std::thread::Builder::new()
            .name(name.clone())
            .stack_size(16 << 20)
            .spawn(move || run.thread(request, name));
        match spawned {
            Ok(h) => self
                .handles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(h),
            Err(e) => {
                self.live.fetch_sub(1, Ordering::SeqCst);
                self.end(Ending::Trap {
                    thread: "thread-spawn".into(),
                    message: format!("cannot start an OS thread: {e}"),
                });
            }
        }
    }
}

/// The [`Backend::Native`] run: one OS thread per Wasm thread.
fn run_native(
    program: &Program,
    ctx: Arc<WasiCtx>,
    options: &RunOptions,
    wait_poll: Duration,
) -> Result<RunReport, ProgramError> {
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(AtomicUsize::new(1));
    let memory = match program.imported_memory {
        Some(ty) => {
            let (stop, live) = (stop.clone(), live.clone());
            let m = NativeMemory::new(ty)
                .ok_or_else(|| {
                    ProgramError::Instantiation("the shared memory is too large".into())
                })?
                .with_wait_limit(Some(wait_poll))
                // A deadlock: every live thread waits without timeout; or the program
                // ended and the waits are to stop.
                .with_deadlock_check(Box::new(move |waiters| {
                    stop.load(Ordering::SeqCst) || waiters >= live.load(Ordering::SeqCst)
                }));
            Some(Arc::new(m))
        }
        None => None,
    };
    let run = Arc::new(NativeRun {
        program: program.clone(),
        ctx,
        memory,
        fuel: options.fuel,
        stop,
        live,
        ending: Mutex::new(None),
        handles: Mutex::new(Vec::new()),
        threads: AtomicUsize::new(1),
    });
    // Link errors are found before any thread runs.
    match run.instance() {
        Ok((config, inst)) => run.run_thread(config, inst, None, "main thread", true),
        Err(failure) => run.end(failure?),
    }
    run.live.fetch_sub(1, Ordering::SeqCst);
    // Join every thread, including those started while joining.
    loop {
        let handles: Vec<_> =
            std::mem::take(&mut *run.handles.lock().unwrap_or_else(|e| e.into_inner()));
        if handles.is_empty() {
            break;
        }
        for h in handles {
            let _ = h.join();
        }
    }
    let ending = run
        .ending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or(Ending::Exit(0));
    Ok(RunReport {
        ending,
        schedule: None,
        misfit: None,
        steps: 0,
        scheduling_steps: 0,
        threads: run.threads.load(Ordering::SeqCst),
        races: None,
    })
}
