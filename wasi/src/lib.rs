#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! # heddle-wasi
//!
//! WASI preview1 (`wasi_snapshot_preview1`, the *WASI Preview 1* specification,
//! `WebAssembly/WASI`, `legacy/preview1/docs.md`) and wasi-threads (`wasi.thread-spawn`,
//! `WebAssembly/wasi-threads`) over Heddle's interpreter, so that real threaded programs
//! (C or Rust compiled for `wasm32-wasip1-threads`) run on the reference semantics under a
//! chosen, replayable schedule ([`run()`]), or on OS threads with the native backend.
//!
//! * [`preview1`]: the WASI functions, over a [`WasiCtx`] (arguments, environment, stdin,
//!   stdout/stderr sinks, a virtual clock, seeded randomness); the functions a program
//!   without a filesystem needs. Every other preview1 function links, and traps with
//!   "unsupported WASI function NAME" when called.
//! * [`mod@link`]: resolve a program's imports (`env.memory`, `wasi.thread-spawn`,
//!   `wasi_snapshot_preview1.*`) in a configuration, and check its exports ([`Program`]).
//! * [`mod@run`]: run a program to its end ([`Ending`]): `proc_exit`, `_start` returning, a
//!   trap in any thread, a deadlock, or the step bound; with its races detected
//!   ([`run_detecting_races`]).
//! * [`mod@explore`]: explore every schedule of a program with dynamic partial-order
//!   reduction ([`explore()`]): its distinct outcomes, each with a replayable schedule.
//!
//! Deterministic by default: the same program, arguments, seed and schedule give the same
//! output, exit status and schedule (docs/wasi.md).

pub mod explore;
pub mod link;
pub mod preview1;
pub mod run;

pub use explore::{explore, Exploration, ExploreOptions, Found, Outcome, Reduction};
pub use link::{link, Program, ProgramError};
pub use preview1::{Sink, WasiCtx, WasiState};
pub use run::{
    race_thread_name, run, run_detecting_races, Backend, Ending, RunOptions, RunReport,
    SchedulePolicy,
};
