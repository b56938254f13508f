//! # heddle-spec-tests
//!
//! Heddle's `.wast` script runner: runs the official WebAssembly test suites (with the
//! threads proposal's `thread`, `wait` and `either` script extensions) against
//! `heddle-interp`, and reports per file and per directive in a human, JSON-lines or JUnit
//! format. See `docs/harness.md` for the message policy and the JSON format.
//!
//! ```no_run
//! use heddle_spec_tests::{collect_files, run_files, RunOptions};
//! let files = collect_files(&["testsuite/threads".into()], &["simd/*".into()]).unwrap();
//! let reports = run_files(&files, &RunOptions::default(), None, &|_| {});
//! assert!(reports.iter().all(|r| r.ok()));
//! ```
#![deny(missing_docs)]

pub mod legacy_try;
pub mod report;
pub mod runner;
pub mod suite;

// The script as data, the spectest host module and script values have their home in
// heddle-litmus; the runner uses them under these names.
pub use heddle_litmus::{script, spectest, values};

pub use report::{Failure, FileReport, Summary};
pub use runner::{
    features_for, run_wast_file, run_wast_source, RunOptions, DEFAULT_FUEL, NATIVE_WAIT_LIMIT,
};
pub use suite::{collect_files, run_files, testsuite_dir, Excludes, SuiteError, WastFile};
pub use values::{format_value, format_value_in, parse_arg, parse_typed_arg};

use heddle_interp::syntax::ExportDesc;
use heddle_interp::{
    Configuration, ExecLimits, ExternVal, FuncType, Module, SharedBackend, Trap, Value,
};
use std::path::Path;
use std::sync::Arc;

/// Read a module file: binary (`.wasm`, or anything starting with the `\0asm` magic) or
/// text (`.wat`), encoded to binary.
pub fn load_module_file(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: neither a binary module nor UTF-8 text", path.display()))?;
    let mut err = |mut e: wast::Error| {
        e.set_path(path);
        e.set_text(&text);
        e.to_string()
    };
    let buf = wast::parser::ParseBuffer::new(&text).map_err(&mut err)?;
    let mut wat = wast::parser::parse::<wast::Wat>(&buf).map_err(&mut err)?;
    wat.encode().map_err(&mut err)
}

/// Where in a text module the error at byte `offset` of its binary encoding is: the line
/// and column (1-based) of the `(func` whose body holds the offset, or `None` if the offset
/// is not in a function body (or the text does not parse).
pub fn locate_in_text(text: &str, wasm: &[u8], offset: u64) -> Option<(usize, usize)> {
    let mut index = None;
    let mut defined = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let r = body.range();
            if r.contains(&offset) {
                index = Some(defined);
                break;
            }
            defined += 1;
        } else if payload.is_err() {
            break;
        }
    }
    let index = index?;
    let buf = wast::parser::ParseBuffer::new(text).ok()?;
    let wat = wast::parser::parse::<wast::Wat>(&buf).ok()?;
    let wast::Wat::Module(m) = wat else {
        return None;
    };
    let wast::core::ModuleKind::Text(fields) = &m.kind else {
        return None;
    };
    let span = fields
        .iter()
        .filter_map(|f| match f {
            wast::core::ModuleField::Func(f)
                if matches!(f.kind, wast::core::FuncKind::Inline { .. }) =>
            {
                Some(f.span)
            }
            _ => None,
        })
        .nth(index)?;
    let (line, col) = span.linecol_in(text);
    Some((line + 1, col + 1))
}

/// Why `heddle run` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The module could not be loaded, decoded, linked, or has no such export.
    #[error("{0}")]
    Setup(String),
    /// The invocation trapped.
    #[error("trap: {0}")]
    Trap(Trap),
    /// Instantiation trapped: a segment out of bounds, or the start function trapped (or
    /// ran out of fuel, or threw an exception no handler caught).
    #[error("instantiation failed: {0}")]
    Start(Trap),
    /// The invocation threw an exception no handler caught (exception handling): not a
    /// trap. `tag` names the exception's tag: the module's export of it, if any
    /// (`tag "e"`), else its address in the store (`tag #0`).
    #[error("uncaught exception: {tag}, payload [{}]", .exception.payload.iter().map(format_value).collect::<Vec<_>>().join(" "))]
    Exception {
        /// The exception.
        exception: heddle_interp::UncaughtException,
        /// How to name its tag.
        tag: String,
    },
}

