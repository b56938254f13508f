//! `heddle xcheck [FILE|DIR]...`: litmus tests run on real engines, every observed outcome
//! checked against the outcomes the memory model allows. See docs/xcheck.md.

use crate::exit::Status;
use crate::model_args::ModelSwitches;
use heddle_fuzz::engine::{Engine, RunOptions};
use heddle_fuzz::engines::{self, EngineSpec};
use heddle_fuzz::xcheck::{self, Input, TestReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Output format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table per test: outcomes × engines, with the model's verdict.
    Human,
    /// One JSON object per (test, engine) per line, then a summary object.
    Json,
}

/// Backend of the `heddle` reference engine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryArg {
    /// Sequentially consistent shared memory: every schedule.
    Sc,
    /// The relaxed backend: every schedule and every allowed read (but promises).
    Relaxed,
}

/// Arguments of `heddle xcheck`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Litmus `.wast` files, or directories searched recursively for them.
    pub paths: Vec<PathBuf>,
    /// Engines, comma-separated: wasmtime, node, bun, chromium, firefox, heddle,
    /// heddle-native (the native backend on OS threads); or `all`.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub engine: Vec<String>,
    /// Iterations of each test on each engine.
    #[arg(long, default_value_t = 100_000)]
    pub iterations: u64,
    /// Seed of the per-thread random delays, and of `--generate`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also run N generated litmus programs (2–4 threads, 1–4 shared accesses each).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate: u64,
    /// Where generated programs that give a finding are written as `.wast` files.
    #[arg(long, value_name = "DIR", default_value = "xcheck-findings")]
    pub findings_dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a self-contained HTML report with a histogram plot per test.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Where an engine's executable is, e.g. `firefox=/opt/firefox/firefox`; repeatable.
    #[arg(long = "engine-path", value_name = "NAME=PATH")]
    pub engine_paths: Vec<String>,
    /// Backend of the `heddle` engine row.
    #[arg(long, value_enum, default_value_t = MemoryArg::Sc)]
    pub memory: MemoryArg,
    /// Hang bound, in seconds: an engine that makes no progress for this long (or for 100 ×
    /// its slowest of the first 100 iterations, if larger) is hung; heddle-native stops
    /// after this long in all [default: 60 + 2 ms per iteration].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// The model's switches.
    #[command(flatten)]
    pub model: ModelSwitches,
}

/// Runs `heddle xcheck`. Exit status: 0 no finding; 1 a forbidden outcome observed or an
/// engine crashed, hung or rejected a module; 2 bad usage or unreadable input.
pub fn run(args: Args) -> ExitCode {
    match run_inner(args) {
        Ok(true) => Status::Success.into(),
        Ok(false) => Status::Failure.into(),
        Err(e) => {
            eprintln!("heddle xcheck: {e}");
            Status::Usage.into()
        }
    }
}

