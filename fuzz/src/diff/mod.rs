//! `heddle fuzz`: single-threaded differential fuzzing with Heddle as the oracle.
//!
//! A campaign generates modules with wasm-smith ([`generate`]; threads on for engines that
//! have them) or takes the given files, and for each module compares Heddle (through the
//! [`crate::oracle`]) with an engine ([`engine::DiffEngine`]: wasmtime or wasmi): every
//! exported function called with generated arguments, results (NaN-aware), traps (under
//! [`compare::traps_equivalent`]), exported globals, memories and tables
//! ([`compare::check_module`]). A difference is shrunk and saved ([`finding`]); a module
//! that cannot be compared is a counted skip ([`compare::Skip`]). [`mutate`] is the
//! no-panic campaign over mutated modules. [`threads`] is the multi-threaded campaign
//! (`--threads`). docs/fuzz.md is the user's guide.

pub mod compare;
pub mod engine;
pub mod finding;
pub mod generate;
pub mod mutate;
pub mod threads;
#[cfg(feature = "wasmi")]
pub mod wasmi;
#[cfg(feature = "wasmtime")]
pub mod wasmtime;

use crate::oracle::OracleOptions;
use compare::{check_module, CheckOptions};
use engine::DiffEngine;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// This many generated modules (or passes over the given files).
    Iterations(u64),
    /// Until this much wall-clock time has passed (checked between modules).
    Seconds(f64),
}

/// Where a campaign stands: `done` units of `total` (for [`Bound::Iterations`]) after
/// `started`.
pub(crate) struct Clock {
    started: Instant,
    total: u64,
}

impl Clock {
    /// A clock started now, for `total` units (ignored for [`Bound::Seconds`]).
    pub(crate) fn start(total: u64) -> Clock {
        Clock {
            started: Instant::now(),
            total,
        }
    }

    /// Whether the campaign is over after `done` units.
    pub(crate) fn over(&self, bound: Bound, done: u64) -> bool {
        match bound {
            Bound::Iterations(_) => done >= self.total,
            Bound::Seconds(s) => self.started.elapsed() >= Duration::from_secs_f64(s),
        }
    }

    /// Updates the report's time and rate, and gives the fraction done (0.0–1.0) after
    /// `done` units.
    pub(crate) fn tick(&self, report: &mut Report, bound: Bound, done: u64) -> f64 {
        report.seconds = self.started.elapsed().as_secs_f64();
        report.execs_per_sec = report.calls as f64 / report.seconds.max(1e-9);
        let fraction = match bound {
            Bound::Iterations(_) => done as f64 / self.total.max(1) as f64,
            Bound::Seconds(s) => report.seconds / s,
        };
        fraction.min(1.0)
    }
}

/// A campaign's settings.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// The campaign seed: module `i` is generated from `(seed, i)`.
    pub seed: u64,
    /// Index of the first generated module (to reproduce module `i`: `start = i`,
    /// one iteration).
    pub start: u64,
    /// When to stop.
    pub bound: Bound,
    /// Files to check instead of generated modules (`.wasm`, or `.wat` text).
    pub files: Vec<PathBuf>,
    /// Where findings are saved.
    pub out_dir: PathBuf,
    /// Comparison settings (fuel, wait budget, the oracle's options).
    pub check: CheckOptions,
    /// The budget of loop iterations and function entries a generated module gets (see
    /// [`generate::module`]); 0 leaves wasm-smith's output unchanged. Files are checked
    /// as they are.
    pub termination_fuel: u32,
    /// wasm-shrink's budget of failed attempts in a row; 0 saves findings unshrunk.
    pub shrink_attempts: u32,
    /// Stop after this many findings.
    pub max_findings: usize,
}

impl Default for Campaign {
    fn default() -> Self {
        Campaign {
            seed: 0,
            start: 0,
            bound: Bound::Seconds(60.0),
            files: Vec::new(),
            out_dir: PathBuf::from("fuzz-findings"),
            check: CheckOptions::default(),
            termination_fuel: generate::TERMINATION_FUEL,
            shrink_attempts: 300,
            max_findings: 10,
        }
    }
}

