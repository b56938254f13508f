//! `heddle run --wasi`: run a WASI program (preview1, wasi-threads) to its end
//! (docs/wasi.md).
//!
//! Exit status: the program's own (`proc_exit(code)`, as `code & 0xff`; 0 when `_start`
//! returns); [`TRAP_STATUS`] for a trap or a deadlock; 3 when `--fuel` or `--timeout` ran
//! out; 2 for a file that is not a WASI program (missing `_start`, or
//! `wasi_thread_start` in a program that spawns threads; an unknown import; a link
//! failure) or bad options. A run that fails (trap, deadlock, step bound, nonzero exit),
//! or any run with `--print-schedule`, prints its schedule to stderr, for `--replay`.
//!
//! `--races[=all]` (docs/races.md): the race detector watches the program's shared memory;
//! the races are reported on stderr (stdout is the program's), human or JSON
//! (`--format`), with the run's schedule. A data race makes the status 1 where the program
//! would exit 0 or hit a bound (3); a trap or deadlock (134) or the program's own nonzero
//! status stands, and the report is printed either way (README, *Exit statuses*).

use crate::exit::Status;
use crate::explore_cmd::{races_found, Format, RacesArg};
use crate::run_cmd::{RunArgs, STACK_BYTES};
use crate::wast_cmd::MemoryArg;
use heddle_interp::{ChoiceLog, Module};
use heddle_wasi::{Backend, Ending, Program, RunOptions, SchedulePolicy, Sink, WasiCtx};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The exit status of a program that trapped or deadlocked: 134, wasmtime's (128 +
/// SIGABRT), so that the two runners of a program can be compared by status.
pub const TRAP_STATUS: u8 = 134;

/// How the schedule is chosen.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleArg {
    /// Uniformly random thread and quantum, from --seed.
    Random,
    /// PCT (Burckhardt et al., ASPLOS 2010): random priorities, --pct-depth - 1 priority
    /// change points among the first --pct-steps scheduling steps, from --seed.
    Pct,
    /// Round-robin (no randomness).
    RoundRobin,
}

