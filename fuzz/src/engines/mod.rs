//! Engine adapters, and the names the command line knows them by.

mod barrier;
pub mod browser;
pub mod heddle;
pub mod js;
pub mod native;
pub mod recorded;
#[cfg(feature = "wasmtime")]
pub mod wasi_threads;
#[cfg(feature = "wasmtime")]
pub mod wasmtime;
pub mod watchdog;

use crate::engine::Engine;
use heddle_explore::MemoryMode;
use std::path::PathBuf;

/// Every engine `--engine all` selects, in report order. Besides these, `file:PATH`
/// replays histograms recorded in a JSON lines file ([`recorded`]).
pub const ALL: &[&str] = &[
    "wasmtime",
    "node",
    "bun",
    "chromium",
    "firefox",
    "heddle",
    "heddle-native",
];

/// How to make an engine adapter.
#[derive(Clone, Debug)]
pub struct EngineSpec {
    /// Engine name (one of [`ALL`]).
    pub name: String,
    /// Explicit path of the engine's executable (`--engine-path NAME=PATH`).
    pub path: Option<PathBuf>,
    /// Backend of the `heddle` engine.
    pub memory: MemoryMode,
}

/// The adapter for `spec.name`.
///
/// # Errors
/// A message listing the known engines when the name is unknown, or saying how to rebuild
/// Heddle when the engine was compiled out (`wasmtime` without the cargo feature).
pub fn create(spec: &EngineSpec) -> Result<Box<dyn Engine>, String> {
    match spec.name.as_str() {
        "heddle" => Ok(Box::new(heddle::HeddleEngine::new(spec.memory))),
        "heddle-native" => Ok(Box::new(native::NativeEngine::new())),
        "node" => Ok(Box::new(js::NodeEngine::node(spec.path.clone()))),
        "bun" => Ok(Box::new(js::NodeEngine::bun(spec.path.clone()))),
        "chromium" => Ok(Box::new(browser::BrowserEngine::chromium(
            spec.path.clone(),
        ))),
        "firefox" => Ok(Box::new(browser::BrowserEngine::firefox(spec.path.clone()))),
        #[cfg(feature = "wasmtime")]
        "wasmtime" => Ok(Box::new(wasmtime::WasmtimeEngine::new())),
        #[cfg(not(feature = "wasmtime"))]
        "wasmtime" => Err(
            "wasmtime: this heddle was built without the `wasmtime` cargo feature of heddle-fuzz"
                .into(),
        ),
        other if other.starts_with("file:") => Ok(Box::new(recorded::RecordedEngine::new(
            PathBuf::from(&other["file:".len()..]),
        ))),
        other => Err(format!(
            "unknown engine {other:?}; known engines: {}",
            ALL.join(", ")
        )),
    }
}
