//! The enumerator (MODEL.md §5): all allowed outcomes of a litmus program, each with a
//! witness execution, and for every other candidate outcome the rule that rules it out.
//!
//! * Stage A — each thread is unfolded on its own, reads guessing values from a per-byte
//!   domain (initial bytes ∪ bytes any write can produce, iterated to a fixpoint).
//! * Stage B — one unfolding per thread is combined with the init write; `hb0` is
//!   program order, spawn/join order of the script and the init write before everything.
//! * Suspension — per location, the orders of suspension events that extend `hb0` and
//!   satisfy the FIFO queue machine (C9); each adds `susp_edges` to hb.
//! * Stage C — byte-wise reads-from, pruned by C5, C6 and C8, adding `sw` edges as reads
//!   are resolved (the least-hb lemma, MODEL.md §3.2).
//! * Stage D — `tot` on the seq-cst and suspension events: (†) and (‡) give forced
//!   edges, C7(1) gives disjunctions; any acyclic completion is a valid `tot`.
//! * Stage E — the literal checker ([`crate::check_execution`]) confirms every witness.
//!
//! For a forbidden outcome the reported rule is the one that stopped the candidate
//! execution that got furthest through these stages (ties: the first one found).

use crate::check::{check_execution, queue_machine, Rule, Violation};
use crate::config::{Config, FenceSemantics};
use crate::event::{
    length_location, length_of, location, memory_and_address, Action, Event, EventId, Location,
    MemOrder, SuspensionKind, ThreadId,
};
use crate::execution::{Execution, Relation, MAX_EVENTS};
use crate::outcome::{InvokeResult, Outcome};
use crate::program::{Instr, Machine, MemRequest, Program, ScriptStep, Step, Value};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Limit on the unfoldings of one thread and on candidate combinations, to fail cleanly
/// instead of running for hours on programs that are too large for exhaustive search.
pub const MAX_UNFOLDINGS: usize = 1 << 16;

/// Errors of the enumerator.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// A candidate execution has more events than relations can hold.
    #[error("program too large: a candidate execution has {0} events (at most {max})", max = MAX_EVENTS)]
    TooManyEvents(usize),
    /// Too many thread unfoldings or combinations.
    #[error("program too large: more than {0} candidates")]
    TooManyCandidates(usize),
    /// The literal checker rejected a witness of the constraint search (a bug).
    #[error("internal error: witness for {outcome} rejected by the checker: {violation}")]
    WitnessRejected {
        /// The outcome.
        outcome: String,
        /// The checker's verdict.
        violation: String,
    },
}

/// Counters describing the work of one enumeration.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Rounds of the value-domain fixpoint (Stage A).
    pub domain_rounds: usize,
    /// Whether the fixpoint was cut off before converging (RMW arithmetic can keep
    /// producing new values); outcomes needing later values are then missing.
    pub domain_truncated: bool,
    /// Unfoldings per thread.
    pub unfoldings: Vec<usize>,
    /// Combinations of unfoldings examined (skipped ones, whose outcome was already
    /// known to be allowed, are not counted).
    pub combinations: usize,
    /// Complete reads-from assignments whose total order was searched.
    pub rf_candidates: usize,
}

/// The result of [`enumerate`].
#[derive(Clone, Debug)]
pub struct Enumeration {
    /// Allowed outcomes, sorted, each with one witness execution.
    pub allowed: IndexMap<Outcome, Execution>,
    /// Candidate outcomes that no consistent execution produces, sorted, with the rule
    /// that ruled out the candidate execution that got furthest.
    pub forbidden: IndexMap<Outcome, Violation>,
    /// Work counters.
    pub stats: Stats,
}

/// One way a thread can run, with guessed read values (Stage A).
#[derive(Clone, Debug)]
struct Unfolding {
    /// Events with their script step index.
    events: Vec<(Event, usize)>,
    /// Results of completed invokes, by script step.
    results: Vec<(usize, InvokeResult)>,
    /// The step of an invoke that blocked forever.
    blocked_at: Option<usize>,
}

/// Candidate byte values per address, and candidate lengths per memory whose length
/// varies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Domain {
    bytes: BTreeMap<Location, BTreeSet<u8>>,
    seeds: Vec<u64>,
    /// Lengths a grow of some unfolding writes, per memory (with the initial length, the
    /// candidates of a read of the length location).
    lengths: BTreeMap<usize, BTreeSet<u64>>,
}

impl Domain {
    /// The lengths a read of memory `m`'s length location may return: the initial length
    /// and every length a grow writes.
    fn lengths(&self, prog: &Program, m: usize) -> Vec<u64> {
        let mut out: BTreeSet<u64> = self.lengths.get(&m).cloned().unwrap_or_default();
        if let Some(mem) = prog.memories.get(m) {
            out.insert(mem.size);
        }
        out.into_iter().collect()
    }

