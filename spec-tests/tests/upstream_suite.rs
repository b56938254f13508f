//! The upstream (Wasm 3.0) suite, `$HEDDLE_TESTSUITE/upstream`: every file listed in
//! `spec-tests/upstream-passing.txt` must pass with zero failures, so the set of passing
//! files never shrinks. Files that pass but are not listed are printed, to be added. A
//! missing suite is a failure, never a skip.

use heddle_spec_tests::{collect_files, run_files, testsuite_dir, RunOptions};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn listed() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("upstream-passing.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let set: BTreeSet<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        set.len(),
        lines.len(),
        "duplicate lines in {}",
        path.display()
    );
    set
}

#[test]
fn listed_upstream_files_pass() {
    let dir = testsuite_dir().join("upstream");
    assert!(
        dir.is_dir(),
        "upstream test suite not found at {} (HEDDLE_TESTSUITE; see testsuite/README.md)",
        dir.display()
    );
    let listed = listed();
    assert!(listed.len() >= 200, "the list is unexpectedly short");
    let files = collect_files(std::slice::from_ref(&dir), &[]).expect("cannot list the suite");
    let present: BTreeSet<String> = files.iter().map(|f| f.relative.clone()).collect();
    let missing: Vec<&String> = listed.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "listed files not in the suite: {missing:?}"
    );

    let reports = run_files(&files, &RunOptions::default(), None, &|_| {});
    let mut regressed = Vec::new();
    let mut newly_passing = Vec::new();
    for (f, r) in files.iter().zip(&reports) {
        match (listed.contains(&f.relative), r.ok()) {
            (true, false) => {
                let first = r
                    .failures
                    .first()
                    .map(|x| format!("{}:{}: {}", x.line, x.column, x.message))
                    .unwrap_or_default();
                regressed.push(format!(
                    "{} ({} failed; first: {first})",
                    f.relative, r.failed
                ));
            }
            (false, true) => newly_passing.push(f.relative.clone()),
            _ => {}
        }
    }
    if !newly_passing.is_empty() {
        eprintln!(
            "passing but not listed in upstream-passing.txt (add them):\n  {}",
            newly_passing.join("\n  ")
        );
    }
    assert!(
        regressed.is_empty(),
        "{} listed upstream file(s) no longer pass:\n  {}",
        regressed.len(),
        regressed.join("\n  ")
    );
}
