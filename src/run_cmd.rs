//! `heddle run`: instantiate a module and invoke one export.

use crate::exit::Status;
use crate::out::outln;
use crate::wast_cmd::MemoryArg;
use heddle_interp::simd::Shape;
use heddle_interp::{Module, SharedBackend, Trap, Value};
use heddle_spec_tests::{
    export_func_type, format_value_in, invoke_decoded_on, load_module_file, locate_in_text,
    parse_arg, RunError, DEFAULT_FUEL,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The module: binary (`.wasm`) or text (`.wat`).
    pub(crate) file: PathBuf,
    /// The exported function to invoke (not with --wasi).
    #[arg(long, required_unless_present = "wasi", conflicts_with = "wasi")]
    invoke: Option<String>,
    /// Arguments, typed from the export's parameters: `5`, `-1`, `0.5`, or typed `i32:5`;
    /// v128 `i32x4:1,2,3,4` or `0xHEX`; references `null`, `ref.extern:N`. With --wasi, the
    /// program's arguments (after its name). Options may come before, between or after
    /// them; `--` ends the options.
    #[arg(allow_negative_numbers = true)]
    pub(crate) args: Vec<String>,
    /// Run FILE as a WASI program (preview1 and wasi-threads): instantiate it, invoke
    /// `_start`, and exit with the program's exit status (docs/wasi.md).
    #[arg(long)]
    wasi: bool,
    #[command(flatten)]
    pub(crate) wasi_args: crate::wasi_cmd::WasiArgs,
    /// Small steps the start function and the invocation may take (0: no limit); with
    /// --wasi, the whole program (over all threads; per thread with --memory native).
    #[arg(long, default_value_t = DEFAULT_FUEL)]
    pub(crate) fuel: u64,
    /// Shared-memory backend: `sc`, or `native` (atomic words, as `heddle wast --memory
    /// native`; the invocation is the memory's only thread, so a wait without timeout
    /// traps with "deadlock" at once, as with `sc`).
    #[arg(long, value_enum, default_value_t = MemoryArg::Sc)]
    pub(crate) memory: MemoryArg,
    /// The lane shape v128 results are printed in: i8x16, i16x8, i32x4, i64x2, f32x4 or
    /// f64x2. A v128's type does not say how its bits are divided into lanes, so the result
    /// of e.g. `f32x4.add` is printed as i32x4 unless this says f32x4.
    #[arg(long, value_name = "SHAPE", default_value = "i32x4", value_parser = parse_shape)]
    v128_shape: Shape,
    /// Wall-clock limit in seconds (e.g. 2.5; default: none).
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    pub(crate) timeout: Option<Duration>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite() && secs < 1e9) {
        return Err(format!(
            "{s:?}: the timeout must be a positive number of seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_shape(s: &str) -> Result<Shape, String> {
    s.parse()
}

/// Stack of the thread the invocation runs on.
pub(crate) const STACK_BYTES: usize = 256 << 20;

pub fn run(args: RunArgs) -> ExitCode {
    if args.wasi {
        let module = match decode_file(&args.file) {
            Ok(m) => m,
            Err(status) => return status.into(),
        };
        return crate::wasi_cmd::run(&args, module);
    }
    run_status(args).into()
}

/// Read and decode the module in `file` (binary or text); a failure is reported (naming
/// the file, and for text the line and column) and is `Status::Usage`.
pub(crate) fn decode_file(path: &std::path::Path) -> Result<Arc<Module>, Status> {
    let file = path.display().to_string();
    let wasm = match load_module_file(path) {
        Ok(w) => w,
        Err(e) => {
            // The message names the file (and, for text, the line and column).
            eprintln!("heddle run: {e}");
            return Err(Status::Usage);
        }
    };
    match Module::decode(&wasm) {
        Ok(m) => Ok(Arc::new(m)),
        Err(e) => {
            // A binary names the byte offset; a text module the line and column of the
            // function the error is in (the offset is in the encoding of the text).
            let text = std::fs::read(path)
                .ok()
                .filter(|b| !b.starts_with(b"\0asm"))
                .and_then(|b| String::from_utf8(b).ok());
            match (text, e.offset) {
                (Some(text), Some(offset)) => match locate_in_text(&text, &wasm, offset) {
                    Some((line, col)) => {
                        eprintln!("heddle run: {file}:{line}:{col}: in this function: {e}")
                    }
                    None => eprintln!(
                        "heddle run: {file}: {} (in the binary encoding of the text)",
                        e.located()
                    ),
                },
                _ => eprintln!("heddle run: {file}: {}", e.located()),
            }
            Err(Status::Usage)
        }
    }
}

fn run_status(args: RunArgs) -> Status {
    let file = args.file.display().to_string();
    let module = match decode_file(&args.file) {
        Ok(m) => m,
        Err(status) => return status,
    };
    let invoke = args.invoke.clone().unwrap_or_default();
    let ty = match export_func_type(&module, &invoke) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("heddle run: {file}: {e}");
            return Status::Usage;
        }
    };
    if args.args.len() != ty.params.len() {
        eprintln!(
            "heddle run: {file}: {:?} has type {ty}: it takes {} argument(s), {} given",
            invoke,
            ty.params.len(),
            args.args.len()
        );
        return Status::Usage;
    }
    let values = match args
        .args
        .iter()
        .zip(&ty.params)
        .map(|(a, t)| parse_arg(a, *t))
        .collect::<Result<Vec<Value>, _>>()
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("heddle run: {file}: --invoke {invoke:?}: {e}");
            return Status::Usage;
        }
    };
    let fuel = (args.fuel != 0).then_some(args.fuel);
    let export = invoke.clone();
    let backend = match args.memory {
        MemoryArg::Sc => SharedBackend::Sc,
        MemoryArg::Native => SharedBackend::Native {
            wait_limit: Some(Duration::ZERO),
        },
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("heddle-run".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(invoke_decoded_on(module, &export, &values, fuel, backend));
        });
    if let Err(e) = worker {
        eprintln!("heddle run: cannot start the interpreter thread: {e}");
        return Status::Failure;
    }
    let result = match args.timeout {
        Some(t) => match rx.recv_timeout(t) {
            Ok(r) => r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                eprintln!(
                    "heddle run: {file}: timeout: {invoke:?} did not finish within {} s",
                    t.as_secs_f64()
                );
                return Status::Incomplete;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                eprintln!("heddle run: {file}: the interpreter thread failed");
                return Status::Failure;
            }
        },
        None => match rx.recv() {
            Ok(r) => r,
            Err(_) => {
                eprintln!("heddle run: {file}: the interpreter thread failed");
                return Status::Failure;
            }
        },
    };
    match result {
        Ok(results) => {
            for v in &results {
                outln!("{}", format_value_in(v, args.v128_shape));
            }
            Status::Success
        }
        Err(RunError::Trap(Trap::FuelExhausted) | RunError::Start(Trap::FuelExhausted)) => {
            eprintln!(
                "heddle run: {file}: fuel exhausted: {} did not finish within {} small steps \
                 (raise --fuel, or --fuel 0 for no limit)",
                if matches!(result, Err(RunError::Start(_))) {
                    "instantiation (the start function)".to_string()
                } else {
                    format!("{invoke:?}")
                },
                args.fuel
            );
            Status::Incomplete
        }
        Err(e @ (RunError::Trap(_) | RunError::Start(_) | RunError::Exception { .. })) => {
            eprintln!("heddle run: {file}: {e}");
            Status::Failure
        }
        Err(e @ RunError::Setup(_)) => {
            // Link failures: the module cannot run here.
            eprintln!("heddle run: {file}: {e}");
            Status::Usage
        }
    }
}
