//! Optimal dynamic partial-order reduction over the visible steps (`--reduction dpor`).
//!
//! The algorithm is Optimal-DPOR of Abdulla, Aronis, Jonsson and Sagonas, "Source Sets: A
//! Foundation for Optimal Dynamic Partial Order Reduction" (JACM 64(4), 2017; POPL 2014):
//! depth-first search over executions with **sleep sets** and **wake-up trees**, which
//! explores exactly one maximal execution per Mazurkiewicz trace (equivalence class of
//! executions under swapping adjacent independent steps) and never starts an execution that
//! sleep sets would block.
//!
//! * **Events** are the visible steps of script threads ([`heddle_interp::Configuration::next_is_visible`])
//!   and wait timeouts. Two events are **dependent** when they belong to the same script
//!   thread, or their [footprints](heddle_interp::Footprint) conflict: overlapping bytes of
//!   one memory, at least one a write. `wait`, `notify` and a timeout count as writes of
//!   their cell; a byte step of bulk memory on a shared memory (the spec's `i32.load8_u` or
//!   `i32.store8` of `memory.fill`, `memory.copy`, `memory.init`, exec/instructions.rst) as
//!   the read or write of its byte, so byte steps on different bytes commute;
//!   `memory.size`/`grow`, SIMD accesses and `atomic.fence` as writes of their whole
//!   memory. Independent events commute (either order reaches the
//!   same state) and neither enables nor disables the other, which is all the algorithm
//!   needs of the relation.
//! * **Happens-before** of an execution is the transitive closure of program order, the
//!   order of dependent events, and the enabling edges of the script: a `notify` before the
//!   next event of each thread it woke, the parent's last event before a spawn before the
//!   child's events, a child's last event before its parent's events after the join. A race
//!   whose later event was enabled by the earlier one (woken, spawned or joined by it) is not
//!   reversible and is skipped, as the paper's `⋖` requires.
//! * At the end of each execution `E`, for each reversible race `e ⋖ e'`, the sequence
//!   `v = notdep(e, E).e'` (the events after `e` in `E` that do not happen after `e`,
//!   then `e'`) is inserted into the wake-up tree of the node before `e` unless a sleeping
//!   thread there is a weak initial of `v` (the paper's Algorithm 2, lines 3-6). Backtracking
//!   takes the deepest node with a non-empty wake-up tree and follows its leftmost branch.
//!
//! The search is split into independent subtrees for `--jobs` workers (`top_tasks`).
//!
//! Executions are re-run from the start (the runs are cheap, BENCHMARKS.md), following the
//! threads of the path and then of the wake-up tree; after it, the first enabled thread not
//! asleep. Each run records its choices in the [`ChoiceLog`](heddle_interp::ChoiceLog), so its
//! schedule replays with `--replay` like any other.
//!
//! **Cycles.** Optimal DPOR is defined for finite executions; a spin loop that waits for
//! another thread has infinite ones. Each run hashes the state at every choice point (the
//! hash of the state-caching search) and keeps the hashes of its own path; a run that
//! reaches a state already on its path is in a cycle. Combining sleep sets with cutting
//! such cycles is unsound in general (the "ignoring problem": the cut path never shows the
//! races with steps after the cycle), so the DPOR search does not try: on the first cycle
//! it stops, and the file is explored with the state-caching search instead
//! ([`Exploration::reduction`](super::Exploration::reduction) says which one ran). Programs
//! without loops over shared memory (the generated rings, most of the catalogue) never
//! cycle; the state-caching search is the one proven on spin loops.

use super::{
    Exploration, ExploreOptions, Run, RunBase, RunResult, Stopped, CUT_PRUNED, CUT_STEP_BOUND,
};
use heddle_interp::{Footprint, ThreadStatus};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

/// One event: a visible step (or timeout) of a script thread, with its footprint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ev {
    thread: usize,
    /// Bytes the step touches; empty means "everything" (conservative).
    fp: Vec<Footprint>,
}

/// Whether two events may not commute.
fn dependent(a: &Ev, b: &Ev) -> bool {
    a.thread == b.thread
        || a.fp.is_empty()
        || b.fp.is_empty()
        || a.fp.iter().any(|x| b.fp.iter().any(|y| x.conflicts(y)))
}

/// The events of a sleep set `asleep` that stay asleep after `ev` is taken: those that
/// commute with it (Abdulla et al., the sleep set of the next node).
fn sleep_after(asleep: &[Ev], ev: &Ev) -> Vec<Ev> {
    asleep
        .iter()
        .filter(|q| !dependent(q, ev))
        .cloned()
        .collect()
}

