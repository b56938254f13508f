//! `heddle xcheck`: litmus tests run on engines, every observed outcome checked against the
//! outcomes the memory model allows for the same file (spec `exec/relaxed.rst`, computed by
//! [`heddle_model::enumerate()`]).
//!
//! An observed outcome the model forbids is a finding; so is an engine's crash, hang or
//! compile error. Allowed outcomes an engine never showed are information only (x86 never
//! shows message passing's (1, 0), for instance).

use crate::diff::compare::panic_message;
use crate::engine::{DiscardReason, Engine, EngineFailure, Histogram, RunOptions};
use crate::litmus::LitmusTest;
use heddle_model::{enumerate, Config, Outcome};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};

/// The rule reported for an observed outcome that is not even a candidate of the model's
/// enumeration (its shape cannot come from any execution of the program, e.g. a value no
/// write produces).
pub const NOT_A_CANDIDATE: &str = "no candidate execution";

/// The rule reported for an observed outcome of a data-race-free program that no
/// sequentially consistent execution reaches: by SC-DRF (spec `exec/relaxed.rst`; Watt et
/// al., OOPSLA 2019, §5) a data-race-free program has only sequentially consistent
/// executions, so its allowed outcomes are exactly those an exhaustive SC exploration
/// reaches.
pub const NOT_SC_REACHABLE: &str = "SC-DRF: reached by no SC execution";

/// The model's verdict on a litmus test: the allowed outcomes, and the rule that forbids
/// each other candidate outcome.
#[derive(Clone, Debug, Default)]
pub struct ModelView {
    /// Allowed outcomes, sorted.
    pub allowed: BTreeSet<Outcome>,
    /// Forbidden candidate outcomes with the name of the rule that rules each out
    /// (`Rule::name`, e.g. `"C7(†) sc-last-visible"`).
    pub forbidden: IndexMap<Outcome, String>,
    /// The rule named for an outcome that is neither allowed nor in `forbidden`; `None`:
    /// [`NOT_A_CANDIDATE`].
    pub unlisted_rule: Option<String>,
}

impl ModelView {
    /// Computes the model's view of `test` under `config`.
    ///
    /// # Errors
    /// The model's message when the program is too large to enumerate, or a test that has
    /// no model view ([`LitmusTest::unmodelled`]).
    pub fn of(test: &LitmusTest, config: &Config) -> Result<ModelView, String> {
        let program = test
            .program
            .as_ref()
            .ok_or("the test is outside the model's subset")?;
        let e = enumerate(program, config).map_err(|e| e.to_string())?;
        Ok(ModelView {
            allowed: e.allowed.keys().cloned().collect(),
            forbidden: e
                .forbidden
                .iter()
                .map(|(o, v)| (o.clone(), v.rule.name().to_string()))
                .collect(),
            unlisted_rule: None,
        })
    }

    /// The view of a data-race-free program: `allowed` are the outcomes of an exhaustive
    /// sequentially consistent exploration, every other outcome is forbidden by
    /// [`NOT_SC_REACHABLE`].
    pub fn sc_drf(allowed: impl IntoIterator<Item = Outcome>) -> ModelView {
        ModelView {
            allowed: allowed.into_iter().collect(),
            forbidden: IndexMap::new(),
            unlisted_rule: Some(NOT_SC_REACHABLE.to_string()),
        }
    }

    /// `None` if `outcome` is allowed, else the rule that forbids it.
    pub fn rule_against(&self, outcome: &Outcome) -> Option<String> {
        if self.allowed.contains(outcome) {
            None
        } else {
            Some(
                self.forbidden
                    .get(outcome)
                    .cloned()
                    .or_else(|| self.unlisted_rule.clone())
                    .unwrap_or_else(|| NOT_A_CANDIDATE.to_string()),
            )
        }
    }
}

/// One observed outcome, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedOutcome {
    /// The outcome.
    pub outcome: Outcome,
    /// Iterations that ended with it.
    pub count: u64,
    /// `None` if the model allows it, else the rule that forbids it.
    pub rule: Option<String>,
}

impl CheckedOutcome {
    /// Whether the model allows the outcome.
    pub fn allowed(&self) -> bool {
        self.rule.is_none()
    }
}