fn run_inner(args: Args) -> Result<bool, String> {
    if args.iterations == 0 {
        return Err("--iterations must be at least 1".into());
    }
    if args.paths.is_empty() && args.generate == 0 {
        return Err("nothing to check: give litmus files or directories, or --generate N".into());
    }
    let mut paths = std::collections::HashMap::new();
    for p in &args.engine_paths {
        let (name, path) = p
            .split_once('=')
            .ok_or_else(|| format!("--engine-path {p:?}: expected NAME=PATH"))?;
        paths.insert(name.to_string(), PathBuf::from(path));
    }
    let memory = match args.memory {
        MemoryArg::Sc => heddle_explore::MemoryMode::Sc,
        MemoryArg::Relaxed => heddle_explore::MemoryMode::Relaxed,
    };
    let names: Vec<String> = if args.engine.iter().any(|e| e == "all") {
        engines::ALL.iter().map(|s| s.to_string()).collect()
    } else {
        args.engine.clone()
    };
    let mut chosen: Vec<Box<dyn Engine>> = Vec::new();
    for name in &names {
        let spec = EngineSpec {
            name: name.clone(),
            path: paths.get(name).cloned(),
            memory,
        };
        chosen.push(engines::create(&spec)?);
    }
    let explicit = !args.engine.iter().any(|e| e == "all");
    // Engines that are not installed: named explicitly, that is an error; with `all`, they
    // are reported and left out.
    let mut engines_run: Vec<Box<dyn Engine>> = Vec::new();
    for e in chosen {
        match e.version() {
            Ok(_) => engines_run.push(e),
            Err(why) if explicit => return Err(format!("{}: {why}", e.name())),
            Err(why) => eprintln!("heddle xcheck: leaving out {}: {why}", e.name()),
        }
    }
    if engines_run.is_empty() {
        return Err("no engine available".into());
    }

    let mut inputs = Vec::new();
    // One walk for every subcommand: `heddle wast`'s.
    let files: Vec<PathBuf> = heddle_spec_tests::suite::collect_files(&args.paths, &[])
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|f| f.path)
        .collect();
    for f in &files {
        let source =
            std::fs::read_to_string(f).map_err(|e| format!("{}: cannot read: {e}", f.display()))?;
        // A file that is not a `.wast` script at all is unreadable input (2); a script the
        // model does not take (not a litmus test) is reported as skipped.
        if let Err(e) = heddle_model::parse_litmus(&source) {
            // `LitmusError::column` is non-zero for syntax errors only.
            if e.column != 0 {
                return Err(format!("{}: {e}", f.display()));
            }
        }
        inputs.push(Input {
            name: f.display().to_string(),
            source,
        });
    }
    let generated_from = inputs.len();
    if args.generate > 0 {
        let config = heddle_fuzz::generate::GenConfig::xcheck();
        for (i, p) in heddle_fuzz::generate::generate(&config, args.seed, args.generate as usize)
            .into_iter()
            .enumerate()
        {
            inputs.push(Input {
                name: format!("generated-{}-{i}.wast", args.seed),
                source: p.to_wast(),
            });
        }
    }
    let config = args.model.config(&[]);
    let mut prepared = xcheck::prepare(&inputs, &config);
    let runnable = prepared.iter().filter(|(t, _)| t.is_some()).count();
    let opts = RunOptions {
        iterations: args.iterations,
        seed: args.seed,
        timeout: match args.timeout {
            Some(0) => return Err("--timeout must be at least 1 second".into()),
            Some(s) => Duration::from_secs(s),
            // Tests whose threads block wait for the watchdog every iteration: ~1 ms each.
            None => {
                Duration::from_secs(60)
                    + Duration::from_millis(2)
                        .saturating_mul(u32::try_from(args.iterations).unwrap_or(u32::MAX))
            }
        },
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new((runnable * engines_run.len()) as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} {msg}")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    xcheck::run(&mut prepared, &engines_run, &opts, &mut |engine, test| {
        bar.set_message(format!("{engine}: {test}"));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let reports: Vec<TestReport> = prepared.into_iter().map(|(_, r)| r).collect();

    let summary = heddle_fuzz::xcheck::Summary::of(&reports, &engines_run, seconds);
    // Recorded before printing: a reader that stops reading ends the command with it.
    let mut found = Status::Success;
    if summary.findings() > 0 {
        found.add(Status::Failure);
    }
    for r in &reports {
        let text = match args.format {
            Format::Human => heddle_fuzz::xcheck::human(r),
            Format::Json => heddle_fuzz::xcheck::json_lines(r),
        };
        crate::out::write_bytes(text.as_bytes());
    }
    match args.format {
        Format::Human => crate::out::write_bytes(summary.human().as_bytes()),
        Format::Json => crate::out::write_bytes(format!("{}\n", summary.json()).as_bytes()),
    }
    // Generated programs with a finding, saved for reproduction.
    for (i, r) in reports.iter().enumerate().skip(generated_from) {
        if r.has_finding() {
            std::fs::create_dir_all(&args.findings_dir)
                .map_err(|e| format!("{}: {e}", args.findings_dir.display()))?;
            let path = args.findings_dir.join(&r.file);
            std::fs::write(&path, &inputs[i].source)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("heddle xcheck: finding saved as {}", path.display());
        }
    }
    if let Some(path) = &args.report {
        let html = heddle_fuzz::report::html(&reports, "heddle xcheck");
        std::fs::write(path, html).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(summary.findings() == 0)
}