/// The footprint of the timeout of a thread blocked in a wait (as
/// [`Configuration::next_footprint`](heddle_interp::Configuration::next_footprint) gives it).
fn timeout_footprint(status: Option<ThreadStatus>) -> Vec<Footprint> {
    match status {
        Some(ThreadStatus::Blocked {
            memory, address, ..
        }) => vec![Footprint {
            memory,
            start: address,
            end: address.saturating_add(8),
            write: true,
        }],
        _ => Vec::new(),
    }
}

/// An event of the current execution, with its happens-before predecessors (a bit set over
/// the execution's event indices) and the events that enabled it (woke, spawned or joined).
#[derive(Clone, Debug)]
struct Executed {
    ev: Ev,
    preds: Vec<u64>,
    enablers: Vec<usize>,
    /// Timeouts this event disabled: the waiters with a timeout it woke.
    disabled: Vec<Ev>,
}

/// An event of a sequence to insert into a wake-up tree: one of this execution's (`id`), or
/// a timeout that did not happen in it (`id: None`, first and only event of its sequence).
#[derive(Clone, Debug)]
struct Item {
    ev: Ev,
    id: Option<usize>,
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

/// A wake-up tree (the paper's Definition 6.1): an ordered forest of events; each
/// root-to-leaf path is a sequence to explore from its node, leftmost first.
#[derive(Clone, Debug)]
struct Wu {
    ev: Ev,
    children: Vec<Wu>,
}

/// A node of the current path: the state before the event at its depth.
#[derive(Clone, Debug, Default)]
struct Node {
    /// Sleeping threads' next events: threads whose exploration from here is covered.
    sleep: Vec<Ev>,
    /// Threads asleep since the task's node ([`Task::sleep`], from the statically expanded
    /// top of the tree) and not woken yet: they are never chosen, and a sequence that would
    /// run one is not inserted (see [`top_tasks`]); unlike `sleep`, they do not stop other
    /// insertions.
    inherited: Vec<Ev>,
    /// Branches still to explore from here.
    wut: Vec<Wu>,
    /// The event the current execution takes here.
    taken: Option<Ev>,
}

/// The search state of [`explore_dpor`] across runs, and the current run's events.
struct Dpor {
    nodes: Vec<Node>,
    /// Depth of the task's node: nodes above it belong to the statically expanded top of
    /// the tree ([`top_tasks`]) and are neither backtracked to nor inserted into.
    floor: usize,
    /// Nodes `0..replay` are replayed (their `taken` thread is scheduled).
    replay: usize,
    /// While at node `d >= replay`, the wake-up child (if any) chosen there.
    following: Option<Wu>,
    events: Vec<Executed>,
    last: Vec<Option<usize>>,
    pending: Vec<Vec<usize>>,
}

/// Why a DPOR search could not go on.
pub(super) enum Abandon {
    /// A run reached a state already on its path (a cycle).
    Cycle,
}

impl Dpor {
    /// The search below `task`'s node.
    fn new(threads: usize, task: &Task) -> Self {
        let mut nodes: Vec<Node> = task
            .path
            .iter()
            .map(|e| Node {
                taken: Some(e.clone()),
                ..Node::default()
            })
            .collect();
        nodes.push(Node {
            inherited: task.sleep.clone(),
            ..Node::default()
        });
        Dpor {
            nodes,
            floor: task.path.len(),
            replay: task.path.len(),
            following: None,
            events: Vec::new(),
            last: vec![None; threads],
            pending: vec![Vec::new(); threads],
        }
    }

    fn start_run(&mut self) {
        self.events.clear();
        self.last.iter_mut().for_each(|l| *l = None);
        self.pending.iter_mut().for_each(Vec::clear);
        self.following = None;
    }

    /// The script thread to run at depth `d` among the enabled `cands` (script thread
    /// indices), or `None` when every enabled thread is asleep.
    fn choose(&mut self, d: usize, cands: &[usize]) -> Option<usize> {
        if d < self.replay {
            return self.nodes[d].taken.as_ref().map(|e| e.thread);
        }
        let node = &mut self.nodes[d];
        if !node.wut.is_empty() {
            let c = node.wut.remove(0);
            let t = c.ev.thread;
            self.following = Some(c);
            return Some(t);
        }
        cands.iter().copied().find(|t| {
            node.sleep
                .iter()
                .chain(&node.inherited)
                .all(|s| s.thread != *t)
        })
    }

