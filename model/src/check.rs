//! The consistency predicate as executable checks (relaxed.rst; MODEL.md §4 C0–C11).
//!
//! [`check_execution`] is a literal transcription: it checks one given execution and
//! returns the first [`Rule`] it breaks. The enumerator ([`crate::enumerate()`]) uses a
//! constraint formulation of the same rules and runs this checker on every witness.

use crate::config::{Config, WokenOrder};
use crate::event::{EventId, MemOrder, SuspensionKind, ThreadId};
use crate::execution::Execution;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// A named rule of the consistency predicate (MODEL.md §4). Its [`Rule::name`] is what
/// users read as "why is this outcome forbidden".
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Rule {
    /// C0: `hb` is irreflexive (for the least hb: po ∪ sw ∪ … is acyclic).
    HbAcyclic,
    /// C0: `hb` is transitive.
    HbTransitive,
    /// C0: `po ⊆ hb` and the script's spawn/join order ⊆ hb (runtime.rst l.758–850).
    PoInHb,
    /// C0: `hb ⊆ tot` (paper p.16; MODEL.md §7.3 erratum 5) and `tot` is a total order.
    HbInTot,
    /// C2: every event overlapping an init write is hb-after it (relaxed.rst l.121–124).
    InitOrdering,
    /// C3: a reading event has exactly one source per byte read (relaxed.rst *reads-each-from*).
    ReadsEachFrom,
    /// C4: the source of a byte is another event that writes that byte.
    ReadsFromSource,
    /// C5: the source wrote the byte value that was read (*value consistency*).
    ValueConsistency,
    /// C6(1): no read from a write that happens after it.
    HbFuture,
    /// C6(2): a `sync` pair in reads-from is in hb (synchronises-with).
    SyncInHb,
    /// C6(3): no write to the byte happens between the source and the read.
    HbInterveningWrite,
    /// C7(1): an SC read that synchronises reads the tot-latest same-range SC write.
    ScLastVisible,
    /// C7(2) (†): no same-range SC write hb-after the source and tot-before the read.
    ScLastVisibleDagger,
    /// C7(3) (‡): no same-range SC write tot-after an SC source and hb-before the read.
    ScLastVisibleDdagger,
    /// C8: a tear-free read reads at most one same-range tear-free write.
    NoTear,
    /// C9(a): suspension events on one location are ordered by hb as by tot.
    SuspensionTotInHb,
    /// C9(b): the FIFO waiter queue of a location explains WAIT/WOKEN/TIMEOUT/NOTIFY.
    SuspensionQueue,
}

impl Rule {
    /// Stable, human-readable name with the MODEL.md §4 number, e.g. `"C7(†) sc-last-visible"`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::HbAcyclic => "C0 hb-acyclic",
            Rule::HbTransitive => "C0 hb-transitive",
            Rule::PoInHb => "C0 po-in-hb",
            Rule::HbInTot => "C0 hb-in-tot",
            Rule::InitOrdering => "C2 init-ordering",
            Rule::ReadsEachFrom => "C3 reads-each-from",
            Rule::ReadsFromSource => "C4 reads-from",
            Rule::ValueConsistency => "C5 value-consistency",
            Rule::HbFuture => "C6(1) hb-consistency: read from the hb-future",
            Rule::SyncInHb => "C6(2) hb-consistency: sync without hb",
            Rule::HbInterveningWrite => "C6(3) hb-consistency: hb-intervening write",
            Rule::ScLastVisible => "C7(1) sc-last-visible",
            Rule::ScLastVisibleDagger => "C7(†) sc-last-visible",
            Rule::ScLastVisibleDdagger => "C7(‡) sc-last-visible",
            Rule::NoTear => "C8 no-tear",
            Rule::SuspensionTotInHb => "C9(a) suspension: tot implies hb",
            Rule::SuspensionQueue => "C9(b) suspension: waiter queue",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken rule, with the events involved and a one-line explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// The events involved (meaning depends on the rule; stated in `detail`).
    pub events: Vec<EventId>,
    /// Explanation, e.g. `"event 3 reads byte 4 from event 5, which happens after it"`.
    pub detail: String,
}