/// An engine's histogram for one test, checked against the model.
#[derive(Clone, Debug)]
pub struct Checked {
    /// What the engine observed.
    pub histogram: Histogram,
    /// Each observed outcome, sorted, with its verdict.
    pub outcomes: Vec<CheckedOutcome>,
    /// Allowed outcomes the engine never showed, sorted.
    pub allowed_unobserved: Vec<Outcome>,
}

impl Checked {
    /// Checks `histogram` against `model`.
    pub fn new(histogram: Histogram, model: &ModelView) -> Checked {
        let outcomes: Vec<CheckedOutcome> = histogram
            .sorted()
            .into_iter()
            .map(|(o, n)| CheckedOutcome {
                outcome: o.clone(),
                count: n,
                rule: model.rule_against(o),
            })
            .collect();
        let allowed_unobserved = model
            .allowed
            .iter()
            .filter(|o| !histogram.counts.contains_key(*o))
            .cloned()
            .collect();
        Checked {
            histogram,
            outcomes,
            allowed_unobserved,
        }
    }

    /// Iterations whose outcome the model forbids.
    pub fn forbidden_observed(&self) -> u64 {
        self.outcomes
            .iter()
            .filter(|c| !c.allowed())
            .map(|c| c.count)
            .sum()
    }
}

/// One engine's row for one test.
#[derive(Clone, Debug)]
pub struct EngineRow {
    /// Engine name.
    pub engine: String,
    /// Engine version (or the reason it has none).
    pub version: String,
    /// The checked histogram, or why there is none.
    pub result: Result<Checked, EngineFailure>,
}

/// Everything `heddle xcheck` learned about one litmus test.
#[derive(Clone, Debug)]
pub struct TestReport {
    /// The file (or generated test's name).
    pub file: String,
    /// The model's view, or why the test was skipped (the front end or the enumerator
    /// rejected it).
    pub model: Result<ModelView, String>,
    /// One row per engine, in the order the engines were given.
    pub rows: Vec<EngineRow>,
}

impl TestReport {
    /// Whether any engine showed a forbidden outcome or failed in a way that is a finding.
    pub fn has_finding(&self) -> bool {
        self.rows.iter().any(|r| match &r.result {
            Ok(c) => c.forbidden_observed() > 0,
            Err(e) => e.is_finding(),
        })
    }
}

/// A test to cross-check: its name and text, or why it cannot be (already rejected).
#[derive(Clone, Debug)]
pub struct Input {
    /// File path or generated name.
    pub name: String,
    /// The `.wast` text.
    pub source: String,
}

/// Prepares inputs: each becomes a [`LitmusTest`] with the model's view, or a report that
/// says why it is skipped.
pub fn prepare(inputs: &[Input], config: &Config) -> Vec<(Option<LitmusTest>, TestReport)> {
    inputs
        .iter()
        .map(|inp| {
            let test = LitmusTest::from_wast(&inp.name, &inp.source);
            let model = test
                .as_ref()
                .map_err(|e| e.clone())
                .and_then(|t| ModelView::of(t, config));
            let report = TestReport {
                file: inp.name.clone(),
                model,
                rows: Vec::new(),
            };
            let test = if report.model.is_ok() {
                test.ok()
            } else {
                None
            };
            (test, report)
        })
        .collect()
}

