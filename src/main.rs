//! `heddle`: the command line of the Heddle reference interpreter for the WebAssembly
//! threads proposal. Each subcommand lives in its own module.

mod explore_cmd;
mod fuzz_cmd;
mod litmus_cmd;
mod run_cmd;
mod wast_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "heddle",
    version,
    about = "Reference interpreter for the WebAssembly threads proposal"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run .wast scripts (files, or directories recursively) and report per directive.
    Wast(wast_cmd::WastArgs),
    /// Instantiate a module (.wasm or .wat) and invoke one of its exports.
    Run(run_cmd::RunArgs),
    /// Allowed and forbidden outcomes of litmus .wast files under the memory model.
    Litmus(litmus_cmd::Args),
    /// Explore every schedule (and allowed read) of litmus .wast files.
    Explore(explore_cmd::Args),
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
        Command::Fuzz(args) => fuzz_cmd::run(args),
    }
}
