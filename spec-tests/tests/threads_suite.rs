//! The threads proposal's official suite (`$HEDDLE_TESTSUITE/threads`, all 160 files,
//! `simd/` included): every directive of every file must pass. A missing suite is a
//! failure, never a skip.

use heddle_spec_tests::{
    collect_files, run_files, testsuite_dir, FileReport, RunOptions, WastFile,
};

fn suite_files() -> Vec<WastFile> {
    let dir = testsuite_dir().join("threads");
    if !dir.is_dir() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        eprintln!(
            "\n==========================================================================\n\
             THE THREADS TEST SUITE WAS NOT FOUND at {}\n\
             Set HEDDLE_TESTSUITE to a directory holding threads/ and upstream/, or run\n\
             scripts/fetch-testsuite.sh. This test fails rather than skip, so that a run\n\
             without the suite never looks green.{}\n\
             ==========================================================================\n",
            dir.display(),
            if ci { " (CI=true)" } else { "" }
        );
        panic!(
            "threads test suite not found at {} (HEDDLE_TESTSUITE)",
            dir.display()
        );
    }
    collect_files(&[dir], &[]).expect("cannot list the suite")
}

/// Every directive of every report passed (the failures listed otherwise).
fn assert_no_failure(reports: &[FileReport]) {
    let failed: u64 = reports.iter().map(|r| r.failed).sum();
    let passed: u64 = reports.iter().map(|r| r.passed).sum();
    assert_eq!(
        failed,
        0,
        "{failed} failing directive(s) ({passed} passed):\n{}",
        failure_listing(reports)
    );
}

fn failure_listing(reports: &[FileReport]) -> String {
    let mut lines = Vec::new();
    for r in reports {
        for f in &r.failures {
            lines.push(format!(
                "{}:{}:{}: {} [{}]: {}",
                r.file, f.line, f.column, f.directive, f.thread, f.message
            ));
        }
    }
    lines.join("\n")
}

#[test]
fn threads_suite_passes() {
    let files = suite_files();
    let top = files.iter().filter(|f| !f.relative.contains('/')).count();
    let in_dir = |d: &str| files.iter().filter(|f| f.relative.starts_with(d)).count();
    assert_eq!(top, 90, "top-level files of the threads suite");
    assert_eq!(in_dir("threads/"), 13, "files in threads/threads/");
    assert_eq!(in_dir("simd/"), 57, "files in threads/simd/");
    assert_eq!(files.len(), 160, "no other subdirectory expected");

    let reports = run_files(&files, &RunOptions::default(), None, &|_| {});
    assert_no_failure(&reports);
    for r in &reports {
        assert!(r.passed > 0, "{} ran no directive", r.file);
    }
}

#[test]
fn threaded_scripts_pass_under_other_seeds() {
    let files: Vec<WastFile> = suite_files()
        .into_iter()
        .filter(|f| f.relative.starts_with("threads/"))
        .collect();
    for seed in 1..=8 {
        let opts = RunOptions {
            seed,
            ..RunOptions::default()
        };
        let reports = run_files(&files, &opts, None, &|_| {});
        let failed: u64 = reports.iter().map(|r| r.failed).sum();
        assert_eq!(failed, 0, "seed {seed}:\n{}", failure_listing(&reports));
    }
}

/// The whole suite on the native backend (`heddle wast --memory native`): every script
/// thread on its own OS thread, shared memories of atomic words.
#[test]
fn threads_suite_passes_on_the_native_backend() {
    let files = suite_files();
    assert_eq!(files.len(), 160);
    let reports = run_files(&files, &RunOptions::native(), None, &|_| {});
    assert_no_failure(&reports);
    let in_threads: u64 = reports
        .iter()
        .filter(|r| r.file.contains("threads/threads/"))
        .map(|r| r.passed)
        .sum();
    assert_eq!(in_threads, 551, "directives of threads/threads/ (13 files)");
}

/// The threads/ files again and again on the native backend: real threads race
/// differently each time, and every run must pass (the suite's checks accept every
/// outcome the model allows).
#[test]
fn threaded_scripts_pass_repeatedly_on_the_native_backend() {
    let files: Vec<WastFile> = suite_files()
        .into_iter()
        .filter(|f| f.relative.starts_with("threads/"))
        .collect();
    for round in 0..20 {
        let reports = run_files(&files, &RunOptions::native(), None, &|_| {});
        let failed: u64 = reports.iter().map(|r| r.failed).sum();
        assert_eq!(failed, 0, "round {round}:\n{}", failure_listing(&reports));
    }
}