    /// Record the event taken at depth `d`; `woken` are the threads it woke from a wait.
    fn executed(&mut self, d: usize, ev: Ev, woken: &[usize], disabled: Vec<Ev>) {
        let n = self.events.len();
        debug_assert_eq!(n, d);
        let mut preds = Vec::new();
        let mut enablers = std::mem::take(&mut self.pending[ev.thread]);
        for &p in self.last[ev.thread].iter().chain(&enablers) {
            union(&mut preds, &self.events[p].preds);
            add(&mut preds, p);
        }
        for (k, e) in self.events.iter().enumerate() {
            if !has(&preds, k) && dependent(&e.ev, &ev) {
                let pk = e.preds.clone();
                union(&mut preds, &pk);
                add(&mut preds, k);
            }
        }
        for &w in woken {
            self.pending[w].push(n);
        }
        enablers.sort_unstable();
        self.last[ev.thread] = Some(n);
        if d >= self.replay {
            let node = &mut self.nodes[d];
            let next_sleep = sleep_after(&node.sleep, &ev);
            let inherited = sleep_after(&node.inherited, &ev);
            node.sleep.push(ev.clone());
            node.taken = Some(ev.clone());
            let wut = self
                .following
                .take()
                .map(|c| c.children)
                .unwrap_or_default();
            self.nodes.truncate(d + 1);
            self.nodes.push(Node {
                sleep: next_sleep,
                inherited,
                wut,
                taken: None,
            });
        }
        self.events.push(Executed {
            ev,
            preds,
            enablers,
            disabled,
        });
    }

    /// The spawn/join edges a settle made: `edges` are `(from thread, to thread)`.
    fn enabling(&mut self, from: usize, to: usize) {
        if let Some(e) = self.last[from] {
            self.pending[to].push(e);
        }
    }

    /// Whether `w[b]` happens after `w[a]` in this execution.
    fn before(&self, a: &Item, b: &Item) -> bool {
        match (a.id, b.id) {
            (Some(a), Some(b)) => has(&self.events[b].preds, a),
            _ => false,
        }
    }

    /// Whether thread `p`'s next event `pe` is a weak initial of `w` after the node `w`
    /// starts at (the paper's `WI`): `p` has an event in `w` that nothing in `w` happens
    /// before, or `pe` is independent of all of `w`.
    fn weak_initial(&self, pe: &Ev, w: &[Item]) -> bool {
        match w.iter().position(|x| x.ev.thread == pe.thread) {
            Some(m) => !w[..m].iter().any(|x| self.before(x, &w[m])),
            None => w.iter().all(|x| !dependent(pe, &x.ev)),
        }
    }

    /// The paper's `insert[E](w, wut)`: descend along the first child that is a weak
    /// initial of what is left of `w`; a leaf reached means `w` is covered; otherwise
    /// append the rest of `w` as a new rightmost branch.
    fn insert(&self, mut wut: &mut Vec<Wu>, mut w: Vec<Item>) {
        loop {
            if w.is_empty() {
                return;
            }
            match wut.iter().position(|c| self.weak_initial(&c.ev, &w)) {
                Some(i) => {
                    if wut[i].children.is_empty() {
                        return;
                    }
                    let t = wut[i].ev.thread;
                    if let Some(m) = w.iter().position(|x| x.ev.thread == t) {
                        w.remove(m);
                    }
                    wut = &mut wut[i].children;
                }
                None => {
                    let mut branch: Option<Wu> = None;
                    for x in w.into_iter().rev() {
                        branch = Some(Wu {
                            ev: x.ev,
                            children: branch.into_iter().collect(),
                        });
                    }
                    wut.extend(branch);
                    return;
                }
            }
        }
    }

