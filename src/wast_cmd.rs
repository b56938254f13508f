//! `heddle wast`: run `.wast` scripts and report.

use crate::exit::Status;
use crate::explore_cmd::RacesArg;
use heddle_spec_tests::report::{human_file, human_summary, junit};
use heddle_spec_tests::runner::UNREADABLE;
use heddle_spec_tests::{
    collect_files, run_files, testsuite_dir, RunOptions, Summary, DEFAULT_FUEL,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Feature sets (`--features`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureSet {
    /// The threads suite's files (under `$HEDDLE_TESTSUITE/threads`) with `threads`,
    /// every other file with `wasm3`.
    Auto,
    /// Wasm 2.0 and the threads proposal.
    Threads,
    /// Threads with the Wasm 3.0 features Heddle implements (memory64, multi-memory,
    /// extended constants, tail calls, relaxed SIMD), custom page sizes and wide arithmetic.
    Wasm3,
}

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One line per file, failures indented under it, and a summary.
    Human,
    /// One JSON object per file per line, then a `{"summary":{...}}` line.
    Json,
    /// JUnit XML: one test suite per file, one test case per directive.
    Junit,
}

/// Shared-memory backends of `heddle wast` and `heddle run`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryArg {
    /// Sequentially consistent bytes; threads stepped by a scheduler.
    Sc,
    /// Atomic words; every Wasm thread on its own OS thread (docs/native.md).
    Native,
}

#[derive(clap::Args, Debug)]
pub struct WastArgs {
    /// Scripts to run; directories are searched recursively for `.wast` files. Default: the
    /// threads proposal's suite, `$HEDDLE_TESTSUITE/threads` (the vendored `testsuite/threads`).
    paths: Vec<PathBuf>,
    /// Files to run in parallel (default: one per core; at least 1).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u64).range(1..=4096))]
    jobs: Option<u64>,
    /// Seed of the thread scheduler; each file's run is deterministic for a seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Skip files whose path relative to the given directory (or one of its parent
    /// directories) matches this glob, e.g. `simd/*`. Repeatable.
    #[arg(long)]
    exclude: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Small steps each file may take over all its threads (0: no limit).
    #[arg(long, default_value_t = DEFAULT_FUEL)]
    fuel: u64,
    /// Largest number of small steps a thread runs before the scheduler picks again (at
    /// least 1).
    #[arg(long, default_value_t = RunOptions::default().max_quantum,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_quantum: u64,
    /// Shared-memory backend: `sc` (sequentially consistent, script threads interleaved by
    /// the seeded scheduler) or `native` (every script thread on its own OS thread over a
    /// memory of atomic words; a wait without timeout that is not notified within 10 s
    /// traps with "deadlock").
    #[arg(long, value_enum, default_value_t = MemoryArg::Sc)]
    memory: MemoryArg,
    /// Which features modules may use.
    #[arg(long, value_enum, default_value_t = FeatureSet::Auto)]
    features: FeatureSet,
    /// Human format: list only failing files.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Detect races in each file's run (sequentially consistent memory): report data races
    /// (`--races`), or all races (`--races=all`), each with both accesses; a data race makes
    /// the exit status 1 (docs/races.md).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "data", value_name = "WHICH")]
    races: Option<RacesArg>,
}

/// Files from which a progress bar is shown (when stderr is a terminal).
const PROGRESS_MIN_FILES: usize = 10;

/// How a failing directive's message says its invocation ran out of fuel (the message of
/// `Trap::FuelExhausted`).
const FUEL_EXHAUSTED: &str = "fuel exhausted (step limit reached)";

pub fn run(args: WastArgs) -> ExitCode {
    run_status(args).into()
}

fn run_status(args: WastArgs) -> Status {
    let paths = if args.paths.is_empty() {
        let dir = testsuite_dir().join("threads");
        if !dir.is_dir() {
            eprintln!(
                "heddle wast: no path given, and the threads suite is not at {} \
                 (set HEDDLE_TESTSUITE to a directory holding threads/, or give paths)",
                dir.display()
            );
            return Status::Usage;
        }
        vec![dir]
    } else {
        args.paths.clone()
    };
    let files = match collect_files(&paths, &args.exclude) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("heddle wast: {e}");
            return Status::Usage;
        }
    };
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!("heddle wast: no .wast files found in {}", shown.join(", "));
        return Status::Usage;
    }
    if args.races.is_some() && args.memory == MemoryArg::Native {
        eprintln!("heddle wast: --races needs sequentially consistent memory (--memory sc)");
        return Status::Usage;
    }
    let base = match args.memory {
        MemoryArg::Sc => RunOptions::default(),
        MemoryArg::Native => RunOptions::native(),
    };
    let opts = RunOptions {
        seed: args.seed,
        fuel: (args.fuel != 0).then_some(args.fuel),
        max_quantum: args.max_quantum,
        features: match args.features {
            FeatureSet::Auto => None,
            FeatureSet::Threads => Some(heddle_interp::Features::Threads),
            FeatureSet::Wasm3 => Some(heddle_interp::Features::Wasm3),
        },
        races: args.races.is_some(),
        ..base
    };
    let bar = (std::io::stderr().is_terminal() && files.len() >= PROGRESS_MIN_FILES).then(|| {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files, {elapsed} {msg}")
                .expect("valid template"),
        );
        bar
    });
    let start = Instant::now();
    let jobs = args.jobs.map(|j| j as usize);
    let mut reports = run_files(&files, &opts, jobs, &|r| {
        if let Some(bar) = &bar {
            bar.inc(1);
            if !r.ok() {
                bar.set_message(format!("(last failure: {})", r.file));
            }
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // The races `--races` selects; a data race is a finding (1).
    let mut data_race = false;
    if let Some(which) = args.races {
        for r in &mut reports {
            r.races.retain(|x| which.reports(x));
            data_race |= r.races.iter().any(|x| x.is_data_race());
        }
    }
    let summary = Summary::of(&reports, opts.seed, start.elapsed());
    let unreadable = reports
        .iter()
        .any(|r| r.failures.iter().any(|f| f.directive == UNREADABLE));
    // Recorded before the report is written: a reader that stops reading (`| head`) ends
    // the command with it (`crate::out`).
    // A directive that ran out of `--fuel` hit a bound (3) rather than failed (1).
    let fuel_bound = |f: &heddle_spec_tests::report::Failure| f.message.contains(FUEL_EXHAUSTED);
    let failures = || reports.iter().flat_map(|r| r.failures.iter());
    let mut status = Status::Success;
    if unreadable {
        status.add(Status::Usage);
    } else if data_race || failures().any(|f| !fuel_bound(f)) {
        status.add(Status::Failure);
    } else if failures().any(fuel_bound) {
        status.add(Status::Incomplete);
    }
    let report = match args.format {
        Format::Human => {
            let mut s = String::new();
            for r in reports
                .iter()
                .filter(|r| !args.quiet || !r.ok() || !r.races.is_empty())
            {
                s.push_str(&human_file(r));
                for race in &r.races {
                    s.push_str(&format!("    {}\n", race.human()));
                }
            }
            s.push_str(&human_summary(&summary));
            s
        }
        Format::Json => {
            let mut s = String::new();
            for r in &reports {
                s.push_str(&r.to_json_line());
                s.push('\n');
            }
            s.push_str(&summary.to_json_line());
            s
        }
        Format::Junit => junit(&reports, &summary),
    };
    crate::out::outln!("{report}");
    status
}
