//! The litmus catalogue of MODEL.md §6.1–6.6 (plus derived §6.7 shapes) and the six
//! official litmus files of the threads suite, with their exact allowed sets.

mod common;
use common::flat;
use heddle_model::outcome::every_flat_outcome as all;
use heddle_model::{enumerate, parse_litmus, Config, Enumeration, Rule};
use pretty_assertions::assert_eq;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn litmus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/litmus")
}

fn run_text(text: &str, cfg: &Config) -> Enumeration {
    let prog = parse_litmus(text).unwrap_or_else(|e| panic!("parse: {e}"));
    enumerate(&prog, cfg).unwrap_or_else(|e| panic!("enumerate: {e}"))
}

fn run(name: &str, cfg: &Config) -> Enumeration {
    let path = litmus_dir().join(format!("{name}.wast"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    run_text(&text, cfg)
}

fn allowed(en: &Enumeration) -> BTreeSet<String> {
    en.allowed.keys().map(flat).collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn check(name: &str, expected: BTreeSet<String>) {
    check_cfg(name, &Config::default(), expected);
}

fn check_cfg(name: &str, cfg: &Config, expected: BTreeSet<String>) {
    let en = run(name, cfg);
    assert_eq!(allowed(&en), expected, "allowed set of {name}");
    for o in en.forbidden.keys() {
        assert!(
            !expected.contains(&flat(o)),
            "{name}: {o} both forbidden and expected"
        );
    }
}

fn forbidden_rule(name: &str, cfg: &Config, outcome: &str) -> Rule {
    let en = run(name, cfg);
    en.forbidden
        .iter()
        .find(|(o, _)| flat(o) == outcome)
        .map(|(_, v)| v.rule)
        .unwrap_or_else(|| panic!("{name}: {outcome} is not a forbidden candidate"))
}

// §6.1 Store buffering.
#[test]
fn sb() {
    check("SB", all(&[0, 1], 2));
}
#[test]
fn sb_sc() {
    check("SB_sc", set(&["0 1", "1 0", "1 1"]));
    assert_eq!(
        forbidden_rule("SB_sc", &Config::default(), "0 0"),
        Rule::ScLastVisibleDagger
    );
}
#[test]
fn sb_fences() {
    check("SB_fences", all(&[0, 1], 2));
    let cfg = Config {
        fence: heddle_model::FenceSemantics::RmwOnHiddenLocation,
        ..Config::default()
    };
    check_cfg("SB_fences", &cfg, set(&["0 1", "1 0", "1 1"]));
}
#[test]
fn sb_sc_store16() {
    check("SB_sc_store16", all(&[0, 1], 2));
}
#[test]
fn sb_sc_stores_na_loads() {
    check("SB_sc_stores_na_loads", all(&[0, 1], 2));
}
#[test]
fn sb_xchg() {
    // q0 r0 q1 r1: the exchanges return 0 (nobody else writes their location).
    check("SB_xchg", set(&["0 0 0 1", "0 1 0 0", "0 1 0 1"]));
}
#[test]
fn sb_rmw_as_fence() {
    check("SB_rmw_same", set(&["0 1", "1 0", "1 1"]));
    check("SB_rmw_different", all(&[0, 1], 2));
}

// §6.2 Message passing.
#[test]
fn mp() {
    check("MP", set(&["0 0", "0 42", "1 0", "1 42"]));
    check("MP_sc", set(&["0 0", "0 42", "1 42"]));
    check("MP_na_data_sc_flag", set(&["0 0", "0 42", "1 42"]));
    check("MP_flag_load16", set(&["0 0", "0 42", "1 0", "1 42"]));
    check("MP_fences", set(&["0 0", "0 42", "1 0", "1 42"]));
    let cfg = Config {
        fence: heddle_model::FenceSemantics::RmwOnHiddenLocation,
        ..Config::default()
    };
    check_cfg("MP_fences", &cfg, set(&["0 0", "0 42", "1 42"]));
}

// §6.3 Load buffering and out-of-thin-air.
#[test]
fn lb() {
    check("LB", all(&[0, 1], 2));
    check("LB_sc", set(&["0 0", "0 1", "1 0"]));
    assert_eq!(
        forbidden_rule("LB_sc", &Config::default(), "1 1"),
        Rule::HbFuture
    );
}
#[test]
fn lb_data_thin_air() {
    check("LB_data", set(&["0 0"]));
    let seeded = Config {
        thin_air_seeds: vec![42],
        ..Config::default()
    };
    check_cfg("LB_data", &seeded, set(&["0 0", "42 42"]));
    let en = run("LB_data", &seeded);
    let forb: BTreeSet<String> = en.forbidden.keys().map(flat).collect();
    assert_eq!(forb, set(&["0 42", "42 0"]));
    check_cfg("LB_data_sc", &seeded, set(&["0 0"]));
    let en = run("LB_data_sc", &seeded);
    assert!(en.forbidden.keys().any(|o| flat(o) == "42 42"));
}

// §6.4 IRIW.
#[test]
fn iriw() {
    check("IRIW", all(&[0, 1], 4));
    let mut sc = all(&[0, 1], 4);
    sc.remove("1 0 1 0");
    check("IRIW_sc", sc);
    check("IRIW_sc_writes", all(&[0, 1], 4));
    check("IRIW_sc_reads", all(&[0, 1], 4));
}

// §6.5 WRC.
#[test]
fn wrc() {
    check("WRC", all(&[0, 1], 3));
    let mut sc = all(&[0, 1], 3);
    sc.remove("1 1 0");
    check("WRC_sc", sc);
}

// §6.6 2+2W and coherence.
#[test]
fn two_plus_two_w() {
    check("2+2W", set(&["1 1", "1 2", "2 1", "2 2"]));
    check("2+2W_sc", set(&["1 2", "2 1", "2 2"]));
    assert_eq!(
        forbidden_rule("2+2W_sc", &Config::default(), "1 1"),
        Rule::ScLastVisibleDdagger
    );
    let no_ddagger = Config {
        ddagger: false,
        ..Config::default()
    };
    check_cfg("2+2W_sc", &no_ddagger, set(&["1 1", "1 2", "2 1", "2 2"]));
    check("2+2W_sc_sc_observer", set(&["1 2", "2 1", "2 2"]));
}
#[test]
fn coherence() {
    check("CoRR", all(&[0, 1], 2));
    check("CoRR_sc", set(&["0 0", "0 1", "1 1"]));
    check("CoRR_sc_write", all(&[0, 1], 2));
    check("CoRR_sc_reads", all(&[0, 1], 2));
    check("CoRR_2w3r", all(&[0, 1, 2], 3));
    check("CoWW", set(&["2"]));
    check("CoWW_sc", set(&["2"]));
    check("CoWR", set(&["1", "2"]));
    check("CoRW", set(&["0", "2"]));
}

// §6.7 derived shapes: wait/notify, tearing, RMWs.
#[test]
fn wait_notify() {
    check("wait_notify_count0", set(&["blocked 0"]));
    check("wait_no_lost_wakeup", set(&["0 1", "1 0"]));
    check("wait_timeout", set(&["0 1", "2 0"]));
    let may_block = Config {
        finite_timeout_may_block: true,
        ..Config::default()
    };
    check_cfg(
        "wait_timeout",
        &may_block,
        set(&["0 1", "2 0", "blocked 0"]),
    );
    check(
        "notify_two_waiters",
        set(&["0 blocked 1", "blocked 0 1", "blocked blocked 0"]),
    );
    check("notify_sync", set(&["0 42 1", "blocked 0"]));
}

fn bytes_mixes(choices: &[u32]) -> BTreeSet<String> {
    let mut vals = vec![0u64];
    for i in 0..4 {
        vals = vals
            .iter()
            .flat_map(|v| choices.iter().map(move |&c| v | ((c as u64) << (8 * i))))
            .collect();
    }
    vals.into_iter().map(|v| v.to_string()).collect()
}

#[test]
fn tearing() {
    check("tear_init", bytes_mixes(&[0, 1]));
    check("tear_init_sc", set(&["0", "16843009"]));
    let two: BTreeSet<String> = bytes_mixes(&[0, 1])
        .union(&bytes_mixes(&[0, 2]))
        .cloned()
        .collect();
    assert_eq!(two.len(), 31);
    check("tear_two_writers", two);
    check("tear_float", bytes_mixes(&[0, 1, 2]));
}

#[test]
fn rmw() {
    check("rmw_atomicity", set(&["0 1", "1 0"]));
    check("rmw_mixed_size", set(&["0 0", "0 1", "1 0"]));
}

// The six official litmus files: the outcome is `$Check`'s result, which encodes the
// sets their comments state; a `$Peek` observer appended here returns (L_0, L_1).
fn suite_dir() -> PathBuf {
    std::env::var("HEDDLE_TESTSUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testsuite"))
        .join("threads/threads")
}

fn official(name: &str) -> Option<String> {
    let path = suite_dir().join(format!("{name}.wast"));
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) => panic!(
            "official test suite file {} cannot be read: {e} (the suites are vendored in \
             testsuite/; HEDDLE_TESTSUITE overrides the directory)",
            path.display()
        ),
    }
}