    /// Race detection at the end of a run (the paper's Algorithm 2, lines 3-6).
    fn detect_races(&mut self) {
        let n = self.events.len();
        let item = |k: usize| Item {
            ev: self.events[k].ev.clone(),
            id: Some(k),
        };
        let mut inserts: Vec<(usize, Vec<Item>)> = Vec::new();
        // Races whose later event is in the replayed prefix were found by an earlier run
        // (the same events with the same happens-before).
        for j in self.replay.min(n)..n {
            // A notify that woke a waiter with a timeout disabled the timeout, which was
            // enabled at the node before it: explore the timeout first from there (the
            // backtracking classic DPOR adds for disabled events; Flanagan and Godefroid,
            // POPL 2005).
            for ev in &self.events[j].disabled {
                inserts.push((
                    j,
                    vec![Item {
                        ev: ev.clone(),
                        id: None,
                    }],
                ));
            }
            let ej = &self.events[j];
            for i in 0..j {
                let ei = &self.events[i];
                if ei.ev.thread == ej.ev.thread
                    || !dependent(&ei.ev, &ej.ev)
                    || ej.enablers.binary_search(&i).is_ok()
                {
                    continue;
                }
                // Immediate: no event between that happens after e and before e'.
                if (i + 1..j).any(|k| has(&self.events[k].preds, i) && has(&ej.preds, k)) {
                    continue;
                }
                // notdep(e, E): every later event of E that does not happen after e (the
                // paper's definition: also those after e').
                let mut v: Vec<Item> = (i + 1..n)
                    .filter(|&k| k != j && !has(&self.events[k].preds, i))
                    .map(item)
                    .collect();
                v.push(item(j));
                inserts.push((i, v));
            }
        }
        for (i, v) in inserts {
            // Above the task's node the tree is fully expanded: every enabled thread not
            // asleep is a branch, so an insertion there would change nothing.
            if i < self.floor {
                continue;
            }
            if self.nodes[i].sleep.iter().any(|q| self.weak_initial(q, &v)) {
                continue;
            }
            // A thread asleep since the task's node cannot run before an event it depends
            // on has woken it: a sequence that runs it earlier is not explored here (the
            // race is not reversible in the subtree's own system; see `top_tasks`).
            let mut asleep = self.nodes[i].inherited.clone();
            let runs_asleep = v.iter().any(|x| {
                let blocked = asleep.iter().any(|q| q.thread == x.ev.thread);
                asleep.retain(|q| !dependent(q, &x.ev));
                blocked
            });
            if runs_asleep {
                continue;
            }
            let mut wut = std::mem::take(&mut self.nodes[i].wut);
            self.insert(&mut wut, v);
            self.nodes[i].wut = wut;
        }
    }

    /// Go back to the deepest node with a branch left; `false` when there is none.
    fn backtrack(&mut self) -> bool {
        let depth = self.events.len().min(self.nodes.len());
        let Some(k) = (self.floor..depth)
            .rev()
            .find(|&k| !self.nodes[k].wut.is_empty())
        else {
            return false;
        };
        self.nodes.truncate(k + 1);
        self.replay = k;
        true
    }
}

impl Run<'_> {
    /// The state hash of the caching search, with FxHash instead of SipHash: it only
    /// detects cycles here, and a collision only makes the file fall back to caching.
    fn fast_state_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        self.config.hash_state(&mut h);
        self.states.hash(&mut h);
        h.finish()
    }

    /// One run under the DPOR search: scheduled by `dpor`, recording its events. `Err` on
    /// a cycle.
    fn run_dpor(mut self, dpor: &mut Dpor, opts: &ExploreOptions) -> Result<RunResult, Abandon> {
        dpor.start_run();
        let mut steps: u64 = 0;
        let mut path: HashSet<u64> = HashSet::new();
        let mut marks = 0;
        let cut = loop {
            self.settle();
            for m in &self.marks[marks..] {
                match *m {
                    super::Mark::Spawn { parent, child, .. } => dpor.enabling(parent, child),
                    super::Mark::Join { parent, child, .. } => dpor.enabling(child, parent),
                }
            }
            marks = self.marks.len();
            if self.exhausted || steps >= opts.max_steps {
                break Some(CUT_STEP_BOUND);
            }
            let cands = self.candidates();
            if cands.is_empty() {
                break None;
            }
            if !path.insert(self.fast_state_hash()) {
                return Err(Abandon::Cycle);
            }
            let d = dpor.events.len();
            let threads: Vec<usize> = cands.iter().map(|c| c.0).collect();
            let Some(t) = dpor.choose(d, &threads) else {
                // Every enabled thread is asleep (optimal DPOR never gets here).
                break Some(CUT_PRUNED);
            };
            let Some(pick) = threads.iter().position(|&c| c == t) else {
                // The path's thread is not enabled: cannot happen for a deterministic
                // program; stop this run rather than guess.
                break Some(CUT_PRUNED);
            };
            self.log
                .lock()
                .expect("choice log")
                .record(pick, cands.len());
            let (i, timeout) = cands[pick];
            let tid = self.tids[i];
            let ev = Ev {
                thread: i,
                fp: self.config.next_footprint(tid),
            };
            let blocked: Vec<Option<ThreadStatus>> = self
                .tids
                .iter()
                .map(|t| match self.config.status(*t) {
                    s @ ThreadStatus::Blocked { .. } => Some(s),
                    _ => None,
                })
                .collect();
            if timeout {
                self.config.time_out(tid);
            } else {
                self.config.step(tid, 1);
            }
            let woken: Vec<usize> = (0..self.tids.len())
                .filter(|&j| {
                    j != i
                        && blocked[j].is_some()
                        && !matches!(
                            self.config.status(self.tids[j]),
                            ThreadStatus::Blocked { .. }
                        )
                })
                .collect();
            // Woken waiters that could have timed out instead: their timeout was disabled.
            let disabled: Vec<Ev> = woken
                .iter()
                .filter(|&&j| {
                    matches!(
                        blocked[j],
                        Some(ThreadStatus::Blocked {
                            deadline: Some(_),
                            ..
                        })
                    )
                })
                .map(|&j| Ev {
                    thread: j,
                    fp: timeout_footprint(blocked[j].clone()),
                })
                .collect();
            dpor.executed(d, ev, &woken, disabled);
            steps += 1;
        };
        let schedule = self.log.lock().expect("choice log").schedule();
        Ok(self.result(cut, schedule, opts))
    }
}

