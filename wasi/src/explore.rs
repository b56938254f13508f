//! Exploring every schedule of a WASI program (`heddle explore --wasi`, docs/wasi.md).
//!
//! The runs are those of [`crate::run()`] with [`Backend::Sc`](crate::Backend::Sc): one
//! configuration, sequentially consistent shared memory, the program's `_start` on the main
//! thread and a thread joining the configuration at each `thread-spawn`. A run is a
//! sequence of **events**: a thread's invisible steps (local ones, which no other thread
//! can see) up to and including its next *visible* step — a step on shared memory
//! ([`Configuration::next_is_visible`]) or a call of a WASI function (output, clock,
//! `thread-spawn`, `proc_exit`) — or up to its end or its blocking in `wait`. Which thread
//! takes the next event is the schedule.
//!
//! The search ([`Reduction::DporCaching`], the default) is source-set dynamic
//! partial-order reduction with sleep sets (Abdulla, Aronis, Jonsson and Sagonas, "Source
//! Sets: A Foundation for Optimal Dynamic Partial Order Reduction", JACM 64(4), 2017,
//! Algorithm 1) with exact state caching. A run does not start from the beginning: every
//! `SAVE_EVERY`th node of the path keeps a snapshot of the run's state (the
//! configuration, cloned; the WASI context's state; the output's length), and the next run
//! restarts from the deepest one before its new branch, re-executing at most
//! `SAVE_EVERY` events (the events before are those of the run before).
//! [`Reduction::Dpor`] is the same without caching; [`Reduction::Caching`] explores every
//! runnable thread at every state, with caching (the tests' oracle).
//!
//! * Two events are **dependent** when they belong to the same thread, or one of them
//!   calls a WASI function or ends the program (conservatively: they touch everything;
//!   a `thread-spawn` only conflicts with WASI calls when starting a thread writes no
//!   memory: no start function, no active data segment), or
//!   their [footprints](Footprint) conflict (the same bytes of the shared memory, one a
//!   write; a step that left the bytes it may write as they were — a failed
//!   compare-exchange, which threads.rst's `cmpxchg` and relaxed.rst make a read only, a
//!   wait that did not suspend, a store of the value already there — counts as a read:
//!   with a read it commutes, and with a write it conflicts as a read does; `wait32` and
//!   `notify` cover 4 bytes, `wait64` 8). Accesses of different threads to different addresses commute — which
//!   matters for compiled C, whose stack lives in the shared linear memory. A `notify`
//!   touches only its cell's wait queue (threads.rst: it wakes waiters, it neither reads
//!   nor writes the cell's value): it conflicts with another notify of the cell and with
//!   a `wait` that suspended on it, and commutes with loads, stores and read-modify-writes
//!   (the release `store 0; notify` of a lock commutes with the next `cmpxchg`). A `wait`
//!   that did not suspend (the value differed) is a read of its cell; one that suspended
//!   also reads it (its footprint, a write, conflicts with every access to the cell).
//! * **Happens-before** of a run: the transitive closure of program order, the order of
//!   dependent events, and the enabling edges: `thread-spawn` happens before every event of
//!   the thread it starts, a `notify` before the next event of each thread it woke.
//! * At the end of each run, for every **race** (two dependent events of different threads
//!   not ordered by happens-before; the later one was not enabled by the earlier one, since
//!   an enabling edge orders them) `e` before `e'`, the threads that can start
//!   `v = notdep(e).e'` (the events after `e` not happening after it, then `e'`: its
//!   *initials*) are looked up at the node before `e`; unless one of them is already to be
//!   explored there, or asleep, the first is added to the node's backtrack set.
//! * **Sleep sets**: once a thread's event at a node has been explored, later branches of
//!   that node keep it asleep until a dependent event runs; a run in which every runnable
//!   thread is asleep is redundant and stops early (counted, not an outcome).
//! * **State caching**: at each new node the whole state is encoded exactly
//!   (`state_key`: configuration, memory contents, WASI context, output so far; compared
//!   byte for byte, a hash only picks the bucket). When a node's branches are all explored,
//!   its state is kept with the threads asleep there and a *summary*: the events explored
//!   from it, each with the threads whose first event from the state happens before it. A
//!   run reaching a kept state stops there (counted as pruned) when every thread asleep at
//!   the kept state is asleep now too — the earlier exploration then covered every
//!   schedule from it that this arrival must cover (Godefroid, *Partial-Order Methods for
//!   the Verification of Concurrent Systems*, LNCS 1032, 1996, Section 5.3: caching with
//!   sleep sets). Stopping there would lose the races between the run's events and the
//!   events after the state, which stateless DPOR adds as backtrack points before it
//!   (Yang, Chen, Gopalakrishnan and Kirby, "Efficient Stateful Dynamic Partial Order
//!   Reduction", SPIN 2008, Section 3); so every summary event is taken as a possible
//!   next event, and races with the run's events are added as if it ran next, with
//!   happens-before known only through program order and the summary's threads (less
//!   happens-before, more races: more backtrack points, never fewer; `pruned_at`). A
//!   state on the current path is not kept yet, so a cycle (an unbounded spin) is not
//!   cut by caching but by the step bound. A state where a thread waits with a timeout is
//!   not kept (its deadline is an absolute time the encoding leaves out). The step bound
//!   counts from the start of a run; a pruned run stops before it could reach it: a run
//!   that the bound would have cut after the equal state is counted as the one explored
//!   before it.
//!
//! Each run records its decisions in a [`ChoiceLog`] exactly as [`crate::run()`] would
//! (the thread among the runnable ones, then the quantum: the event's small steps, in
//! chunks of at most [`MAX_QUANTUM`]), so the schedule of each outcome replays with
//! [`SchedulePolicy::Replay`](crate::SchedulePolicy::Replay) (`heddle run --wasi --replay`).
//!
//! An **outcome** is the program's [`Ending`] with its standard output and error. The
//! search is **complete** when every backtrack set is exhausted without a bound being hit:
//! every run reached an ending other than [`Ending::FuelExhausted`] (a spin loop waiting
//! for a thread that never runs makes an infinite run, cut by the per-run step bound), and
//! neither `max_runs` nor the time limit stopped it.