    fn values(&self, prog: &Program, addr: Location, width: u8) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = vec![Vec::new()];
        for k in addr..addr + width as u64 {
            let init = prog.init_byte(k);
            let mut dom: BTreeSet<u8> = self.bytes.get(&k).cloned().unwrap_or_default();
            dom.insert(init);
            let mut next = Vec::with_capacity(out.len() * dom.len());
            for prefix in &out {
                for &b in &dom {
                    let mut p = prefix.clone();
                    p.push(b);
                    next.push(p);
                }
            }
            out = next;
        }
        for &s in &self.seeds {
            let v = crate::program::to_le(s, width);
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

struct UnfoldState {
    step: usize,
    machine: Option<Machine>,
    events: Vec<(Event, usize)>,
    results: Vec<(usize, InvokeResult)>,
}

fn access_label(req: &MemRequest, func: &str) -> String {
    let k = match req {
        MemRequest::Load {
            ord: MemOrder::SeqCst,
            ..
        } => "atomic load",
        MemRequest::Load { .. } => "load",
        MemRequest::Store {
            ord: MemOrder::SeqCst,
            ..
        } => "atomic store",
        MemRequest::Store { .. } => "store",
        MemRequest::Rmw { op: Some(_), .. } => "atomic rmw",
        MemRequest::Rmw { op: None, .. } => "atomic cmpxchg",
        MemRequest::Wait { .. } => "wait",
        MemRequest::Notify { .. } => "notify",
        MemRequest::Fence => "fence",
        MemRequest::Bounds { .. } => "bulk memory",
        MemRequest::Size { .. } => "memory.size",
        MemRequest::Grow { .. } => "memory.grow",
    };
    format!("{k} in {func}")
}

/// Stage A: all unfoldings of thread `t`.
fn unfold_thread(
    prog: &Program,
    t: ThreadId,
    dom: &Domain,
    cfg: &Config,
    notify_bound: u32,
) -> Result<Vec<Unfolding>, ModelError> {
    let th = &prog.threads[t];
    let name = &th.name;
    // A location in no memory: FENCE events have none (relaxed.rst).
    let fence_loc = location(prog.memories.len(), 0);
    let mut leaves = Vec::new();
    let mut stack = vec![UnfoldState {
        step: 0,
        machine: None,
        events: Vec::new(),
        results: Vec::new(),
    }];
    while let Some(mut st) = stack.pop() {
        loop {
            let Some(m) = st.machine.as_mut() else {
                match th.steps.get(st.step) {
                    None => {
                        leaves.push(Unfolding {
                            events: st.events,
                            results: st.results,
                            blocked_at: None,
                        });
                        break;
                    }
                    Some(ScriptStep::Invoke { func, args, .. }) => {
                        st.machine = Some(Machine::new(func.clone(), args, prog.memories.clone()));
                    }
                    Some(_) => st.step += 1,
                }
                continue;
            };
            let fname = m.func_name().to_string();
            match m.run() {
                Step::Done(vs) => {
                    st.results.push((st.step, InvokeResult::Values(vs)));
                    st.machine = None;
                    st.step += 1;
                }
                Step::Trap(..) => {
                    st.results.push((st.step, InvokeResult::Trap));
                    st.machine = None;
                    st.step += 1;
                }
                Step::Mem(req, line) => {
                    let label = format!("{name}: {} (line {line})", access_label(&req, &fname));
                    // Children are pushed in reverse so that the DFS visits them in order.
                    let mut children: Vec<UnfoldState> = Vec::new();
                    // The bounds check of an access to a memory whose length varies: an unord
                    // read of the length location (instructions.rst l.1757 (t.load step 13),
                    // `RD a.len n`; relaxed.rst *Consistency*, note), as its own event just
                    // before the access (docs/model.md, *The length location*, says why
                    // this is the same as one event with both actions). A length too small
                    // for the access traps after the read.
                    let mut checks: Vec<Option<Event>> = Vec::new();
                    match req.bounds_checked() {
                        Some((m, end)) if prog.memories.get(m).is_some_and(|x| x.growable) => {
                            for len in dom.lengths(prog, m) {
                                let read = Event {
                                    thread: Some(t),
                                    po_index: st.events.len(),
                                    actions: vec![length_read(m, MemOrder::Unord, len)],
                                    label: format!(
                                        "{name}: bounds check of {} (line {line})",
                                        access_label(&req, &fname)
                                    ),
                                };
                                if end > len {
                                    children.push(trapped(&st, read));
                                } else {
                                    checks.push(Some(read));
                                }
                            }
                        }
                        _ => checks.push(None),
                    }
                    let mut traps: Vec<UnfoldState> = Vec::new();
                    for check in checks {
                        let po = st.events.len() + usize::from(check.is_some());
                        let mk = |actions: Vec<Action>, po: usize| Event {
                            thread: Some(t),
                            po_index: po,
                            actions,
                            label: label.clone(),
                        };
                        let mut child = |st: &UnfoldState,
                                         evs: Vec<Event>,
                                         push: Option<Value>,
                                         blocked: bool| {
                            let mut events = st.events.clone();
                            events.extend(check.iter().cloned().chain(evs).map(|e| (e, st.step)));
                            let mut m2 = st.machine.clone();
                            let mut results = st.results.clone();
                            if blocked {
                                results.push((st.step, InvokeResult::Blocked));
                                children.push(UnfoldState {
                                    step: usize::MAX,
                                    machine: None,
                                    events,
                                    results,
                                });
                                return;
                            }
                            if let Some(m) = m2.as_mut() {
                                m.resume(push);
                            }
                            children.push(UnfoldState {
                                step: st.step,
                                machine: m2,
                                events,
                                results,
                            });
                        };
                        match &req {
                            MemRequest::Load {
                                ord,
                                addr,
                                width,
                                no_tear,
                                ..
                            } => {
                                for bytes in dom.values(prog, *addr, *width) {
                                    let v = req.loaded(&bytes);
                                    let a = Action::Read {
                                        ord: *ord,
                                        offset: *addr,
                                        bytes,
                                        no_tear: *no_tear,
                                    };
                                    child(&st, vec![mk(vec![a], po)], Some(v), false);
                                }
                            }
                            MemRequest::Store {
                                ord,
                                addr,
                                bytes,
                                no_tear,
                            } => {
                                let a = Action::Write {
                                    ord: *ord,
                                    offset: *addr,
                                    bytes: bytes.clone(),
                                    no_tear: *no_tear,
                                };
                                child(&st, vec![mk(vec![a], po)], None, false);
                            }
                            MemRequest::Rmw { addr, width, .. } => {
                                for bytes in dom.values(prog, *addr, *width) {
                                    let (v, written) = req.rmw_outcome(&bytes);
                                    let a = match written {
                                        Some(w) => Action::Rmw {
                                            offset: *addr,
                                            read: bytes,
                                            written: w,
                                        },
                                        None => Action::Read {
                                            ord: MemOrder::SeqCst,
                                            offset: *addr,
                                            bytes,
                                            no_tear: false,
                                        },
                                    };
                                    child(&st, vec![mk(vec![a], po)], Some(v), false);
                                }
                            }
                            MemRequest::Wait {
                                addr,
                                width,
                                timeout,
                                ..
                            } => {
                                for bytes in dom.values(prog, *addr, *width) {
                                    let rd = Action::Read {
                                        ord: MemOrder::SeqCst,
                                        offset: *addr,
                                        bytes: bytes.clone(),
                                        no_tear: false,
                                    };
                                    if !req.wait_equal(&bytes) {
                                        child(
                                            &st,
                                            vec![mk(vec![rd], po)],
                                            Some(Value::I32(1)),
                                            false,
                                        );
                                        continue;
                                    }
                                    let w = Action::Wait {
                                        offset: *addr,
                                        timeout: *timeout,
                                    };
                                    let wait_ev = mk(vec![rd, w], po);
                                    let woken = mk(vec![Action::Woken { offset: *addr }], po + 1);
                                    child(
                                        &st,
                                        vec![wait_ev.clone(), woken],
                                        Some(Value::I32(0)),
                                        false,
                                    );
                                    if *timeout >= 0 {
                                        let to =
                                            mk(vec![Action::Timeout { offset: *addr }], po + 1);
                                        child(
                                            &st,
                                            vec![wait_ev.clone(), to],
                                            Some(Value::I32(2)),
                                            false,
                                        );
                                    }
                                    if *timeout < 0 || cfg.finite_timeout_may_block {
                                        child(&st, vec![wait_ev], None, true);
                                    }
                                }
                            }
                            MemRequest::Notify { addr, count } => {
                                for j in 0..=(*count).min(notify_bound) {
                                    let a = Action::Notify {
                                        offset: *addr,
                                        woken: j,
                                        max: *count,
                                    };
                                    child(&st, vec![mk(vec![a], po)], Some(Value::I32(j)), false);
                                }
                            }
                            MemRequest::Fence => {
                                let mut acts = vec![Action::Fence];
                                if cfg.fence == FenceSemantics::RmwOnHiddenLocation {
                                    acts.push(Action::Rmw {
                                        offset: fence_loc,
                                        read: vec![0; 4],
                                        written: vec![0; 4],
                                    });
                                }
                                child(&st, vec![mk(acts, po)], None, false);
                            }
                            MemRequest::Bounds { memory, end } => {
                                // A bulk instruction's bounds check (instructions.rst
                                // *memory.fill* step 13, *memory.copy* 13, *memory.init* 17).
                                for len in dom.lengths(prog, *memory) {
                                    let read =
                                        mk(vec![length_read(*memory, MemOrder::Unord, len)], po);
                                    if *end > len {
                                        traps.push(trapped(&st, read));
                                    } else {
                                        child(&st, vec![read], None, false);
                                    }
                                }
                            }
                            MemRequest::Size { memory } => {
                                // instructions.rst *memory.size*: `RD_seqcst a.len n`.
                                let mem = prog.memories[*memory];
                                for len in dom.lengths(prog, *memory) {
                                    let read =
                                        mk(vec![length_read(*memory, MemOrder::SeqCst, len)], po);
                                    child(&st, vec![read], Some(mem.pages(len)), false);
                                }
                            }
                            MemRequest::Grow { memory, delta } => {
                                // instructions.rst *memory.grow*: either `RMW a.len l (l+k)` and
                                // `WR a.data[l] (0)^k`, returning l in pages, or `RD_seqcst a.len l`,
                                // returning -1. The zero write is its own event just before the
                                // RMW; its bytes are filled in once every accessed byte is known
                                // (`fill_zero_writes`).
                                let mem = prog.memories[*memory];
                                for len in dom.lengths(prog, *memory) {
                                    let grown =
                                        len.checked_add(*delta).filter(|&g| g <= mem.max_length());
                                    if let Some(grown) = grown {
                                        let zeros = mk(
                                            vec![Action::Write {
                                                ord: MemOrder::Unord,
                                                offset: location(*memory, len),
                                                bytes: Vec::new(),
                                                no_tear: false,
                                            }],
                                            po,
                                        );
                                        let rmw = mk(
                                            vec![Action::Rmw {
                                                offset: length_location(*memory),
                                                read: crate::program::to_le(len, 8),
                                                written: crate::program::to_le(grown, 8),
                                            }],
                                            po + 1,
                                        );
                                        child(&st, vec![zeros, rmw], Some(mem.pages(len)), false);
                                    }
                                    if grown.is_none() || cfg.spurious_grow_failure {
                                        let read = mk(
                                            vec![length_read(*memory, MemOrder::SeqCst, len)],
                                            po,
                                        );
                                        child(&st, vec![read], Some(mem.grow_failure()), false);
                                    }
                                }
                            }
                        }
                    }
                    children.append(&mut traps);
                    for c in children.into_iter().rev() {
                        if c.step == usize::MAX {
                            let blocked_at = c.results.last().map(|r| r.0);
                            leaves.push(Unfolding {
                                events: c.events,
                                results: c.results,
                                blocked_at,
                            });
                        } else {
                            stack.push(c);
                        }
                    }
                    if leaves.len() + stack.len() > MAX_UNFOLDINGS {
                        return Err(ModelError::TooManyCandidates(MAX_UNFOLDINGS));
                    }
                    break;
                }
            }
        }
    }
    Ok(leaves)
}

/// A read of the length location of memory `m` that returns `len` (relaxed.rst
/// *Consistency*, note: bounds checks are unord reads, `memory.size` and a failing
/// `memory.grow` seq-cst ones). The length is one value: the read carries `noTear`.
fn length_read(m: usize, ord: MemOrder, len: u64) -> Action {
    Action::Read {
        ord,
        offset: length_location(m),
        bytes: crate::program::to_le(len, 8),
        no_tear: true,
    }
}

/// The unfolding that continues after the invoke in progress trapped on `check`, a bounds
/// check that read a length too small for the access.
fn trapped(st: &UnfoldState, check: Event) -> UnfoldState {
    let mut events = st.events.clone();
    events.push((check, st.step));
    let mut results = st.results.clone();
    results.push((st.step, InvokeResult::Trap));
    UnfoldState {
        step: st.step + 1,
        machine: None,
        events,
        results,
    }
}

/// Per-event facts used by the search, computed once per combination.
struct Info {
    start: Location,
    end: Location,
    read: Vec<u8>,
    write_ok: bool,
    sc: bool,
    tearfree: bool,
}

struct Combo<'a> {
    evs: Vec<&'a Event>,
    info: Vec<Info>,
    po: Relation,
    spawn: Relation,
    hb0: Relation,
}

impl Combo<'_> {
    fn same(&self, a: EventId, b: EventId) -> bool {
        let (x, y) = (&self.info[a], &self.info[b]);
        x.start < x.end && x.start == y.start && x.end == y.end
    }
    fn sync(&self, a: EventId, b: EventId) -> bool {
        self.info[a].sc && self.info[b].sc && self.same(a, b)
    }
    fn covers(&self, w: EventId, k: Location) -> bool {
        let i = &self.info[w];
        i.write_ok && i.start <= k && k < i.end
    }
}

