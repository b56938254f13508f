//! `heddle`: the command line of the Heddle reference interpreter for the WebAssembly
//! threads proposal. Each subcommand lives in its own module.

mod exit;
mod explore_cmd;
mod explore_wasi_cmd;
mod fuzz_cmd;
mod litmus_cmd;
mod model_args;
mod out;
mod run_cmd;
mod wasi_cmd;
mod wast_cmd;
mod xcheck_cmd;

/// mimalloc instead of the system allocator: a campaign frees on one thread what its
/// planner thread allocated (Heddle's instances), which glibc does three times slower
/// (BENCHMARKS.md, "Differential fuzzing").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "heddle",
    version,
    about = "Reference interpreter for the WebAssembly threads proposal",
    after_help = "Exit status (every subcommand): 0 success; 1 a failure or finding (failing \
directive, trap, forbidden outcome); 2 bad usage or unreadable input; 3 incomplete results \
(a bound such as --fuel or --max-executions was hit). `run --wasi` exits with the program's \
own status, or 134 if it trapped or deadlocked."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run .wast scripts (files, or directories recursively; default: the vendored threads
    /// suite) and report per directive.
    Wast(wast_cmd::WastArgs),
    /// Instantiate a module (.wasm or .wat) and invoke one of its exports, or run a WASI
    /// program (--wasi).
    Run(run_cmd::RunArgs),
    /// Allowed and forbidden outcomes of litmus .wast files under the memory model.
    Litmus(litmus_cmd::Args),
    /// Explore every schedule (and allowed read) of litmus .wast files.
    Explore(explore_cmd::Args),
    /// Run litmus tests on real engines and check every observed outcome against the model.
    Xcheck(xcheck_cmd::Args),
    /// Differential fuzzing with Heddle as the oracle, against wasmtime or wasmi.
    Fuzz(fuzz_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Wast(args) => wast_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
        Command::Litmus(args) => litmus_cmd::run(args),
        Command::Explore(args) => explore_cmd::run(args),
        Command::Xcheck(args) => xcheck_cmd::run(args),
        Command::Fuzz(args) => fuzz_cmd::run(args),
    }
}
