//! `heddle`: the command line of the Heddle reference interpreter for the WebAssembly
//! threads proposal. Each subcommand lives in its own module.

use clap::{Parser, Subcommand};

mod litmus_cmd;
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
    /// Allowed and forbidden outcomes of litmus .wast files under the memory model
    Litmus(litmus_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Litmus(args) => litmus_cmd::run(args),
    }
}