/// One saved finding, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct FindingReport {
    /// The difference's kind (see [`compare::Difference::kind`]).
    pub kind: String,
    /// The saved `.wasm` (the `.wat` and `.wast` are beside it).
    pub path: String,
    /// What differed, and how to reproduce it.
    pub summary: String,
    /// Size of the module before and after shrinking, in bytes.
    #[serde(skip)]
    pub sizes: (usize, usize),
}

/// A campaign's result; its JSON form is the final line of `heddle fuzz --format json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The engine compared against.
    pub engine: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Modules checked.
    pub modules: u64,
    /// Of those, modules that instantiated in both Heddle and the engine.
    pub instantiated: u64,
    /// Calls compared.
    pub calls: u64,
    /// Calls compared per second (the whole loop: generation, both engines, comparison).
    pub execs_per_sec: f64,
    /// Skipped modules by reason (see [`compare::Skip::name`]).
    pub skips: BTreeMap<String, u64>,
    /// Findings saved.
    pub findings: Vec<FindingReport>,
    /// Modules on which Heddle panicked (each also a finding).
    pub heddle_panics: u64,
    /// Seconds spent on Heddle's side (decode, validate, instantiate, run, reads, freeing
    /// the instance).
    pub heddle_seconds: f64,
}

impl Report {
    /// An empty report for a campaign against `engine`.
    pub fn new(engine: &str) -> Report {
        Report {
            engine: engine.to_string(),
            seconds: 0.0,
            modules: 0,
            instantiated: 0,
            calls: 0,
            execs_per_sec: 0.0,
            skips: BTreeMap::new(),
            findings: Vec::new(),
            heddle_panics: 0,
            heddle_seconds: 0.0,
        }
    }
}

/// Modules a campaign takes at a time: the engine compiles them one after another, then
/// Heddle prepares them (decode, validate, instantiate) one after another, then each is
/// run and compared ([`run_campaign`]).
pub const BATCH: usize = 16;

/// One module of a campaign, generated (or read) ahead of its comparison.
struct Planned {
    /// Where the module came from (a seed and index, or a file), for reports.
    origin: String,
    wasm: Vec<u8>,
    /// Seed of the call arguments.
    arg_seed: u64,
}

/// Which of a campaign's two threads may run: the comparing thread holds the machine
/// while it runs Heddle's side of a batch, and the planner generates modules only in
/// between. On the 2-core machines this project measures on, two busy threads slow each
/// other down about twofold (BENCHMARKS.md); this way Heddle's side is timed running
/// alone, while wasm-smith still overlaps the engine's compiler. Only for engines that
/// compile ahead ([`DiffEngine::compiles_ahead`]): against the others the comparing
/// thread never holds the machine, and the planner never waits.
#[derive(Default)]
struct Turns {
    state: std::sync::Mutex<TurnState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct TurnState {
    /// The comparing thread holds the machine (or waits to).
    comparing: bool,
    /// The planner is generating a module.
    generating: bool,
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, TurnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(
        &self,
        s: std::sync::MutexGuard<'a, TurnState>,
    ) -> std::sync::MutexGuard<'a, TurnState> {
        self.changed.wait(s).unwrap_or_else(|e| e.into_inner())
    }

    /// For the planner: wait while the comparing thread holds the machine, then generate
    /// until the returned guard is dropped (also on a panic).
    fn generate(&self) -> Generating<'_> {
        let mut s = self.lock();
        while s.comparing {
            s = self.wait(s);
        }
        s.generating = true;
        Generating(self)
    }

    /// For the comparing thread: hold the machine until the returned guard is dropped,
    /// once the planner has finished the module it is generating.
    fn hold(&self) -> Held<'_> {
        let mut s = self.lock();
        s.comparing = true;
        while s.generating {
            s = self.wait(s);
        }
        Held(self)
    }
}

struct Generating<'a>(&'a Turns);

impl Drop for Generating<'_> {
    fn drop(&mut self) {
        self.0.lock().generating = false;
        self.0.changed.notify_all();
    }
}

struct Held<'a>(&'a Turns);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.lock().comparing = false;
        self.0.changed.notify_all();
    }
}

