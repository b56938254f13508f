//! # heddle-litmus
//!
//! A `.wast` script, and the litmus programs written in it, as data: the script lowered
//! from the `wast` crate's syntax tree into owned commands ([`script`]), the values of its
//! `invoke` arguments and expected results ([`values`]), the `spectest` host module the
//! scripts import from ([`spectest`]), and the report of a race the detector found in a
//! run of one ([`race_report`]). The script runner (`heddle-spec-tests`) and the
//! explorer (`heddle-explore`) both read scripts through this crate.
#![deny(missing_docs)]

pub mod race_report;
pub mod script;
pub mod spectest;
pub mod values;

pub use values::{format_value, format_value_in, parse_arg, parse_typed_arg};
