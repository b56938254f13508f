//! `heddle fuzz --threads`: multi-threaded differential fuzzing. Random threaded programs
//! run many times on an engine's real threads (through the [`crate::Engine`] adapters of
//! `heddle xcheck`), every observed outcome checked against what Heddle allows
//! (docs/fuzz.md, "Threaded campaigns"). Programs alternate between two kinds:
//!
//! * [`ThreadedProgram::Drf`]: data-race-free programs with loops, spin-waits and
//!   `wait`/`notify` ([`crate::generate::drf`]). By SC-DRF the outcomes of an exhaustive
//!   sequentially consistent exploration ([`heddle_explore`]) are all the
//!   allowed ones ([`ModelView::sc_drf`]); a program whose exploration is incomplete is a
//!   counted skip (`exploration-incomplete`).
//! * [`ThreadedProgram::Racy`]: straight-line racy programs ([`crate::generate`], the
//!   generator of `heddle xcheck --generate`), whose allowed outcomes the memory model
//!   enumerates ([`ModelView::of`]); a program too large for the model is a counted skip
//!   (`model-too-large`).
//!
//! A forbidden outcome, or an engine crash, hang or compile error, is a finding: the program
//! is shrunk (blocks, operations and threads taken out while the finding stays), and saved
//! as a `.wast` script (Heddle's allowed outcomes and the observed ones in its header, with
//! the commands that check it again) and a `.wasm` and `.wat` per thread module.

use super::{Bound, Clock, FindingReport, Report};
use crate::engine::{Engine, EngineFailure, Histogram, RunOptions};
use crate::generate::drf::{DrfProgram, Fault, EXTENT};
use crate::generate::{generate, GenConfig, LitmusProgram};
use crate::litmus::LitmusTest;
use crate::xcheck::{Checked, ModelView};
use heddle_explore::{explore, ExploreOptions, Plan};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A threaded campaign's settings.
#[derive(Clone, Debug)]
pub struct ThreadsCampaign {
    /// Campaign seed: program `i` is drawn from `(seed, i)`.
    pub seed: u64,
    /// Index of the first program (reproduce program `i`: `start = i`, one iteration).
    pub start: u64,
    /// When to stop.
    pub bound: Bound,
    /// Runs of each program on the engine (each run: fresh memory, every thread once).
    pub runs: u64,
    /// Bound on one program's runs on the engine, in wall-clock time.
    pub engine_timeout: Duration,
    /// Bound on the SC exploration of one data-race-free program, in runs.
    pub max_explorations: u64,
    /// Where findings are saved.
    pub out_dir: PathBuf,
    /// Shrinking: at most this many smaller programs tried per finding (0: save unshrunk).
    pub shrink_attempts: u32,
    /// Shrinking: no new attempt after this much wall-clock time per finding (a hang costs
    /// `engine_timeout` per attempt).
    pub shrink_time: Duration,
    /// Stop after this many findings.
    pub max_findings: usize,
    /// Test-only: the oracle reads data-race-free programs with this fault.
    pub planted_fault: Option<Fault>,
}

impl Default for ThreadsCampaign {
    fn default() -> Self {
        ThreadsCampaign {
            seed: 0,
            start: 0,
            bound: Bound::Seconds(60.0),
            runs: 2_000,
            engine_timeout: Duration::from_secs(30),
            max_explorations: 5_000,
            out_dir: PathBuf::from("fuzz-findings"),
            shrink_attempts: 40,
            shrink_time: Duration::from_secs(120),
            max_findings: 10,
            planted_fault: None,
        }
    }
}

/// A generated threaded program of either kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadedProgram {
    /// Data-race-free, with loops and wait/notify: SC exploration decides.
    Drf(DrfProgram),
    /// Straight-line and racy: the memory model decides.
    Racy(LitmusProgram),
}

impl ThreadedProgram {
    /// Program `index` of a campaign seeded with `seed`: data-race-free for even indices,
    /// racy for odd ones.
    pub fn generate(seed: u64, index: u64) -> ThreadedProgram {
        let s = super::generate::module_seed(seed, index);
        if index.is_multiple_of(2) {
            ThreadedProgram::Drf(DrfProgram::generate(s))
        } else {
            let p = generate(&GenConfig::xcheck(), s, 1).pop();
            // The strategy cannot fail to draw; an empty program is the harmless fallback.
            ThreadedProgram::Racy(p.unwrap_or(LitmusProgram {
                threads: vec![vec![]],
            }))
        }
    }

