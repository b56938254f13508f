//! `heddle explore FILE...`: every schedule (and, with `--memory relaxed`, every allowed
//! read) of litmus `.wast` files, the outcomes reached with a schedule that reproduces
//! each, and with `--check` a comparison with the outcomes the memory model allows.
//! See `docs/explore.md` for the JSON and trace formats.

use heddle_explore::{
    explore_observed, replay, shard, size, Exploration, ExploreOptions, MemoryMode, Plan,
    Reduction, ScriptTrace, Shard, StateHash,
};
use heddle_litmus::race_report::RaceReport;
use heddle_model::{Config, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::exit::Status;
use crate::out::outln;

/// Output format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Human,
    /// One JSON object per file, one per line.
    Json,
}

/// Shared-memory backend.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Memory {
    /// Sequentially consistent: only interleavings vary.
    Sc,
    /// Relaxed: reads may return any write the memory model allows at that point.
    Relaxed,
}

/// Partial-order reduction of the search.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReductionArg {
    /// Optimal DPOR (source sets and wake-up trees) for sequentially consistent memory; a
    /// file whose runs cycle (spin loops), `--memory relaxed` and `--shard` use caching.
    Dpor,
    /// State caching: each state reached at a choice point is explored once.
    Caching,
}

/// Which races `--races` reports (docs/races.md).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RacesArg {
    /// Data races only: races where one access is a non-atomic write.
    Data,
    /// Also races that are not data races (no non-atomic write among the two accesses).
    All,
}

impl RacesArg {
    /// Whether `r` is reported under this choice.
    pub fn reports(self, r: &RaceReport) -> bool {
        self == RacesArg::All || r.is_data_race()
    }
}

/// Print the races `which` selects from `races`, human or JSON per `format` (the JSON
/// objects are `obj["races"]`); whether one is a data race (exit status 1).
pub fn races_found(races: &[RaceReport], which: RacesArg) -> (Vec<&RaceReport>, bool) {
    let shown: Vec<&RaceReport> = races.iter().filter(|r| which.reports(r)).collect();
    let data = shown.iter().any(|r| r.is_data_race());
    (shown, data)
}

/// Arguments of `heddle explore`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Litmus `.wast` files, or directories searched recursively for them (with --merge:
    /// JSON result files of `--format json` runs).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Shared-memory backend.
    #[arg(long, value_enum, default_value_t = Memory::Sc)]
    pub memory: Memory,
    /// Also compute the outcomes the memory model allows, and report reachable outcomes
    /// that are not allowed (an error) and allowed ones not reached.
    #[arg(long)]
    pub check: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Stop after this many runs per file (the result is then incomplete; at least 1).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_executions: u64,
    /// Cut a run after this many small steps (the result is then incomplete; at least 1).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_steps: u64,
    /// Run one schedule (as printed next to an outcome) instead of exploring.
    #[arg(long, value_name = "SCHEDULE")]
    pub replay: Option<String>,
    /// Write the events of the runs (with --replay: of that run; otherwise one run per
    /// outcome reached) to FILE, as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Stop exploring a file after this many seconds (the result is then incomplete; at
    /// least 1).
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Explore a file even if its size estimate says it is far too large to finish (it is
    /// still bounded by --timeout and --max-executions).
    #[arg(long)]
    pub force: bool,
    /// Explore only shard K of N (1 <= K <= N) of each file's search tree; unite the shards'
    /// `--format json` results with --merge (docs/explore.md, *Sharding*).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Partial-order reduction (docs/explore.md, *What is explored*).
    #[arg(long, value_enum, default_value_t = ReductionArg::Dpor)]
    pub reduction: ReductionArg,
    /// Workers for one file's DPOR search and for a large relaxed exploration (default: the
    /// number of cores). The result does not depend on it; the SC caching search is
    /// sequential.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    /// Whether a memory.grow may fail though it would fit (also for --check's model).
    #[command(flatten)]
    pub grow: crate::model_args::GrowSwitch,
    /// Unite the JSON results (one object per line) of shards, given as FILES, into one
    /// result per litmus file.
    #[arg(long, conflicts_with_all = ["replay", "trace", "shard", "check", "force"])]
    pub merge: bool,
    /// Detect races on every explored schedule (sequentially consistent memory): report
    /// data races (`--races`), or all races (`--races=all`), each with both accesses and a
    /// schedule that replays it; a data race makes the exit status 1 (docs/races.md).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "data", value_name = "WHICH", conflicts_with = "merge")]
    pub races: Option<RacesArg>,
    /// Explore a WASI program (preview1, wasi-threads): FILES are the program (`.wasm` or
    /// `.wat`) then its arguments (after `--`); every schedule of its threads, its distinct
    /// endings and outputs (docs/wasi.md, *Exploring every schedule*).
    #[arg(long, conflicts_with_all = ["merge", "replay", "trace", "shard", "check", "force", "jobs"])]
    pub wasi: bool,
}

