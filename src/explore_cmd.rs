//! `heddle explore FILE...`: every schedule (and, with `--memory relaxed`, every allowed
//! read) of litmus `.wast` files, the outcomes reached with a schedule that reproduces
//! each, and with `--check` a comparison with the outcomes the memory model allows.
//! See `docs/explore.md` for the JSON and trace formats.

use heddle_model::{enumerate, parse_litmus, Config, Outcome};
use heddle_spec_tests::explore::{
    explore, replay, Exploration, ExploreOptions, MemoryMode, Plan, ScriptTrace,
};
use serde_json::json;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit::Status;

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

/// Arguments of `heddle explore`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Litmus `.wast` files.
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
}

/// Run `heddle explore`. Exit status (see `exit.rs`): 2 for a file that cannot be read or
/// parsed (or a malformed schedule), 1 for a reachable outcome the model forbids or a run
/// that fails, 3 when a bound cut the exploration short, else 0.
pub fn run(args: Args) -> ExitCode {
    if args.replay.is_some() && args.check {
        eprintln!("heddle explore: --check compares a whole exploration with the model; it does not apply to --replay");
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
    };
    let mut status = Status::Success;
    let mut trace_lines: Vec<String> = Vec::new();
    for path in &args.files {
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
                    match args.format {
                        Format::Human => println!(
                            "{file}: schedule {:?}: {}",
                            r.schedule,
                            outcome.unwrap_or_else(|| format!(
                                "no outcome ({})",
                                r.cut.unwrap_or("cut")
                            ))
                        ),
                        Format::Json => println!(
                            "{}",
                            json!({"file": file, "schedule": r.schedule, "outcome": r.outcome, "cut": r.cut})
                        ),
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
        let ex = match explore(&plan, &opts) {
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
            match parse_litmus(&text)
                .map_err(|e| e.to_string())
                .and_then(|p| enumerate(&p, &Config::default()).map_err(|e| e.to_string()))
            {
                Ok(en) => Some(en.allowed.keys().cloned().collect::<Vec<Outcome>>()),
                Err(e) => {
                    eprintln!("heddle explore: {file}: model: {e}");
                    status.add(Status::Failure);
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
        if !not_allowed.is_empty() {
            status.add(Status::Failure);
        }
        match args.format {
            Format::Human => print_human(
                &file,
                &ex,
                check.is_some(),
                args.memory,
                &not_allowed,
                &not_reached,
            ),
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
                });
                if check.is_some() {
                    obj["not_allowed"] = json!(not_allowed);
                    obj["allowed_not_reachable"] = json!(not_reached);
                }
                println!("{obj}");
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

fn print_human(
    file: &str,
    ex: &Exploration,
    checked: bool,
    memory: Memory,
    not_allowed: &[Outcome],
    not_reached: &[Outcome],
) {
    println!(
        "{file}: {} outcome(s) reachable{} ({} runs, {} cut at a state seen before)",
        ex.reachable.len(),
        if ex.complete {
            ""
        } else {
            ", INCOMPLETE (a bound was hit)"
        },
        ex.executions,
        ex.pruned
    );
    for (o, f) in &ex.reachable {
        println!("    {o}    ×{}  schedule {:?}", f.count, f.schedule);
    }
    if checked {
        for o in not_allowed {
            println!("  ERROR reachable but not allowed by the model: {o}");
        }
        for o in not_reached {
            println!("  allowed by the model but not reached: {o}");
        }
        if !not_reached.is_empty() {
            println!(
                "  ({})",
                match memory {
                    Memory::Sc => "expected: a sequentially consistent run cannot show weak outcomes; try --memory relaxed",
                    Memory::Relaxed => "the relaxed backend reads only writes already executed: outcomes that need a read from a later write, such as load buffering (1,1) or out-of-thin-air values, are out of its reach (MODEL.md §9.4)",
                }
            );
        }
        if not_allowed.is_empty() {
            println!("  every reachable outcome is allowed by the model");
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
