//! The project's own `.wast` regression scripts (`tests/wast/`), which must pass with zero
//! failures under several scheduler seeds, and the deadlock reports.

use heddle_spec_tests::{collect_files, run_files, run_wast_source, FileReport, RunOptions};
use std::path::PathBuf;

fn wast_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wast")
}

fn listing(reports: &[FileReport]) -> String {
    reports
        .iter()
        .flat_map(|r| {
            r.failures.iter().map(move |f| {
                format!(
                    "{}:{}:{}: {} [{}]: {}",
                    r.file, f.line, f.column, f.directive, f.thread, f.message
                )
            })
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn regression_scripts_pass_under_several_seeds() {
    let files = collect_files(&[wast_dir()], &[]).unwrap();
    assert!(files.len() >= 8, "regression scripts missing: {files:?}");
    for seed in 0..4 {
        let opts = RunOptions {
            seed,
            ..RunOptions::default()
        };
        let reports = run_files(&files, &opts, None, &|_| {});
        let failed: u64 = reports.iter().map(|r| r.failed).sum();
        assert_eq!(failed, 0, "seed {seed}:\n{}", listing(&reports));
        for r in &reports {
            assert!(r.passed > 0, "{} ran no directive", r.file);
        }
    }
}

const TWO_WAITERS: &str = r#"
(module $Mem (memory (export "shared") 1 1 shared))
(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "run") (i32.const 0))
  (assert_return (invoke "run") (i32.const 0)))
(thread $T2 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "run") (i32.const 0)))
(wait $T1)
(wait $T2)
(module
  (func (export "after") (result i32) (i32.const 7)))
(assert_return (invoke "after") (i32.const 7))
"#;

#[test]
fn two_threads_waiting_forever_are_a_reported_deadlock() {
    for seed in 0..3 {
        let opts = RunOptions {
            seed,
            ..RunOptions::default()
        };
        let r = run_wast_source("two_waiters.wast", TWO_WAITERS, &opts);
        // T1's first invoke, T2's invoke and main's (wait $T1) fail; (wait $T2) completes
        // because T2 was abandoned; the rest of the file runs.
        let failed: Vec<(&str, &str, u32)> = r
            .failures
            .iter()
            .map(|f| (f.thread.as_str(), f.directive.as_str(), f.line))
            .collect();
        assert_eq!(
            failed,
            vec![
                ("main", "wait", 18),
                ("$T1", "assert_return", 9),
                ("$T2", "assert_return", 17),
            ],
            "seed {seed}: {:#?}",
            r.failures
        );
        for f in &r.failures {
            assert!(f.message.starts_with("deadlock"), "{}", f.message);
            assert!(
                f.message.contains("$T1 is blocked in invoke \"run\""),
                "{}",
                f.message
            );
            assert!(
                f.message.contains("$T2 is blocked in invoke \"run\""),
                "{}",
                f.message
            );
            assert!(f.message.contains("address 0"), "{}", f.message);
            assert!(f.message.contains("address 8"), "{}", f.message);
            assert!(f.message.contains("main waits for $T1"), "{}", f.message);
            assert!(
                f.message
                    .contains("waits on memory 0 (imported as \"mem\" \"shared\"), address 8"),
                "{}",
                f.message
            );
        }
        assert!(r.failures[1]
            .message
            .contains("$T1 abandoned, 1 directive(s) not run"));
        // module $Mem, thread x2, register and module in T1 and T2, wait $T2, module,
        // assert_return.
        assert_eq!(r.passed, 10, "{:#?}", r.outcomes);
        let last = r.outcomes.last().unwrap();
        assert_eq!((last.line, last.failure), (22, None));
    }
}

const LONE_WAITER: &str = r#"
(module
  (memory 1 1 shared)
  (func (export "wait_forever") (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
  (func (export "wait_a_bit") (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 100))))
(assert_return (invoke "wait_forever") (i32.const 0))
(assert_return (invoke "wait_a_bit") (i32.const 2))
(thread $T
  (module
    (memory 1 1 shared)
    (func (export "wait_forever") (result i32)
      (memory.atomic.wait64 (i32.const 16) (i64.const 0) (i64.const -1))))
  (invoke "wait_forever"))
(wait $T)
(assert_return (invoke "wait_a_bit") (i32.const 2))
"#;

#[test]
fn one_thread_waiting_with_no_notifier_is_a_reported_deadlock() {
    let r = run_wast_source("lone_waiter.wast", LONE_WAITER, &RunOptions::default());
    let failed: Vec<(&str, &str, u32)> = r
        .failures
        .iter()
        .map(|f| (f.thread.as_str(), f.directive.as_str(), f.line))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("main", "assert_return", 8),
            ("main", "wait", 16),
            ("$T", "invoke", 15)
        ],
        "{:#?}",
        r.failures
    );
    assert!(r.failures[0]
        .message
        .contains("main is blocked in invoke \"wait_forever\""));
    assert!(r.failures[0].message.contains("no timeout"));
    assert!(r.failures[1].message.contains("main waits for $T"));
    assert!(r.failures[1]
        .message
        .contains("$T is blocked in invoke \"wait_forever\""));
    assert!(r.failures[1].message.contains("address 16"));
    // Each module's only memory is its memory 0, whatever its address in the store (main's
    // module allocated the store's first one, $T's module the second).
    assert!(
        r.failures[0]
            .message
            .contains("waits on memory 0, address 0 (no timeout)"),
        "{}",
        r.failures[0].message
    );
    assert!(
        r.failures[1]
            .message
            .contains("waits on memory 0, address 16 (no timeout)"),
        "{}",
        r.failures[1].message
    );
    // The directives after each deadlock still ran and passed.
    assert_eq!(r.passed, 5, "{:#?}", r.outcomes);
}

