//! Outcomes of a litmus run: per script thread, the ordered results of its invokes.

use crate::program::Value;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// The result of one `invoke`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InvokeResult {
    /// It returned these values (JSON: a list of `"i32:N"`-style strings).
    Values(Vec<Value>),
    /// It trapped (JSON: the string `"trap"`); the thread continues with its next step.
    Trap,
    /// It never returns: a wait that is never woken, or an invoke after a `(wait $T)` on a
    /// thread that never finishes (JSON: the string `"blocked"`). Nothing after it runs.
    Blocked,
}

impl Serialize for InvokeResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            InvokeResult::Values(vs) => {
                let mut seq = s.serialize_seq(Some(vs.len()))?;
                for v in vs {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            InvokeResult::Trap => s.serialize_str("trap"),
            InvokeResult::Blocked => s.serialize_str("blocked"),
        }
    }
}

impl fmt::Display for InvokeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeResult::Values(vs) => {
                f.write_str("[")?;
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            InvokeResult::Trap => f.write_str("trap"),
            InvokeResult::Blocked => f.write_str("blocked"),
        }
    }
}

/// An outcome: for each script thread that has invokes (in the order threads appear in
/// the file, `main` last), its name without `$` and the results of its invokes in order.
/// JSON: an object from thread name to the list of results,
/// e.g. `{"T1": [["i32:0"]], "T2": [["i32:1"]]}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Outcome {
    /// `(thread name, results)` pairs.
    pub threads: Vec<(String, Vec<InvokeResult>)>,
}

impl Outcome {
    /// The results of the named thread, if it is part of the outcome.
    pub fn get(&self, thread: &str) -> Option<&[InvokeResult]> {
        self.threads
            .iter()
            .find(|(n, _)| n == thread)
            .map(|(_, r)| r.as_slice())
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.threads.len()))?;
        for (n, r) in &self.threads {
            m.serialize_entry(n, r)?;
        }
        m.end()
    }
}

/// Compact form, e.g. `T1: [i32:0]  T2: [i32:1]`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, rs)) in self.threads.iter().enumerate() {
            if i > 0 {
                f.write_str("  ")?;
            }
            write!(f, "{n}:")?;
            if rs.is_empty() {
                f.write_str(" -")?;
            }
            for r in rs {
                write!(f, " {r}")?;
            }
        }
        Ok(())
    }
}

/// Every outcome of `n` results, each drawn from `values`, flattened as the catalogue
/// tests flatten an outcome: the results' bits in decimal, in thread order, separated by
/// single spaces (`"0 1"`). With `n` = 0, the one empty outcome `""`. The reachable or
/// allowed set a litmus test expects when every combination is possible.
pub fn every_flat_outcome(values: &[u64], n: usize) -> BTreeSet<String> {
    let mut out = vec![String::new()];
    for _ in 0..n {
        out = out
            .iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    if p.is_empty() {
                        v.to_string()
                    } else {
                        format!("{p} {v}")
                    }
                })
            })
            .collect();
    }
    out.into_iter().collect()
}