/// Generate (or read) the campaign's modules from its `i`-th on, taking [`Turns`], and
/// send them in order to `to` (at most two batches ahead), until `total` modules (for
/// [`Bound::Iterations`]) or until the receiver is gone.
fn plan(
    campaign: &Campaign,
    files: &[(String, Vec<u8>)],
    engine: &str,
    threads: bool,
    total: u64,
    turns: &Turns,
    to: std::sync::mpsc::SyncSender<Planned>,
) {
    for i in 0.. {
        if matches!(campaign.bound, Bound::Iterations(_)) && i >= total {
            return;
        }
        let index = campaign.start + i;
        let turn = turns.generate();
        let planned = if files.is_empty() {
            let wasm = generate::module(campaign.seed, index, threads, campaign.termination_fuel);
            let origin = format!(
                "seed {} module {index} (reproduce: heddle fuzz --engine {engine} --seed {} --termination-fuel {} --start {index} --iterations 1)",
                campaign.seed, campaign.seed, campaign.termination_fuel
            );
            let arg_seed = generate::module_seed(campaign.seed, index);
            Planned {
                origin,
                wasm,
                arg_seed,
            }
        } else {
            let (name, w) = &files[(i % files.len() as u64) as usize];
            Planned {
                origin: name.clone(),
                wasm: w.clone(),
                arg_seed: campaign.seed,
            }
        };
        drop(turn);
        if to.send(planned).is_err() {
            return;
        }
    }
}

/// Run a campaign against `engine`. `progress` is called after every module with the
/// report so far and the fraction done (0.0–1.0).
///
/// Two threads. A planner thread generates the next modules with wasm-smith (at most two
/// batches ahead). This one takes them a batch of [`BATCH`] at a time: it compiles them in
/// the engine ([`DiffEngine::compiler`]), then holds the machine (`Turns`: the planner
/// waits) while Heddle prepares the batch's modules in a row ([`compare::prepare`]) and
/// each module is run and compared. For an engine that compiles lazily
/// ([`DiffEngine::compiles_ahead`] is false) it does not hold the machine: the planner
/// generates all along. Module `i` and its arguments depend only on the seed
/// and `i`, so a report is the same as checking one module at a time ([`check_module`]).
pub fn run_campaign(
    campaign: &Campaign,
    engine: &mut dyn DiffEngine,
    progress: &mut dyn FnMut(&Report, f64),
) -> Result<Report, String> {
    let files: Vec<(String, Vec<u8>)> = campaign
        .files
        .iter()
        .map(|p| read_module(p).map(|w| (p.display().to_string(), w)))
        .collect::<Result<_, _>>()?;
    let threads = engine.supports_threads();
    let total = match campaign.bound {
        Bound::Iterations(n) if !files.is_empty() => n.max(1) * files.len() as u64,
        Bound::Iterations(n) => n,
        Bound::Seconds(_) => 0,
    };
    let name = engine.name();
    let turns = Turns::default();
    std::thread::scope(|scope| {
        let (to, planned) = std::sync::mpsc::sync_channel(2 * BATCH);
        let (files, turns) = (&files, &turns);
        let planner = scope.spawn(move || plan(campaign, files, name, threads, total, turns, to));
        // The planner stops when `planned` is dropped, at the end of the comparisons.
        let report = compare_planned(campaign, engine, total, turns, planned, progress);
        match planner.join() {
            Ok(()) => report,
            Err(p) => Err(format!(
                "the thread generating modules panicked: {}",
                compare::panic_message(&*p)
            )),
        }
    })
}