/// A subtree of the search: the events leading to its node from the initial state, and
/// the sleep set there.
#[derive(Clone, Debug)]
struct Task {
    path: Vec<Ev>,
    sleep: Vec<Ev>,
}

/// The top of the tree is expanded statically, level by level, until there are at least
/// this many subtrees to share among workers (or [`TOP_DEPTH`] is reached). Both are
/// constants, not functions of `--jobs`, so that the runs made, and the result, do not
/// depend on the number of workers.
const TOP_TASKS: usize = 32;
/// See [`TOP_TASKS`].
const TOP_DEPTH: usize = 3;
/// Programs whose size estimate ([`super::size::estimate`]) is below `10^TOP_MIN_LOG10`
/// states are searched as one subtree: the split costs a few sleep-set-blocked runs, which
/// matter only when the whole search is small, and then so is the gain.
const TOP_MIN_LOG10: f64 = 12.0;

impl Run<'_> {
    /// Follow `path` from the initial state and return the enabled threads' next events
    /// there (empty when the execution has ended).
    fn probe(mut self, path: &[Ev], opts: &ExploreOptions) -> Result<Vec<Ev>, Abandon> {
        let mut seen: HashSet<u64> = HashSet::new();
        for e in path {
            self.settle();
            if !seen.insert(self.fast_state_hash()) {
                return Err(Abandon::Cycle);
            }
            let cands = self.candidates();
            let Some(&(i, timeout)) = cands.iter().find(|c| c.0 == e.thread) else {
                return Ok(Vec::new());
            };
            if timeout {
                self.config.time_out(self.tids[i]);
            } else {
                self.config.step(self.tids[i], 1);
            }
        }
        self.settle();
        if self.exhausted || path.len() as u64 >= opts.max_steps {
            return Ok(Vec::new());
        }
        Ok(self
            .candidates()
            .into_iter()
            .map(|(i, _)| Ev {
                thread: i,
                fp: self.config.next_footprint(self.tids[i]),
            })
            .collect())
    }
}