/// The type of the function `module` exports as `export`, before instantiating it (so that
/// `heddle run` can parse its arguments without running a start function first).
pub fn export_func_type(module: &Module, export: &str) -> Result<FuncType, RunError> {
    let e = module
        .exports
        .iter()
        .find(|e| e.name == export)
        .ok_or_else(|| {
            let funcs: Vec<&str> = module
                .exports
                .iter()
                .filter(|e| matches!(e.desc, ExportDesc::Func(_)))
                .map(|e| e.name.as_str())
                .collect();
            RunError::Setup(format!(
                "no export named {export:?} (exported functions: {})",
                if funcs.is_empty() {
                    "none".to_string()
                } else {
                    funcs.join(", ")
                }
            ))
        })?;
    let ExportDesc::Func(i) = e.desc else {
        return Err(RunError::Setup(format!(
            "export {export:?} is not a function"
        )));
    };
    module
        .func_types
        .get(i as usize)
        .and_then(|&t| module.types.get(t as usize))
        .and_then(|t| t.as_func())
        .cloned()
        .ok_or_else(|| RunError::Setup(format!("export {export:?}: no such function")))
}

/// Decode and instantiate `wasm` (with `spectest` available for imports), then invoke
/// `export` with `args` on one thread, to completion or until `fuel` small steps ran out.
pub fn invoke_module(
    wasm: &[u8],
    export: &str,
    args: &[Value],
    fuel: Option<u64>,
) -> Result<Vec<Value>, RunError> {
    let module = Arc::new(Module::decode(wasm).map_err(|e| RunError::Setup(e.to_string()))?);
    invoke_decoded(module, export, args, fuel)
}

/// [`invoke_module`] on a module already decoded.
pub fn invoke_decoded(
    module: Arc<Module>,
    export: &str,
    args: &[Value],
    fuel: Option<u64>,
) -> Result<Vec<Value>, RunError> {
    invoke_decoded_on(module, export, args, fuel, SharedBackend::Sc)
}

/// [`invoke_decoded`] with shared memories on `backend`. On the native backend the
/// invocation is the only thread of its memories, so a wait without timeout can never be
/// notified: pass `wait_limit: Some(Duration::ZERO)` to have it trap with "deadlock" at
/// once, as the sequentially consistent backend does.
pub fn invoke_decoded_on(
    module: Arc<Module>,
    export: &str,
    args: &[Value],
    fuel: Option<u64>,
    backend: SharedBackend,
) -> Result<Vec<Value>, RunError> {
    let mut config = Configuration::with_limits(ExecLimits {
        fuel,
        ..ExecLimits::default()
    });
    config.set_shared_backend(backend);
    let mut registry = indexmap::IndexMap::new();
    registry.insert(
        "spectest".to_string(),
        Arc::new(spectest::install(&mut config)),
    );
    let imports = spectest::resolve_imports(&module, &registry)
        .map_err(|e| RunError::Setup(format!("link failure: {e}")))?;
    let inst = config.instantiate(module, &imports).map_err(|e| match e {
        heddle_interp::InstantiationError::Trap(t) => RunError::Start(t),
        e => RunError::Setup(format!("instantiation failed: {e}")),
    })?;
    let f = match config.export(inst, export) {
        Some(ExternVal::Func(f)) => f,
        Some(_) => {
            return Err(RunError::Setup(format!(
                "export {export:?} is not a function"
            )))
        }
        None => return Err(RunError::Setup(format!("no export named {export:?}"))),
    };
    let ty = config.store.funcs[f.0 as usize].ty().clone();
    if args.len() != ty.params.len()
        || args
            .iter()
            .zip(&ty.params)
            .any(|(a, t)| !config.store.value_matches(a, *t))
    {
        let given: Vec<String> = args.iter().map(|a| a.ty().to_string()).collect();
        return Err(RunError::Setup(format!(
            "{export:?} has type {ty}, but the arguments are [{}]",
            given.join(" ")
        )));
    }
    config.invoke(f, args).map_err(|t| match t {
        Trap::Exception(exception) => {
            let tag = config.store.instances[inst.0 as usize]
                .exports
                .iter()
                .find(|(_, ev)| *ev == ExternVal::Tag(exception.tag))
                .map_or_else(
                    || format!("tag #{}", exception.tag.0),
                    |(name, _)| format!("tag {name:?}"),
                );
            RunError::Exception { exception, tag }
        }
        t => RunError::Trap(t),
    })
}
