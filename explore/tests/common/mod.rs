//! Files shared by the exploration tests: the litmus catalogue and the suite's `threads/`.

use heddle_explore::{explore, Exploration, ExploreOptions, Plan};
use heddle_model::{
    check_execution, enumerate, parse_litmus, Config, InvokeResult, Outcome, Violation,
};
use heddle_spec_tests::testsuite_dir;
use std::path::{Path, PathBuf};

/// The litmus catalogue of `model/tests/litmus/`, sorted (at least 40 files).
pub fn catalogue() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/litmus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("catalogue {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "catalogue has {} files", files.len());
    files
}

/// The catalogue file named `name` (e.g. `SB.wast`); panics if there is none.
pub fn catalogue_file(name: &str) -> PathBuf {
    catalogue()
        .into_iter()
        .find(|p| p.file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("no catalogue file {name}"))
}

/// The catalogue files whose name starts with `prefix` (e.g. `bulk_`), sorted.
pub fn catalogue_files_starting(prefix: &str) -> Vec<PathBuf> {
    catalogue()
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect()
}

/// `$HEDDLE_TESTSUITE/threads/threads`; fails loudly when the suite is missing.
pub fn suite_threads_dir() -> PathBuf {
    let dir = testsuite_dir().join("threads/threads");
    assert!(
        dir.is_dir(),
        "the official suite is missing at {} (set HEDDLE_TESTSUITE)",
        dir.display()
    );
    dir
}

/// The catalogue, then the suite's `threads/` files (sorted): what the exploration tests
/// compare searches on.
pub fn catalogue_and_suite() -> Vec<PathBuf> {
    let mut files = catalogue();
    let mut suite: Vec<PathBuf> = std::fs::read_dir(suite_threads_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    suite.sort();
    files.extend(suite);
    files
}

/// The outcomes the model (default config) allows for the litmus `text` read from `path`;
/// `None` if the model does not parse it. Panics (naming `path`) if the enumeration fails.
pub fn model_allowed(path: &Path, text: &str) -> Option<Vec<Outcome>> {
    let program = parse_litmus(text).ok()?;
    let allowed = enumerate(&program, &Config::default())
        .unwrap_or_else(|e| panic!("{}: model: {e}", path.display()))
        .allowed
        .keys()
        .cloned()
        .collect();
    Some(allowed)
}

/// Check every kept trace of `ex` that converts to a model execution with
/// `check_execution` (default model): how many were checked, or the first rule broken.
pub fn check_traces(ex: &Exploration) -> Result<usize, Violation> {
    let mut checked = 0;
    for exec in ex.traces.iter().filter_map(|t| t.to_execution()) {
        check_execution(&exec, &Config::default())?;
        checked += 1;
    }
    Ok(checked)
}

/// On the suite's files whose main script ends with `$Check`, every outcome `opts` reaches
/// has `$Check` returning 1.
pub fn assert_suite_outcomes_pass_check(opts: &ExploreOptions) {
    for name in [
        "SB",
        "SB_atomic",
        "MP",
        "MP_atomic",
        "LB",
        "LB_atomic",
        "simple",
    ] {
        let path = suite_threads_dir().join(format!("{name}.wast"));
        let plan = Plan::from_text(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ex = explore(&plan, opts).unwrap();
        assert!(ex.complete);
        for o in ex.reachable.keys() {
            assert_eq!(
                o.get("main").and_then(|r| r.last()),
                Some(&InvokeResult::Values(vec![heddle_model::Value::I32(1)])),
                "{name}: outcome {o} does not pass $Check"
            );
        }
    }
}

/// `wait_notify.wast` loops on `notify` until it wakes the waiter: the loop returns to a
/// state seen before, so state caching ends the search, with the one outcome.
pub fn assert_spin_loop_terminates(opts: &ExploreOptions) {
    let path = suite_threads_dir().join("wait_notify.wast");
    let plan = Plan::from_text(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ex = explore(&plan, opts).unwrap();
    assert!(ex.complete);
    assert!(ex.pruned > 0);
    let outcomes: Vec<String> = ex.reachable.keys().map(|o| o.to_string()).collect();
    assert_eq!(outcomes, vec!["T1: [i32:0]  T2: [i32:0] []"]);
}
