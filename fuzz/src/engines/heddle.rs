//! Heddle itself as an engine: the outcomes its interpreter reaches when every schedule is
//! explored (`heddle explore`), a reference row next to the real engines.
//!
//! The histogram counts, per outcome, the explored runs that ended with it (runs cut at a
//! state seen before are not counted); `iterations` is the number of complete runs. With
//! `--memory relaxed` reads may return any value the relaxed backend allows (every allowed
//! outcome except those needing promises, docs/explore.md).

use crate::engine::{Engine, EngineFailure, Histogram, RunOptions};
use crate::litmus::LitmusTest;
use heddle_explore::{explore, ExploreOptions, MemoryMode, Plan};
use std::time::Instant;

/// The exploring interpreter, with the shared-memory backend it explores.
#[derive(Clone, Debug)]
pub struct HeddleEngine {
    memory: MemoryMode,
    name: String,
}

impl HeddleEngine {
    /// An exploring engine on the given backend; its name is `heddle` (SC) or
    /// `heddle-relaxed`.
    pub fn new(memory: MemoryMode) -> HeddleEngine {
        let name = match memory {
            MemoryMode::Sc => "heddle",
            MemoryMode::Relaxed => "heddle-relaxed",
        };
        HeddleEngine {
            memory,
            name: name.into(),
        }
    }
}

impl Engine for HeddleEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> Result<String, EngineFailure> {
        let mode = match self.memory {
            MemoryMode::Sc => "sc",
            MemoryMode::Relaxed => "relaxed",
        };
        Ok(format!(
            "heddle {} (explore, --memory {mode})",
            env!("CARGO_PKG_VERSION")
        ))
    }

    fn run(&self, test: &LitmusTest, _opts: &RunOptions) -> Result<Histogram, EngineFailure> {
        let start = Instant::now();
        let plan = Plan::from_text(&test.source).map_err(EngineFailure::Compile)?;
        let opts = ExploreOptions {
            memory: self.memory,
            ..ExploreOptions::default()
        };
        let ex = explore(&plan, &opts).map_err(EngineFailure::Crash)?;
        if !ex.complete {
            return Err(EngineFailure::Hang(format!(
                "exploration incomplete after {} runs",
                ex.executions
            )));
        }
        let mut h = Histogram::default();
        for (o, found) in ex.reachable {
            h.add(o, found.count);
            h.iterations += found.count;
        }
        h.seconds = start.elapsed().as_secs_f64();
        Ok(h)
    }
}