/// Why a byte cannot read from a write (C6).
#[derive(Copy, Clone, Debug)]
enum C6Err {
    /// C6(1): the write happens after the read.
    Future,
    /// C6(3): this write of the byte is hb-between.
    Intervening(EventId),
}

/// C6 for one byte of read `r` from `w`: (1) not hb(R, W); (3) no writer of the byte
/// (`cover`: the events writing it) hb-after `w` and hb-before `r`.
fn c6(hb: &Relation, r: EventId, w: EventId, cover: u128) -> Result<(), C6Err> {
    if hb.get(r, w) {
        return Err(C6Err::Future);
    }
    let mut between = hb.row(w) & cover;
    while between != 0 {
        let w2 = between.trailing_zeros() as usize;
        between &= between - 1;
        if hb.get(w2, r) {
            return Err(C6Err::Intervening(w2));
        }
    }
    Ok(())
}

/// A failed candidate, with how far it got (higher is further).
#[derive(Clone, Debug)]
struct Fail {
    rank: (u8, u8),
    violation: Violation,
}

fn fail(rank: (u8, u8), rule: Rule, events: Vec<EventId>, detail: String) -> Fail {
    Fail {
        rank,
        violation: Violation::new(rule, events, detail),
    }
}

struct Found {
    rf: Vec<Vec<EventId>>,
    hb: Relation,
    g: Relation,
}

struct Search<'c, 'a> {
    c: &'c Combo<'a>,
    cfg: &'c Config,
    best: Option<Fail>,
    rf_candidates: usize,
    /// With a goal, only a consistent execution meeting it is found (the search goes on
    /// past the others).
    goal: Option<Goal>,
}

impl Search<'_, '_> {
    /// Records a failure, formatting its explanation only if it is the furthest so far.
    fn note_lazy(
        &mut self,
        rank: (u8, u8),
        rule: Rule,
        events: Vec<EventId>,
        detail: impl FnOnce() -> String,
    ) {
        if self.best.as_ref().is_none_or(|b| rank > b.rank) {
            self.best = Some(fail(rank, rule, events, detail()));
        }
    }

    /// Records a C6 failure of byte `k` of read `r` from `w`.
    fn note_c6(&mut self, rank: (u8, u8), r: EventId, w: EventId, k: Location, e: C6Err) {
        match e {
            C6Err::Future => self.note_lazy(rank, Rule::HbFuture, vec![r, w], || {
                format!("event {r} would read {at} from event {w}, which happens after it", at = crate::event::describe(k))
            }),
            C6Err::Intervening(w2) => self.note_lazy(rank, Rule::HbInterveningWrite, vec![r, w, w2], || {
                format!("event {r} would read {at} from event {w}, but event {w2} writes it in between (hb)", at = crate::event::describe(k))
            }),
        }
    }