/// Run `heddle explore`. Exit status (see `exit.rs`): 2 for a file that cannot be read or
/// parsed (or a malformed schedule), 1 for a reachable outcome the model forbids or a run
/// that fails, 3 when a bound cut the exploration short, else 0.
pub fn run(args: Args) -> ExitCode {
    if args.wasi {
        return crate::explore_wasi_cmd::run(&args);
    }
    if args.merge {
        return merge(&args).into();
    }
    if args.replay.is_some() && args.check {
        eprintln!("heddle explore: --check compares a whole exploration with the model; it does not apply to --replay");
        return Status::Usage.into();
    }
    if args.replay.is_some() && args.shard.is_some() {
        eprintln!("heddle explore: --shard splits an exploration; it does not apply to --replay");
        return Status::Usage.into();
    }
    if let Some(schedule) = &args.replay {
        if let Err(e) = heddle_interp::ChoiceLog::parse_schedule(schedule) {
            eprintln!("heddle explore: --replay {schedule:?}: {e}");
            return Status::Usage.into();
        }
    }
    run_status(args).into()
}

fn run_status(args: Args) -> Status {
    let opts = ExploreOptions {
        memory: match args.memory {
            Memory::Sc => MemoryMode::Sc,
            Memory::Relaxed => MemoryMode::Relaxed,
        },
        max_executions: args.max_executions,
        max_steps: args.max_steps,
        keep_traces: false,
        timeout: Some(Duration::from_secs(args.timeout)),
        shard: args.shard,
        reduction: match args.reduction {
            ReductionArg::Dpor => Reduction::Dpor,
            ReductionArg::Caching => Reduction::Caching,
        },
        jobs: args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| n as usize,
        ),
        state_hash: StateHash::default(),
        spurious_grow_failure: args.grow.spurious_grow_failure(),
        races: args.races.is_some(),
    };
    let model_config = Config {
        spurious_grow_failure: opts.spurious_grow_failure,
        ..Config::default()
    };
    if args.races.is_some() && args.memory == Memory::Relaxed {
        eprintln!("heddle explore: --races needs sequentially consistent memory (--memory sc)");
        return Status::Usage;
    }
    let mut status = Status::Success;
    let mut trace_lines: Vec<String> = Vec::new();
    let files = match crate::litmus_cmd::litmus_files(&args.files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("heddle explore: {e}");
            return Status::Usage;
        }
    };
    for path in &files {
        let file = path.display().to_string();
        let plan = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Plan::from_text(&text).map(|p| (p, text)))
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!("heddle explore: {file}: {e}");
                status.add(Status::Usage);
                continue;
            }
        };
        let (plan, text) = plan;
        if let Some(schedule) = &args.replay {
            match replay(&plan, schedule, &opts) {
                Ok(r) => {
                    let outcome = r.outcome.as_ref().map(|o| o.to_string());
                    let (races, data) = match args.races {
                        Some(which) => races_found(&r.races, which),
                        None => (Vec::new(), false),
                    };
                    if data {
                        status.add(Status::Failure);
                    }
                    match args.format {
                        Format::Human => {
                            outln!(
                                "{file}: schedule {:?}: {}",
                                r.schedule,
                                outcome.unwrap_or_else(|| format!(
                                    "no outcome ({})",
                                    r.cut.unwrap_or("cut")
                                ))
                            );
                            for race in &races {
                                outln!("  {}", race.human());
                            }
                        }
                        Format::Json => {
                            let mut obj = json!({"file": file, "schedule": r.schedule, "outcome": r.outcome, "cut": r.cut});
                            if args.races.is_some() {
                                obj["races"] = json!(races);
                            }
                            outln!("{obj}");
                        }
                    }
                    if let Some(t) = &r.trace {
                        trace_lines.push(trace_json(&file, &r.schedule, r.outcome.as_ref(), t));
                    }
                }
                Err(e) => {
                    eprintln!("heddle explore: {file}: {e}");
                    status.add(Status::Failure);
                }
            }
            continue;
        }
        let estimate = size::estimate(&plan);
        let search = estimate.search(
            opts.memory == MemoryMode::Relaxed,
            opts.reduction == Reduction::Dpor && opts.shard.is_none() && !plan.steps_choose(&opts),
        );
        let shards = opts.shard.map_or(1, |s| s.count);
        let refusal = estimate.refusal(search, args.timeout as f64, opts.jobs, shards);
        if let (Some(why), false) = (refusal, args.force) {
            status.add(Status::Incomplete);
            eprintln!("heddle explore: {file}: {why}");
            if args.format == Format::Json {
                let mut obj = json!({"file": file, "complete": false, "refused": why});
                if let Some(s) = args.shard {
                    obj["shard"] = json!(s.to_string());
                }
                outln!("{obj}");
            }
            continue;
        }
        let ex = match explore_with_progress(&file, &plan, &opts) {
            Ok(ex) => ex,
            Err(e) => {
                eprintln!("heddle explore: {file}: {e}");
                status.add(Status::Failure);
                continue;
            }
        };
        if !ex.complete {
            status.add(Status::Incomplete);
        }
        if args.trace.is_some() {
            for (o, f) in &ex.reachable {
                if let Ok(r) = replay(&plan, &f.schedule, &opts) {
                    if let Some(t) = &r.trace {
                        trace_lines.push(trace_json(&file, &f.schedule, Some(o), t));
                    }
                }
            }
        }
        let check = if args.check {
            // The model rejecting the program is unreadable input (2), as for `heddle
            // litmus`; a model bound (too many events, a value domain cut off) leaves the
            // check incomplete (3).
            match crate::litmus_cmd::analyse_text(&text, &model_config) {
                Ok(en) if en.stats.domain_truncated => {
                    // The allowed set may lack outcomes: no comparison.
                    eprintln!(
                        "heddle explore: {file}: --check: model: the value domain was cut off; \
                         the allowed outcomes are incomplete, so they are not compared"
                    );
                    status.add(Status::Incomplete);
                    None
                }
                Ok(en) => Some(en.allowed.keys().cloned().collect::<Vec<Outcome>>()),
                Err((s, e)) => {
                    eprintln!("heddle explore: {file}: --check: model: {e}");
                    status.add(s);
                    None
                }
            }
        } else {
            None
        };
        let (not_allowed, not_reached) = match &check {
            Some(allowed) => {
                let allowed_set: HashSet<&Outcome> = allowed.iter().collect();
                let na: Vec<Outcome> = ex
                    .reachable
                    .keys()
                    .filter(|o| !allowed_set.contains(o))
                    .cloned()
                    .collect();
                let nr: Vec<Outcome> = allowed
                    .iter()
                    .filter(|o| !ex.reachable.contains_key(*o))
                    .cloned()
                    .collect();
                (na, nr)
            }
            None => (Vec::new(), Vec::new()),
        };
        // Relaxed exploration is complete (promises): an allowed outcome it did not reach
        // is as much an error as a forbidden one it did, when the search finished (and a
        // shard reaches only its part).
        let relaxed_miss = args.memory == Memory::Relaxed
            && ex.complete
            && args.shard.is_none()
            && !not_reached.is_empty();
        if !not_allowed.is_empty() || relaxed_miss {
            status.add(Status::Failure);
        }
        let (races, data_race) = match args.races {
            Some(which) => races_found(&ex.races, which),
            None => (Vec::new(), false),
        };
        if data_race {
            status.add(Status::Failure);
        }
        match args.format {
            Format::Human => {
                print_human(
                    &file,
                    args.shard,
                    &ex,
                    check.is_some(),
                    args.memory,
                    &not_allowed,
                    &not_reached,
                );
                if args.races.is_some() {
                    outln!(
                        "  {} race(s) reported ({})",
                        races.len(),
                        if args.races == Some(RacesArg::All) {
                            "races and data races"
                        } else {
                            "data races"
                        }
                    );
                    for race in &races {
                        outln!("  {}", race.human());
                    }
                }
            }
            Format::Json => {
                let mut obj = json!({
                    "file": file,
                    "reachable": ex.reachable.keys().collect::<Vec<_>>(),
                    "complete": ex.complete,
                    "found": ex.reachable.iter().map(|(o, f)| json!({
                        "outcome": o, "count": f.count, "schedule": f.schedule
                    })).collect::<Vec<_>>(),
                    "executions": ex.executions,
                    "pruned": ex.pruned,
                    "reduction": ex.reduction.name(),
                });
                if args.memory == Memory::Relaxed {
                    obj["rounds"] = json!(ex.rounds);
                    obj["broken_promises"] = json!(ex.broken_promises);
                }
                if let Some(why) = ex.stopped {
                    obj["stopped"] = json!(why.to_string());
                }
                if let Some(s) = args.shard {
                    obj["shard"] = json!(s.to_string());
                }
                if check.is_some() {
                    obj["not_allowed"] = json!(not_allowed);
                    obj["allowed_not_reachable"] = json!(not_reached);
                }
                if args.races.is_some() {
                    obj["races"] = json!(races);
                }
                outln!("{obj}");
            }
        }
    }
    if let Some(path) = &args.trace {
        let mut text = trace_lines.join("\n");
        text.push('\n');
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("heddle explore: cannot write {}: {e}", path.display());
            status.add(Status::Usage);
        }
    }
    status
}