/// Runs every prepared test on every engine (engine by engine, so that engines with a
/// costly start-up run their whole batch in one session) and checks each histogram.
/// `progress(engine, test)` is called after each (engine, test) pair.
pub fn run(
    prepared: &mut [(Option<LitmusTest>, TestReport)],
    engines: &[Box<dyn Engine>],
    opts: &RunOptions,
    progress: &mut dyn FnMut(&str, &str),
) {
    let tests: Vec<LitmusTest> = prepared.iter().filter_map(|(t, _)| t.clone()).collect();
    let slots: Vec<usize> = prepared
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| t.is_some())
        .map(|(i, _)| i)
        .collect();
    for engine in engines {
        let version = engine.version();
        let mut results: Vec<Option<Result<Histogram, EngineFailure>>> = vec![None; tests.len()];
        match &version {
            Ok(_) => {
                // An engine that panics (wasmtime 48.0.8 may, docs/findings.md) fails the
                // tests it had not finished, as a crash; the run goes on.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    engine.run_batch(&tests, opts, &mut |i, r| {
                        progress(engine.name(), &tests[i].name);
                        results[i] = Some(r);
                    })
                }));
                if let Err(p) = ran {
                    let why = format!("the engine panicked: {}", panic_message(&*p));
                    for r in results.iter_mut().filter(|r| r.is_none()) {
                        *r = Some(Err(EngineFailure::Crash(why.clone())));
                    }
                }
            }
            Err(e) => {
                for (i, r) in results.iter_mut().enumerate() {
                    progress(engine.name(), &tests[i].name);
                    *r = Some(Err(e.clone()));
                }
            }
        }
        let version = match &version {
            Ok(v) => v.clone(),
            Err(e) => e.to_string(),
        };
        for (k, r) in results.into_iter().enumerate() {
            let (_, report) = &mut prepared[slots[k]];
            let r = r.unwrap_or_else(|| {
                Err(EngineFailure::Harness(
                    "the engine reported no result".into(),
                ))
            });
            let result = match (r, &report.model) {
                (Ok(h), Ok(model)) => Ok(Checked::new(h, model)),
                (Err(e), _) => Err(e),
                (Ok(_), Err(m)) => Err(EngineFailure::Harness(m.clone())),
            };
            report.rows.push(EngineRow {
                engine: engine.name().to_string(),
                version: version.clone(),
                result,
            });
        }
    }
}

/// The JSON lines of one test: one object per engine, keys in this order:
/// `{"file", "engine", "version", "iterations", "discarded", "discard_reasons": {REASON: N},
/// "histogram": [{"outcome", "count", "allowed", "rule"}], "forbidden_observed",
/// "allowed_unobserved", "seconds"}` (`REASON` a [`crate::DiscardReason::key`]; `rule` null
/// when allowed; `forbidden_observed` the number of iterations whose outcome the model
/// forbids), or `{"file", "engine", "error"}` when the engine failed; a test the model or the
/// front end rejected is one `{"file", "skipped"}` line.
pub fn json_lines(r: &TestReport) -> String {
    use serde_json::json;
    let mut out = String::new();
    if let Err(why) = &r.model {
        out += &json!({"file": r.file, "skipped": why}).to_string();
        out.push('\n');
        return out;
    }
    for row in &r.rows {
        let line = match &row.result {
            Ok(c) => json!({
                "file": r.file,
                "engine": row.engine,
                "version": row.version,
                "iterations": c.histogram.iterations,
                "discarded": c.histogram.discarded,
                "discard_reasons": c.histogram.discard_reasons.iter()
                    .map(|(r, n)| (r.key().to_string(), json!(n)))
                    .collect::<serde_json::Map<_, _>>(),
                "histogram": c.outcomes.iter().map(|o| json!({
                    "outcome": o.outcome,
                    "count": o.count,
                    "allowed": o.allowed(),
                    "rule": o.rule,
                })).collect::<Vec<_>>(),
                "forbidden_observed": c.forbidden_observed(),
                "allowed_unobserved": c.allowed_unobserved,
                "seconds": (c.histogram.seconds * 1000.0).round() / 1000.0,
            }),
            Err(e) => json!({"file": r.file, "engine": row.engine, "error": e.to_string()}),
        };
        out += &line.to_string();
        out.push('\n');
    }
    out
}

