//! Histograms recorded elsewhere, checked as if an engine had just produced them:
//! `--engine file:PATH` reads the JSON lines of an earlier `heddle xcheck --format json` run
//! (or hand-written ones in the same format) and answers each test with the histogram
//! recorded for the same file name. This is how outcomes observed on a machine Heddle does
//! not run on (a phone's browser, an ARM board) get checked, and how the tests plant a
//! forbidden outcome to see that it is caught.

use crate::engine::{DiscardReason, Engine, EngineFailure, Histogram, RunOptions};
use crate::litmus::{parse_raw_result, LitmusTest, RawResult};
use heddle_model::{InvokeResult, Outcome};
use std::path::PathBuf;

/// An engine that replays recorded histograms.
#[derive(Clone, Debug)]
pub struct RecordedEngine {
    path: PathBuf,
    name: String,
}

impl RecordedEngine {
    /// Replays the JSON lines in `path`.
    pub fn new(path: PathBuf) -> RecordedEngine {
        let name = format!("file:{}", path.display());
        RecordedEngine { path, name }
    }

    fn lines(&self) -> Result<Vec<serde_json::Value>, EngineFailure> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            EngineFailure::Unavailable(format!("{}: cannot read: {e}", self.path.display()))
        })?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    EngineFailure::Harness(format!("{}:{}: {e}", self.path.display(), i + 1))
                })
            })
            .collect()
    }
}

/// Parses an outcome in the JSON format of `heddle litmus` (docs/model.md).
///
/// # Errors
/// A message naming what is not an outcome.
pub fn parse_outcome(v: &serde_json::Value) -> Result<Outcome, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("not an outcome: {v}"))?;
    let mut o = Outcome::default();
    for (thread, results) in obj {
        let list = results
            .as_array()
            .ok_or_else(|| format!("results of {thread}: not a list: {results}"))?;
        let mut rs = Vec::new();
        for r in list {
            rs.push(match parse_raw_result(r)? {
                RawResult::Values(vs) => InvokeResult::Values(vs),
                RawResult::Trap => InvokeResult::Trap,
                RawResult::Blocked => InvokeResult::Blocked,
                RawResult::NotRun => return Err(format!("results of {thread}: null")),
            });
        }
        o.threads.push((thread.clone(), rs));
    }
    Ok(o)
}

impl Engine for RecordedEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> Result<String, EngineFailure> {
        let lines = self.lines()?;
        let versions: std::collections::BTreeSet<String> = lines
            .iter()
            .filter_map(|l| l.get("version").and_then(|v| v.as_str()).map(String::from))
            .collect();
        Ok(format!(
            "recorded ({})",
            versions.into_iter().collect::<Vec<_>>().join(", ")
        ))
    }

    fn run(&self, test: &LitmusTest, _opts: &RunOptions) -> Result<Histogram, EngineFailure> {
        let lines = self.lines()?;
        let line = lines
            .iter()
            .find(|l| {
                l.get("file").and_then(|f| f.as_str()) == Some(test.name.as_str())
                    && l.get("histogram").is_some()
            })
            .ok_or_else(|| {
                EngineFailure::Harness(format!(
                    "{}: no histogram recorded for {}",
                    self.path.display(),
                    test.name
                ))
            })?;
        let bad = |m: String| EngineFailure::Harness(format!("{}: {m}", self.path.display()));
        let mut h = Histogram::default();
        for entry in line["histogram"].as_array().into_iter().flatten() {
            let outcome = parse_outcome(&entry["outcome"]).map_err(bad)?;
            let count = entry["count"]
                .as_u64()
                .ok_or_else(|| bad(format!("count: {}", entry["count"])))?;
            h.add(outcome, count);
        }
        h.iterations = line["iterations"]
            .as_u64()
            .unwrap_or_else(|| h.counts.values().sum());
        let mut reasons = 0;
        if let Some(map) = line.get("discard_reasons").and_then(|m| m.as_object()) {
            for (key, n) in map {
                let reason = DiscardReason::from_key(key)
                    .ok_or_else(|| bad(format!("unknown discard reason {key:?}")))?;
                let n = n
                    .as_u64()
                    .ok_or_else(|| bad(format!("discard_reasons.{key}: {n}")))?;
                h.discard(reason, n);
                reasons += n;
            }
        }
        let discarded = line["discarded"].as_u64().unwrap_or(reasons);
        if discarded < reasons {
            return Err(bad(format!(
                "{} discarded, but the reasons add up to {reasons}",
                discarded
            )));
        }
        h.discard(DiscardReason::Unrecorded, discarded - reasons);
        h.seconds = line["seconds"].as_f64().unwrap_or(0.0);
        Ok(h)
    }
}
