//! Results and their formats: human, JSON lines, JUnit XML (see `docs/harness.md`).

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::Duration;

pub use heddle_litmus::race_report::{RaceAccess, RaceReport};

/// One failing directive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// 1-based line of the directive.
    pub line: u32,
    /// 1-based column of the directive.
    pub column: u32,
    /// The directive's keyword (`assert_return`, `module`, `wait`, ...), or `parse` when the
    /// file could not be parsed, `read` when it could not be read (or is not UTF-8), and
    /// `internal` for a harness/interpreter panic.
    pub directive: String,
    /// The script thread that ran it: `main`, or the thread's name such as `$T1`.
    pub thread: String,
    /// What was expected and what happened.
    pub message: String,
}

/// The outcome of one directive (kept for JUnit; not part of the JSON format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Line of the directive (1-based; 0 for the whole file).
    pub line: u32,
    /// Column of the directive (1-based; 0 for the whole file).
    pub column: u32,
    /// The directive's kind, e.g. `assert_return`.
    pub directive: &'static str,
    /// The thread the directive ran in (`main` outside `thread` blocks).
    pub thread: String,
    /// Index into [`FileReport::failures`] if it failed.
    pub failure: Option<usize>,
}

/// The result of running one `.wast` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// The file's path as given or found.
    pub file: String,
    /// Directives that passed.
    pub passed: u64,
    /// Directives that failed (`failures.len()`).
    pub failed: u64,
    /// Every failing directive, in the order they ran.
    pub failures: Vec<Failure>,
    /// Every directive's outcome, in the order they ran.
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
    /// Wall time spent on this file.
    #[serde(skip)]
    pub duration: Duration,
    /// With race detection (`heddle wast --races`): the races found, one per pair of code
    /// locations and kind (docs/races.md). Absent from the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub races: Vec<RaceReport>,
}

impl FileReport {
    /// An empty report for `file`.
    pub fn new(file: impl Into<String>) -> Self {
        FileReport {
            file: file.into(),
            passed: 0,
            failed: 0,
            failures: Vec::new(),
            outcomes: Vec::new(),
            duration: Duration::ZERO,
            races: Vec::new(),
        }
    }

    /// Record a passing directive.
    pub fn pass(&mut self, line: u32, column: u32, directive: &'static str, thread: &str) {
        self.passed += 1;
        self.record(line, column, directive, thread, None);
    }

    /// Append a directive's outcome (`failure`: its index in the failures, if it failed).
    fn record(
        &mut self,
        line: u32,
        column: u32,
        directive: &'static str,
        thread: &str,
        failure: Option<usize>,
    ) {
        self.outcomes.push(Outcome {
            line,
            column,
            directive,
            thread: thread.to_string(),
            failure,
        });
    }

    /// Record a failing directive.
    pub fn fail(
        &mut self,
        line: u32,
        column: u32,
        directive: &'static str,
        thread: &str,
        message: impl Into<String>,
    ) {
        self.failed += 1;
        self.record(line, column, directive, thread, Some(self.failures.len()));
        self.failures.push(Failure {
            line,
            column,
            directive: directive.to_string(),
            thread: thread.to_string(),
            message: message.into(),
        });
    }

    /// Append the outcomes and failures of `other` (a report of part of the same file,
    /// e.g. a script thread run on its own OS thread), after this report's own.
    pub fn absorb(&mut self, other: FileReport) {
        let base = self.failures.len();
        self.passed += other.passed;
        self.failed += other.failed;
        self.failures.extend(other.failures);
        self.outcomes
            .extend(other.outcomes.into_iter().map(|mut o| {
                o.failure = o.failure.map(|i| i + base);
                o
            }));
    }

    /// No directive failed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// This file's JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }
}

/// Totals over a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files run.
    pub files: u64,
    /// Files with no failing directive.
    pub files_passed: u64,
    /// Files with at least one failing directive.
    pub files_failed: u64,
    /// Directives passed, over all files.
    pub passed: u64,
    /// Directives failed, over all files.
    pub failed: u64,
    /// The scheduler seed.
    pub seed: u64,
    /// Wall time of the whole run, in milliseconds.
    pub wall_ms: u64,
}

impl Summary {
    /// Totals of `reports`.
    pub fn of(reports: &[FileReport], seed: u64, wall: Duration) -> Self {
        let files_failed = reports.iter().filter(|r| !r.ok()).count() as u64;
        Summary {
            files: reports.len() as u64,
            files_passed: reports.len() as u64 - files_failed,
            files_failed,
            passed: reports.iter().map(|r| r.passed).sum(),
            failed: reports.iter().map(|r| r.failed).sum(),
            seed,
            wall_ms: wall.as_millis() as u64,
        }
    }

    /// The summary JSON line: `{"summary":{...}}` (no trailing newline).
    pub fn to_json_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            summary: &'a Summary,
        }
        serde_json::to_string(&Line { summary: self }).expect("a summary always serializes")
    }
}

