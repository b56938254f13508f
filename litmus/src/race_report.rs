//! The report of a race found by the race detector ([`heddle_interp::race`];
//! relaxed.rst's *race* and *data race*, `docs/races.md`): one home for the report that
//! `heddle wast --races`, `heddle explore --races` and `heddle run --races` print, in human
//! form and as JSON (serde, the same keys).

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One access of a [`RaceReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceAccess {
    /// The script thread (`main`, or a thread's name such as `T1`).
    pub thread: String,
    /// The function: `$name` from the name section, else `func N` (function index space).
    pub function: String,
    /// The instruction's offset in the function, in instructions of its lowered body.
    pub offset: u32,
    /// `data` or `length` (the memory's length location: bounds checks, `memory.size`,
    /// `memory.grow`).
    pub location: String,
    /// First byte (an effective address; 0 for the length location).
    pub address: u64,
    /// Number of bytes.
    pub size: u64,
    /// Whether the access is atomic (seq-cst) rather than non-atomic (`unord`).
    pub atomic: bool,
    /// `read`, `write` or `rmw`.
    pub access: String,
}

impl RaceAccess {
    fn new(
        a: &heddle_interp::race::Access,
        store: &heddle_interp::Store,
        thread: &dyn Fn(heddle_interp::ThreadId) -> String,
    ) -> RaceAccess {
        use heddle_interp::race::{AccessKind, Region};
        RaceAccess {
            thread: thread(a.thread),
            function: store.function_name_at(a.site),
            offset: a.site.pc,
            location: match a.region {
                Region::Data => "data",
                Region::Length => "length",
            }
            .into(),
            address: a.address,
            size: a.size,
            atomic: a.atomic,
            access: match a.kind {
                AccessKind::Read => "read",
                AccessKind::Write => "write",
                AccessKind::Rmw => "rmw",
            }
            .into(),
        }
    }

    /// `T1 $run @3: non-atomic write of 4 bytes at address 0`.
    pub fn human(&self) -> String {
        let at = match self.location.as_str() {
            "length" => "the length".to_string(),
            _ => format!("address {}", self.address),
        };
        format!(
            "{} {} @{}: {} {} of {} byte{} at {at}",
            self.thread,
            self.function,
            self.offset,
            if self.atomic { "atomic" } else { "non-atomic" },
            self.access,
            self.size,
            if self.size == 1 { "" } else { "s" },
        )
    }
}

/// A race found by the race detector (`heddle wast --races`, `heddle explore --races`;
/// `docs/races.md`): its kind as relaxed.rst names it, both accesses (the one that ran
/// first, then the other), and the schedule that replays it (`heddle explore --replay`;
/// empty for `heddle wast`, whose schedule is its fixed round robin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceReport {
    /// `data race` or `race` (a race that is not a data race).
    pub kind: String,
    /// The access that ran first.
    pub first: RaceAccess,
    /// The access that ran second.
    pub second: RaceAccess,
    /// The schedule of the run that had it.
    pub schedule: String,
}

impl RaceReport {
    /// The report of `race`, naming threads with `thread` and functions from `store`.
    pub fn new(
        race: &heddle_interp::race::Race,
        store: &heddle_interp::Store,
        thread: &dyn Fn(heddle_interp::ThreadId) -> String,
        schedule: &str,
    ) -> RaceReport {
        RaceReport {
            kind: race.kind.name().into(),
            first: RaceAccess::new(&race.first, store, thread),
            second: RaceAccess::new(&race.second, store, thread),
            schedule: schedule.into(),
        }
    }

    /// Whether both reports are of the same kind and pair of code locations (in either
    /// order): the key reports are deduplicated by.
    pub fn same_locations(&self, other: &RaceReport) -> bool {
        let loc = |a: &RaceAccess| (a.function.clone(), a.offset);
        let (a, b) = (loc(&self.first), loc(&self.second));
        let (c, d) = (loc(&other.first), loc(&other.second));
        self.kind == other.kind && ((a == c && b == d) || (a == d && b == c))
    }

    /// Whether it is a data race.
    pub fn is_data_race(&self) -> bool {
        self.kind == "data race"
    }

    /// The human report: `data race: <first> / <second>` and, if any, the schedule.
    pub fn human(&self) -> String {
        let mut s = format!(
            "{}: {}  /  {}",
            self.kind,
            self.first.human(),
            self.second.human()
        );
        if !self.schedule.is_empty() {
            let _ = write!(s, "  (schedule {})", self.schedule);
        }
        s
    }
}