    fn note(&mut self, f: Fail) {
        if self.best.as_ref().is_none_or(|b| f.rank > b.rank) {
            self.best = Some(f);
        }
    }

    /// Suspension orders per location, then reads-from and tot.
    fn run(&mut self) -> Option<Found> {
        let c = self.c;
        let n = c.evs.len();
        let mut by_loc: BTreeMap<Location, Vec<EventId>> = BTreeMap::new();
        for (i, e) in c.evs.iter().enumerate() {
            if let Some((loc, _)) = e.suspension() {
                by_loc.entry(loc).or_default().push(i);
            }
        }
        let mut per_loc: Vec<Vec<Vec<EventId>>> = Vec::new();
        for (&loc, s) in &by_loc {
            let mut orders = Vec::new();
            let mut cur = Vec::new();
            let mut last_err = None;
            self.linear_extensions(loc, s, &mut cur, &mut orders, &mut last_err);
            if orders.is_empty() {
                let v = last_err.unwrap_or_else(|| {
                    Violation::new(
                        Rule::SuspensionTotInHb,
                        s.clone(),
                        format!(
                            "no order of the suspension events on {at}",
                            at = crate::event::describe(loc)
                        ),
                    )
                });
                self.note(Fail {
                    rank: (1, 0),
                    violation: v,
                });
                return None;
            }
            per_loc.push(orders);
        }
        // Product over locations.
        let mut idx = vec![0usize; per_loc.len()];
        loop {
            let mut hb = c.hb0.clone();
            let mut cyclic = None;
            for (l, orders) in per_loc.iter().enumerate() {
                for w in orders[idx[l]].windows(2) {
                    if hb.get(w[1], w[0]) {
                        cyclic = Some((w[0], w[1]));
                    }
                    hb.add_closed(w[0], w[1]);
                }
            }
            match cyclic {
                Some((a, b)) => self.note_lazy((1, 1), Rule::HbAcyclic, vec![a, b], || {
                    format!("ordering suspension events {a} before {b} closes an hb cycle")
                }),
                None => {
                    debug_assert!(hb.len() == n);
                    if let Some(f) = self.rf_search(hb) {
                        return Some(f);
                    }
                }
            }
            if !next_combination(&mut idx, |l| per_loc[l].len()) {
                return None;
            }
        }
    }

    fn linear_extensions(
        &self,
        loc: Location,
        s: &[EventId],
        cur: &mut Vec<EventId>,
        out: &mut Vec<Vec<EventId>>,
        last_err: &mut Option<Violation>,
    ) {
        if cur.len() == s.len() {
            let seq: Vec<(EventId, ThreadId, SuspensionKind)> = cur
                .iter()
                .map(|&e| {
                    let ev = self.c.evs[e];
                    (
                        e,
                        ev.thread.unwrap_or(usize::MAX),
                        ev.suspension()
                            .map(|x| x.1)
                            .unwrap_or(SuspensionKind::Woken),
                    )
                })
                .collect();
            match queue_machine(loc, &seq, self.cfg.woken_order) {
                Ok(()) => out.push(cur.clone()),
                Err(v) => *last_err = Some(v),
            }
            return;
        }
        for &e in s {
            if cur.contains(&e) {
                continue;
            }
            // Every hb0-predecessor of e within s must already be placed.
            if s.iter()
                .any(|&p| p != e && !cur.contains(&p) && self.c.hb0.get(p, e))
            {
                continue;
            }
            cur.push(e);
            self.linear_extensions(loc, s, cur, out, last_err);
            cur.pop();
        }
    }