/// The human form of one test: a table of outcomes (every allowed one, and every forbidden
/// one some engine showed) with the model's verdict and a count column per engine, then
/// each engine's failure or discarded iterations.
pub fn human(r: &TestReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let model = match &r.model {
        Ok(m) => m,
        Err(why) => {
            let _ = writeln!(out, "{}: skipped: {why}\n", r.file);
            return out;
        }
    };
    let findings = r.has_finding();
    let _ = writeln!(out, "{}{}", r.file, if findings { "  FINDING" } else { "" });
    let mut rows: Vec<Outcome> = model.allowed.iter().cloned().collect();
    for row in &r.rows {
        if let Ok(c) = &row.result {
            for o in &c.outcomes {
                if !o.allowed() && !rows.contains(&o.outcome) {
                    rows.push(o.outcome.clone());
                }
            }
        }
    }
    let labels: Vec<String> = rows.iter().map(|o| o.to_string()).collect();
    let verdicts: Vec<String> = rows
        .iter()
        .map(|o| match model.rule_against(o) {
            None => "allowed".to_string(),
            Some(rule) => format!("FORBIDDEN by {rule}"),
        })
        .collect();
    let w0 = labels.iter().map(|l| l.len()).max().unwrap_or(0).max(7);
    let w1 = verdicts.iter().map(|v| v.len()).max().unwrap_or(0).max(5);
    let widths: Vec<usize> = r.rows.iter().map(|row| row.engine.len().max(9)).collect();
    let _ = write!(out, "  {:w0$}  {:w1$}", "outcome", "model");
    for (row, w) in r.rows.iter().zip(&widths) {
        let _ = write!(out, "  {:>w$}", row.engine);
    }
    out.push('\n');
    for ((o, label), verdict) in rows.iter().zip(&labels).zip(&verdicts) {
        let _ = write!(out, "  {label:w0$}  {verdict:w1$}");
        for (row, w) in r.rows.iter().zip(&widths) {
            let cell = match &row.result {
                Ok(c) => c
                    .histogram
                    .counts
                    .get(o)
                    .map_or("-".to_string(), |n| n.to_string()),
                Err(_) => "error".to_string(),
            };
            let _ = write!(out, "  {cell:>w$}");
        }
        out.push('\n');
    }
    for row in &r.rows {
        match &row.result {
            Err(e) => {
                let _ = writeln!(out, "  {}: {e}", row.engine);
            }
            Ok(c) if c.histogram.discarded > 0 => {
                let _ = writeln!(
                    out,
                    "  {}: {} of {} iterations discarded ({})",
                    row.engine,
                    c.histogram.discarded,
                    c.histogram.iterations,
                    c.histogram.discard_summary()
                );
            }
            Ok(_) => {}
        }
    }
    out.push('\n');
    out
}

/// Totals over a whole `heddle xcheck` run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Tests checked (not skipped).
    pub tests: usize,
    /// Tests skipped, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Engines and their versions.
    pub engines: Vec<(String, String)>,
    /// (test, engine) pairs where a forbidden outcome was observed.
    pub forbidden: Vec<(String, String, u64)>,
    /// (test, engine, failure) where the engine crashed, hung or rejected a module.
    pub engine_findings: Vec<(String, String, String)>,
    /// (test, engine, failure) where the harness or the engine's absence was the cause.
    pub other_failures: Vec<(String, String, String)>,
    /// Discarded iterations per reason, over every test and engine.
    pub discarded: BTreeMap<DiscardReason, u64>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

impl Summary {
    /// Totals of `reports`.
    pub fn of(reports: &[TestReport], engines: &[Box<dyn Engine>], seconds: f64) -> Summary {
        let mut s = Summary {
            seconds,
            // The version each row already carries; asked again only of an engine that ran
            // no test (asking may start a process).
            engines: engines
                .iter()
                .map(|e| {
                    let recorded = reports
                        .iter()
                        .flat_map(|r| &r.rows)
                        .find(|row| row.engine == e.name())
                        .map(|row| row.version.clone());
                    let v =
                        recorded.unwrap_or_else(|| e.version().unwrap_or_else(|e| e.to_string()));
                    (e.name().to_string(), v)
                })
                .collect(),
            ..Summary::default()
        };
        for r in reports {
            if let Err(why) = &r.model {
                s.skipped.push((r.file.clone(), why.clone()));
                continue;
            }
            s.tests += 1;
            for row in &r.rows {
                if let Ok(c) = &row.result {
                    for (&reason, &n) in &c.histogram.discard_reasons {
                        *s.discarded.entry(reason).or_insert(0) += n;
                    }
                }
                match &row.result {
                    Ok(c) if c.forbidden_observed() > 0 => s.forbidden.push((
                        r.file.clone(),
                        row.engine.clone(),
                        c.forbidden_observed(),
                    )),
                    Ok(_) => {}
                    Err(e) if e.is_finding() => {
                        s.engine_findings
                            .push((r.file.clone(), row.engine.clone(), e.to_string()))
                    }
                    Err(e) => {
                        s.other_failures
                            .push((r.file.clone(), row.engine.clone(), e.to_string()))
                    }
                }
            }
        }
        s
    }

    /// Findings: forbidden outcomes observed plus engine crashes, hangs and compile errors,
    /// plus harness failures (a run that could not check what it was asked to is not clean).
    pub fn findings(&self) -> usize {
        self.forbidden.len() + self.engine_findings.len() + self.other_failures.len()
    }

