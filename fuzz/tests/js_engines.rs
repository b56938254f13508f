//! The JavaScript engines (node, bun, Chromium, Firefox) and their harness.

use heddle_fuzz::engines::js::{histogram_from_result, NodeEngine};
use heddle_fuzz::{Engine, LitmusTest, RunOptions};
use std::path::Path;
use std::time::Duration;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn load(path: &str) -> LitmusTest {
    let p = repo().join(path);
    let src = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    LitmusTest::from_wast(path, &src).unwrap()
}

#[test]
fn dump() {
    let t = load("model/tests/litmus/SB.wast");
    let o = RunOptions { iterations: 1000, seed: 1, timeout: Duration::from_secs(20) };
    std::fs::write("/tmp/sb.json", serde_json::Value::Array(vec![t.to_harness_json(&o)]).to_string()).unwrap();
    std::fs::write("/tmp/harness.js", heddle_fuzz::engines::js::node_script()).unwrap();
    let _ = (histogram_from_result, NodeEngine::node(None).name());
}