    /// Stage C: byte-wise reads-from with incremental sw edges.
    ///
    /// A read's options are *sets* `S` of source writes rather than per-byte assignments:
    /// every rule except C6(3) depends only on the set of distinct sources, and C6(3) is
    /// per byte and antitone in hb. So a set is feasible iff every byte has a valid
    /// source in it; the witness takes, per byte, the first valid one (if that leaves an
    /// element of `S` unused, the smaller set's execution is consistent too: fewer `sw`
    /// edges only weaken constraints). This avoids the 2⁸ assignments of an 8-byte read
    /// whose zero bytes could come from several writes (MODEL.md §5.7).
    fn rf_search(&mut self, hb: Relation) -> Option<Found> {
        let c = self.c;
        let n = c.evs.len();
        let reads: Vec<EventId> = (0..n).filter(|&r| !c.info[r].read.is_empty()).collect();
        let mut options: Vec<Vec<Vec<EventId>>> = Vec::with_capacity(reads.len());
        let mut cands: Vec<Vec<(u128, u128)>> = Vec::with_capacity(reads.len());
        for &r in &reads {
            let ri = &c.info[r];
            let mut per_byte: Vec<(u128, u128)> = Vec::with_capacity(ri.read.len());
            for (i, &b) in ri.read.iter().enumerate() {
                let k = ri.start + i as u64;
                let cover = (0..n)
                    .filter(|&w| c.covers(w, k))
                    .fold(0u128, |m, w| m | 1u128 << w);
                let by_value: Vec<EventId> = (0..n)
                    .filter(|&w| w != r && c.covers(w, k) && c.evs[w].byte_written_at(k) == Some(b))
                    .collect();
                if by_value.is_empty() {
                    let len = length_of(ri.start).map(|m| (m, crate::program::le_bits(&ri.read)));
                    self.note_lazy((2, 0), Rule::ValueConsistency, vec![r], || match len {
                        Some((m, len)) => format!("event {r} reads the length {len} of memory {m}, but no other event writes that length"),
                        None => format!("event {r} reads {b} at {at}, but no other event writes that byte there", at = crate::event::describe(k)),
                    });
                    return None;
                }
                let mut ok = 0u128;
                let mut why = None;
                for &w in &by_value {
                    match c6(&hb, r, w, cover) {
                        Ok(()) => ok |= 1u128 << w,
                        Err(e) => why = Some((w, e)),
                    }
                }
                if ok == 0 {
                    if let Some((w, e)) = why {
                        self.note_c6((2, 2), r, w, k, e);
                    }
                    return None;
                }
                per_byte.push((ok, cover));
            }
            let union: Vec<EventId> = {
                let u = per_byte.iter().fold(0u128, |m, &x| m | x.0);
                (0..n).filter(|&w| u >> w & 1 == 1).collect()
            };
            if union.len() > 16 {
                self.note_lazy((2, 1), Rule::ReadsEachFrom, vec![r], || {
                    "too many reads-from choices".into()
                });
                return None;
            }
            // Candidate source sets covering every byte: from the per-byte product or from
            // the subsets of the union, whichever is smaller; C8-filtered, smallest first.
            let product: f64 = per_byte
                .iter()
                .map(|&(p, _)| p.count_ones() as f64)
                .product();
            let mut sets: Vec<Vec<EventId>> = Vec::new();
            if product <= (1u64 << union.len()) as f64 {
                let mut acc: Vec<u128> = vec![0];
                for &(p, _) in &per_byte {
                    let mut next = Vec::with_capacity(acc.len() * p.count_ones() as usize);
                    for &m in &acc {
                        let mut bits = p;
                        while bits != 0 {
                            let w = bits.trailing_zeros();
                            bits &= bits - 1;
                            next.push(m | 1u128 << w);
                        }
                    }
                    next.sort_unstable();
                    next.dedup();
                    acc = next;
                }
                for m in acc {
                    sets.push((0..n).filter(|&w| m >> w & 1 == 1).collect());
                }
            } else {
                for mask in 1u32..(1u32 << union.len()) {
                    let set: Vec<EventId> = union
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| mask >> j & 1 == 1)
                        .map(|(_, &w)| w)
                        .collect();
                    let bits = set.iter().fold(0u128, |m, &w| m | 1u128 << w);
                    if per_byte.iter().all(|&(p, _)| p & bits != 0) {
                        sets.push(set);
                    }
                }
            }
            let mut opts: Vec<Vec<EventId>> = Vec::new();
            let mut tore = false;
            for set in sets {
                if ri.tearfree
                    && set
                        .iter()
                        .filter(|&&w| c.same(w, r) && c.info[w].tearfree)
                        .count()
                        > 1
                {
                    tore = true;
                    continue;
                }
                opts.push(set);
            }
            if opts.is_empty() {
                let rule = if tore {
                    Rule::NoTear
                } else {
                    Rule::ReadsEachFrom
                };
                self.note_lazy((2, 1), rule, vec![r], || format!("tear-free event {r} would have to combine bytes of different same-range tear-free writes"));
                return None;
            }
            opts.sort_by_key(|o| o.len());
            options.push(opts);
            cands.push(per_byte);
        }
        let mut chosen: Vec<Vec<EventId>> = vec![Vec::new(); reads.len()];
        self.rf_dfs(&reads, &options, &cands, 0, &hb, hb.clone(), &mut chosen)
    }

    /// Whether every byte of read `r` has a source in `set` valid under `hb` (C6).
    fn feasible(
        &mut self,
        hb: &Relation,
        r: EventId,
        set: &[EventId],
        cands: &[(u128, u128)],
    ) -> bool {
        let start = self.c.info[r].start;
        for (b, &(cm, cover)) in cands.iter().enumerate() {
            let mut last = None;
            let ok = set.iter().any(|&w| {
                cm >> w & 1 == 1
                    && match c6(hb, r, w, cover) {
                        Ok(()) => true,
                        Err(e) => {
                            last = Some((w, e));
                            false
                        }
                    }
            });
            if !ok {
                if let Some((w, e)) = last {
                    self.note_c6((2, 3), r, w, start + b as u64, e);
                }
                return false;
            }
        }
        true
    }

    /// Per byte of read `r`, the first source in `set` valid under `hb` (C6).
    fn assign(
        &mut self,
        hb: &Relation,
        r: EventId,
        set: &[EventId],
        cands: &[(u128, u128)],
    ) -> Option<Vec<EventId>> {
        let start = self.c.info[r].start;
        let mut out = Vec::with_capacity(cands.len());
        for (b, &(cm, cover)) in cands.iter().enumerate() {
            let mut last = None;
            let mut pick = None;
            for &w in set {
                if cm >> w & 1 == 0 {
                    continue;
                }
                match c6(hb, r, w, cover) {
                    Ok(()) => {
                        pick = Some(w);
                        break;
                    }
                    Err(e) => last = Some((w, e)),
                }
            }
            match (pick, last) {
                (Some(w), _) => out.push(w),
                (None, Some((w, e))) => {
                    self.note_c6((2, 3), r, w, start + b as u64, e);
                    return None;
                }
                (None, None) => return None,
            }
        }
        Some(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn rf_dfs(
        &mut self,
        reads: &[EventId],
        options: &[Vec<Vec<EventId>>],
        cands: &[Vec<(u128, u128)>],
        i: usize,
        base: &Relation,
        hb: Relation,
        chosen: &mut Vec<Vec<EventId>>,
    ) -> Option<Found> {
        let c = self.c;
        let n = c.evs.len();
        if i == reads.len() {
            self.rf_candidates += 1;
            // Per-byte sources, then the least hb of exactly that rf.
            let mut rf: Vec<Vec<EventId>> = vec![Vec::new(); n];
            for (j, &r) in reads.iter().enumerate() {
                match self.assign(&hb, r, &chosen[j], &cands[j]) {
                    Some(a) => rf[r] = a,
                    None => return None,
                }
            }
            let mut least = base.clone();
            for &r in reads {
                let mut ws = rf[r].clone();
                ws.sort_unstable();
                ws.dedup();
                for w in ws {
                    if c.sync(w, r) {
                        least.add_closed(w, r);
                    }
                }
            }
            let found = self.tot_search(least, &rf);
            return match (found, self.goal) {
                (Some(f), Some(goal)) if !goal(&c.evs, &f.hb) => None,
                (found, _) => found,
            };
        }
        let r = reads[i];
        'opt: for set in &options[i] {
            let mut hb2 = hb.clone();
            for &w in set {
                if c.sync(w, r) {
                    if hb2.get(r, w) {
                        self.note_lazy((2, 3), Rule::HbFuture, vec![r, w], || {
                            format!("event {r} would read from event {w}, which happens after it")
                        });
                        continue 'opt;
                    }
                    hb2.add_closed(w, r);
                }
            }
            chosen[i] = set.clone();
            // Re-check C6 of the resolved reads under the grown hb (only this read if the
            // new sw edges did not change hb).
            let from = if hb2 == hb { i } else { 0 };
            for j in from..=i {
                let r2 = reads[j];
                for &w in &chosen[j] {
                    if hb2.get(r2, w) {
                        self.note_lazy((2, 3), Rule::HbFuture, vec![r2, w], || {
                            format!("event {r2} would read from event {w}, which happens after it")
                        });
                        continue 'opt;
                    }
                }
                if !self.feasible(&hb2, r2, &chosen[j], &cands[j]) {
                    continue 'opt;
                }
            }
            if let Some(found) = self.rf_dfs(reads, options, cands, i + 1, base, hb2, chosen) {
                return Some(found);
            }
        }
        chosen[i].clear();
        None
    }

    /// Stage D: a total order on REL satisfying C7, extending hb.
    fn tot_search(&mut self, hb: Relation, rf: &[Vec<EventId>]) -> Option<Found> {
        let c = self.c;
        let n = c.evs.len();
        let sc_writers: Vec<EventId> = (0..n)
            .filter(|&w| c.info[w].write_ok && c.info[w].sc)
            .collect();
        let mut dagger = Vec::new();
        let mut ddagger = Vec::new();
        let mut disj = Vec::new();
        for (r, srcs) in rf.iter().enumerate() {
            let mut ws = srcs.clone();
            ws.sort_unstable();
            ws.dedup();
            for &w in &ws {
                if !hb.get(w, r) {
                    continue;
                }
                for &w2 in &sc_writers {
                    if c.sync(w, r) && w2 != w && w2 != r && c.sync(w2, r) {
                        disj.push((w2, w, r));
                    }
                    if self.cfg.dagger && w2 != r && hb.get(w, w2) && c.sync(w2, r) {
                        dagger.push((r, w2, w));
                    }
                    if self.cfg.ddagger && w2 != w && hb.get(w2, r) && c.sync(w, w2) {
                        ddagger.push((w2, w, r));
                    }
                }
            }
        }
        // Each (†)/(‡) pair (a, b) puts a tot-before b: in g (hb and the pairs so far, closed),
        // unless that closes a cycle.
        let mut g = hb.clone();
        let mut ordered = |a: EventId, b: EventId| {
            let acyclic = a != b && !g.get(b, a);
            if acyclic {
                g.add_closed(a, b);
            }
            acyclic
        };
        for &(a, b, w) in &dagger {
            if !ordered(a, b) {
                self.note_lazy((3, 1), Rule::ScLastVisibleDagger, vec![a, w, b], || format!(
                        "event {a} reads from event {w}; same-range SC write {b} is hb-after {w}, so (†) needs {a} tot-before {b}, which closes a cycle"
                    ));
                return None;
            }
        }
        for &(a, b, r) in &ddagger {
            if !ordered(a, b) {
                self.note_lazy((3, 2), Rule::ScLastVisibleDdagger, vec![r, b, a], || format!(
                        "event {r} reads from SC write {b}; same-range SC write {a} is hb-before {r}, so (‡) needs {a} tot-before {b}, which closes a cycle"
                    ));
                return None;
            }
        }
        match self.disjunctions(&disj, 0, g) {
            Some(g) => Some(Found {
                rf: rf.to_vec(),
                hb,
                g,
            }),
            None => {
                let evs = disj
                    .first()
                    .map(|d| vec![d.2, d.1, d.0])
                    .unwrap_or_default();
                self.note_lazy((3, 3), Rule::ScLastVisible, evs, || "every total order puts a same-range SC write between a synchronising read and its source".into());
                None
            }
        }
    }

    /// C7(1): for each `(W', W, R)`: `W' → W` or `R → W'` ("W' not tot-between W and R").
    fn disjunctions(
        &self,
        disj: &[(EventId, EventId, EventId)],
        i: usize,
        g: Relation,
    ) -> Option<Relation> {
        let Some(&(w2, w, r)) = disj.get(i) else {
            return Some(g);
        };
        if g.get(w2, w) || g.get(r, w2) {
            return self.disjunctions(disj, i + 1, g);
        }
        for (a, b) in [(w2, w), (r, w2)] {
            if !g.get(b, a) {
                let mut g2 = g.clone();
                g2.add_closed(a, b);
                if let Some(done) = self.disjunctions(disj, i + 1, g2) {
                    return Some(done);
                }
            }
        }
        None
    }
}

