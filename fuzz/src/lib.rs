//! `heddle-fuzz`: cross-checking WebAssembly engines against Heddle.
//!
//! * [`engine`]: the [`Engine`] trait (run a litmus test N times, return a [`Histogram`]).
//! * [`litmus`]: a litmus `.wast` file as engines run it ([`LitmusTest`]).
//! * [`engines`]: adapters for wasmtime (in process), node and bun (`worker_threads`),
//!   Chromium and Firefox (Web Workers on a page Heddle serves), and Heddle itself.
//! * [`generate`]: random litmus programs (`heddle xcheck --generate`, the property tests).
//! * [`report`]: the self-contained HTML report of a cross-check.
//! * [`value`]: the one conversion between outcome values and every engine's values.
//! * [`xcheck`]: the `heddle xcheck` driver: every observed outcome checked against the
//!   memory model's allowed set.
//!
//! * [`oracle`]: Heddle as a spec oracle for engine fuzzers (instantiate, call exports,
//!   read globals, memories and tables, fuel, a stable trap enum).
//! * [`diff`]: the `heddle fuzz` driver: single-threaded differential campaigns against
//!   wasmtime or wasmi, findings shrunk and saved, and the no-panic mutation campaign.
//!
//! docs/xcheck.md describes the harness, the formats and the engines.
#![deny(missing_docs)]

pub mod diff;
pub mod engine;
pub mod engines;
pub mod generate;
pub mod litmus;
pub mod oracle;
pub mod report;
pub mod value;
pub mod xcheck;

pub use engine::{DiscardReason, Engine, EngineFailure, HangBound, Histogram, RunOptions};
pub use litmus::{LitmusTest, RawResult, ScriptThread, Step};