    /// `"drf"` or `"racy"`.
    pub fn kind(&self) -> &'static str {
        match self {
            ThreadedProgram::Drf(_) => "drf",
            ThreadedProgram::Racy(_) => "racy",
        }
    }

    /// The program as the engine runs it.
    pub fn wast(&self) -> String {
        match self {
            ThreadedProgram::Drf(p) => p.to_wast(None),
            ThreadedProgram::Racy(p) => p.to_wast(),
        }
    }

    /// The program as the engine runs it, ready for the adapters.
    ///
    /// # Errors
    /// The harness's message (a generator bug: generated programs always parse).
    pub fn test(&self, name: &str) -> Result<LitmusTest, String> {
        match self {
            ThreadedProgram::Drf(p) => LitmusTest::unmodelled(name, &p.to_wast(None), EXTENT),
            ThreadedProgram::Racy(p) => LitmusTest::from_wast(name, &p.to_wast()),
        }
    }

    /// Smaller programs of the same kind, for shrinking.
    fn shrink_candidates(&self) -> Vec<ThreadedProgram> {
        match self {
            ThreadedProgram::Drf(p) => p
                .shrink_candidates()
                .into_iter()
                .map(ThreadedProgram::Drf)
                .collect(),
            ThreadedProgram::Racy(p) => {
                let mut out = Vec::new();
                for t in 0..p.threads.len() {
                    if p.threads.len() > 1 {
                        let mut q = p.clone();
                        q.threads.remove(t);
                        out.push(ThreadedProgram::Racy(q));
                    }
                    for i in 0..p.threads[t].len() {
                        let mut q = p.clone();
                        q.threads[t].remove(i);
                        out.push(ThreadedProgram::Racy(q));
                    }
                }
                out
            }
        }
    }
}