/// A topological order of an acyclic, closed relation, smallest index first; returns the
/// position of each event.
fn linearise(g: &Relation) -> Vec<usize> {
    let n = g.len();
    let mut preds = vec![0u128; n];
    for a in 0..n {
        for (b, p) in preds.iter_mut().enumerate() {
            if g.get(a, b) {
                *p |= 1u128 << a;
            }
        }
    }
    let mut placed = 0u128;
    let mut pos = vec![0usize; n];
    for p in 0..n {
        let next = (0..n)
            .find(|&e| placed >> e & 1 == 0 && preds[e] & !placed == 0)
            .unwrap_or(0);
        placed |= 1u128 << next;
        pos[next] = p;
    }
    pos
}

/// Where a thread stops in a combination: the step of a blocked invoke or of a join on a
/// thread that never finishes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Cut {
    None,
    BlockedInvoke(usize),
    BlockedJoin(usize),
}

fn compute_cut(
    prog: &Program,
    pick: &[&Unfolding],
    t: ThreadId,
    memo: &mut Vec<Option<Cut>>,
) -> Cut {
    if let Some(c) = memo[t] {
        return c;
    }
    let mut cut = Cut::None;
    for (s, step) in prog.threads[t].steps.iter().enumerate() {
        match step {
            ScriptStep::Invoke { .. } if pick[t].blocked_at == Some(s) => {
                cut = Cut::BlockedInvoke(s);
                break;
            }
            ScriptStep::Join(c) if compute_cut(prog, pick, *c, memo) != Cut::None => {
                cut = Cut::BlockedJoin(s);
                break;
            }
            _ => {}
        }
    }
    memo[t] = Some(cut);
    cut
}

fn included(cut: Cut, step: usize) -> bool {
    match cut {
        Cut::None => true,
        Cut::BlockedInvoke(s) => step <= s,
        Cut::BlockedJoin(s) => step < s,
    }
}

/// Enumerates all allowed outcomes of `program` under `cfg` (MODEL.md §5), with a witness
/// execution each, and the forbidden candidate outcomes with the rule that rules them out.
///
/// # Errors
/// [`ModelError`] if the program is too large for exhaustive search, or (a bug) if the
/// literal checker rejects a witness.
pub fn enumerate(program: &Program, cfg: &Config) -> Result<Enumeration, ModelError> {
    match search(program, cfg, None)? {
        Searched::All(e) => Ok(e),
        Searched::Goal(_) => unreachable!("no goal was given"),
    }
}

/// A property of a consistent execution that [`search_executions`] looks for: its events
/// and its least happens-before.
pub(crate) type Goal = fn(&[&Event], &Relation) -> bool;

/// The first consistent execution of `program` (in the enumerator's order) whose events
/// and least happens-before satisfy `goal`, searching every combination of unfoldings,
/// suspension orders and reads-from (the enumerator proper stops at one witness per
/// outcome). Confirmed by the literal checker.
///
/// # Errors
/// As [`enumerate`].
pub(crate) fn search_executions(
    program: &Program,
    cfg: &Config,
    goal: Goal,
) -> Result<Option<Execution>, ModelError> {
    match search(program, cfg, Some(goal))? {
        Searched::Goal(ex) => Ok(ex),
        Searched::All(_) => unreachable!("a goal was given"),
    }
}

/// What [`search`] found: all outcomes (no goal), or the execution meeting the goal.
enum Searched {
    All(Enumeration),
    Goal(Option<Execution>),
}