/// [`explore_observed`] with a progress line on standard error when it is a terminal (runs,
/// distinct outcomes, runs per second), redrawn at most ten times a second and cleared at
/// the end.
fn explore_with_progress(
    file: &str,
    plan: &Plan,
    opts: &ExploreOptions,
) -> Result<Exploration, String> {
    if !std::io::stderr().is_terminal() {
        return explore_observed(plan, opts, &mut |_| {});
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"),
    );
    let started = Instant::now();
    let mut last = started;
    let result = explore_observed(plan, opts, &mut |ex| {
        let now = Instant::now();
        if now.duration_since(last) < Duration::from_millis(100) {
            return;
        }
        last = now;
        let secs = now.duration_since(started).as_secs_f64();
        bar.set_message(format!(
            "{file}: {} runs, {} distinct outcomes, {:.0} runs/s",
            ex.executions,
            ex.reachable.len(),
            ex.executions as f64 / secs.max(1e-3)
        ));
        bar.tick();
    });
    bar.finish_and_clear();
    result
}

fn print_human(
    file: &str,
    shard: Option<Shard>,
    ex: &Exploration,
    checked: bool,
    memory: Memory,
    not_allowed: &[Outcome],
    not_reached: &[Outcome],
) {
    outln!(
        "{file}{}: {} outcome(s) reachable{} ({} runs, {} cut by the reduction ({}){})",
        shard.map(|s| format!(" (shard {s})")).unwrap_or_default(),
        ex.reachable.len(),
        match ex.stopped {
            None => String::new(),
            Some(why) => format!(", INCOMPLETE ({why} was hit)"),
        },
        ex.executions,
        ex.pruned,
        ex.reduction.name(),
        if memory == Memory::Relaxed {
            format!(
                ", {} with a broken promise, {} value round(s)",
                ex.broken_promises, ex.rounds
            )
        } else {
            String::new()
        }
    );
    for (o, f) in &ex.reachable {
        outln!("    {o}    ×{}  schedule {:?}", f.count, f.schedule);
    }
    if checked {
        for o in not_allowed {
            outln!("  ERROR reachable but not allowed by the model: {o}");
        }
        let relaxed = memory == Memory::Relaxed;
        for o in not_reached {
            if relaxed && ex.complete && shard.is_none() {
                outln!("  ERROR allowed by the model but not reached: {o}");
            } else {
                outln!("  allowed by the model but not reached: {o}");
            }
        }
        if !not_reached.is_empty() {
            outln!(
                "  ({})",
                match memory {
                    Memory::Sc => "expected: a sequentially consistent run cannot show weak outcomes; try --memory relaxed",
                    Memory::Relaxed if shard.is_some() => "a shard reaches only its part of the outcomes",
                    Memory::Relaxed if !ex.complete => "the exploration is incomplete",
                    Memory::Relaxed => "the relaxed exploration with promises is complete: this is a bug in Heddle or in the model",
                }
            );
        }
        if not_allowed.is_empty() {
            outln!("  every reachable outcome is allowed by the model");
        }
    }
}

