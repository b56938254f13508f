//! Races and data races of a candidate execution (relaxed.rst, the closing note of
//! *Relaxed Memory Model*: "two accesses to overlapping locations may occur in an
//! execution without any relation in happens-before. This situation is known as a
//! *race*. If at least one of these accesses is a non-atomic write, we describe this
//! situation as a *data race*").
//!
//! Reading of the definition (see `docs/races.md`, *Decisions*):
//!
//! * An *access* is an event with a read, write or RMW action ([`Event::access`]); the
//!   suspension actions (wait, woken, timeout, notify) access no byte range. The read of a
//!   wait is a seq-cst read and is an access.
//! * *Overlapping locations* is relaxed.rst's `overlap` ([`Event::overlap`]): the byte
//!   ranges intersect. The length location of a memory is a location like any other: a
//!   bounds check (unord read) and a `memory.grow` (seq-cst RMW) can race.
//! * A race needs at least one of the two accesses to write: two reads are never reported.
//!   The note's sentence does not say so, but nothing about reads alone is
//!   nondeterministic, which is what the note warns about, and the paper (OOPSLA 2019,
//!   §6, SC-DRF) and the JavaScript model it follows only count conflicting accesses.
//! * A *non-atomic write* is a write or the write of an RMW whose ordering is `unord`
//!   (an init write is always happens-before every overlapping event, relaxed.rst
//!   *Consistency*, so it is never in a race).
//!
//! [`find_data_race`] asks whether *some allowed execution* of a litmus program has a
//! data race, searching all candidate executions of the model (not one per outcome).

use crate::config::Config;
use crate::enumerate::{search_executions, ModelError};
use crate::event::{Event, EventId, MemOrder};
use crate::execution::{Execution, Relation};
use crate::program::Program;
use serde::Serialize;

/// What kind of race a pair of events is (relaxed.rst's two names).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RaceKind {
    /// A *race* that is not a data race: both writes (if any) are atomic.
    Race,
    /// A *data race*: at least one of the two accesses is a non-atomic write.
    DataRace,
}

impl RaceKind {
    /// The spec's name: `"race"` or `"data race"`.
    pub fn name(self) -> &'static str {
        match self {
            RaceKind::Race => "race",
            RaceKind::DataRace => "data race",
        }
    }
}

/// A race between events `first < second` of an execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Race {
    /// The event with the smaller index.
    pub first: EventId,
    /// The event with the larger index.
    pub second: EventId,
    /// Race or data race.
    pub kind: RaceKind,
}

/// Whether the event writes with ordering `unord`: a *non-atomic write*.
pub fn non_atomic_write(e: &Event) -> bool {
    e.writing() && e.ord() == Some(MemOrder::Unord)
}

/// Whether events `a` and `b` (distinct) race under happens-before `hb` (its entries for
/// `ia`, `ib`), and of which kind: both access, the ranges overlap, at least one writes,
/// and neither happens before the other.
pub fn race_kind(
    a: &Event,
    b: &Event,
    ia: EventId,
    ib: EventId,
    hb: &Relation,
) -> Option<RaceKind> {
    if ia == ib || a.access().is_none() || b.access().is_none() {
        return None;
    }
    if !a.overlap(b) || !(a.writing() || b.writing()) {
        return None;
    }
    if hb.get(ia, ib) || hb.get(ib, ia) {
        return None;
    }
    Some(if non_atomic_write(a) || non_atomic_write(b) {
        RaceKind::DataRace
    } else {
        RaceKind::Race
    })
}

/// Every race of the events `events` under happens-before `hb`, pairs in index order.
pub fn races_of(events: &[&Event], hb: &Relation) -> Vec<Race> {
    let mut out = Vec::new();
    for (i, a) in events.iter().enumerate() {
        for (j, b) in events.iter().enumerate().skip(i + 1) {
            if let Some(kind) = race_kind(a, b, i, j, hb) {
                out.push(Race {
                    first: i,
                    second: j,
                    kind,
                });
            }
        }
    }
    out
}

/// Every race of an execution under its happens-before [`Execution::hb`].
pub fn races(ex: &Execution) -> Vec<Race> {
    let evs: Vec<&Event> = ex.events.iter().collect();
    races_of(&evs, &ex.hb)
}

/// Whether the events have a data race under `hb`.
pub fn has_data_race(events: &[&Event], hb: &Relation) -> bool {
    races_of(events, hb)
        .iter()
        .any(|r| r.kind == RaceKind::DataRace)
}

/// An allowed (consistent) execution of `program` under `cfg` with a data race, if one
/// exists: the search of [`crate::enumerate()`] over every combination of thread
/// unfoldings, suspension order and reads-from (not only one per outcome), stopping at the
/// first consistent execution whose least happens-before leaves a non-atomic write
/// unordered with an overlapping access. The execution is confirmed by the literal
/// checker ([`crate::check_execution`]).
///
/// Least happens-before is the right one to search: a consistent execution's hb contains
/// the least one (MODEL.md §3.2), so if a pair is ordered by the least hb it is ordered in
/// every hb of that rf and tot, and the least hb has the most races.
///
/// # Errors
/// As [`crate::enumerate()`]: the program is too large for exhaustive search, or (a bug)
/// the checker rejected the execution found.
pub fn find_data_race(program: &Program, cfg: &Config) -> Result<Option<Execution>, ModelError> {
    search_executions(program, cfg, has_data_race)
}

/// Whether the events have a race (of either kind) under `hb`.
pub fn has_race(events: &[&Event], hb: &Relation) -> bool {
    !races_of(events, hb).is_empty()
}

/// An allowed execution of `program` under `cfg` with a race (of either kind), if one
/// exists; as [`find_data_race`].
///
/// # Errors
/// As [`find_data_race`].
pub fn find_race(program: &Program, cfg: &Config) -> Result<Option<Execution>, ModelError> {
    search_executions(program, cfg, has_race)
}