#[allow(clippy::map_entry)] // the search runs between the lookup and the insert
fn search(program: &Program, cfg: &Config, goal: Option<Goal>) -> Result<Searched, ModelError> {
    let prog = program;
    let nthreads = prog.threads.len();
    // Static bound on how many waiters a notify can wake: waits in other threads.
    let waits: Vec<u32> = prog
        .threads
        .iter()
        .map(|t| {
            t.steps
                .iter()
                .map(|s| match s {
                    ScriptStep::Invoke { func, .. } => func
                        .body
                        .iter()
                        .filter(|(i, _)| matches!(i, Instr::Wait { .. }))
                        .count() as u32,
                    _ => 0,
                })
                .sum()
        })
        .collect();
    let total_waits: u32 = waits.iter().sum();
    let writes: usize = prog
        .threads
        .iter()
        .flat_map(|t| t.steps.iter())
        .map(|s| match s {
            ScriptStep::Invoke { func, .. } => func
                .body
                .iter()
                .filter(|(i, _)| {
                    matches!(
                        i,
                        Instr::Store { .. }
                            | Instr::Rmw { .. }
                            | Instr::Cmpxchg { .. }
                            | Instr::MemoryGrow { .. }
                            | Instr::MemoryFill { .. }
                            | Instr::MemoryCopy { .. }
                            | Instr::MemoryInit { .. }
                    )
                })
                .count(),
            _ => 0,
        })
        .sum();

    // Stage A with the value-domain fixpoint.
    let mut stats = Stats::default();
    let mut dom = Domain {
        bytes: BTreeMap::new(),
        seeds: cfg.thin_air_seeds.clone(),
        lengths: BTreeMap::new(),
    };
    let max_rounds = writes + 2;
    let mut unfoldings: Vec<Vec<Unfolding>> = loop {
        stats.domain_rounds += 1;
        let mut all = Vec::with_capacity(nthreads);
        for (t, w) in waits.iter().enumerate() {
            all.push(unfold_thread(prog, t, &dom, cfg, total_waits - w)?);
        }
        let mut next = dom.clone();
        for u in all.iter().flatten() {
            for (e, _) in &u.events {
                let (s, _) = e.range();
                if let Some(m) = length_of(s) {
                    if e.writing() {
                        let len = crate::program::le_bits(e.write());
                        next.lengths.entry(m).or_default().insert(len);
                    }
                    continue;
                }
                for (j, &b) in e.write().iter().enumerate() {
                    next.bytes.entry(s + j as u64).or_default().insert(b);
                }
            }
        }
        if next == dom {
            break all;
        }
        if stats.domain_rounds >= max_rounds {
            stats.domain_truncated = true;
            break all;
        }
        dom = next;
    };
    stats.unfoldings = unfoldings.iter().map(|u| u.len()).collect();
    let total: f64 = unfoldings.iter().map(|u| u.len() as f64).product();
    if total > (MAX_UNFOLDINGS * 64) as f64 {
        return Err(ModelError::TooManyCandidates(MAX_UNFOLDINGS * 64));
    }

    // The init writes, one per memory (modules.rst *allocmem*): each covers every byte of
    // its memory that any unfolding accesses.
    let mut ranges: BTreeMap<usize, (Location, Location)> = BTreeMap::new();
    for u in unfoldings.iter().flatten() {
        for (e, _) in &u.events {
            let (s, x) = e.range();
            if s < x && length_of(s).is_none() {
                let (memory, _) = memory_and_address(s);
                let r = ranges.entry(memory).or_insert((s, x));
                r.0 = r.0.min(s);
                r.1 = r.1.max(x);
            }
        }
    }
    if ranges.is_empty() {
        ranges.insert(0, (0, 0));
    }
    fill_zero_writes(&mut unfoldings, &ranges);
    // The init write covers the initial bytes only: bytes beyond a memory's initial length
    // exist only after a grow, whose write of zeros they read.
    for (&memory, r) in ranges.iter_mut() {
        if let Some(mem) = prog.memories.get(memory) {
            let end = location(memory, mem.size);
            r.1 = r.1.min(end);
            r.0 = r.0.min(r.1);
        }
    }
    let mut inits: Vec<Event> = ranges
        .iter()
        .filter(|&(&memory, &(lo, hi))| lo < hi || memory == 0 && ranges.len() == 1)
        .map(|(memory, &(lo, hi))| Event {
            thread: None,
            po_index: 0,
            actions: vec![Action::Write {
                ord: MemOrder::Init,
                offset: lo,
                bytes: (lo..hi).map(|k| prog.init_byte(k)).collect(),
                no_tear: false,
            }],
            label: if prog.memories.len() == 1 {
                "init: allocation of the shared memory".into()
            } else {
                format!("init: allocation of shared memory {memory}")
            },
        })
        .collect();
    // The allocation of a memory whose length varies also writes its length location
    // (modules.rst *allocmem*: `WR_seqcst a.len n`), before every thread runs.
    for (m, mem) in prog.memories.iter().enumerate() {
        if mem.growable {
            inits.push(Event {
                thread: None,
                po_index: 0,
                actions: vec![Action::Write {
                    ord: MemOrder::SeqCst,
                    offset: length_location(m),
                    bytes: crate::program::to_le(mem.size, 8),
                    no_tear: true,
                }],
                label: format!("init: length of shared memory {m}"),
            });
        }
    }

    // Outcome threads: those with invokes, in file order, main last.
    let mut out_threads: Vec<ThreadId> = (1..nthreads).collect();
    out_threads.push(0);
    out_threads.retain(|&t| {
        prog.threads[t]
            .steps
            .iter()
            .any(|s| matches!(s, ScriptStep::Invoke { .. }))
    });

    let mut allowed: HashMap<Outcome, Execution> = HashMap::new();
    let mut forbidden: HashMap<Outcome, Fail> = HashMap::new();
    let mut idx = vec![0usize; nthreads];
    if unfoldings.iter().any(|u| u.is_empty()) {
        if goal.is_some() {
            return Ok(Searched::Goal(None));
        }
        return Ok(Searched::All(Enumeration {
            allowed: IndexMap::new(),
            forbidden: IndexMap::new(),
            stats,
        }));
    }
    loop {
        let pick: Vec<&Unfolding> = (0..nthreads).map(|t| &unfoldings[t][idx[t]]).collect();
        let mut memo = vec![None; nthreads];
        let cuts: Vec<Cut> = (0..nthreads)
            .map(|t| compute_cut(prog, &pick, t, &mut memo))
            .collect();
        // Reached: the parent got past the spawn step.
        let mut reached = vec![true; nthreads];
        for t in 1..nthreads {
            if let Some(p) = prog.threads[t].parent {
                let s = spawn_step(prog, p, t);
                reached[t] = reached[p]
                    && included(cuts[p], s)
                    && !matches!(cuts[p], Cut::BlockedInvoke(b) if b == s);
            }
        }
        // The outcome.
        let mut outcome = Outcome::default();
        for &t in &out_threads {
            let mut rs = Vec::new();
            if reached[t] {
                for (s, r) in &pick[t].results {
                    if included(cuts[t], *s) {
                        rs.push(r.clone());
                    }
                }
                if let Cut::BlockedJoin(j) = cuts[t] {
                    if prog.threads[t].steps[j..]
                        .iter()
                        .any(|s| matches!(s, ScriptStep::Invoke { .. }))
                    {
                        rs.push(InvokeResult::Blocked);
                    }
                }
            }
            outcome.threads.push((prog.threads[t].name.clone(), rs));
        }
        if goal.is_some() || !allowed.contains_key(&outcome) {
            stats.combinations += 1;
            let combo = build_combo(prog, &pick, &cuts, &reached, &inits, cfg)?;
            let mut search = Search {
                c: &combo,
                cfg,
                best: None,
                rf_candidates: 0,
                goal,
            };
            let found = search.run();
            stats.rf_candidates += search.rf_candidates;
            match found {
                Some(f) => {
                    let ex = witness(&combo, f);
                    if let Err(v) = check_execution(&ex, cfg) {
                        return Err(ModelError::WitnessRejected {
                            outcome: outcome.to_string(),
                            violation: v.to_string(),
                        });
                    }
                    if goal.is_some() {
                        return Ok(Searched::Goal(Some(ex)));
                    }
                    forbidden.remove(&outcome);
                    allowed.insert(outcome, ex);
                }
                None => {
                    let f = search.best.unwrap_or_else(|| {
                        fail((0, 0), Rule::ReadsEachFrom, vec![], "no candidate".into())
                    });
                    match forbidden.get(&outcome) {
                        Some(old) if old.rank >= f.rank => {}
                        _ => {
                            forbidden.insert(outcome, f);
                        }
                    }
                }
            }
        }
        // Next combination.
        if !next_combination(&mut idx, |t| unfoldings[t].len()) {
            if goal.is_some() {
                return Ok(Searched::Goal(None));
            }
            let mut a: Vec<(Outcome, Execution)> = allowed.into_iter().collect();
            a.sort_by(|x, y| x.0.cmp(&y.0));
            let mut f: Vec<(Outcome, Violation)> = forbidden
                .into_iter()
                .map(|(o, f)| (o, f.violation))
                .collect();
            f.sort_by(|x, y| x.0.cmp(&y.0));
            return Ok(Searched::All(Enumeration {
                allowed: a.into_iter().collect(),
                forbidden: f.into_iter().collect(),
                stats,
            }));
        }
    }
}