/// One run's trace as a JSON line: `{"file", "schedule", "outcome", "events": [{"thread",
/// "actions", "reads_from"}]}` (documented in docs/explore.md).
fn trace_json(file: &str, schedule: &str, outcome: Option<&Outcome>, t: &ScriptTrace) -> String {
    json!({
        "file": file,
        "schedule": schedule,
        "outcome": outcome,
        "events": t.events_json(),
    })
    .to_string()
}

/// `heddle explore --merge FILE.json...`: read the result lines of shard runs and print one
/// merged result per litmus file ([`shard::merge`]). Status: 2 for an unreadable or
/// malformed input, 1 if a shard reached an outcome the model forbids (with `--check`), 3 if
/// a file's result is incomplete (a shard missing, duplicated or incomplete), else 0.
fn merge(args: &Args) -> Status {
    let mut lines = Vec::new();
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "heddle explore: --merge: cannot read {}: {e}",
                    path.display()
                );
                return Status::Usage;
            }
        };
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) => lines.push(v),
                Err(e) => {
                    eprintln!(
                        "heddle explore: --merge: {}, line {}: not JSON: {e}",
                        path.display(),
                        n + 1
                    );
                    return Status::Usage;
                }
            }
        }
    }
    let merged = match shard::merge(&lines) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("heddle explore: --merge: {e}");
            return Status::Usage;
        }
    };
    let mut status = Status::Success;
    for m in &merged {
        if m["complete"] != json!(true) {
            status.add(Status::Incomplete);
        }
        let not_allowed = m["not_allowed"].as_array().map_or(0, Vec::len);
        if not_allowed > 0 {
            status.add(Status::Failure);
        }
        match args.format {
            Format::Json => outln!("{m}"),
            Format::Human => {
                let missing = m["missing_shards"].as_array().map_or(0, Vec::len);
                outln!(
                    "{}: {} outcome(s) reachable, merged from {} shard(s){} ({} runs, {} cut at a state seen before)",
                    m["file"].as_str().unwrap_or("?"),
                    m["reachable"].as_array().map_or(0, Vec::len),
                    m["shards"],
                    if m["complete"] == json!(true) {
                        String::new()
                    } else if missing > 0 {
                        format!(", INCOMPLETE (missing shards {})", m["missing_shards"])
                    } else {
                        ", INCOMPLETE".to_string()
                    },
                    m["executions"],
                    m["pruned"],
                );
                for f in m["found"].as_array().into_iter().flatten() {
                    outln!(
                        "    {}    ×{}  schedule {}",
                        f["outcome"],
                        f["count"],
                        f["schedule"]
                    );
                }
                if let Some(na) = m["not_allowed"].as_array() {
                    for o in na {
                        outln!("  ERROR reachable but not allowed by the model: {o}");
                    }
                }
                if let Some(nr) = m["allowed_not_reachable"].as_array() {
                    for o in nr {
                        outln!("  allowed by the model but not reached: {o}");
                    }
                }
            }
        }
    }
    status
}
