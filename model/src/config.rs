//! Named switches: the places where the spec text is wrong, silent, or where a reader
//! may want a different model (MODEL.md §7). Every switch has a documented default;
//! [`Config::default`] is the model of relaxed.rst with the recommended readings.

use serde::Serialize;

/// What `atomic.fence` means (MODEL.md §7.3 erratum 9).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub enum FenceSemantics {
    /// Default, as relaxed.rst: the `FENCE` action has no meaning (SB+fences allows 00).
    #[default]
    Ignore,
    /// A fence behaves like an idempotent seq-cst RMW on one hidden location shared by all
    /// fences (LLVM's old lowering, MODEL.md §6.1 "rmw.or as fence"). This gives fences
    /// their C/C++-style effect on SB and MP. Not part of the spec.
    RmwOnHiddenLocation,
}

/// The order in which the WOKEN events that follow a `NOTIFY` must appear in the
/// suspension sub-trace of a location (relaxed.rst l.212–231, MODEL.md §7.3 erratum 8).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub enum WokenOrder {
    /// Default: any order (the `j` woken threads must be exactly the `j` oldest waiters).
    #[default]
    Any,
    /// Oldest waiter first.
    OldestFirst,
    /// Youngest of the `j` oldest waiters first: the literal reading of the spec text.
    YoungestFirst,
}

/// The model's switches. `Config::default()` is the recommended model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Config {
    /// Clause (†) of sc-last-visible (relaxed.rst l.177–187; MODEL.md §4 C7(2)).
    /// Default `true`. Off, together with `ddagger`, gives the JavaScript (2019) model.
    pub dagger: bool,
    /// Clause (‡) of sc-last-visible (MODEL.md §4 C7(3)). Default `true`.
    pub ddagger: bool,
    /// Whether a `wait` with a finite (non-negative) timeout may stay blocked forever.
    /// The formal rules allow it (no fairness; MODEL.md §5.2); default `false`: timeouts
    /// eventually fire, so such a wait returns 0 (woken), 1 (not equal) or 2 (timed out).
    pub finite_timeout_may_block: bool,
    /// Meaning of `atomic.fence`. Default [`FenceSemantics::Ignore`] (the spec).
    pub fence: FenceSemantics,
    /// Order of WOKEN events after a NOTIFY. Default [`WokenOrder::Any`].
    pub woken_order: WokenOrder,
    /// `tearfree` exactly as relaxed.rst l.64–65 is written, ignoring the `noTear` flag
    /// (so no non-atomic access is tear-free; MODEL.md §7.3 erratum 4). Default `false`:
    /// the intended reading, unord accesses carrying `noTear` are tear-free.
    pub literal_tearfree: bool,
    /// Extra values every read may guess, for out-of-thin-air tests such as LB+data
    /// (MODEL.md §6.3). The model allows any self-justifying value; the enumerator only
    /// explores values a write can produce from the initial memory and these seeds.
    /// Default: none. Values are truncated to the access width.
    pub thin_air_seeds: Vec<u64>,
    /// Whether `memory.grow` of a shared memory may fail when the memory's maximum leaves
    /// room (instructions.rst *memory.grow* 10.b "Or indicate failure", and its note:
    /// "failure *can* occur in other cases as well"). Default `true`, the spec: every grow
    /// may return -1. `false`: a grow fails only when it would exceed the maximum (what an
    /// engine with memory to spare does), which keeps the failures out of outcome sets.
    pub spurious_grow_failure: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            dagger: true,
            ddagger: true,
            finite_timeout_may_block: false,
            fence: FenceSemantics::Ignore,
            woken_order: WokenOrder::Any,
            literal_tearfree: false,
            thin_air_seeds: Vec::new(),
            spurious_grow_failure: true,
        }
    }
}