const PEEK: &str = r#"
(module $Peek
  (memory (import "mem" "shared") 1 1 shared)
  (func (export "peek") (result i32 i32) (i32.load (i32.const 24)) (i32.load (i32.const 32))))
(invoke $Peek "peek")
"#;

#[test]
fn official_litmus_files() {
    let cases: [(&str, &[&str]); 6] = [
        ("SB", &["0 0", "0 1", "1 0", "1 1"]),
        ("SB_atomic", &["1 1", "0 1", "1 0"]),
        ("MP", &["0 0", "0 42", "1 0", "1 42"]),
        ("MP_atomic", &["1 42", "0 0", "0 42"]),
        ("LB", &["0 0", "0 1", "1 0", "1 1"]),
        ("LB_atomic", &["0 0", "0 1", "1 0"]),
    ];
    for (name, pairs) in cases {
        let Some(text) = official(name) else { return };
        let en = run_text(&text, &Config::default());
        // Every allowed outcome has $Check returning 1, and (atomic variants) some
        // candidate with $Check returning 0 is forbidden.
        assert_eq!(allowed(&en), set(&["1"]), "{name}");
        if name.ends_with("_atomic") {
            assert!(
                en.forbidden.keys().any(|o| flat(o) == "0"),
                "{name}: no forbidden candidate"
            );
        }
        let en = run_text(&(text + PEEK), &Config::default());
        let expected: BTreeSet<String> = pairs.iter().map(|p| format!("1 {p}")).collect();
        assert_eq!(allowed(&en), expected, "{name} with (L_0, L_1)");
    }
}