/// What Heddle allows for a program, or why it cannot say.
enum Verdict {
    View(ModelView),
    Skip(&'static str),
}

/// Heddle's allowed outcomes for `program` (for a data-race-free program, as the oracle
/// with `fault` reads it).
fn oracle(
    program: &ThreadedProgram,
    test: &LitmusTest,
    campaign: &ThreadsCampaign,
) -> Result<Verdict, String> {
    match program {
        ThreadedProgram::Drf(p) => {
            let plan = Plan::from_text(&p.to_wast(campaign.planted_fault))?;
            let ex = explore(
                &plan,
                &ExploreOptions {
                    max_executions: campaign.max_explorations,
                    ..ExploreOptions::default()
                },
            )?;
            if !ex.complete || ex.executions >= campaign.max_explorations {
                return Ok(Verdict::Skip("exploration-incomplete"));
            }
            Ok(Verdict::View(ModelView::sc_drf(ex.reachable.into_keys())))
        }
        ThreadedProgram::Racy(_) => match ModelView::of(test, &heddle_model::Config::default()) {
            Ok(v) => Ok(Verdict::View(v)),
            Err(_) => Ok(Verdict::Skip("model-too-large")),
        },
    }
}

/// What checking one program found.
enum Checking {
    /// Checked: every observed outcome allowed. With the histogram.
    Clean(Histogram),
    /// Not checked, for this reason.
    Skip(&'static str),
    /// A finding: its kind and a one-line summary, the view and histogram when there are.
    Finding {
        kind: String,
        summary: String,
        view: Option<ModelView>,
        histogram: Option<Histogram>,
    },
    /// Heddle panicked or failed on its own generated program.
    HeddleFailed(String),
}

/// Checks one program: Heddle's verdict, then the engine's runs.
fn check(
    program: &ThreadedProgram,
    engine: &dyn Engine,
    campaign: &ThreadsCampaign,
    run_seed: u64,
) -> Checking {
    let test = match program.test("program") {
        Ok(t) => t,
        Err(e) => return Checking::HeddleFailed(format!("the harness rejects it: {e}")),
    };
    let verdict = match catch_unwind(AssertUnwindSafe(|| oracle(program, &test, campaign))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return Checking::HeddleFailed(e),
        Err(_) => return Checking::HeddleFailed("Heddle panicked".into()),
    };
    let view = match verdict {
        Verdict::View(v) => v,
        Verdict::Skip(why) => return Checking::Skip(why),
    };
    let opts = RunOptions {
        iterations: campaign.runs,
        seed: run_seed,
        timeout: campaign.engine_timeout,
    };
    let histogram = match engine.run(&test, &opts) {
        Ok(h) => h,
        Err(f) if f.is_finding() => {
            let kind = match f {
                EngineFailure::Compile(_) => "engine-compile-error",
                EngineFailure::Crash(_) => "engine-crash",
                _ => "engine-hang",
            };
            return Checking::Finding {
                kind: kind.into(),
                summary: f.to_string(),
                view: Some(view),
                histogram: None,
            };
        }
        Err(EngineFailure::Unavailable(_)) => return Checking::Skip("engine-unavailable"),
        Err(_) => return Checking::Skip("harness-error"),
    };
    let checked = Checked::new(histogram.clone(), &view);
    match checked.outcomes.iter().find(|c| !c.allowed()) {
        None => Checking::Clean(histogram),
        Some(c) => Checking::Finding {
            kind: "forbidden-outcome".into(),
            summary: format!(
                "{} observed {} of {} runs: {} ({})",
                c.outcome,
                c.count,
                histogram.iterations,
                if program.kind() == "drf" {
                    "data-race-free program"
                } else {
                    "racy program"
                },
                c.rule.clone().unwrap_or_default()
            ),
            view: Some(view),
            histogram: Some(histogram),
        },
    }
}

/// Shrinks a program with a finding of `kind`: repeatedly takes the first smaller program
/// that still has a finding of the same kind, trying at most `campaign.shrink_attempts`
/// programs in all, and none after `campaign.shrink_time`.
fn shrink(
    program: &ThreadedProgram,
    kind: &str,
    engine: &dyn Engine,
    campaign: &ThreadsCampaign,
    run_seed: u64,
) -> ThreadedProgram {
    let started = Instant::now();
    let mut current = program.clone();
    let mut attempts = 0;
    'smaller: while attempts < campaign.shrink_attempts {
        for candidate in current.shrink_candidates() {
            if attempts >= campaign.shrink_attempts || started.elapsed() >= campaign.shrink_time {
                break 'smaller;
            }
            attempts += 1;
            if let Checking::Finding { kind: k, .. } = check(&candidate, engine, campaign, run_seed)
            {
                if k == kind {
                    current = candidate;
                    continue 'smaller;
                }
            }
        }
        break;
    }
    current
}

/// Saves a finding: `STEM.wast` (the program, with Heddle's allowed outcomes and the
/// observed histogram in its header), and `STEM-N.wasm` / `STEM-N.wat` for each thread
/// module. Returns the path of the `.wast`.
fn save(
    campaign: &ThreadsCampaign,
    stem: &str,
    program: &ThreadedProgram,
    header: &str,
    view: Option<&ModelView>,
    histogram: Option<&Histogram>,
) -> Result<PathBuf, String> {
    let dir = &campaign.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut text = String::new();
    for line in header.lines() {
        let _ = writeln!(text, ";; {line}");
    }
    if let Some(v) = view {
        let _ = writeln!(text, ";; Heddle allows ({} outcomes):", v.allowed.len());
        for o in &v.allowed {
            let _ = writeln!(text, ";;   {o}");
        }
    }
    if let Some(h) = histogram {
        let _ = writeln!(text, ";; The engine observed ({} runs):", h.iterations);
        for (o, n) in h.sorted() {
            let verdict = match view.map(|v| v.rule_against(o)) {
                Some(Some(rule)) => format!("FORBIDDEN ({rule})"),
                _ => "allowed".into(),
            };
            let _ = writeln!(text, ";;   {o}  x{n}  {verdict}");
        }
    }
    let wast = program.wast();
    text.push_str(&wast);
    let path = dir.join(format!("{stem}.wast"));
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    let test = program.test(stem)?;
    for (n, module) in test.modules.iter().enumerate() {
        let wasm = dir.join(format!("{stem}-{n}.wasm"));
        std::fs::write(&wasm, module).map_err(|e| format!("{}: {e}", wasm.display()))?;
        let wat = wasmprinter::print_bytes(module).map_err(|e| e.to_string())?;
        let watp = dir.join(format!("{stem}-{n}.wat"));
        std::fs::write(&watp, wat).map_err(|e| format!("{}: {e}", watp.display()))?;
    }
    Ok(path)
}

/// Runs a threaded campaign against `engine`. `progress` is called after every program with
/// the report so far and the fraction done (0.0–1.0). In the report, `modules` counts
/// programs, `instantiated` the programs checked on the engine, and `calls` their runs.
///
/// # Errors
/// A message when the engine is not available or a finding cannot be saved.
pub fn run_threads_campaign(
    campaign: &ThreadsCampaign,
    engine: &dyn Engine,
    progress: &mut dyn FnMut(&Report, f64),
) -> Result<Report, String> {
    let version = engine.version().map_err(|e| e.to_string())?;
    let mut report = Report::new(engine.name());
    let clock = Clock::start(match campaign.bound {
        Bound::Iterations(n) => n,
        Bound::Seconds(_) => 0,
    });
    let mut i = 0u64;
    loop {
        if clock.over(campaign.bound, i) || report.findings.len() >= campaign.max_findings {
            break;
        }
        let index = campaign.start + i;
        let program = ThreadedProgram::generate(campaign.seed, index);
        let run_seed = super::generate::module_seed(campaign.seed ^ 1, index);
        report.modules += 1;
        match check(&program, engine, campaign, run_seed) {
            Checking::Clean(h) => {
                report.instantiated += 1;
                report.calls += h.iterations;
            }
            Checking::Skip(why) => *report.skips.entry(why.to_string()).or_default() += 1,
            Checking::HeddleFailed(why) => {
                report.heddle_panics += 1;
                let stem = format!("heddle-{:016x}-{index}", campaign.seed);
                let header = format!(
                    "Heddle failed on its own generated {} program: {why}\n\
                     reproduce: heddle fuzz --threads --engine {} --seed {} --start {index} --iterations 1",
                    program.kind(),
                    report.engine,
                    campaign.seed
                );
                let path = save(campaign, &stem, &program, &header, None, None)?;
                report.findings.push(FindingReport {
                    kind: "heddle-error".into(),
                    path: path.display().to_string(),
                    summary: why,
                    sizes: (0, 0),
                });
            }
            Checking::Finding { kind, summary, .. } => {
                let small = if campaign.shrink_attempts > 0 {
                    shrink(&program, &kind, engine, campaign, run_seed)
                } else {
                    program.clone()
                };
                // The shrunk program's own finding (it may show another forbidden outcome).
                let (summary2, view, histogram) = match check(&small, engine, campaign, run_seed) {
                    Checking::Finding {
                        summary,
                        view,
                        histogram,
                        ..
                    } => (summary, view, histogram),
                    _ => (summary.clone(), None, None),
                };
                let stem = format!(
                    "{}-threads-{kind}-{:016x}-{index}",
                    report.engine, campaign.seed
                );
                let size = |p: &ThreadedProgram| p.wast().len();
                let header = format!(
                    "heddle fuzz --threads finding: {kind} on {version}\n{summary2}\n\
                     program {index} of seed {} ({} program), shrunk from {} to {} bytes of text\n\
                     reproduce: heddle fuzz --threads --engine {} --seed {} --start {index} --iterations 1\n\
                     check again: {}",
                    campaign.seed,
                    program.kind(),
                    size(&program),
                    size(&small),
                    report.engine,
                    campaign.seed,
                    match program {
                        ThreadedProgram::Drf(_) =>
                            "heddle explore THIS.wast (its SC outcomes are all the allowed ones)",
                        ThreadedProgram::Racy(_) => "heddle xcheck THIS.wast --engine ENGINE",
                    }
                );
                let path = save(
                    campaign,
                    &stem,
                    &small,
                    &header,
                    view.as_ref(),
                    histogram.as_ref(),
                )?;
                report.findings.push(FindingReport {
                    kind,
                    path: path.display().to_string(),
                    summary: format!("{summary2} [program {index} of seed {}]", campaign.seed),
                    sizes: (size(&program), size(&small)),
                });
            }
        }
        i += 1;
        let fraction = clock.tick(&mut report, campaign.bound, i);
        progress(&report, fraction);
    }
    clock.tick(&mut report, campaign.bound, i);
    Ok(report)
}