use crate::link::{link, Program, ProgramError};
use crate::preview1::{Sink, WasiCtx};
use crate::run::{
    deadlock_report, instantiation_failure, runnable_threads, start_func, thread_ending, Ending,
    MAX_QUANTUM,
};
use heddle_explore::StateEncoder;
use heddle_interp::{
    ChoiceLog, Configuration, ExecLimits, Footprint, ThreadId, ThreadStatus, Value,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to explore a program.
#[derive(Clone, Debug)]
pub struct ExploreOptions {
    /// The program's arguments (the first is conventionally its name).
    pub args: Vec<String>,
    /// Its environment, `KEY=VALUE` strings.
    pub env: Vec<String>,
    /// Its whole standard input.
    pub stdin: Vec<u8>,
    /// The seed of its `random_get`.
    pub seed: u64,
    /// Small steps one run may take, over all threads; a run cut by it makes the
    /// exploration incomplete. `None`: no bound.
    pub fuel: Option<u64>,
    /// Runs (executions, redundant ones included) the search may start.
    pub max_runs: u64,
    /// Wall-clock limit of the whole search; `None`: none.
    pub timeout: Option<Duration>,
    /// How the search avoids exploring equivalent schedules.
    pub reduction: Reduction,
}

/// How the search avoids exploring equivalent schedules (see the [module
/// documentation](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// No partial-order reduction: at each state every runnable thread's event is
    /// explored, and a state equal to one explored before is not explored again (state
    /// caching, as [`Reduction::DporCaching`] does). Sound without further argument (the
    /// runs from a state do not depend on how it was reached; Godefroid, *Partial-Order
    /// Methods for the Verification of Concurrent Systems*, LNCS 1032, 1996, Section 5.1),
    /// and slow: the tests' oracle for the other two.
    Caching,
    /// Source-set DPOR with sleep sets, stateless.
    Dpor,
    /// Source-set DPOR with sleep sets and exact state caching (the default).
    #[default]
    DporCaching,
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            args: vec!["program".into()],
            env: Vec::new(),
            stdin: Vec::new(),
            seed: 0,
            fuel: Some(10_000_000),
            max_runs: 100_000,
            timeout: Some(Duration::from_secs(60)),
            reduction: Reduction::default(),
        }
    }
}

/// What a program did in one run: how it ended, and what it printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub ending: Ending,
    /// Its standard output (invalid UTF-8 replaced).
    pub stdout: String,
    /// Its standard error (invalid UTF-8 replaced).
    pub stderr: String,
}

/// A distinct outcome the search found.
#[derive(Clone, Debug)]
pub struct Found {
    /// The outcome.
    pub outcome: Outcome,
    /// How many runs ended with it.
    pub count: u64,
    /// The schedule of the first of them ([`ChoiceLog::schedule`] format, for
    /// [`SchedulePolicy::Replay`](crate::SchedulePolicy::Replay)).
    pub schedule: String,
}

/// The result of exploring a program.
#[derive(Clone, Debug)]
pub struct Exploration {
    /// The distinct outcomes, in the order they were found.
    pub outcomes: Vec<Found>,
    /// Runs that reached an ending.
    pub runs: u64,
    /// Runs stopped early because every runnable thread was asleep (redundant).
    pub redundant: u64,
    /// Runs stopped early at a state equal to one whose schedules were all explored
    /// before (state caching).
    pub pruned: u64,
    /// Distinct states whose schedules were all explored, kept by state caching.
    pub cached_states: u64,
    /// Events taken over all runs.
    pub events: u64,
    /// Whether every schedule (up to the reduction) was explored: `None`; otherwise why not
    /// (`max_runs`, the timeout, or a run cut by the step bound).
    pub incomplete: Option<String>,
}

impl Exploration {
    /// Whether the search explored every schedule.
    pub fn complete(&self) -> bool {
        self.incomplete.is_none()
    }
}