    /// The summary object: `{"summary": {"tests", "skipped", "engines": [{"name",
    /// "version"}], "forbidden_observed": [{"file", "engine", "count"}], "engine_failures":
    /// [{"file", "engine", "error"}], "discarded": {REASON: N}, "seconds"}}`.
    pub fn json(&self) -> String {
        use serde_json::json;
        let failures: Vec<_> = self
            .engine_findings
            .iter()
            .chain(&self.other_failures)
            .map(|(f, e, m)| json!({"file": f, "engine": e, "error": m}))
            .collect();
        json!({"summary": {
            "tests": self.tests,
            "skipped": self.skipped.iter().map(|(f, w)| json!({"file": f, "reason": w})).collect::<Vec<_>>(),
            "engines": self.engines.iter().map(|(n, v)| json!({"name": n, "version": v})).collect::<Vec<_>>(),
            "forbidden_observed": self.forbidden.iter().map(|(f, e, n)| json!({"file": f, "engine": e, "count": n})).collect::<Vec<_>>(),
            "engine_failures": failures,
            "discarded": self.discarded.iter()
                .map(|(r, n)| (r.key().to_string(), json!(n)))
                .collect::<serde_json::Map<_, _>>(),
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
        }})
        .to_string()
    }

    /// The human summary: engines, counts, and every finding on its own line.
    pub fn human(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (n, v) in &self.engines {
            let _ = writeln!(out, "engine {n}: {v}");
        }
        for (f, why) in &self.skipped {
            let _ = writeln!(out, "skipped {f}: {why}");
        }
        for (f, e, n) in &self.forbidden {
            let _ = writeln!(
                out,
                "FORBIDDEN outcome observed: {f} on {e} ({n} iterations)"
            );
        }
        for (f, e, m) in self.engine_findings.iter().chain(&self.other_failures) {
            let _ = writeln!(out, "ENGINE FAILURE: {f} on {e}: {m}");
        }
        for (reason, n) in &self.discarded {
            let _ = writeln!(out, "discarded {n} iterations: {}", reason.describe());
        }
        let _ = writeln!(
            out,
            "{} test{} on {} engine{}, {} skipped, {} finding{}, {:.1} s",
            self.tests,
            if self.tests == 1 { "" } else { "s" },
            self.engines.len(),
            if self.engines.len() == 1 { "" } else { "s" },
            self.skipped.len(),
            self.findings(),
            if self.findings() == 1 { "" } else { "s" },
            self.seconds
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine that panics on its second test.
    struct Panicky;

    impl Engine for Panicky {
        fn name(&self) -> &str {
            "panicky"
        }
        fn version(&self) -> Result<String, EngineFailure> {
            Ok("1".into())
        }
        fn run(&self, test: &LitmusTest, _: &RunOptions) -> Result<Histogram, EngineFailure> {
            if test.name == "second" {
                panic!("assertion failed: fault.is_none()");
            }
            Ok(Histogram {
                iterations: 1,
                ..Histogram::default()
            })
        }
    }

    /// A panicking engine fails the test it panicked on and those after it, as a crash (a
    /// finding), and the run goes on to the next engine.
    #[test]
    fn a_panicking_engine_is_a_crash_not_the_end_of_the_run() {
        let sb = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../model/tests/litmus/SB.wast"
        ))
        .expect("the catalogue");
        let inputs: Vec<Input> = ["first", "second", "third"]
            .iter()
            .map(|name| Input {
                name: name.to_string(),
                source: sb.clone(),
            })
            .collect();
        let mut prepared = prepare(&inputs, &Config::default());
        let engines: Vec<Box<dyn Engine>> = vec![Box::new(Panicky), Box::new(Panicky)];
        run(
            &mut prepared,
            &engines,
            &RunOptions::default(),
            &mut |_, _| {},
        );
        for (_, report) in &prepared {
            assert_eq!(report.rows.len(), 2, "{}", report.file);
            for row in &report.rows {
                match (&row.result, report.file.as_str()) {
                    (Ok(_), "first") => {}
                    (Err(EngineFailure::Crash(m)), "second" | "third") => {
                        assert!(m.contains("fault.is_none()"), "{m}")
                    }
                    (other, file) => panic!("{file}: {other:?}"),
                }
            }
        }
    }
}