/// The comparing half of [`run_campaign`]: take the planned modules in order, a batch at
/// a time, and compare each with `engine`.
fn compare_planned(
    campaign: &Campaign,
    engine: &mut dyn DiffEngine,
    total: u64,
    turns: &Turns,
    planned: std::sync::mpsc::Receiver<Planned>,
    progress: &mut dyn FnMut(&Report, f64),
) -> Result<Report, String> {
    let mut report = Report::new(engine.name());
    let compiler = engine.compiler();
    let clock = Clock::start(total);
    let mut i = 0u64;
    // The batch being compared: each module with the engine's compilation and Heddle's
    // preparation of it, and the hold on the machine while it lasts.
    let mut batch = std::collections::VecDeque::new();
    let mut held = None;
    loop {
        if clock.over(campaign.bound, i) || report.findings.len() >= campaign.max_findings {
            break;
        }
        if batch.is_empty() {
            // Let the planner generate while the engine compiles the next batch.
            drop(held.take());
            let n = match campaign.bound {
                Bound::Iterations(_) => (total - i).min(BATCH as u64),
                Bound::Seconds(_) => BATCH as u64,
            };
            let mut modules = Vec::new();
            for _ in 0..n {
                // The planner sends every module up to the bound: a closed channel before
                // it means the planner panicked (reported by `run_campaign`).
                let Ok(p) = planned.recv() else {
                    return Err("the thread generating modules stopped early".into());
                };
                let compiled = compare::compile_ahead(&*compiler, engine.name(), &p.wasm);
                modules.push((p, compiled));
            }
            // Heddle's turn, for an engine whose compiler hides the generator (see
            // `DiffEngine::compiles_ahead`).
            held = engine.compiles_ahead().then(|| turns.hold());
            for (p, compiled) in modules {
                let prepared = compare::prepare(&p.wasm, &campaign.check);
                batch.push_back((p, compiled, prepared));
            }
        }
        let Some((
            Planned {
                origin,
                wasm,
                arg_seed,
            },
            compiled,
            prepared,
        )) = batch.pop_front()
        else {
            return Err("the batch of modules is empty".into());
        };
        let index = campaign.start + i;
        let c =
            compare::check_compiled(&wasm, compiled, prepared, engine, &campaign.check, arg_seed);
        report.modules += 1;
        report.instantiated += c.instantiated as u64;
        report.calls += c.calls;
        report.heddle_seconds += c.heddle_seconds;
        if c.heddle_panicked {
            report.heddle_panics += 1;
        }
        if let Some(s) = c.skip {
            *report.skips.entry(s.name().to_string()).or_default() += 1;
        }
        if let Some(d) = c.difference {
            let small = if campaign.shrink_attempts > 0 {
                finding::shrink(
                    &wasm,
                    d.kind,
                    engine,
                    &campaign.check,
                    arg_seed,
                    campaign.shrink_attempts,
                )
            } else {
                wasm.clone()
            };
            // The shrunk module's own difference (same kind, possibly another call).
            let d2 = check_module(&small, engine, &campaign.check, arg_seed)
                .difference
                .unwrap_or(d.clone());
            let stem = format!(
                "{}-{}-{:016x}-{index}",
                report.engine, d.kind, campaign.seed
            );
            let note = format!(
                "from {origin}\noriginal: {}\nshrunk from {} to {} bytes; arguments seed {arg_seed}",
                d.summary,
                wasm.len(),
                small.len()
            );
            let saved = finding::save(
                &campaign.out_dir,
                &stem,
                &small,
                &d2,
                &note,
                &finding::Replay {
                    oracle: campaign.check.oracle,
                    arg_seed,
                    rounds: campaign.check.rounds,
                },
            )
            .map_err(|e| format!("saving a finding in {}: {e}", campaign.out_dir.display()))?;
            report.findings.push(FindingReport {
                kind: d2.kind.to_string(),
                path: saved.wasm.display().to_string(),
                summary: format!("{} [{origin}]", d2.summary),
                sizes: (wasm.len(), small.len()),
            });
        }
        i += 1;
        let fraction = clock.tick(&mut report, campaign.bound, i);
        progress(&report, fraction);
    }
    drop(held);
    clock.tick(&mut report, campaign.bound, i);
    Ok(report)
}

/// Read a module file: `.wat` (or `.wast` holding one module) as text, anything else as a
/// binary.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: neither wasm nor text", path.display()))?;
    wat::parse_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The oracle options of a campaign with a planted fault (test-only; see
/// [`crate::oracle::PlantedFault`]).
pub fn with_planted_fault(mut campaign: Campaign) -> Campaign {
    campaign.check.oracle = OracleOptions {
        planted_fault: Some(crate::oracle::PlantedFault::I32RotlIsRotr),
        ..campaign.check.oracle
    };
    campaign
}