/// What an event touches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Touches {
    /// These bytes of shared memory (possibly none: a local-only event).
    Bytes(Vec<Footprint>),
    /// The wait queue of these bytes: a `wait` that suspended its thread (its footprint
    /// also covers the cell's value) or a `notify` (the queue only).
    Queue {
        /// The cell.
        cell: Vec<Footprint>,
        /// `notify` (else a suspending `wait`).
        notify: bool,
    },
    /// The state of the WASI functions only (the next thread id): a `thread-spawn` of a
    /// program whose instantiation writes no memory (no start function, no active data
    /// segment), so that starting the new thread touches no memory either.
    Wasi,
    /// Everything: another WASI call (it may read or write any memory, and the output), or
    /// the end of the program (`_start` returning, a trap).
    Everything,
}

/// An event: a thread's steps up to and including its next visible step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Event {
    thread: ThreadId,
    touches: Touches,
}

/// Whether two events may not commute (see the [module documentation](self)).
fn dependent(a: &Event, b: &Event) -> bool {
    a.thread == b.thread
        || match (&a.touches, &b.touches) {
            (Touches::Everything, _) | (_, Touches::Everything) => true,
            (Touches::Wasi, other) | (other, Touches::Wasi) => *other == Touches::Wasi,
            // The cell's queue: two queue operations on it (a notify and a suspending
            // wait, or two notifies, whose counts depend on their order).
            (Touches::Queue { cell: x, .. }, Touches::Queue { cell: y, .. }) => overlap(x, y),
            // A notify does not touch the cell's value; a suspending wait reads it.
            (Touches::Queue { notify: true, .. }, Touches::Bytes(_))
            | (Touches::Bytes(_), Touches::Queue { notify: true, .. }) => false,
            (Touches::Queue { cell: x, .. }, Touches::Bytes(y))
            | (Touches::Bytes(y), Touches::Queue { cell: x, .. })
            | (Touches::Bytes(x), Touches::Bytes(y)) => overlap(x, y),
        }
}

/// Whether two footprints conflict ([`Footprint::conflicts`]).
fn overlap(x: &[Footprint], y: &[Footprint]) -> bool {
    x.iter().any(|f| y.iter().any(|g| f.conflicts(g)))
}

/// A state of the search tree: before one event of the current run.
#[derive(Clone, Debug)]
struct Node {
    /// The program's runnable threads here.
    enabled: Vec<ThreadId>,
    /// The thread whose event the current run takes here.
    chosen: ThreadId,
    /// Threads to explore from here (explored ones included).
    backtrack: Vec<ThreadId>,
    /// Events asleep here: explored from an ancestor, independent of what ran since.
    sleep: Vec<Event>,
    /// Events explored from here in earlier runs (asleep for the later branches).
    done: Vec<Event>,
    /// The state here, exactly encoded ([`state_key`]), when state caching keeps it.
    key: Option<Vec<u8>>,
    /// Each thread's events before this node in the run (indexed by thread id).
    pos: Vec<u32>,
    /// The events explored from here (in every branch), each with its vector clock
    /// [clipped](clip) to this node.
    summary: HashSet<(u32, Vec<u32>)>,
    /// The run's state here, kept at every [`SAVE_EVERY`]th node: a later run restarts
    /// from the deepest one on its path instead of from the start.
    saved: Option<Box<Saved>>,
}

/// Every how many nodes of a path the run's state is saved ([`Node::saved`]): a run
/// re-executes at most this many events before its new branch.
const SAVE_EVERY: usize = 8;

/// The state of a run before one of its events: the configuration (a snapshot: cloning
/// copies it), the WASI context's state and how much output there was, and the run's
/// own bookkeeping.
#[derive(Clone, Debug)]
struct Saved {
    config: Configuration,
    wasi: crate::preview1::WasiState,
    out: usize,
    err: usize,
    log: ChoiceLog,
    names: BTreeMap<ThreadId, String>,
    enabler: BTreeMap<ThreadId, usize>,
    counts: Vec<u32>,
    last: Vec<Option<usize>>,
}

/// A state whose schedules the search has explored: what state caching keeps of it.
struct Explored {
    /// The threads asleep when it was explored (for two explorations: those asleep in
    /// both). A later arrival may be pruned only if all of them are asleep then too.
    asleep: Vec<ThreadId>,
    /// The events explored from it, as (event, threads): each thread `t` in the bit set
    /// (bit `t.0`) has its first event after the state happen before the event.
    summary: HashSet<(u32, u64)>,
}

