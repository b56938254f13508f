//! Executions: events with program order, per-byte reads-from, total order and
//! happens-before (MODEL.md §4 "An execution handed to the checker"; relaxed.rst).

use crate::event::{Event, EventId};
use serde::Serialize;

/// Maximum number of events in one execution (relations are `u128` bit rows).
pub const MAX_EVENTS: usize = 128;

/// A binary relation on the events `0..n` (`n ≤ 128`), one `u128` bit row per event:
/// bit `b` of row `a` is set iff `(a, b)` is in the relation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Relation {
    rows: Vec<u128>,
}

impl Relation {
    /// The empty relation on `n` events. `n` must be at most [`MAX_EVENTS`]; larger values
    /// are clamped (the enumerator rejects larger programs before building relations).
    pub fn new(n: usize) -> Relation {
        Relation {
            rows: vec![0; n.min(MAX_EVENTS)],
        }
    }

    /// Number of events the relation is over.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the relation is over zero events.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether `(a, b)` is in the relation (false for out-of-range events).
    #[inline]
    pub fn get(&self, a: EventId, b: EventId) -> bool {
        b < MAX_EVENTS && self.rows.get(a).is_some_and(|r| r >> b & 1 == 1)
    }

    /// Adds `(a, b)` (ignored for out-of-range events).
    #[inline]
    pub fn set(&mut self, a: EventId, b: EventId) {
        if b < self.rows.len() {
            if let Some(r) = self.rows.get_mut(a) {
                *r |= 1u128 << b;
            }
        }
    }

    /// The successors of `a` as a bit row.
    #[inline]
    pub fn row(&self, a: EventId) -> u128 {
        self.rows.get(a).copied().unwrap_or(0)
    }

    /// Replaces the relation by its transitive closure (Warshall, bit-parallel).
    pub fn close(&mut self) {
        let n = self.rows.len();
        for k in 0..n {
            let rk = self.rows[k];
            let bit = 1u128 << k;
            for i in 0..n {
                if self.rows[i] & bit != 0 {
                    self.rows[i] |= rk;
                }
            }
        }
    }

    /// Adds `(a, b)` to a transitively closed relation and keeps it closed.
    pub fn add_closed(&mut self, a: EventId, b: EventId) {
        let n = self.rows.len();
        if a >= n || b >= n {
            return;
        }
        let add = self.rows[b] | (1u128 << b);
        let abit = 1u128 << a;
        for i in 0..n {
            if i == a || self.rows[i] & abit != 0 {
                self.rows[i] |= add;
            }
        }
    }

    /// Whether some event is related to itself (for a closed relation: it is cyclic).
    pub fn has_reflexive_pair(&self) -> Option<EventId> {
        (0..self.rows.len()).find(|&i| self.rows[i] >> i & 1 == 1)
    }

    /// All pairs, in row-major order.
    pub fn pairs(&self) -> Vec<(EventId, EventId)> {
        let mut v = Vec::new();
        for (a, &r) in self.rows.iter().enumerate() {
            for b in 0..self.rows.len() {
                if r >> b & 1 == 1 {
                    v.push((a, b));
                }
            }
        }
        v
    }
}

impl Serialize for Relation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.pairs().serialize(s)
    }
}

/// A candidate execution (MODEL.md §4): events, program order, the thread-creation order
/// of the script, per-byte reads-from, the total order and happens-before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Execution {
    /// The events; an [`EventId`] indexes this vector.
    pub events: Vec<Event>,
    /// Program order `po` (same thread, earlier step), transitively closed.
    pub po: Relation,
    /// Script order between threads (runtime.rst l.758–850 spawn, plus the embedding's
    /// `(wait $T)` join and the allocation of the memory before every thread): edges that
    /// every consistent `hb` must contain, transitively closed.
    pub spawn: Relation,
    /// Per-byte reads-from: for every event `R`, `rf[R][i]` is the event whose write
    /// `R`'s byte `i` reads (`rf[R]` is empty iff `R` does not read).
    pub rf: Vec<Vec<EventId>>,
    /// The total order `tot` as a position per event (a permutation of `0..n`).
    pub tot: Vec<usize>,
    /// Happens-before `hb` (normally the least one, [`Execution::least_hb`]).
    pub hb: Relation,
}

impl Execution {
    /// Whether `a` is before `b` in the total order.
    #[inline]
    pub fn tot_before(&self, a: EventId, b: EventId) -> bool {
        match (self.tot.get(a), self.tot.get(b)) {
            (Some(x), Some(y)) => x < y,
            _ => false,
        }
    }

    /// The least happens-before of this execution's events, `rf` and `tot` (MODEL.md §3.2
    /// least-hb lemma; C10): the transitive closure of
    /// `po ∪ spawn ∪ {I→e | ord(I)=init, overlap(I,e)} ∪ sw ∪ susp_edges(tot)` where
    /// `sw = {W→R | R reads a byte from W ∧ sync(W,R)}` and `susp_edges` orders the
    /// suspension events of each location by `tot`.
    pub fn least_hb(&self) -> Relation {
        let n = self.events.len();
        let mut hb = Relation::new(n);
        for (a, b) in self.po.pairs().into_iter().chain(self.spawn.pairs()) {
            hb.set(a, b);
        }
        for (i, ev) in self.events.iter().enumerate() {
            if ev.ord() == Some(crate::MemOrder::Init) {
                for (j, e) in self.events.iter().enumerate() {
                    if i != j && ev.overlap(e) {
                        hb.set(i, j);
                    }
                }
            }
        }
        for (r, srcs) in self.rf.iter().enumerate() {
            for &w in srcs {
                if w < n && self.events[w].sync(&self.events[r]) {
                    hb.set(w, r);
                }
            }
        }
        for (i, a) in self.events.iter().enumerate() {
            for (j, b) in self.events.iter().enumerate() {
                if let (Some((la, _)), Some((lb, _))) = (a.suspension(), b.suspension()) {
                    if la == lb && i != j && self.tot_before(i, j) {
                        hb.set(i, j);
                    }
                }
            }
        }
        hb.close();
        hb
    }
}
