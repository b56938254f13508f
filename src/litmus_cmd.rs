//! `heddle litmus FILE...`: the allowed outcomes of litmus `.wast` files under the memory
//! model of the threads proposal, and the rule that forbids every other candidate outcome.
//! See `docs/model.md` for the switches and the JSON format.

use crate::exit::Status;
use crate::model_args::ModelSwitches;
use heddle_model::{enumerate, parse_litmus, Config, Enumeration, Execution, ModelError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text.
    Human,
    /// One JSON object per file, one per line.
    Json,
}

/// Arguments of `heddle litmus`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Litmus `.wast` files, or directories searched recursively for them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The model's switches.
    #[command(flatten)]
    pub model: ModelSwitches,
    /// Extra value every read may guess (out-of-thin-air tests); repeatable.
    #[arg(long = "seed", value_name = "N")]
    pub seeds: Vec<u64>,
    /// Print a witness execution for every allowed outcome (human format).
    #[arg(long)]
    pub witnesses: bool,
}

impl Args {
    fn config(&self) -> Config {
        self.model.config(&self.seeds)
    }
}

/// Analyse one file; an error comes with its exit status: 2 for a file that cannot be read
/// or parsed, 3 for a program too large to enumerate, 1 otherwise.
fn analyse(path: &PathBuf, cfg: &Config) -> Result<Enumeration, (Status, String)> {
    let text =
        std::fs::read_to_string(path).map_err(|e| (Status::Usage, format!("cannot read: {e}")))?;
    analyse_text(&text, cfg)
}

/// Analyse a litmus program's text; an error comes with its exit status: 2 for a program
/// the model's front end rejects (syntax, a construct it does not read), 3 for a program too
/// large to enumerate, 1 for the model's internal errors.
pub fn analyse_text(text: &str, cfg: &Config) -> Result<Enumeration, (Status, String)> {
    let program = parse_litmus(text).map_err(|e| (Status::Usage, e.to_string()))?;
    enumerate(&program, cfg).map_err(|e| {
        let status = match e {
            ModelError::TooManyEvents(_) | ModelError::TooManyCandidates(_) => Status::Incomplete,
            _ => Status::Failure,
        };
        (status, e.to_string())
    })
}

#[derive(serde::Serialize)]
struct Forbidden<'a> {
    outcome: &'a heddle_model::Outcome,
    rule: &'static str,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Report<'a> {
    Ok {
        file: &'a str,
        allowed: Vec<&'a heddle_model::Outcome>,
        forbidden: Vec<Forbidden<'a>>,
    },
    Err {
        file: &'a str,
        error: &'a str,
    },
}

/// The JSON line of one file, keys in this order:
/// `{"file": F, "allowed": [OUTCOME…], "forbidden": [{"outcome": OUTCOME, "rule": R}…]}`,
/// or `{"file": F, "error": MESSAGE}` if the file could not be analysed.
pub fn json_line(file: &str, result: &Result<Enumeration, String>) -> String {
    let report = match result {
        Ok(en) => Report::Ok {
            file,
            allowed: en.allowed.keys().collect(),
            forbidden: en
                .forbidden
                .iter()
                .map(|(outcome, v)| Forbidden {
                    outcome,
                    rule: v.rule.name(),
                })
                .collect(),
        },
        Err(error) => Report::Err { file, error },
    };
    serde_json::to_string(&report)
        .unwrap_or_else(|e| format!("{{\"file\": {file:?}, \"error\": \"{e}\"}}"))
}

fn write_witness(out: &mut String, ex: &Execution) {
    use std::fmt::Write;
    let mut order: Vec<usize> = (0..ex.events.len()).collect();
    order.sort_by_key(|&e| ex.tot[e]);
    for e in order {
        let ev = &ex.events[e];
        let _ = write!(out, "      e{e}: {}", ev.label);
        for a in &ev.actions {
            let _ = write!(out, "  {a:?}");
        }
        if !ex.rf[e].is_empty() {
            let srcs: Vec<String> = ex.rf[e].iter().map(|w| format!("e{w}")).collect();
            let _ = write!(out, "  rf=[{}]", srcs.join(","));
        }
        out.push('\n');
    }
}

fn human(file: &str, en: &Enumeration, witnesses: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{file}: {} allowed, {} forbidden",
        en.allowed.len(),
        en.forbidden.len()
    );
    let _ = writeln!(out, "  allowed:");
    for (o, ex) in &en.allowed {
        let _ = writeln!(out, "    {o}");
        if witnesses {
            write_witness(&mut out, ex);
        }
    }
    if !en.forbidden.is_empty() {
        let _ = writeln!(out, "  forbidden:");
        for (o, v) in &en.forbidden {
            let _ = writeln!(out, "    {o}\n      by {}: {}", v.rule, v.detail);
        }
    }
    if en.stats.domain_truncated {
        let _ = writeln!(out, "  note: the value domain was cut off before its fixpoint (RMW arithmetic); outcomes needing later values are not listed");
    }
    out
}

/// Runs `heddle litmus`. Exit status (see `exit.rs`): 2 if a file cannot be read or parsed,
/// 1 if the model fails on one, 3 if a result is incomplete (value domain cut off, program
/// too large), else 0.
pub fn run(args: Args) -> ExitCode {
    if args.witnesses && args.format == Format::Json {
        eprintln!("heddle litmus: --witnesses applies to the human format only");
        return Status::Usage.into();
    }
    let cfg = args.config();
    let mut status = Status::Success;
    let files = match litmus_files(&args.files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("heddle litmus: {e}");
            return Status::Usage.into();
        }
    };
    for path in &files {
        let file = path.display().to_string();
        let result = analyse(path, &cfg);
        match &result {
            Ok(en) if en.stats.domain_truncated => status.add(Status::Incomplete),
            Ok(_) => {}
            Err((s, _)) => status.add(*s),
        }
        let result = result.map_err(|(_, e)| e);
        let text = match (args.format, &result) {
            (Format::Json, _) => json_line(&file, &result) + "\n",
            (Format::Human, Ok(en)) => human(&file, en, args.witnesses),
            (Format::Human, Err(e)) => {
                eprintln!("heddle litmus: {file}: {e}");
                continue;
            }
        };
        crate::out::write_bytes(text.as_bytes());
    }
    status.into()
}

/// The litmus files of `paths`: directories searched recursively for `.wast` files (sorted),
/// files as given, as `heddle wast` and `heddle xcheck` find them
/// ([`heddle_spec_tests::suite::collect_files`]). `Err` names a path that does not exist,
/// or a directory that holds no `.wast` file.
pub fn litmus_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let files = heddle_spec_tests::suite::collect_files(paths, &[]).map_err(|e| e.to_string())?;
    for p in paths.iter().filter(|p| p.is_dir()) {
        if !files.iter().any(|f| f.path.starts_with(p)) {
            return Err(format!("{}: no .wast files found", p.display()));
        }
    }
    Ok(files.into_iter().map(|f| f.path).collect())
}