/// A vector clock `vc` (the number of each thread's events that happen before an event,
/// or are it) clipped to a node whose threads had taken `pos` events: a component beyond
/// `pos[t] + 1` only says that the event happens after `t`'s first event from the node,
/// as `pos[t] + 1` does, for the node and every node before it. Trailing zeros dropped.
fn clip(vc: &[u32], pos: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = vc
        .iter()
        .enumerate()
        .map(|(t, &c)| c.min(pos.get(t).copied().unwrap_or(0) + 1))
        .collect();
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// The threads whose first event from a node (which had taken `pos` events) happens
/// before an event with vector clock `vc`, as a bit set (threads 0 to 63; a thread beyond
/// is left out, which only loses happens-before).
fn after_mask(vc: &[u32], pos: &[u32]) -> u64 {
    vc.iter()
        .enumerate()
        .take(64)
        .filter(|(t, &c)| c > pos.get(*t).copied().unwrap_or(0))
        .fold(0, |m, (t, _)| m | 1 << t)
}

impl Node {
    /// Whether thread `t` need not be added to the backtrack set.
    fn covers(&self, t: ThreadId) -> bool {
        self.backtrack.contains(&t)
            || self.sleep.iter().any(|e| e.thread == t)
            || self.done.iter().any(|e| e.thread == t)
    }
}

/// An event of the current run with its happens-before predecessors (a bit set over the
/// run's event indices).
struct Executed {
    event: Event,
    preds: Vec<u64>,
    /// Its vector clock: for each thread (by id), how many of its events happen before
    /// this one or are it.
    vc: Vec<u32>,
    /// The event that spawned or woke this event's thread, if it was its first event since.
    enabler: Option<usize>,
}

fn has(set: &[u64], i: usize) -> bool {
    set.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn add(set: &mut Vec<u64>, i: usize) {
    if set.len() <= i / 64 {
        set.resize(i / 64 + 1, 0);
    }
    set[i / 64] |= 1 << (i % 64);
}

fn union(set: &mut Vec<u64>, other: &[u64]) {
    if set.len() < other.len() {
        set.resize(other.len(), 0);
    }
    for (a, b) in set.iter_mut().zip(other) {
        *a |= b;
    }
}

/// How one run stopped.
enum RunEnd {
    /// The program ended.
    Ended(Outcome, String),
    /// Every runnable thread was asleep.
    Redundant,
    /// The state was explored before (state caching).
    Pruned,
}

/// The search state.
struct Search<'a> {
    program: &'a Program,
    options: &'a ExploreOptions,
    /// The nodes of the current path.
    nodes: Vec<Node>,
    /// The events of the current run.
    trace: Vec<Executed>,
    events: u64,
    /// State caching: the explored states by their exact encodings ([`state_key`]).
    cache: HashMap<Vec<u8>, Explored>,
    /// The first event of the current run that the run before did not take (the events
    /// before it are the same, with the same races).
    fresh: usize,
    /// The distinct events seen, numbered (summaries name events by number).
    numbered: HashMap<Event, u32>,
    /// The events by number.
    by_number: Vec<Event>,
    /// The WASI context and output of every run (a saved configuration's host functions
    /// are bound to this context), and the main thread.
    ctx: Arc<WasiCtx>,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    main: Option<ThreadId>,
}

/// Explore every schedule of `program` (see the [module documentation](self)). Errors: the
/// program cannot be instantiated, or a run did not follow its own replayed prefix (the
/// program is not deterministic given its schedule: a bug of Heddle's, reported).
pub fn explore(program: &Program, options: &ExploreOptions) -> Result<Exploration, ProgramError> {
    let started = Instant::now();
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let err = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut search = Search {
        program,
        options,
        nodes: Vec::new(),
        trace: Vec::new(),
        events: 0,
        cache: HashMap::new(),
        fresh: 0,
        numbered: HashMap::new(),
        by_number: Vec::new(),
        ctx: Arc::new(WasiCtx::new(
            options.args.clone(),
            options.env.clone(),
            options.stdin.clone(),
            options.seed,
            out.clone() as Sink,
            err.clone() as Sink,
        )),
        out,
        err,
        main: None,
    };
    let mut result = Exploration {
        outcomes: Vec::new(),
        runs: 0,
        redundant: 0,
        pruned: 0,
        cached_states: 0,
        events: 0,
        incomplete: None,
    };
    loop {
        if result.runs + result.redundant + result.pruned >= options.max_runs {
            result.incomplete = Some(format!(
                "the bound on runs ({}) was reached",
                options.max_runs
            ));
            break;
        }
        if options.timeout.is_some_and(|t| started.elapsed() >= t) {
            result.incomplete = Some("the time limit was reached".into());
            break;
        }
        match search.run()? {
            RunEnd::Redundant => result.redundant += 1,
            RunEnd::Pruned => result.pruned += 1,
            RunEnd::Ended(outcome, schedule) => {
                result.runs += 1;
                if outcome.ending == Ending::FuelExhausted && result.incomplete.is_none() {
                    result.incomplete = Some("a run reached the step bound: it was cut".into());
                }
                match result.outcomes.iter_mut().find(|f| f.outcome == outcome) {
                    Some(f) => f.count += 1,
                    None => result.outcomes.push(Found {
                        outcome,
                        count: 1,
                        schedule,
                    }),
                }
            }
        }
        if options.reduction != Reduction::Caching {
            search.races();
        }
        if !search.backtrack() {
            break;
        }
    }
    result.events = search.events;
    result.cached_states = search.cache.len() as u64;
    Ok(result)
}

impl Search<'_> {
    /// Run the program once: the threads of the current path, then the first runnable
    /// thread not asleep, to an ending.
    fn run(&mut self) -> Result<RunEnd, ProgramError> {
        let (ctx, out, err) = (self.ctx.clone(), self.out.clone(), self.err.clone());
        let ended = |ending: Ending, log: &ChoiceLog| {
            let text = |b: &Arc<Mutex<Vec<u8>>>| {
                String::from_utf8_lossy(&b.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
            };
            Ok(RunEnd::Ended(
                Outcome {
                    ending,
                    stdout: text(&out),
                    stderr: text(&err),
                },
                log.schedule(),
            ))
        };
        // Restart from the deepest saved state on the path up to the new branch, or from
        // the start.
        let restart = (0..self.nodes.len().min(self.fresh + 1))
            .rev()
            .find_map(|d| {
                self.nodes[d]
                    .saved
                    .as_ref()
                    .map(|s| (d, s.as_ref().clone()))
            });
        let (mut config, mut log, mut names, mut enabler, mut counts, mut last, mut depth, main) =
            match (restart, self.main) {
                (Some((d, s)), Some(main)) => {
                    ctx.restore(&s.wasi);
                    out.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .truncate(s.out);
                    err.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .truncate(s.err);
                    self.trace.truncate(d);
                    (
                        s.config, s.log, s.names, s.enabler, s.counts, s.last, d, main,
                    )
                }
                _ => {
                    let mut config = Configuration::with_limits(ExecLimits {
                        fuel: self.options.fuel,
                        ..ExecLimits::default()
                    });
                    let log = ChoiceLog::default();
                    self.trace.clear();
                    let imports = link(&mut config, self.program, &ctx, None)?;
                    let inst = match config.instantiate(self.program.module.clone(), &imports) {
                        Ok(i) => i,
                        Err(e) => return ended(instantiation_failure(e)?, &log),
                    };
                    let main = config
                        .spawn(start_func(&config, inst), &[])
                        .map_err(|t| ProgramError::Instantiation(t.message()))?;
                    self.main = Some(main);
                    let mut names: BTreeMap<ThreadId, String> = BTreeMap::new();
                    names.insert(main, "main thread".into());
                    // The event that enabled each thread's next event (spawned or woke it).
                    let enabler: BTreeMap<ThreadId, usize> = BTreeMap::new();
                    // Each thread's events so far (indexed by thread id), and its last one.
                    let (counts, last): (Vec<u32>, Vec<Option<usize>>) = (Vec::new(), Vec::new());
                    (config, log, names, enabler, counts, last, 0, main)
                }
            };
        let module = &self.program.module;
        let quiet_spawn = module.start.is_none()
            && module
                .datas
                .iter()
                .all(|d| matches!(d.mode, heddle_interp::syntax::DataMode::Passive));
        loop {
            // As `run_sc` does: start the requested threads, then look for an ending.
            for request in config.take_spawn_requests() {
                let wasi_tid = request.args.first().cloned();
                match config.start_spawned(request) {
                    Ok(t) => {
                        let name = match wasi_tid {
                            Some(Value::I32(tid)) => format!("{t} (wasi tid {tid})"),
                            _ => t.to_string(),
                        };
                        names.insert(t, name);
                        if let Some(spawn) = depth.checked_sub(1) {
                            enabler.insert(t, spawn);
                        }
                    }
                    Err(trap) => {
                        let ending = thread_ending(Err(trap), "a new thread (starting)", false)
                            .expect("an error ends the program");
                        return ended(ending, &log);
                    }
                }
            }
            for (&t, name) in &names {
                if config.status(t) == ThreadStatus::Finished {
                    if let Some(result) = config.take_result(t) {
                        if let Some(ending) = thread_ending(result, name, t == main) {
                            return ended(ending, &log);
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
                return ended(Ending::Deadlock(deadlock_report(&config, &names)), &log);
            }
            let thread = if depth < self.nodes.len() {
                let t = self.nodes[depth].chosen;
                if !runnable.contains(&t) {
                    return Err(ProgramError::Instantiation(format!(
                        "exploring: the run left its path at event {depth} (a nondeterministic program?)"
                    )));
                }
                t
            } else {
                let reduction = self.options.reduction;
                let sleep = match reduction {
                    Reduction::Caching => Vec::new(),
                    _ => self.sleep_after(depth),
                };
                let Some(t) = runnable
                    .iter()
                    .copied()
                    .find(|t| !sleep.iter().any(|e| e.thread == *t))
                else {
                    return Ok(RunEnd::Redundant);
                };
                let key = (reduction != Reduction::Dpor)
                    .then(|| state_key(&config, &ctx, &out, &err, &names))
                    .flatten();
                if let Some(explored) = key.as_ref().and_then(|k| self.cache.get(k)) {
                    if explored
                        .asleep
                        .iter()
                        .all(|a| sleep.iter().any(|e| e.thread == *a))
                    {
                        if reduction == Reduction::DporCaching {
                            let summary: Vec<(u32, u64)> =
                                explored.summary.iter().copied().collect();
                            self.pruned_at(depth, &summary, &counts, &last);
                        }
                        return Ok(RunEnd::Pruned);
                    }
                }
                self.nodes.push(Node {
                    enabled: runnable.clone(),
                    chosen: t,
                    backtrack: match reduction {
                        Reduction::Caching => runnable.clone(),
                        _ => vec![t],
                    },
                    sleep,
                    done: Vec::new(),
                    key,
                    pos: counts.clone(),
                    summary: HashSet::new(),
                    saved: (depth % SAVE_EVERY == 0).then(|| {
                        Box::new(Saved {
                            config: config.clone(),
                            wasi: ctx.save(),
                            out: out.lock().unwrap_or_else(|e| e.into_inner()).len(),
                            err: err.lock().unwrap_or_else(|e| e.into_inner()).len(),
                            log: log.clone(),
                            names: names.clone(),
                            enabler: enabler.clone(),
                            counts: counts.clone(),
                            last: last.clone(),
                        })
                    }),
                });
                t
            };
            let blocked: Vec<ThreadId> = names
                .keys()
                .copied()
                .filter(|t| matches!(config.status(*t), ThreadStatus::Blocked { .. }))
                .collect();
            let (mut event, steps) = take_event(&mut config, &ctx, thread, quiet_spawn);
            self.events += 1;
            // A thread that finished: the end of the program (`_start` returned, or a
            // trap) touches everything; a spawned thread's return touches nothing.
            let mut ending = None;
            if config.status(thread) == ThreadStatus::Finished {
                if let Some(result) = config.take_result(thread) {
                    ending = thread_ending(result, &names[&thread], thread == main);
                }
                if ending.is_some() {
                    event.touches = Touches::Everything;
                }
            }
            if runnable.len() > 1 {
                let index = runnable.iter().position(|t| *t == thread).unwrap_or(0);
                let mut left = steps;
                while left > 0 {
                    let quantum = left.min(MAX_QUANTUM);
                    log.record(index, runnable.len());
                    log.record((quantum - 1) as usize, MAX_QUANTUM as usize);
                    left -= quantum;
                }
            }
            // Happens-before: program order, earlier dependent events, the enabler.
            let mut preds = Vec::new();
            let mut vc: Vec<u32> = Vec::new();
            let enabled_by = enabler.remove(&thread);
            // The direct predecessors, latest first: an event already known to happen
            // before this one needs no look (its predecessors are in), so each thread's
            // latest dependent event brings in its earlier ones.
            for j in enabled_by.into_iter().chain((0..self.trace.len()).rev()) {
                if has(&preds, j)
                    || (Some(j) != enabled_by && !dependent(&self.trace[j].event, &event))
                {
                    continue;
                }
                add(&mut preds, j);
                let before = &self.trace[j];
                union(&mut preds, &before.preds);
                if vc.len() < before.vc.len() {
                    vc.resize(before.vc.len(), 0);
                }
                for (a, b) in vc.iter_mut().zip(&before.vc) {
                    *a = (*a).max(*b);
                }
            }
            let t = thread.0 as usize;
            if counts.len() <= t {
                counts.resize(t + 1, 0);
                last.resize(t + 1, None);
            }
            counts[t] += 1;
            last[t] = Some(depth);
            if vc.len() <= t {
                vc.resize(t + 1, 0);
            }
            vc[t] = counts[t];
            if self.options.reduction == Reduction::DporCaching {
                let number = self.number(&event);
                let node = &mut self.nodes[depth];
                node.summary.insert((number, clip(&vc, &node.pos)));
            }
            self.trace.push(Executed {
                event,
                preds,
                vc,
                enabler: enabled_by,
            });
            if let Some(ending) = ending {
                return ended(ending, &log);
            }
            for t in blocked {
                if config.status(t) == ThreadStatus::Runnable {
                    enabler.insert(t, depth);
                }
            }
            depth += 1;
        }
    }

    /// The sleep set of a new node at `depth`: the events asleep at, or explored from, its
    /// parent that commute with the parent's event.
    fn sleep_after(&self, depth: usize) -> Vec<Event> {
        let Some(parent) = depth.checked_sub(1) else {
            return Vec::new();
        };
        let node = &self.nodes[parent];
        let taken = &self.trace[parent].event;
        node.sleep
            .iter()
            .chain(&node.done)
            .filter(|e| !dependent(e, taken))
            .cloned()
            .collect()
    }

    /// Whether events `j < i` of the current run race (`j ⋖ i`, Abdulla et al., Section
    /// 3): different threads, dependent, `j` did not enable `i`, and no event between them
    /// happens after `j` and before `i`.
    fn race(&self, j: usize, i: usize) -> bool {
        let (ej, ei) = (&self.trace[j], &self.trace[i]);
        ej.event.thread != ei.event.thread
            && ei.enabler != Some(j)
            && dependent(&ej.event, &ei.event)
            && !(j + 1..i).any(|k| has(&self.trace[k].preds, j) && has(&ei.preds, k))
    }

    /// Race detection over the current run (Abdulla et al., Algorithm 1, lines 5-9).
    fn races(&mut self) {
        let n = self.trace.len().min(self.nodes.len());
        // The races among the events before `fresh` were those of the run before.
        for i in self.fresh..n {
            for j in 0..i {
                if !self.race(j, i) {
                    continue;
                }
                // v = notdep(e_j).e_i.
                let v: Vec<usize> = (j + 1..i)
                    .filter(|&k| !has(&self.trace[k].preds, j))
                    .chain([i])
                    .collect();
                self.add_initial(j, &v);
            }
        }
    }

    /// Make sure an initial of `v` (a sequence of events of the current run after event
    /// `j`, none happening after it) is explored at node `j` (Abdulla et al., Algorithm 1,
    /// lines 7-9): unless one is already to be explored there or asleep, add the first
    /// that is enabled there, or, if none is, every enabled thread. An empty `v` stands
    /// for events not known: every enabled thread is added.
    fn add_initial(&mut self, j: usize, v: &[usize]) {
        // The initials: events of v with no predecessor in v.
        let initials: Vec<ThreadId> = v
            .iter()
            .enumerate()
            .filter(|(a, &k)| !v[..*a].iter().any(|&u| has(&self.trace[k].preds, u)))
            .map(|(_, &k)| self.trace[k].event.thread)
            .collect();
        let node = &mut self.nodes[j];
        if initials.iter().any(|t| node.covers(*t)) {
            return;
        }
        match initials.iter().find(|t| node.enabled.contains(t)) {
            Some(&t) => node.backtrack.push(t),
            None => {
                let all = node.enabled.clone();
                for t in all {
                    if !node.covers(t) {
                        node.backtrack.push(t);
                    }
                }
            }
        }
    }

    /// The number of `event` in [`Search::by_number`], numbering it if it is new.
    fn number(&mut self, event: &Event) -> u32 {
        if let Some(&n) = self.numbered.get(event) {
            return n;
        }
        let n = self.by_number.len() as u32;
        self.by_number.push(event.clone());
        self.numbered.insert(event.clone(), n);
        n
    }

    /// The run reached, before its event `h`, a state explored before whose explored
    /// events are `summary` (see [`Explored`]); `counts` and `last` are each thread's
    /// events so far and its last one. What exploring the state again would add to the
    /// nodes before it (Yang, Chen, Gopalakrishnan and Kirby, "Efficient Stateful Dynamic
    /// Partial Order Reduction", SPIN 2008, Section 4): every event `σ` of the summary is
    /// taken as a possible next event. It races with an event `j` of the run when they are
    /// dependent, of different threads, and `j` is not known to happen before `σ`: known
    /// when `j` happens before (or is) the last event of a thread whose first event from
    /// the state happens before `σ` (`σ`'s own thread among them). For each such `j`, an
    /// initial of the events after `j` that do not happen after it is added at node `j`
    /// (the run's ones first; when there are none, every enabled thread there). The
    /// summary then joins node `h - 1`'s.
    fn pruned_at(
        &mut self,
        h: usize,
        summary: &[(u32, u64)],
        counts: &[u32],
        last: &[Option<usize>],
    ) {
        let mut racing = vec![false; h];
        for &(number, after) in summary {
            let sigma = &self.by_number[number as usize];
            let after = after | 1u64.checked_shl(sigma.thread.0).unwrap_or(0);
            let known: Vec<usize> = last
                .iter()
                .enumerate()
                .filter(|(t, _)| *t < 64 && after & (1 << t) != 0)
                .filter_map(|(_, l)| *l)
                .collect();
            for (j, racing) in racing.iter_mut().enumerate() {
                let ej = &self.trace[j];
                if *racing || ej.event.thread == sigma.thread || !dependent(&ej.event, sigma) {
                    continue;
                }
                if !known
                    .iter()
                    .any(|&l| l == j || has(&self.trace[l].preds, j))
                {
                    *racing = true;
                }
            }
        }
        for j in (0..h).filter(|&j| racing[j]) {
            let v: Vec<usize> = (j + 1..h)
                .filter(|&k| !has(&self.trace[k].preds, j))
                .collect();
            self.add_initial(j, &v);
        }
        if let Some(parent) = h.checked_sub(1) {
            let node = &mut self.nodes[parent];
            for &(number, after) in summary {
                let thread = self.by_number[number as usize].thread;
                let after = after | 1u64.checked_shl(thread.0).unwrap_or(0);
                let vc: Vec<u32> = (0..counts.len())
                    .map(|t| {
                        if t < 64 && after & (1 << t) != 0 {
                            counts[t] + 1
                        } else {
                            0
                        }
                    })
                    .collect();
                node.summary.insert((number, clip(&vc, &node.pos)));
            }
        }
    }

    /// Move to the next branch: the deepest node with a thread to explore that is neither
    /// explored nor asleep. `false` when there is none (the search is over).
    fn backtrack(&mut self) -> bool {
        while let Some(depth) = self.nodes.len().checked_sub(1) {
            let explored = self.trace.get(depth).map(|e| e.event.clone());
            let node = &mut self.nodes[depth];
            if let Some(e) = explored {
                if !node.done.iter().any(|d| d.thread == e.thread) {
                    node.done.push(e);
                }
            }
            let next = node.backtrack.iter().copied().find(|t| {
                !node.done.iter().any(|e| e.thread == *t)
                    && !node.sleep.iter().any(|e| e.thread == *t)
            });
            if let Some(t) = next {
                node.chosen = t;
                self.fresh = depth;
                return true;
            }
            let Some(node) = self.nodes.pop() else { break };
            self.explored(node);
        }
        false
    }

    /// Keep what state caching needs of a node whose branches are all explored: its state
    /// in the cache with its explored events, which also join its parent's.
    fn explored(&mut self, node: Node) {
        if let Some(key) = node.key {
            let asleep: Vec<ThreadId> = node.sleep.iter().map(|e| e.thread).collect();
            let summary = node
                .summary
                .iter()
                .map(|(n, vc)| (*n, after_mask(vc, &node.pos)));
            match self.cache.get_mut(&key) {
                Some(e) => {
                    e.asleep.retain(|t| asleep.contains(t));
                    e.summary.extend(summary);
                }
                None => {
                    let summary = summary.collect();
                    self.cache.insert(key, Explored { asleep, summary });
                }
            }
        }
        if let Some(parent) = self.nodes.last_mut() {
            for (n, vc) in node.summary {
                parent.summary.insert((n, clip(&vc, &parent.pos)));
            }
        }
    }
}

/// The exact encoding of a state of a run, for state caching ([`StateEncoder`]: equal
/// encodings only for equal states): the configuration ([`Configuration::hash_state`]:
/// threads' frames, operand stacks and statuses, the store's mutable parts and the
/// memories' contents), the WASI context's state ([`WasiCtx::hash_state`]), the output so
/// far and the threads' names. `None` (not kept) when a thread waits with a timeout: its
/// deadline is an absolute time on the clock, which the encoding leaves out.
fn state_key(
    config: &Configuration,
    ctx: &WasiCtx,
    out: &Mutex<Vec<u8>>,
    err: &Mutex<Vec<u8>>,
    names: &BTreeMap<ThreadId, String>,
) -> Option<Vec<u8>> {
    if config.next_deadline().is_some() {
        return None;
    }
    let mut e = StateEncoder::default();
    config.hash_state(&mut e);
    for m in &config.store.mems {
        m.hash_contents(&mut e);
    }
    ctx.hash_state(&mut e);
    for sink in [out, err] {
        sink.lock().unwrap_or_else(|e| e.into_inner()).hash(&mut e);
    }
    names.hash(&mut e);
    Some(e.bytes)
}

/// Take thread `thread`'s next event: small steps up to and including its next visible
/// step or WASI call, or until it finishes or blocks. Returns the event (the caller makes
/// it [`Touches::Everything`] when the thread's end ends the program) and the small steps
/// it took. `quiet_spawn`: whether a `thread-spawn` touches only the WASI state
/// ([`Touches::Wasi`]).
fn take_event(
    config: &mut Configuration,
    ctx: &WasiCtx,
    thread: ThreadId,
    quiet_spawn: bool,
) -> (Event, u64) {
    let mut steps = 0;
    loop {
        let visible = config.next_is_visible(thread);
        let notify = config.next_is_notify(thread);
        let footprint = if visible {
            config.next_footprint(thread)
        } else {
            Vec::new()
        };
        let (calls, spawns) = (ctx.host_calls(), ctx.spawn_calls());
        let bytes_before = written_bytes(config, &footprint);
        let before = config.steps();
        let status = config.step(thread, 1);
        steps += (config.steps() - before).max(1);
        let suspended = matches!(status, ThreadStatus::Blocked { .. });
        let touches = if ctx.spawn_calls() != spawns && quiet_spawn {
            Some(Touches::Wasi)
        } else if ctx.host_calls() != calls {
            Some(Touches::Everything)
        } else if notify || suspended {
            Some(Touches::Queue {
                cell: footprint,
                notify,
            })
        } else if visible || status != ThreadStatus::Runnable {
            let mut footprint = footprint;
            // A step that left the bytes it may write as they were (a failed
            // compare-exchange, a wait that did not suspend) wrote nothing: a read.
            if bytes_before.is_some() && written_bytes(config, &footprint) == bytes_before {
                footprint[0].write = false;
            }
            Some(Touches::Bytes(footprint))
        } else {
            None
        };
        if let Some(touches) = touches {
            return (Event { thread, touches }, steps);
        }
    }
}

/// The bytes a step with `footprint` may write, when it is one write of at most 16 bytes
/// of a memory whose contents are plain bytes (the sequentially consistent backend).
fn written_bytes(config: &Configuration, footprint: &[Footprint]) -> Option<Vec<u8>> {
    let [f] = footprint else { return None };
    if !f.write || f.end.saturating_sub(f.start) > 16 {
        return None;
    }
    let bytes = config.store.mems.get(f.memory.0 as usize)?.plain_bytes()?;
    bytes
        .get(usize::try_from(f.start).ok()?..usize::try_from(f.end).ok()?)
        .map(<[u8]>::to_vec)
}
