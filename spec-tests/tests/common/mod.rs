//! Files shared by the exploration tests: the litmus catalogue and the suite's `threads/`.

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
