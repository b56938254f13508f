//! `heddle-model`: an executable version of the relaxed memory model of the WebAssembly
//! threads proposal (spec `exec/relaxed.rst`, after Watt, Rossberg and Pichon-Pharabod,
//! "Weakening WebAssembly", OOPSLA 2019), in the manner of herd7.
//!
//! * [`event`] — events and actions (runtime.rst l.664–756).
//! * [`execution`] — executions: events, program order, per-byte reads-from, total order,
//!   happens-before.
//! * [`check_execution`] — every consistency rule of MODEL.md §4 (C0–C11), returning the
//!   named [`Rule`] an execution breaks.
//! * [`enumerate()`] — all allowed outcomes of a litmus [`Program`], each with a witness,
//!   and the rule that rules out every other candidate outcome.
//! * [`litmus`] — litmus programs from `.wast` files in the style of the threads suite.
//! * [`race`] — races and data races of an execution; whether some allowed execution of
//!   a program has a data race ([`find_data_race`]).
//! * [`Config`] — the named switches (spec errata and model variants), with defaults.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod check;
pub mod config;
pub mod enumerate;
pub mod event;
pub mod execution;
pub mod litmus;
pub mod outcome;
pub mod program;
pub mod race;

pub use check::{check_execution, Rule, Violation};
pub use config::{Config, FenceSemantics, WokenOrder};
pub use enumerate::{enumerate, Enumeration, ModelError, Stats};
pub use event::{
    location, memory_and_address, Action, Event, EventId, Location, MemOrder, ThreadId, MEMORY_SPAN,
};
pub use execution::{Execution, Relation};
pub use litmus::{parse_litmus, LitmusError};
pub use outcome::{InvokeResult, Outcome};
pub use program::{Memory, Program, Value};
pub use race::{find_data_race, find_race, races, Race, RaceKind};