/// The subtrees at the bottom of the statically expanded top of the tree, in depth-first
/// order, each with the threads asleep at its node.
///
/// Above them every node is fully expanded with sleep sets: its children are its enabled
/// threads not asleep, in thread order, and child `k` sleeps the threads asleep at the node
/// or explored by children `1..k` that are independent of its event. This is Godefroid's
/// sleep-set search (P. Godefroid, *Partial-Order Methods for the Verification of Concurrent
/// Systems*, LNCS 1032, 1996), which explores a linearization of every Mazurkiewicz trace
/// as long as each subtree explores every trace from its node that has a linearization
/// which never runs a thread while it sleeps.
///
/// Each subtree meets that with Optimal-DPOR on the system in which its sleeping threads
/// are *disabled* until an event dependent on their next one wakes them: the sleep-respecting
/// executions are exactly that system's executions. In it, waking is enabling, so a race
/// that would move a sleeping thread's event before its waker is not reversible (such a
/// sequence is not inserted), and the sleeping threads, not being enabled, neither stop
/// insertions nor are chosen; the algorithm's own sleep sets work as in the paper. The
/// subtrees are thereby independent of each other, so workers can take them in any order,
/// and the result (united in subtree order) is the same for any number of workers. With a
/// top of depth 0 this is the plain sequential algorithm. Nodes where the execution ends
/// are subtrees of one run; nodes where every enabled thread sleeps are dropped.
fn top_tasks(
    plan: &super::Plan,
    base: &RunBase,
    opts: &ExploreOptions,
) -> Result<Vec<Task>, Abandon> {
    let mut tasks = vec![Task {
        path: Vec::new(),
        sleep: Vec::new(),
    }];
    let depth = if super::size::estimate(plan).log10_states >= TOP_MIN_LOG10 {
        TOP_DEPTH
    } else {
        0
    };
    for _ in 0..depth {
        if tasks.len() >= TOP_TASKS {
            break;
        }
        let mut next = Vec::new();
        let mut grew = false;
        for t in tasks {
            let enabled = Run::new(plan, base, Vec::new()).probe(&t.path, opts)?;
            if enabled.is_empty() {
                next.push(t);
                continue;
            }
            grew = true;
            let mut asleep = t.sleep.clone();
            for e in enabled {
                if asleep.iter().any(|q| q.thread == e.thread) {
                    continue;
                }
                let sleep = sleep_after(&asleep, &e);
                let mut path = t.path.clone();
                path.push(e.clone());
                next.push(Task { path, sleep });
                asleep.push(e);
            }
        }
        tasks = next;
        if !grew {
            break;
        }
    }
    Ok(tasks)
}

/// Search the subtree of `task` with Optimal-DPOR. Stops early when `runs` (shared by all
/// workers) reaches the bound or the time is up.
fn explore_task(
    plan: &super::Plan,
    base: &RunBase,
    opts: &ExploreOptions,
    task: &Task,
    runs: &AtomicU64,
    started: Instant,
) -> Result<Exploration, Abandon> {
    let mut result = Exploration {
        reduction: super::Reduction::Dpor,
        ..Exploration::default()
    };
    let mut dpor = Dpor::new(plan.threads.len(), task);
    loop {
        if runs.fetch_add(1, AtomicOrdering::Relaxed) >= opts.max_executions {
            result.stopped = Some(Stopped::MaxExecutions);
            break;
        }
        if opts.timeout.is_some_and(|t| started.elapsed() >= t) {
            result.stopped = Some(Stopped::Timeout);
            break;
        }
        let run = Run::new(plan, base, Vec::new());
        let r = run.run_dpor(&mut dpor, opts)?;
        result.executions += 1;
        match r.cut {
            Some(CUT_PRUNED) => result.pruned += 1,
            Some(_) => result.step_bounded += 1,
            None => {}
        }
        result.record(r);
        dpor.detect_races();
        if !dpor.backtrack() {
            break;
        }
    }
    Ok(result)
}

/// Explore `plan` with Optimal-DPOR (sequentially consistent memory), on
/// [`ExploreOptions::jobs`] workers that take the subtrees of [`top_tasks`] in turn from a
/// shared counter. Results are united in subtree order, so they are the same for every
/// number of workers. `Err(Abandon::Cycle)` when some run cycles (the caller then uses the
/// state-caching search).
pub(super) fn explore_dpor(
    plan: &super::Plan,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
) -> Result<Result<Exploration, Abandon>, String> {
    let started = Instant::now();
    let base = RunBase::new(plan, opts)?;
    let tasks = match top_tasks(plan, &base, opts) {
        Ok(t) => t,
        Err(a) => return Ok(Err(a)),
    };
    let runs = AtomicU64::new(0);
    let mut result = Exploration {
        reduction: super::Reduction::Dpor,
        ..Exploration::default()
    };
    if let Err(a) = super::explore_subtrees(
        plan,
        opts,
        &base,
        &|plan| RunBase::new(plan, opts),
        &tasks,
        &|plan, base, task| explore_task(plan, base, opts, task, &runs, started),
        &mut result,
        observe,
    )? {
        return Ok(Err(a));
    }
    if result.stopped.is_none() {
        result.complete = result.step_bounded == 0;
        if !result.complete {
            result.stopped = Some(Stopped::StepBound);
        }
    }
    Ok(Ok(result))
}