#[test]
fn runaway_code_ends_with_fuel_exhaustion() {
    let src = r#"
(module (func (export "spin") (loop (br 0))))
(invoke "spin")
(assert_return (invoke "spin"))
"#;
    let opts = RunOptions {
        fuel: Some(100_000),
        ..RunOptions::default()
    };
    let r = run_wast_source("spin.wast", src, &opts);
    assert_eq!(r.failed, 2, "{:#?}", r.failures);
    assert!(r
        .failures
        .iter()
        .all(|f| f.message.contains("fuel exhausted")));
}

#[test]
fn failures_carry_position_kind_and_message() {
    let src = "(module\n  (func (export \"one\") (result i32) (i32.const 1)))\n\
               (assert_return (invoke \"one\") (i32.const 2))\n\
               (assert_trap (invoke \"one\") \"unreachable\")\n\
               (assert_return (invoke \"one\") (either (i32.const 2) (i32.const 1)))\n\
               (assert_exception (invoke \"one\"))\n\
               (assert_invalid (module (func (result i32))) \"type mismatch\")\n\
               (assert_return (invoke \"nope\"))\n";
    let r = run_wast_source("f.wast", src, &RunOptions::default());
    let got: Vec<(u32, u32, &str, &str)> = r
        .failures
        .iter()
        .map(|f| (f.line, f.column, f.directive.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                3,
                2,
                "assert_return",
                "invoke \"one\": expected [i32:2], got [i32:1]"
            ),
            (
                4,
                2,
                "assert_trap",
                "invoke \"one\": expected trap \"unreachable\", got [i32:1]"
            ),
            (
                6,
                2,
                "assert_exception",
                "invoke \"one\": expected an exception, got [i32:1]"
            ),
            (8, 2, "assert_return", "undefined export \"nope\""),
        ]
    );
    assert_eq!(r.passed, 3);
}

#[test]
fn module_definitions_are_instantiated_by_module_instance() {
    let src = r#"
(module definition $D
  (global $g (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (global.get $g)))
(module instance $I1 $D)
(module instance $I2 $D)
(assert_return (invoke $I1 "bump") (i32.const 1))
(assert_return (invoke $I1 "bump") (i32.const 2))
(assert_return (invoke $I2 "bump") (i32.const 1))
(module definition (memory i64 0x1_0000_0000_0000))
(module instance $Missing $Nope)
(assert_return (invoke "bump") (i32.const 2))
"#;
    let r = run_wast_source("defs.wast", src, &RunOptions::default());
    let failed: Vec<(&str, &str)> = r
        .failures
        .iter()
        .map(|f| (f.directive.as_str(), f.message.as_str()))
        .collect();
    // Instances are separate; a definition is not instantiated (the 2^48-page memory
    // would not fit); an unknown definition fails that directive only, and leaves the
    // current module unavailable.
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, "module instance");
    assert!(
        failed[0].1.contains("unknown module definition $Nope"),
        "{failed:?}"
    );
    assert!(failed[1].1.contains("not available"), "{failed:?}");
    assert_eq!(r.passed, 7);
}

#[test]
fn unparsable_scripts_are_one_failure() {
    let r = run_wast_source(
        "bad.wast",
        "(module)\n(assert_return (invoke \"f\"",
        &RunOptions::default(),
    );
    assert_eq!(r.failed, 1);
    assert_eq!(r.failures[0].directive, "parse");
    assert_eq!(r.failures[0].line, 2);
}

#[test]
fn an_import_from_a_module_not_registered_in_the_thread_says_how_to_register_it() {
    // A thread block has its own registry: registering "mem" in the main script does not
    // make it visible in $T.
    let src = r#"(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T (shared (module $Mem))
  (module (memory (import "mem" "shared") 1 1 shared)))
(wait $T)
(module (memory (import "mem" "nope") 1 1 shared))
"#;
    let r = run_wast_source("unregistered.wast", src, &RunOptions::default());
    let got: Vec<(&str, &str, u32)> = r
        .failures
        .iter()
        .map(|f| (f.thread.as_str(), f.directive.as_str(), f.line))
        .collect();
    assert_eq!(
        got,
        vec![("$T", "module", 4), ("main", "module", 6)],
        "{:#?}",
        r.failures
    );
    let msg = &r.failures[0].message;
    assert!(msg.contains("unknown import \"mem\" \"shared\""), "{msg}");
    assert!(
        msg.contains("no module is registered as \"mem\" (registered: \"spectest\")"),
        "{msg}"
    );
    assert!(
        msg.contains("register the module inside the thread: (register \"mem\" $M)"),
        "{msg}"
    );
    // A registered module without the field: the hint names what it does export.
    let msg = &r.failures[1].message;
    assert!(
        msg.contains("unknown import \"mem\" \"nope\": the module registered as \"mem\" exports no \"nope\" (its exports: \"shared\")"),
        "{msg}"
    );
}