/// Every file of the suite's `threads/` that the front end accepts: every allowed outcome
/// has `$Check` (the main thread's invokes) returning 1.
#[test]
fn suite_files_check_returns_one() {
    let Ok(rd) = std::fs::read_dir(suite_dir()) else {
        eprintln!(
            "SKIPPED: official test suite not found at {}",
            suite_dir().display()
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "test suite missing under CI=true"
        );
        return;
    };
    let mut accepted = 0;
    for entry in rd.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let Ok(prog) = parse_litmus(&text) else {
            continue;
        };
        accepted += 1;
        let en = enumerate(&prog, &Config::default())
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        assert!(
            !en.allowed.is_empty(),
            "{}: no allowed outcome",
            entry.path().display()
        );
        for o in en.allowed.keys() {
            if let Some(main) = o.get("main") {
                let one = heddle_model::InvokeResult::Values(vec![heddle_model::Value::I32(1)]);
                assert!(
                    main.iter().all(|r| *r == one),
                    "{}: allowed {o}",
                    entry.path().display()
                );
            }
        }
    }
    assert!(accepted >= 6, "only {accepted} suite files accepted");
}

/// The model's integer operators at both widths (the spec's numerics: `irotl_N`, `idiv_s_N`,
/// `ishr_u_N`, `ilt_s_N`, `irotr_N`, `ishr_s_N`, `isub_N`, `igt_u_N`; shift and rotate
/// counts modulo N; a comparison is an i32), and their traps (`idiv_s_N` overflow,
/// `irem_u_N` by zero), through a one-thread program whose outcome is their results.
#[test]
fn integer_operators_follow_the_numerics() {
    let module = r#"(module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32 i32 i32 i32 i64 i64 i64 i32)
      (i32.rotl (i32.const 0x80000001) (i32.const 33))
      (i32.div_s (i32.const -7) (i32.const 2))
      (i32.shr_u (i32.const -16) (i32.const 36))
      (i32.lt_s (i32.const -1) (i32.const 0))
      (i64.rotr (i64.const 1) (i64.const 65))
      (i64.shr_s (i64.const -16) (i64.const 2))
      (i64.sub (i64.const 0) (i64.const 1))
      (i64.gt_u (i64.const -1) (i64.const 0)))
    (func (export "overflow") (result i32)
      (i32.div_s (i32.const 0x80000000) (i32.const -1)))
    (func (export "by_zero") (result i64)
      (i64.rem_u (i64.const 1) (i64.const 0))))"#;
    let text = format!(
        "(module $Mem (memory (export \"shared\") 1 1 shared))\n(register \"mem\" $Mem)\n\
         (thread $T (shared (module $Mem)) (register \"mem\" $Mem)\n  {module}\n  \
         (invoke \"run\") (invoke \"overflow\") (invoke \"by_zero\"))\n(wait $T)\n"
    );
    let en = run_text(&text, &Config::default());
    assert_eq!(
        allowed(&en),
        set(&[
            "3 4294967293 268435455 1 9223372036854775808 18446744073709551612 \
               18446744073709551615 1 trap trap"
        ])
    );
}