impl Violation {
    pub(crate) fn new(rule: Rule, events: Vec<EventId>, detail: impl Into<String>) -> Violation {
        Violation {
            rule,
            events,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

/// Checks one execution against every rule of MODEL.md §4 (C0–C9; C10/C11 are how `hb`
/// and `tot` are built and are checked through C0, C6(2) and C9(a)).
///
/// Returns the first violated rule, checking C0, C2, then every reading event in event
/// order (C3–C8), then C9. The execution's relations must be over exactly its events.
///
/// # Errors
/// A [`Violation`] naming the broken rule.
pub fn check_execution(ex: &Execution, cfg: &Config) -> Result<(), Violation> {
    let n = ex.events.len();
    let h = |a: EventId, b: EventId| ex.hb.get(a, b);
    let t = |a: EventId, b: EventId| ex.tot_before(a, b);
    let evs = &ex.events;

    // C0. Well-formedness.
    if ex.hb.len() != n || ex.po.len() != n || ex.spawn.len() != n || ex.rf.len() != n {
        return Err(Violation::new(
            Rule::HbAcyclic,
            vec![],
            "relations are not over the execution's events",
        ));
    }
    let mut seen = vec![false; n];
    for &p in &ex.tot {
        if p >= n || seen[p] {
            return Err(Violation::new(
                Rule::HbInTot,
                vec![],
                "tot is not a permutation of the events",
            ));
        }
        seen[p] = true;
    }
    if ex.tot.len() != n {
        return Err(Violation::new(
            Rule::HbInTot,
            vec![],
            "tot does not order every event",
        ));
    }
    for a in 0..n {
        if h(a, a) {
            return Err(Violation::new(
                Rule::HbAcyclic,
                vec![a],
                format!("event {a} happens before itself"),
            ));
        }
    }
    for a in 0..n {
        for b in 0..n {
            if h(a, b) {
                for c in 0..n {
                    if h(b, c) && !h(a, c) {
                        return Err(Violation::new(
                            Rule::HbTransitive,
                            vec![a, b, c],
                            "hb is not transitive",
                        ));
                    }
                }
                if !t(a, b) {
                    return Err(Violation::new(
                        Rule::HbInTot,
                        vec![a, b],
                        format!("event {a} happens before event {b} but is not tot-before it"),
                    ));
                }
            }
            if (ex.po.get(a, b) || ex.spawn.get(a, b)) && !h(a, b) {
                return Err(Violation::new(
                    Rule::PoInHb,
                    vec![a, b],
                    format!(
                        "event {a} is program/script-ordered before event {b} but not hb-before it"
                    ),
                ));
            }
        }
    }

    // C2. Init ordering.
    for (i, ev) in evs.iter().enumerate() {
        if ev.ord() == Some(MemOrder::Init) {
            for (j, e) in evs.iter().enumerate() {
                if i != j && ev.overlap(e) && !h(i, j) {
                    return Err(Violation::new(
                        Rule::InitOrdering,
                        vec![i, j],
                        format!("event {j} overlaps init write {i} but does not happen after it"),
                    ));
                }
            }
        }
    }

    // C3–C8, for every reading event.
    for (r, rev) in evs.iter().enumerate() {
        let read = rev.read();
        let srcs = &ex.rf[r];
        if srcs.len() != read.len() {
            return Err(Violation::new(
                Rule::ReadsEachFrom,
                vec![r],
                format!(
                    "event {r} reads {} bytes but has {} reads-from sources",
                    read.len(),
                    srcs.len()
                ),
            ));
        }
        let (start, _) = rev.range();
        for (i, &w) in srcs.iter().enumerate() {
            let k = start + i as u64;
            // C4.
            if w == r || w >= n || !evs[w].writing() || !evs[w].covers(k) {
                return Err(Violation::new(
                    Rule::ReadsFromSource,
                    vec![r, w],
                    format!(
                        "event {r} byte {i} ({at}) cannot read from event {w}",
                        at = crate::event::describe(k)
                    ),
                ));
            }
            let wev = &evs[w];
            // C5.
            if wev.byte_written_at(k) != Some(read[i]) {
                return Err(Violation::new(
                    Rule::ValueConsistency,
                    vec![r, w],
                    format!(
                        "event {r} read {} at {at}, event {w} wrote {:?}",
                        read[i],
                        wev.byte_written_at(k),
                        at = crate::event::describe(k)
                    ),
                ));
            }
            // C6.
            if h(r, w) {
                return Err(Violation::new(
                    Rule::HbFuture,
                    vec![r, w],
                    format!(
                        "event {r} reads {at} from event {w}, which happens after it",
                        at = crate::event::describe(k)
                    ),
                ));
            }
            if wev.sync(rev) && !h(w, r) {
                return Err(Violation::new(
                    Rule::SyncInHb,
                    vec![w, r],
                    format!("event {r} reads from event {w} with sync but {w} does not happen before {r}"),
                ));
            }
            for (w2, e2) in evs.iter().enumerate() {
                if e2.writing() && e2.covers(k) && h(w, w2) && h(w2, r) {
                    return Err(Violation::new(
                        Rule::HbInterveningWrite,
                        vec![r, w, w2],
                        format!("event {r} reads {at} from event {w}, but event {w2} writes it in between (hb)", at = crate::event::describe(k)),
                    ));
                }
            }
            // C7 sc-last-visible, guarded by hb(W, R).
            if h(w, r) {
                for (w2, e2) in evs.iter().enumerate() {
                    if !e2.writing() {
                        continue;
                    }
                    if wev.sync(rev) && t(w, w2) && t(w2, r) && e2.sync(rev) {
                        return Err(Violation::new(
                            Rule::ScLastVisible,
                            vec![r, w, w2],
                            format!("event {r} syncs with event {w} but same-range SC write {w2} is tot-between them"),
                        ));
                    }
                    if cfg.dagger && h(w, w2) && t(w2, r) && e2.sync(rev) {
                        return Err(Violation::new(
                            Rule::ScLastVisibleDagger,
                            vec![r, w, w2],
                            format!(
                                "event {r} reads from event {w}, but same-range SC write {w2} is hb-after {w} and tot-before {r}"
                            ),
                        ));
                    }
                    if cfg.ddagger && t(w, w2) && h(w2, r) && wev.sync(e2) {
                        return Err(Violation::new(
                            Rule::ScLastVisibleDdagger,
                            vec![r, w, w2],
                            format!(
                                "event {r} reads from SC write {w}, but same-range SC write {w2} is tot-after {w} and hb-before {r}"
                            ),
                        ));
                    }
                }
            }
        }
        // C8.
        if rev.tearfree(cfg.literal_tearfree) {
            let mut distinct: Vec<EventId> = srcs
                .iter()
                .copied()
                .filter(|&w| evs[w].same(rev) && evs[w].tearfree(cfg.literal_tearfree))
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() > 1 {
                let mut v = vec![r];
                v.extend(&distinct);
                return Err(Violation::new(
                    Rule::NoTear,
                    v,
                    format!("tear-free event {r} combines bytes of same-range tear-free writes {distinct:?}"),
                ));
            }
        }
    }

    // C9. Suspension consistency, per location.
    let mut by_loc: BTreeMap<crate::event::Location, Vec<EventId>> = BTreeMap::new();
    for (i, e) in evs.iter().enumerate() {
        if let Some((loc, _)) = e.suspension() {
            by_loc.entry(loc).or_default().push(i);
        }
    }
    for (loc, mut s) in by_loc {
        s.sort_by_key(|&e| ex.tot[e]);
        for (x, &a) in s.iter().enumerate() {
            for &b in &s[x + 1..] {
                if !h(a, b) {
                    return Err(Violation::new(
                        Rule::SuspensionTotInHb,
                        vec![a, b],
                        format!("suspension events {a} and {b} on {at} are tot-ordered but not hb-ordered", at = crate::event::describe(loc)),
                    ));
                }
            }
        }
        let seq: Vec<(EventId, ThreadId, SuspensionKind)> = s
            .iter()
            .map(|&e| {
                (
                    e,
                    evs[e].thread.unwrap_or(usize::MAX),
                    evs[e]
                        .suspension()
                        .map(|x| x.1)
                        .unwrap_or(SuspensionKind::Woken),
                )
            })
            .collect();
        queue_machine(loc, &seq, cfg.woken_order)?;
    }
    Ok(())
}

/// Runs the FIFO waiter-queue machine of relaxed.rst l.199–231 (MODEL.md §4 C9(b)) over
/// the suspension events of one location, given in `tot` order as
/// `(event, thread, kind)`. Waiters are identified by thread (MODEL.md §7.3 erratum 7).
///
/// # Errors
/// A [`Rule::SuspensionQueue`] violation naming the offending event.
pub fn queue_machine(
    loc: crate::event::Location,
    seq: &[(EventId, ThreadId, SuspensionKind)],
    order: WokenOrder,
) -> Result<(), Violation> {
    let mut queue: VecDeque<ThreadId> = VecDeque::new();
    let mut i = 0;
    let fail = |e: EventId, d: String| Err(Violation::new(Rule::SuspensionQueue, vec![e], d));
    while i < seq.len() {
        let (e, th, kind) = seq[i];
        i += 1;
        match kind {
            SuspensionKind::Wait => queue.push_back(th),
            SuspensionKind::Timeout => match queue.iter().position(|&q| q == th) {
                Some(p) => {
                    queue.remove(p);
                }
                None => {
                    return fail(
                        e,
                        format!(
                            "TIMEOUT event {e} on {at}: thread is not waiting",
                            at = crate::event::describe(loc)
                        ),
                    )
                }
            },
            SuspensionKind::Woken => {
                return fail(
                    e,
                    format!(
                        "WOKEN event {e} on {at} is not preceded by a NOTIFY that wakes it",
                        at = crate::event::describe(loc)
                    ),
                );
            }
            SuspensionKind::Notify { woken, max } => {
                let j = woken as usize;
                if j > queue.len() {
                    return fail(
                        e,
                        format!(
                            "NOTIFY event {e} on {at} wakes {j} but only {} wait",
                            queue.len(),
                            at = crate::event::describe(loc)
                        ),
                    );
                }
                let oldest: Vec<ThreadId> = queue.drain(..j).collect();
                let mut got = Vec::with_capacity(j);
                for _ in 0..j {
                    match seq.get(i) {
                        Some(&(_, t2, SuspensionKind::Woken)) => got.push(t2),
                        _ => {
                            return fail(
                                e,
                                format!(
                                    "NOTIFY event {e} on {at} must be followed by {j} WOKEN events",
                                    at = crate::event::describe(loc)
                                ),
                            );
                        }
                    }
                    i += 1;
                }
                let ok = match order {
                    WokenOrder::Any => {
                        let (mut a, mut b) = (oldest.clone(), got.clone());
                        a.sort_unstable();
                        b.sort_unstable();
                        a == b
                    }
                    WokenOrder::OldestFirst => oldest == got,
                    WokenOrder::YoungestFirst => oldest.iter().rev().eq(got.iter()),
                };
                if !ok {
                    return fail(e, format!("NOTIFY event {e} on {at}: woken threads are not the {j} oldest waiters", at = crate::event::describe(loc)));
                }
                if woken < max && !queue.is_empty() {
                    return fail(
                        e,
                        format!(
                            "NOTIFY event {e} on {at} woke {woken} < {max} but waiters remain",
                            at = crate::event::describe(loc)
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}
