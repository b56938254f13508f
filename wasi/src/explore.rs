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
//! The search is source-set dynamic partial-order reduction with sleep sets (Abdulla,
//! Aronis, Jonsson and Sagonas, "Source Sets: A Foundation for Optimal Dynamic Partial
//! Order Reduction", JACM 64(4), 2017, Algorithm 1), stateless: each run is re-executed
//! from the start.
//!
//! * Two events are **dependent** when they belong to the same thread, or one of them
//!   calls a WASI function or ends the program (conservatively: they touch everything;
//!   a `thread-spawn` only conflicts with WASI calls when starting a thread writes no
//!   memory: no start function, no active data segment), or
//!   their [footprints](Footprint) conflict (the same bytes of the shared memory, one a
//!   write). Accesses of different threads to different addresses commute — which
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
    deadlock_report, instantiation_failure, start_func, thread_ending, Ending, MAX_QUANTUM,
};
use heddle_interp::{
    ChoiceLog, Configuration, ExecLimits, Footprint, ThreadId, ThreadStatus, Value,
};
use std::collections::BTreeMap;
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

/// Explore every schedule of `program` (see the [module documentation](self)). Errors: the
/// program cannot be instantiated, or a run did not follow its own replayed prefix (the
/// program is not deterministic given its schedule: a bug of Heddle's, reported).
pub fn explore(program: &Program, options: &ExploreOptions) -> Result<Exploration, ProgramError> {
    let started = Instant::now();
    let mut search = Search {
        program,
        options,
        nodes: Vec::new(),
        trace: Vec::new(),
        events: 0,
    };
    let mut result = Exploration {
        outcomes: Vec::new(),
        runs: 0,
        redundant: 0,
        events: 0,
        incomplete: None,
    };
    loop {
        if result.runs + result.redundant >= options.max_runs {
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
        search.races();
        if !search.backtrack() {
            break;
        }
    }
    result.events = search.events;
    Ok(result)
}

impl Search<'_> {
    /// Run the program once: the threads of the current path, then the first runnable
    /// thread not asleep, to an ending.
    fn run(&mut self) -> Result<RunEnd, ProgramError> {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let err = Arc::new(Mutex::new(Vec::<u8>::new()));
        let o = self.options;
        let ctx = Arc::new(WasiCtx::new(
            o.args.clone(),
            o.env.clone(),
            o.stdin.clone(),
            o.seed,
            out.clone() as Sink,
            err.clone() as Sink,
        ));
        let mut config = Configuration::with_limits(ExecLimits {
            fuel: o.fuel,
            ..ExecLimits::default()
        });
        let mut log = ChoiceLog::default();
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
        self.trace.clear();
        let imports = link(&mut config, self.program, &ctx, None)?;
        let inst = match config.instantiate(self.program.module.clone(), &imports) {
            Ok(i) => i,
            Err(e) => return ended(instantiation_failure(e)?, &log),
        };
        let main = config
            .spawn(start_func(&config, inst), &[])
            .map_err(|t| ProgramError::Instantiation(t.message()))?;
        let mut names: BTreeMap<ThreadId, String> = BTreeMap::new();
        names.insert(main, "main thread".into());
        let module = &self.program.module;
        let quiet_spawn = module.start.is_none()
            && module
                .datas
                .iter()
                .all(|d| matches!(d.mode, heddle_interp::syntax::DataMode::Passive));
        // The event that enabled each thread's next event (spawned or woke it).
        let mut enabler: BTreeMap<ThreadId, usize> = BTreeMap::new();
        let mut depth: usize = 0;
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
            let runnable: Vec<ThreadId> = names
                .keys()
                .copied()
                .filter(|t| config.status(*t) == ThreadStatus::Runnable)
                .collect();
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
                let sleep = self.sleep_after(depth);
                let Some(t) = runnable
                    .iter()
                    .copied()
                    .find(|t| !sleep.iter().any(|e| e.thread == *t))
                else {
                    return Ok(RunEnd::Redundant);
                };
                self.nodes.push(Node {
                    enabled: runnable.clone(),
                    chosen: t,
                    backtrack: vec![t],
                    sleep,
                    done: Vec::new(),
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
            let enabled_by = enabler.remove(&thread);
            let direct = self
                .trace
                .iter()
                .enumerate()
                .filter(|(_, e)| dependent(&e.event, &event))
                .map(|(j, _)| j)
                .chain(enabled_by);
            for j in direct.collect::<Vec<_>>() {
                add(&mut preds, j);
                let before = self.trace[j].preds.clone();
                union(&mut preds, &before);
            }
            self.trace.push(Executed {
                event,
                preds,
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
        for i in 0..n {
            for j in 0..i {
                if !self.race(j, i) {
                    continue;
                }
                // v = notdep(e_j).e_i; its initials: events of v with no predecessor in v.
                let v: Vec<usize> = (j + 1..i)
                    .filter(|&k| !has(&self.trace[k].preds, j))
                    .chain([i])
                    .collect();
                let initials: Vec<ThreadId> = v
                    .iter()
                    .enumerate()
                    .filter(|(a, &k)| !v[..*a].iter().any(|&u| has(&self.trace[k].preds, u)))
                    .map(|(_, &k)| self.trace[k].event.thread)
                    .collect();
                let node = &mut self.nodes[j];
                if initials.iter().any(|t| node.covers(*t)) {
                    continue;
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
                return true;
            }
            self.nodes.pop();
        }
        false
    }
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
            Some(Touches::Bytes(footprint))
        } else {
            None
        };
        if let Some(touches) = touches {
            return (Event { thread, touches }, steps);
        }
    }
}
