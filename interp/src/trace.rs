//! Traces: the events of a run on one shared memory, in execution order (spec
//! `exec/runtime.rst`, *Events*; `exec/relaxed.rst`, *Traces*). A trace together with each
//! read's sources (per byte) is an execution that `heddle-model` can check.

use crate::runtime::ThreadId;

/// Ordering of a memory action (spec `ord ::= unord | seqcst | init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordering {
    /// A non-atomic access.
    Unord,
    /// An atomic (sequentially consistent) access.
    SeqCst,
    /// The initialising write of an allocation.
    Init,
}

/// An action of an event (spec runtime.rst `action`), on the `data` region of the memory.
/// Addresses are effective addresses in bytes; byte strings are little-endian contents.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TraceAction {
    /// `RD_ord data[ea] bytes [noTear]`.
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Read {
        ord: Ordering,
        ea: u64,
        bytes: Vec<u8>,
        no_tear: bool,
    },
    /// `WR_ord data[ea] bytes [noTear]`.
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Write {
        ord: Ordering,
        ea: u64,
        bytes: Vec<u8>,
        no_tear: bool,
    },
    /// `RMW data[ea] read written` (always seq-cst).
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Rmw {
        ea: u64,
        read: Vec<u8>,
        written: Vec<u8>,
    },
    /// `WAIT data[ea] timeout` (nanoseconds, negative for none).
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Wait { ea: u64, timeout: i64 },
    /// `WOKEN data[ea]`.
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Woken { ea: u64 },
    /// `TIMEOUT data[ea]`.
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Timeout { ea: u64 },
    /// `NOTIFY data[ea] woken max`.
    #[allow(missing_docs)] // fields are the action's arguments as written above
    Notify { ea: u64, woken: u32, max: u32 },
    /// `FENCE` (no meaning in relaxed.rst; recorded for completeness).
    Fence,
}

/// One event: the actions a thread performed in one indivisible step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TraceEvent {
    /// The interpreter thread; `None` for the allocation's initialising write.
    pub thread: Option<ThreadId>,
    /// The actions of the event, in order (one, or a read and a write for an RMW).
    pub actions: Vec<TraceAction>,
    /// For each byte the event read (in address order), the index in [`Trace::events`] of
    /// the event whose write it read (spec *reads-each-from*). Empty if it reads nothing.
    pub reads_from: Vec<usize>,
}

/// The events of a run on one shared memory, in execution order (which is the spec's total
/// order `tot` for the backends here). Event 0 is the initialising write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Trace {
    /// The events, in the order they happened.
    pub events: Vec<TraceEvent>,
}

impl Trace {
    /// Append an event.
    pub fn push(
        &mut self,
        thread: Option<ThreadId>,
        actions: Vec<TraceAction>,
        reads_from: Vec<usize>,
    ) {
        self.events.push(TraceEvent {
            thread,
            actions,
            reads_from,
        });
    }
}
