//! `heddle wast`: run `.wast` scripts and report.

use heddle_spec_tests::report::{human_file, human_summary, junit};
use heddle_spec_tests::{collect_files, run_files, RunOptions, Summary, DEFAULT_FUEL};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

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

#[derive(clap::Args, Debug)]
pub struct WastArgs {
    /// Scripts to run; directories are searched recursively for `.wast` files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Files to run in parallel (default: one per core).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
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
    /// Largest number of small steps a thread runs before the scheduler picks again.
    #[arg(long, default_value_t = RunOptions::default().max_quantum)]
    max_quantum: u64,
    /// Human format: list only failing files.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Files from which a progress bar is shown (when stderr is a terminal).
const PROGRESS_MIN_FILES: usize = 10;

pub fn run(args: WastArgs) -> ExitCode {
    let files = match collect_files(&args.paths, &args.exclude) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("heddle wast: {e}");
            return ExitCode::from(2);
        }
    };
    if files.is_empty() {
        eprintln!("heddle wast: no .wast files found");
        return ExitCode::from(2);
    }
    let opts = RunOptions {
        seed: args.seed,
        fuel: (args.fuel != 0).then_some(args.fuel),
        max_quantum: args.max_quantum.max(1),
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
    let reports = run_files(&files, &opts, args.jobs, &|r| {
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
    let summary = Summary::of(&reports, opts.seed, start.elapsed());
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        Format::Human => {
            let mut s = String::new();
            for r in reports.iter().filter(|r| !args.quiet || !r.ok()) {
                s.push_str(&human_file(r));
            }
            s.push_str(&human_summary(&summary));
            writeln!(out, "{s}")
        }
        Format::Json => {
            let mut s = String::new();
            for r in &reports {
                s.push_str(&r.to_json_line());
                s.push('\n');
            }
            s.push_str(&summary.to_json_line());
            writeln!(out, "{s}")
        }
        Format::Junit => writeln!(out, "{}", junit(&reports, &summary)),
    };
    if written.and_then(|_| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
