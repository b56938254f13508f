//! `heddle explore --wasi FILE [-- ARGS]`: every schedule of a WASI program's threads
//! (docs/wasi.md, *Exploring every schedule*): its distinct outcomes (ending, stdout,
//! stderr), each with a count and a schedule for `heddle run --wasi --replay`.
//!
//! Exit status: 1 when some outcome is a trap or a deadlock (a finding), else 3 when the
//! exploration is incomplete (`--max-executions`, `--max-steps`, `--timeout`), else 0; 2
//! for a file that is not a WASI program or bad options. A program's own nonzero exit code
//! is an outcome like any other, not a finding.

use crate::exit::Status;
use crate::explore_cmd::{Args, Format, Memory};
use crate::out::outln;
use heddle_wasi::{Ending, Exploration, ExploreOptions, Program};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// Run `heddle explore --wasi`.
pub fn run(args: &Args) -> ExitCode {
    let usage = |msg: String| {
        eprintln!("heddle explore --wasi: {msg}");
        ExitCode::from(Status::Usage.code())
    };
    if args.memory != Memory::Sc {
        return usage("WASI programs are explored with --memory sc only".into());
    }
    let file = &args.files[0];
    let name = file.display().to_string();
    let module = match crate::run_cmd::decode_file(file) {
        Ok(m) => m,
        Err(status) => return status.into(),
    };
    let program = match Program::check(module) {
        Ok(p) => p,
        Err(e) => return usage(format!("{name}: {e}")),
    };
    // The arguments `heddle run --wasi FILE ARGS` gives, so that schedules replay there.
    let mut argv = vec![name.clone()];
    argv.extend(args.files[1..].iter().map(|a| a.display().to_string()));
    let options = ExploreOptions {
        args: argv,
        fuel: Some(args.max_steps),
        max_runs: args.max_executions,
        timeout: Some(Duration::from_secs(args.timeout)),
        ..ExploreOptions::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("heddle-explore-wasi".into())
        .stack_size(crate::run_cmd::STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(heddle_wasi::explore(&program, &options));
        });
    if let Err(e) = worker {
        eprintln!("heddle explore: cannot start the interpreter thread: {e}");
        return ExitCode::from(Status::Failure.code());
    }
    let exploration = match rx.recv() {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => return usage(format!("{name}: {e}")),
        Err(_) => {
            eprintln!("heddle explore: {name}: the interpreter thread failed");
            return ExitCode::from(Status::Failure.code());
        }
    };
    match args.format {
        Format::Human => human(&name, &exploration),
        Format::Json => outln!("{}", to_json(&name, &exploration)),
    }
    let finding = exploration
        .outcomes
        .iter()
        .any(|f| matches!(f.outcome.ending, Ending::Trap { .. } | Ending::Deadlock(_)));
    let status = if finding {
        Status::Failure
    } else if !exploration.complete() {
        Status::Incomplete
    } else {
        Status::Success
    };
    status.into()
}

/// One line naming an ending.
fn ending_text(ending: &Ending) -> String {
    match ending {
        Ending::Exit(code) => format!("exit {code}"),
        Ending::Trap { thread, message } => format!("trap in {thread}: {message}"),
        Ending::Deadlock(_) => "deadlock".into(),
        Ending::FuelExhausted => "step bound (--max-steps) reached".into(),
    }
}

fn human(name: &str, e: &Exploration) {
    let status = match &e.incomplete {
        None => "complete".to_string(),
        Some(why) => format!("INCOMPLETE: {why}"),
    };
    outln!(
        "{name}: {} outcome(s), {status} ({} runs, {} redundant, {} pruned at explored states, \
         {} states cached, {} events)",
        e.outcomes.len(),
        e.runs,
        e.redundant,
        e.pruned,
        e.cached_states,
        e.events
    );
    for f in &e.outcomes {
        let o = &f.outcome;
        outln!("  {} ({} runs)", ending_text(&o.ending), f.count);
        if let Ending::Deadlock(d) = &o.ending {
            for line in d.lines() {
                outln!("      {line}");
            }
        }
        if !o.stdout.is_empty() {
            outln!("    stdout: {:?}", o.stdout);
        }
        if !o.stderr.is_empty() {
            outln!("    stderr: {:?}", o.stderr);
        }
        outln!(
            "    schedule: {} (heddle run --wasi {name} --replay SCHEDULE)",
            if f.schedule.is_empty() {
                "(empty)"
            } else {
                &f.schedule
            }
        );
    }
}

fn to_json(name: &str, e: &Exploration) -> serde_json::Value {
    let outcomes: Vec<_> = e
        .outcomes
        .iter()
        .map(|f| {
            let o = &f.outcome;
            let (kind, detail) = match &o.ending {
                Ending::Exit(code) => ("exit", json!({ "code": code })),
                Ending::Trap { thread, message } => {
                    ("trap", json!({ "thread": thread, "message": message }))
                }
                Ending::Deadlock(d) => ("deadlock", json!({ "threads": d })),
                Ending::FuelExhausted => ("step_bound", json!({})),
            };
            json!({
                "ending": kind,
                "detail": detail,
                "stdout": o.stdout,
                "stderr": o.stderr,
                "count": f.count,
                "schedule": f.schedule,
            })
        })
        .collect();
    json!({
        "file": name,
        "wasi": true,
        "complete": e.complete(),
        "incomplete": e.incomplete,
        "runs": e.runs,
        "redundant": e.redundant,
        "pruned": e.pruned,
        "cached_states": e.cached_states,
        "events": e.events,
        "outcomes": outcomes,
    })
}