/// Gives every grow's write of zeros (instructions.rst *memory.grow*: `WR a.data[l] (0)^k`,
/// the event just before the grow's RMW of the length) the bytes of `[l, l + k)` that some
/// unfolding accesses (`ranges`, per memory), as the init write covers the accessed initial
/// bytes; a write that covers none of them is left out.
fn fill_zero_writes(
    unfoldings: &mut [Vec<Unfolding>],
    ranges: &BTreeMap<usize, (Location, Location)>,
) {
    for u in unfoldings.iter_mut().flatten() {
        let mut keep = vec![true; u.events.len()];
        for i in 1..u.events.len() {
            let (start, _) = u.events[i].0.range();
            let Some(m) = length_of(start) else { continue };
            let Some(Action::Rmw { read, written, .. }) = u.events[i].0.access() else {
                continue;
            };
            let (old, new) = (
                crate::program::le_bits(read),
                crate::program::le_bits(written),
            );
            let (lo, hi) = ranges.get(&m).copied().unwrap_or((0, 0));
            let from = location(m, old).max(lo);
            let to = location(m, new).min(hi);
            let zeros = &mut u.events[i - 1].0;
            if let Some(Action::Write { offset, bytes, .. }) = zeros.actions.first_mut() {
                if from < to {
                    *offset = from;
                    *bytes = vec![0; (to - from) as usize];
                } else {
                    keep[i - 1] = false;
                }
            }
        }
        let mut k = keep.iter();
        u.events.retain(|_| *k.next().unwrap_or(&true));
    }
}

fn build_combo<'a>(
    prog: &Program,
    pick: &[&'a Unfolding],
    cuts: &[Cut],
    reached: &[bool],
    inits: &'a [Event],
    cfg: &Config,
) -> Result<Combo<'a>, ModelError> {
    let nthreads = prog.threads.len();
    let mut evs: Vec<&'a Event> = inits.iter().collect();
    let mut steps: Vec<usize> = vec![0; inits.len()];
    let mut of_thread: Vec<Vec<EventId>> = vec![Vec::new(); nthreads];
    for t in 0..nthreads {
        if !reached[t] {
            continue;
        }
        for (e, s) in &pick[t].events {
            if included(cuts[t], *s) {
                of_thread[t].push(evs.len());
                evs.push(e);
                steps.push(*s);
            }
        }
    }
    let n = evs.len();
    if n > MAX_EVENTS {
        return Err(ModelError::TooManyEvents(n));
    }
    let mut po = Relation::new(n);
    for ids in &of_thread {
        for (x, &a) in ids.iter().enumerate() {
            for &b in &ids[x + 1..] {
                po.set(a, b);
            }
        }
    }
    // Script order: the init writes before everything else; spawn and join edges (MODEL.md
    // §3.1, §5.3).
    let mut spawn = Relation::new(n);
    for i in 0..inits.len() {
        for e in inits.len()..n {
            spawn.set(i, e);
        }
    }
    let bits = |ids: &[EventId]| ids.iter().fold(0u128, |m, &e| m | 1u128 << e);
    // before_start[t]: events hb-before t's first step; done[t]: t's events and joined ones.
    let mut before_start = vec![0u128; nthreads];
    for t in 1..nthreads {
        // Parents have smaller indices (threads are numbered in file order).
        if let Some(p) = prog.threads[t].parent {
            let s = spawn_step(prog, p, t);
            let earlier: Vec<EventId> = of_thread[p]
                .iter()
                .copied()
                .filter(|&e| steps[e] < s)
                .collect();
            before_start[t] = before_start[p] | bits(&earlier);
        }
    }
    let mut done = vec![0u128; nthreads];
    for t in (0..nthreads).rev() {
        let mut d = bits(&of_thread[t]);
        for st in &prog.threads[t].steps {
            if let ScriptStep::Join(c) = st {
                d |= done[*c];
            }
        }
        done[t] = d;
    }
    for t in 0..nthreads {
        for &e in &of_thread[t] {
            let mut preds = before_start[t];
            for (s, st) in prog.threads[t].steps.iter().enumerate() {
                if let ScriptStep::Join(c) = st {
                    if s < steps[e] {
                        preds |= done[*c];
                    }
                }
            }
            for p in 0..n {
                if preds >> p & 1 == 1 {
                    spawn.set(p, e);
                }
            }
        }
    }
    spawn.close();
    let mut hb0 = po.clone();
    for (a, b) in spawn.pairs() {
        hb0.set(a, b);
    }
    hb0.close();
    let info = evs
        .iter()
        .map(|e| {
            let (start, end) = e.range();
            Info {
                start,
                end,
                read: e.read().to_vec(),
                write_ok: e.writing(),
                sc: e.ord() == Some(MemOrder::SeqCst),
                tearfree: e.tearfree(cfg.literal_tearfree),
            }
        })
        .collect();
    Ok(Combo {
        evs,
        info,
        po,
        spawn,
        hb0,
    })
}

fn witness(c: &Combo<'_>, f: Found) -> Execution {
    Execution {
        events: c.evs.iter().map(|e| (*e).clone()).collect(),
        po: c.po.clone(),
        spawn: c.spawn.clone(),
        rf: f.rf,
        tot: linearise(&f.g),
        hb: f.hb,
    }
}

/// Steps `idx`, a combination of one index per position (position `i` below `len(i)`), to
/// the next in odometer order, position 0 fastest; `false` (and `idx` back to all zeros)
/// after the last one.
fn next_combination(idx: &mut [usize], len: impl Fn(usize) -> usize) -> bool {
    for (i, x) in idx.iter_mut().enumerate() {
        *x += 1;
        if *x < len(i) {
            return true;
        }
        *x = 0;
    }
    false
}

/// The index of the step of thread `parent` that spawns thread `t` (0 if it has none).
fn spawn_step(prog: &Program, parent: usize, t: usize) -> usize {
    prog.threads[parent]
        .steps
        .iter()
        .position(|x| *x == ScriptStep::Spawn(t))
        .unwrap_or(0)
}