/// The options of `heddle run` that only `--wasi` uses.
#[derive(clap::Args, Debug)]
pub struct WasiArgs {
    /// The seed of the schedule and of the program's `random_get` (--wasi).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How threads are scheduled (--wasi, --memory sc).
    #[arg(long, value_enum, default_value_t = ScheduleArg::Random)]
    schedule: ScheduleArg,
    /// PCT's bug depth d: d - 1 priority change points (--schedule pct).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pct_depth: u64,
    /// PCT's k: the change points are drawn among the first K scheduling steps (steps taken
    /// while two or more threads can run; --schedule pct). Default: the scheduling steps of
    /// a first run of the same seed without change points (its output discarded).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pct_steps: Option<u64>,
    /// Replay a schedule a run printed (e.g. `0.41.1.7`) instead of choosing one (--wasi,
    /// --memory sc).
    #[arg(long, value_name = "SCHEDULE", conflicts_with = "schedule")]
    replay: Option<String>,
    /// An environment variable of the program (repeatable); the environment is empty
    /// otherwise (--wasi).
    #[arg(long, value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// A file whose contents are the program's standard input (empty otherwise; --wasi).
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// Print the run's schedule to stderr even when the program exits 0 (a failing run
    /// always prints it): to replay a run whose output is wrong without failing, e.g. a
    /// racy counter's lost updates (--wasi, --memory sc).
    #[arg(long)]
    print_schedule: bool,
    /// Detect races on the run (--wasi, --memory sc): report data races (`--races`), or
    /// all races (`--races=all`), each with both accesses and the run's schedule, on
    /// stderr; a data race makes the exit status 1 when the program would exit 0
    /// (docs/races.md).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "data", value_name = "WHICH")]
    races: Option<RacesArg>,
    /// The format of the race report (--races): readable lines, or one JSON object
    /// `{"file", "schedule", "races"}` with the keys of `heddle explore --races`.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Run `module` (decoded from `args.file`) as a WASI program.
pub fn run(args: &RunArgs, module: Arc<Module>) -> ExitCode {
    let file = args.file.display().to_string();
    let w = &args.wasi_args;
    let usage = |msg: String| {
        eprintln!("heddle run: {file}: {msg}");
        ExitCode::from(Status::Usage.code())
    };
    let program = match Program::check(module) {
        Ok(p) => p,
        Err(e) => return usage(e.to_string()),
    };
    if let Some(bad) = w.env.iter().find(|e| !e.contains('=')) {
        return usage(format!("--env {bad:?}: expected KEY=VALUE"));
    }
    let stdin = match &w.stdin {
        Some(path) => match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return usage(format!("--stdin {}: {e}", path.display())),
        },
        None => Vec::new(),
    };
    let policy = match (&w.replay, w.schedule) {
        (Some(s), _) => match ChoiceLog::parse_schedule(s) {
            Ok(prefix) => SchedulePolicy::Replay(prefix),
            Err(e) => return usage(format!("--replay: {e}")),
        },
        (None, ScheduleArg::Random) => SchedulePolicy::Random { seed: w.seed },
        (None, ScheduleArg::RoundRobin) => SchedulePolicy::RoundRobin,
        (None, ScheduleArg::Pct) => SchedulePolicy::Pct {
            seed: w.seed,
            depth: w.pct_depth,
            steps: w.pct_steps,
        },
    };
    if w.races.is_some() && args.memory == MemoryArg::Native {
        return usage(
            "--races needs sequentially consistent memory (--memory sc): the native \
             backend's accesses are not seen in the order the memory performs them"
                .into(),
        );
    }
    let backend = match args.memory {
        MemoryArg::Sc => Backend::Sc,
        MemoryArg::Native => Backend::Native {
            wait_poll: Duration::from_millis(50),
        },
    };
    let options = RunOptions {
        policy,
        backend,
        fuel: (args.fuel != 0).then_some(args.fuel),
    };
    let mut argv = vec![file.clone()];
    argv.extend(args.args.iter().cloned());
    let ctx = Arc::new(WasiCtx::new(
        argv,
        w.env.clone(),
        stdin,
        w.seed,
        Arc::new(Mutex::new(std::io::stdout())) as Sink,
        Arc::new(Mutex::new(std::io::stderr())) as Sink,
    ));
    let races = w.races.is_some();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("heddle-wasi".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(if races {
                heddle_wasi::run_detecting_races(&program, ctx, &options)
            } else {
                heddle_wasi::run(&program, ctx, &options)
            });
        });
    if let Err(e) = worker {
        eprintln!("heddle run: cannot start the interpreter thread: {e}");
        return ExitCode::from(Status::Failure.code());
    }
    let result = match args.timeout {
        Some(t) => match rx.recv_timeout(t) {
            Ok(r) => r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                eprintln!(
                    "heddle run: {file}: timeout: the program did not end within {} s",
                    t.as_secs_f64()
                );
                return ExitCode::from(Status::Incomplete.code());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                eprintln!("heddle run: {file}: the interpreter thread failed");
                return ExitCode::from(Status::Failure.code());
            }
        },
        None => match rx.recv() {
            Ok(r) => r,
            Err(_) => {
                eprintln!("heddle run: {file}: the interpreter thread failed");
                return ExitCode::from(Status::Failure.code());
            }
        },
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    if let Some(m) = &report.misfit {
        eprintln!("heddle run: {file}: warning: the replayed schedule does not fit: {m}");
    }
    let mut status = match &report.ending {
        Ending::Exit(code) => (*code as u32 & 0xff) as u8,
        Ending::Trap { thread, message } => {
            eprintln!("heddle run: {file}: {thread} trapped: {message}");
            TRAP_STATUS
        }
        Ending::Deadlock(d) => {
            eprintln!("heddle run: {file}: deadlock: every live thread waits forever:\n{d}");
            TRAP_STATUS
        }
        Ending::FuelExhausted => {
            eprintln!(
                "heddle run: {file}: fuel exhausted: the program did not end within {} small \
                 steps (raise --fuel, or --fuel 0 for no limit)",
                args.fuel
            );
            Status::Incomplete.code()
        }
    };
    if let (Some(which), Some(found)) = (w.races, &report.races) {
        let (shown, data_race) = races_found(found, which);
        let schedule = report.schedule.as_deref().unwrap_or("");
        match w.format {
            Format::Human => {
                eprintln!(
                    "heddle run: {file}: {} {} found",
                    shown.len(),
                    match which {
                        RacesArg::Data => "data race(s)",
                        RacesArg::All => "race(s) and data race(s)",
                    }
                );
                for race in &shown {
                    eprintln!("  {}", race.human());
                }
            }
            Format::Json => eprintln!(
                "{}",
                serde_json::json!({"file": file, "schedule": schedule, "races": shown})
            ),
        }
        // A data race is a finding (1): it replaces a clean exit (0) and a bound (3); a
        // trap, a deadlock (134) or the program's own nonzero status stands.
        if data_race && (status == 0 || status == Status::Incomplete.code()) {
            status = Status::Failure.code();
        }
    }
    if status != 0 || w.print_schedule {
        match report.schedule.as_deref() {
            Some("") => eprintln!(
                "heddle run: {file}: schedule: empty (no two threads could run at once: every \
                 schedule gives this run)"
            ),
            Some(schedule) => {
                eprintln!("heddle run: {file}: schedule (replay with --replay): {schedule}")
            }
            None => {}
        }
    }
    ExitCode::from(status)
}
