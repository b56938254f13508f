//! `heddle fuzz`: single-threaded differential fuzzing with Heddle as the oracle, against
//! wasmtime or wasmi (see docs/fuzz.md); with `--threads`, threaded programs on an engine's
//! real threads, every outcome checked; and with `--mutate`, the no-panic campaign over
//! mutated modules.

use crate::exit::Status;
use crate::out::outln;
use heddle_explore::MemoryMode;
use heddle_fuzz::diff::threads::{run_threads_campaign, ThreadsCampaign};
use heddle_fuzz::diff::{self, engine::engine_by_name, mutate, Bound, Campaign, Report};
use heddle_fuzz::engines::{create, EngineSpec};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Human,
    /// One JSON object (the final report).
    Json,
}

/// Arguments of `heddle fuzz`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The engine compared with Heddle: wasmtime or wasmi; with --threads any engine of
    /// `heddle xcheck` that runs on real threads (wasmtime, node, bun, chromium, firefox,
    /// heddle-native).
    #[arg(long, default_value = "wasmtime")]
    pub engine: String,
    /// Threaded programs instead (data-race-free ones with loops and wait/notify, checked by
    /// SC exploration; straight-line racy ones, checked by the memory model), each run
    /// --runs times on the engine's real threads.
    #[arg(long, conflicts_with_all = ["mutate", "files"])]
    pub threads: bool,
    /// With --threads: runs of each program on the engine.
    #[arg(long, default_value_t = 2_000)]
    pub runs: u64,
    /// Stop after this many seconds (the default bound: 60).
    #[arg(long, conflicts_with = "iterations")]
    pub seconds: Option<f64>,
    /// Stop after this many modules (with files: passes over the files).
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Campaign seed (module i comes from (seed, i)).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Index of the first generated module (reproduce module i: --start i --iterations 1).
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Where findings are saved.
    #[arg(long, default_value = "fuzz-findings")]
    pub out: PathBuf,
    /// Heddle's fuel per call (small steps); engines get 4x + 10,000.
    #[arg(long, default_value_t = 100_000)]
    pub fuel: u64,
    /// Generated modules are made to terminate (wasm-smith's `ensure_termination`): this
    /// many loop iterations and function entries over all of a module's calls, then every
    /// further one traps; 0 checks wasm-smith's output unchanged.
    #[arg(long, default_value_t = heddle_fuzz::diff::generate::TERMINATION_FUEL)]
    pub termination_fuel: u32,
    /// wasm-shrink's budget of failed attempts in a row (0: save findings unshrunk).
    #[arg(long, default_value_t = 300)]
    pub shrink_attempts: u32,
    /// Stop after this many findings.
    #[arg(long, default_value_t = 10)]
    pub max_findings: usize,
    /// The no-panic campaign instead: mutated wasm-smith modules through Heddle alone
    /// (decode, validate, instantiate, run); bounded by --iterations (default 100,000).
    #[arg(long)]
    pub mutate: bool,
    /// Test-only: run with an oracle whose i32.rotl is wrong (a planted fault).
    #[arg(long, hide = true)]
    pub planted_fault: bool,
    /// Modules to check (.wasm or .wat) instead of generated ones.
    pub files: Vec<PathBuf>,
}

fn bar(len: u64, template: &str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(len);
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        bar
    })
}

/// Run `heddle fuzz`: exit status 0 with no finding, 1 with findings (or a Heddle panic),
/// 2 on a usage or I/O error.
pub fn run(args: Args) -> ExitCode {
    if args.mutate {
        return run_mutate(&args);
    }
    if args.threads {
        return run_threads(&args);
    }
    let mut engine = match engine_by_name(&args.engine) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut campaign = Campaign {
        seed: args.seed,
        start: args.start,
        bound: bound(&args),
        files: args.files.clone(),
        out_dir: args.out.clone(),
        shrink_attempts: args.shrink_attempts,
        max_findings: args.max_findings.max(1),
        termination_fuel: args.termination_fuel,
        ..Campaign::default()
    };
    campaign.check.oracle.fuel = args.fuel;
    campaign.check.engine_fuel = args.fuel.saturating_mul(4).saturating_add(10_000);
    if args.planted_fault {
        campaign = diff::with_planted_fault(campaign);
    }
    let result = with_progress(("modules", "calls"), &mut |progress| {
        diff::run_campaign(&campaign, engine.as_mut(), progress)
    });
    finish(result, args.format, print_human)
}

/// A campaign run with a progress callback (the report so far, the fraction done).
type CampaignRun<'a> = dyn FnMut(&mut dyn FnMut(&Report, f64)) -> Result<Report, String> + 'a;

/// Runs a campaign with a progress bar on a terminal (`units`: what the report's `modules`
/// and `calls` count).
fn with_progress(units: (&str, &str), campaign: &mut CampaignRun<'_>) -> Result<Report, String> {
    let progress = bar(1000, "{bar:40} {elapsed} {msg}");
    let result = campaign(&mut |r: &Report, f| {
        if let Some(b) = &progress {
            b.set_position((f * 1000.0) as u64);
            b.set_message(format!(
                "{} {}, {} {} ({:.0}/s), {} findings",
                r.modules,
                units.0,
                r.calls,
                units.1,
                r.execs_per_sec,
                r.findings.len()
            ));
        }
    });
    if let Some(b) = &progress {
        b.finish_and_clear();
    }
    result
}

