//! `heddle run`: instantiate a module and invoke one export.

use heddle_spec_tests::{format_value, invoke_module, load_module_file, parse_typed_arg, RunError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The module: binary (`.wasm`) or text (`.wat`).
    file: PathBuf,
    /// The exported function to invoke.
    #[arg(long)]
    invoke: String,
    /// Arguments, typed: `i32:5`, `i64:-1`, `f32:1.5`, `f64:-inf`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// Small steps the invocation (and the start function) may take (0: no limit).
    #[arg(long, default_value_t = 0)]
    fuel: u64,
}

pub fn run(args: RunArgs) -> ExitCode {
    let values = match args
        .args
        .iter()
        .map(|a| parse_typed_arg(a))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("heddle run: {e}");
            return ExitCode::from(2);
        }
    };
    let wasm = match load_module_file(&args.file) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("heddle run: {e}");
            return ExitCode::from(2);
        }
    };
    match invoke_module(
        &wasm,
        &args.invoke,
        &values,
        (args.fuel != 0).then_some(args.fuel),
    ) {
        Ok(results) => {
            for v in &results {
                println!("{}", format_value(v));
            }
            ExitCode::SUCCESS
        }
        Err(e @ RunError::Trap(_)) => {
            eprintln!("heddle run: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("heddle run: {e}");
            ExitCode::from(2)
        }
    }
}