/// The human format of one file: a `PASS`/`FAIL` line, then one line per failure.
pub fn human_file(r: &FileReport) -> String {
    let mut s = String::new();
    if r.ok() {
        let _ = writeln!(s, "PASS  {} ({} passed)", r.file, r.passed);
    } else {
        let _ = writeln!(
            s,
            "FAIL  {} ({} passed, {} failed)",
            r.file, r.passed, r.failed
        );
        for f in &r.failures {
            let thread = if f.thread == "main" {
                String::new()
            } else {
                format!(" [{}]", f.thread)
            };
            let _ = writeln!(
                s,
                "    {}:{}:{}: {}{}: {}",
                r.file, f.line, f.column, f.directive, thread, f.message
            );
        }
    }
    s
}

/// `1 file`, `2 files`.
fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The human summary line.
pub fn human_summary(s: &Summary) -> String {
    format!(
        "summary: {} ({} passed, {} failed); {} ({} passed, {} failed); seed {}; {:.2}s",
        plural(s.files, "file"),
        s.files_passed,
        s.files_failed,
        plural(s.passed + s.failed, "directive"),
        s.passed,
        s.failed,
        s.seed,
        s.wall_ms as f64 / 1000.0
    )
}

/// A JUnit XML report: one test suite per file, one test case per directive (named
/// `LINE:COL directive`), failures carrying the message.
pub fn junit(reports: &[FileReport], summary: &Summary) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("heddle wast");
    report.set_time(Duration::from_millis(summary.wall_ms));
    for r in reports {
        let mut suite = TestSuite::new(r.file.clone());
        suite.set_time(r.duration);
        for o in &r.outcomes {
            let status = match o.failure {
                None => TestCaseStatus::success(),
                Some(i) => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(r.failures[i].message.clone());
                    st.set_type(o.directive);
                    st
                }
            };
            let thread = if o.thread == "main" {
                String::new()
            } else {
                format!(" [{}]", o.thread)
            };
            let mut case = TestCase::new(
                format!("{}:{} {}{}", o.line, o.column, o.directive, thread),
                status,
            );
            case.set_classname(r.file.clone());
            suite.add_test_case(case);
        }
        // Failures without an outcome (cannot happen today) still show up.
        if r.outcomes.is_empty() {
            for f in &r.failures {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(f.message.clone());
                suite.add_test_case(TestCase::new(
                    format!("{}:{} {}", f.line, f.column, f.directive),
                    st,
                ));
            }
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("a JUnit report always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn sample() -> FileReport {
        let mut r = FileReport::new("t/a.wast");
        r.pass(1, 1, "module", "main");
        r.fail(
            3,
            2,
            "assert_return",
            "$T1",
            "expected [i32:1], got [i32:0]",
        );
        r
    }

    #[test]
    fn json_shape_is_stable() {
        let line = sample().to_json_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "file": "t/a.wast",
                "passed": 1,
                "failed": 1,
                "failures": [{
                    "line": 3, "column": 2, "directive": "assert_return",
                    "thread": "$T1", "message": "expected [i32:1], got [i32:0]"
                }]
            })
        );
        // Key order is part of the format.
        assert!(
            line.starts_with(r#"{"file":"t/a.wast","passed":1,"failed":1,"failures":[{"line":3"#)
        );
        // It reads back.
        let back: FileReport = serde_json::from_str(&line).unwrap();
        assert_eq!(back.failures, sample().failures);
    }

    #[test]
    fn summary_shape() {
        let s = Summary::of(
            &[sample(), FileReport::new("b.wast")],
            7,
            Duration::from_millis(1500),
        );
        let v: serde_json::Value = serde_json::from_str(&s.to_json_line()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"summary": {
                "files": 2, "files_passed": 1, "files_failed": 1,
                "passed": 1, "failed": 1, "seed": 7, "wall_ms": 1500
            }})
        );
        assert_eq!(
            human_summary(&s),
            "summary: 2 files (1 passed, 1 failed); 2 directives (1 passed, 1 failed); seed 7; 1.50s"
        );
    }

    #[test]
    fn human_lists_failures() {
        let h = human_file(&sample());
        assert_eq!(
            h,
            "FAIL  t/a.wast (1 passed, 1 failed)\n    t/a.wast:3:2: assert_return [$T1]: expected [i32:1], got [i32:0]\n"
        );
    }

    #[test]
    fn junit_has_a_case_per_directive() {
        let r = sample();
        let xml = junit(
            std::slice::from_ref(&r),
            &Summary::of(std::slice::from_ref(&r), 0, Duration::ZERO),
        );
        assert!(
            xml.contains("<testsuite name=\"t/a.wast\" tests=\"2\""),
            "{xml}"
        );
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("3:2 assert_return [$T1]"), "{xml}");
    }
}