/// Prints a campaign's report and gives its exit status: 0 with no finding, 1 with
/// findings or Heddle panics, 2 when the campaign could not run.
fn finish(result: Result<Report, String>, format: Format, human: fn(&Report)) -> ExitCode {
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The status is recorded before the report is printed: a reader that stops reading
    // (`| head`) ends the command with it (`crate::out`).
    let mut status = Status::Success;
    if !report.findings.is_empty() || report.heddle_panics > 0 {
        status.add(Status::Failure);
    }
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string(&report).expect("a report serialises")
        ),
        Format::Human => human(&report),
    }
    status.into()
}

/// The campaign's bound: `--iterations`, else `--seconds`, else 60 seconds.
fn bound(args: &Args) -> Bound {
    match (args.iterations, args.seconds) {
        (Some(n), _) => Bound::Iterations(n),
        (None, Some(s)) => Bound::Seconds(s),
        (None, None) => Bound::Seconds(60.0),
    }
}

fn run_threads(args: &Args) -> ExitCode {
    let threaded = [
        "wasmtime",
        "node",
        "bun",
        "chromium",
        "firefox",
        "heddle-native",
    ];
    if !threaded.contains(&args.engine.as_str()) {
        eprintln!(
            "error: --threads runs on an engine with threads: {} (not {:?})",
            threaded.join(", "),
            args.engine
        );
        return ExitCode::from(2);
    }
    let engine = match create(&EngineSpec {
        name: args.engine.clone(),
        path: None,
        memory: MemoryMode::Sc,
    }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let campaign = ThreadsCampaign {
        seed: args.seed,
        start: args.start,
        bound: bound(args),
        runs: args.runs.max(1),
        out_dir: args.out.clone(),
        shrink_attempts: args.shrink_attempts.min(100),
        max_findings: args.max_findings.max(1),
        planted_fault: args
            .planted_fault
            .then_some(heddle_fuzz::generate::drf::Fault::CountSubtracts),
        ..ThreadsCampaign::default()
    };
    let result = with_progress(("programs", "runs"), &mut |progress| {
        run_threads_campaign(&campaign, engine.as_ref(), progress)
    });
    finish(result, args.format, print_threads_human)
}

fn print_threads_human(r: &Report) {
    outln!(
        "heddle fuzz --threads vs {}: {} programs ({} checked on the engine), {} runs in {:.1} s ({:.0} runs/s)",
        r.engine, r.modules, r.instantiated, r.calls, r.seconds, r.execs_per_sec
    );
    print_findings(r);
}

fn print_human(r: &Report) {
    outln!(
        "heddle fuzz vs {}: {} modules ({} instantiated), {} calls in {:.1} s ({:.0} calls/s; Heddle's side {:.1} s, {:.0} modules/s)",
        r.engine,
        r.modules,
        r.instantiated,
        r.calls,
        r.seconds,
        r.execs_per_sec,
        r.heddle_seconds,
        r.modules as f64 / r.heddle_seconds.max(1e-9)
    );
    print_findings(r);
}

/// Skips, findings and the verdict line of a report.
fn print_findings(r: &Report) {
    if !r.skips.is_empty() {
        let s: Vec<String> = r.skips.iter().map(|(k, v)| format!("{k} {v}")).collect();
        outln!("skipped: {}", s.join(", "));
    }
    for f in &r.findings {
        outln!(
            "FINDING {}: {} ({} -> {} bytes)\n  saved: {} (and the files beside it)",
            f.kind,
            f.summary,
            f.sizes.0,
            f.sizes.1,
            f.path
        );
    }
    if r.heddle_panics > 0 {
        outln!("Heddle panicked or failed on {} modules", r.heddle_panics);
    }
    outln!(
        "{}",
        if r.findings.is_empty() {
            "no finding"
        } else {
            "findings: exit status 1"
        }
    );
}

fn run_mutate(args: &Args) -> ExitCode {
    let count = args.iterations.unwrap_or(100_000);
    let progress = bar(count, "{bar:40} {pos}/{len} mutants, {elapsed} {msg}");
    let result = mutate::run_mutation_campaign(
        args.seed,
        count,
        args.fuel.min(10_000),
        &args.out,
        &mut |r| {
            if let Some(b) = &progress {
                b.set_position(r.modules);
                b.set_message(format!("{} panics", r.heddle_panics));
            }
        },
    );
    if let Some(b) = &progress {
        b.finish_and_clear();
    }
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut status = Status::Success;
    if r.heddle_panics > 0 {
        status.add(Status::Failure);
    }
    match args.format {
        Format::Json => outln!("{}", serde_json::to_string(&r).expect("a report serialises")),
        Format::Human => outln!(
            "heddle fuzz --mutate: {} mutated modules ({} valid, {} instantiated, {} calls) in {:.1} s ({:.0}/s): {} Heddle panics",
            r.modules,
            r.valid,
            r.instantiated,
            r.calls,
            r.seconds,
            r.modules as f64 / r.seconds.max(1e-9),
            r.heddle_panics
        ),
    }
    status.into()
}
