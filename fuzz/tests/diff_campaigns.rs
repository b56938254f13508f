//! Fixed-seed differential campaigns (bounded by iterations, so deterministic): no finding
//! against wasmtime or wasmi; a planted fault is found, shrunk and saved; a lone `wait`
//! with a timeout never hangs a campaign.

use heddle_fuzz::diff::compare::{check_module, traps_equivalent, CheckOptions, Skip};
use heddle_fuzz::diff::engine::{engine_by_name, DiffEngine, EngineInstantiation, EngineOutcome};
use heddle_fuzz::diff::{finding, run_campaign, with_planted_fault, Bound, Campaign, Report};
use heddle_fuzz::oracle::{Oracle, OracleOptions, Outcome, TrapKind};
use heddle_spec_tests::runner::{run_wast_source, RunOptions};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heddle-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn campaign(engine: &str, seed: u64, iterations: u64) -> (Report, PathBuf) {
    campaign_with(
        engine,
        seed,
        iterations,
        Campaign::default().termination_fuel,
    )
}

fn campaign_with(
    engine: &str,
    seed: u64,
    iterations: u64,
    termination_fuel: u32,
) -> (Report, PathBuf) {
    let out = scratch(&format!("{engine}-{seed}-{termination_fuel}"));
    let c = Campaign {
        seed,
        bound: Bound::Iterations(iterations),
        out_dir: out.clone(),
        shrink_attempts: 50,
        termination_fuel,
        ..Campaign::default()
    };
    let mut e = engine_by_name(engine).unwrap();
    (run_campaign(&c, e.as_mut(), &mut |_, _| {}).unwrap(), out)
}

fn assert_clean(r: &Report) {
    assert!(
        r.findings.is_empty(),
        "findings against {}: {:#?}",
        r.engine,
        r.findings
    );
    assert_eq!(r.heddle_panics, 0);
    assert!(r.calls > r.modules, "too few calls compared: {r:?}");
}

#[cfg(feature = "wasmtime")]
#[test]
fn fixed_seed_campaign_against_wasmtime_finds_nothing() {
    let (r, _) = campaign("wasmtime", 1, 6_000);
    assert_clean(&r);
}

#[cfg(feature = "wasmi")]
#[test]
fn fixed_seed_campaign_against_wasmi_finds_nothing() {
    let (r, _) = campaign("wasmi", 2, 10_000);
    assert_clean(&r);
}

/// A campaign generates the next modules on another thread and takes them in batches
/// (the engine compiles a batch, then Heddle prepares it): it must check exactly the
/// modules, arguments and order that checking one module at a time does. Against wasmi
/// the generator never waits; against wasmtime the campaign holds the machine for Heddle's
/// turn (`DiffEngine::compiles_ahead`): both ways are checked.
fn checks_the_same_modules_as_one_module_at_a_time(engine: &str, count: u64) {
    use heddle_fuzz::diff::generate::{module, module_seed};
    let c = Campaign {
        seed: 5,
        start: 40,
        bound: Bound::Iterations(count),
        out_dir: scratch(&format!("same-modules-{engine}")),
        ..Campaign::default()
    };
    let mut e = engine_by_name(engine).unwrap();
    let threads = e.supports_threads();
    let r = run_campaign(&c, e.as_mut(), &mut |_, _| {}).unwrap();
    let mut one_by_one = Report::new(engine);
    for index in 40..40 + count {
        let wasm = module(5, index, threads, c.termination_fuel);
        let m = check_module(&wasm, e.as_mut(), &c.check, module_seed(5, index));
        one_by_one.modules += 1;
        one_by_one.instantiated += m.instantiated as u64;
        one_by_one.calls += m.calls;
        if let Some(s) = m.skip {
            *one_by_one.skips.entry(s.name().to_string()).or_default() += 1;
        }
        assert!(m.difference.is_none(), "module {index}: {:?}", m.difference);
    }
    assert_eq!(
        (r.modules, r.instantiated, r.calls, &r.skips),
        (
            one_by_one.modules,
            one_by_one.instantiated,
            one_by_one.calls,
            &one_by_one.skips
        )
    );
    assert!(r.calls > count, "{r:?}");
}

#[cfg(feature = "wasmi")]
#[test]
fn campaign_checks_the_same_modules_as_one_module_at_a_time() {
    // Not a multiple of the campaign's batch.
    checks_the_same_modules_as_one_module_at_a_time("wasmi", 301);
}

#[cfg(feature = "wasmtime")]
#[test]
fn campaign_with_heddles_turn_checks_the_same_modules_as_one_module_at_a_time() {
    // Not a multiple of the campaign's batch; Cranelift compiles each module twice here.
    checks_the_same_modules_as_one_module_at_a_time("wasmtime", 67);
}

/// Modules skipped because Heddle's fuel ran out or a call stack filled up: with the
/// termination fuel such a module traps (`unreachable`) in both engines and is compared.
#[cfg(feature = "wasmi")]
#[test]
fn termination_fuel_turns_endless_modules_into_compared_traps() {
    let endless = |r: &Report| {
        ["fuel", "call-depth"]
            .iter()
            .map(|k| r.skips.get(*k).copied().unwrap_or(0))
            .sum::<u64>()
    };
    let (plain, _) = campaign_with("wasmi", 3, 400, 0);
    let (terminating, _) = campaign_with("wasmi", 3, 400, 500);
    assert_clean(&terminating);
    // Without it about half of wasm-smith's modules loop or recurse without end.
    assert!(endless(&plain) >= 100, "{:?}", plain.skips);
    assert!(endless(&terminating) <= 4, "{:?}", terminating.skips);
    assert!(terminating.calls > plain.calls, "{plain:?} {terminating:?}");
}

#[cfg(feature = "wasmi")]
#[test]
fn planted_fault_is_found_shrunk_and_saved() {
    let out = scratch("planted");
    let c = with_planted_fault(Campaign {
        seed: 7,
        bound: Bound::Iterations(20_000),
        out_dir: out.clone(),
        max_findings: 1,
        shrink_attempts: 200,
        ..Campaign::default()
    });
    let mut e = engine_by_name("wasmi").unwrap();
    let r = run_campaign(&c, e.as_mut(), &mut |_, _| {}).unwrap();
    assert_eq!(
        r.findings.len(),
        1,
        "the planted fault was not found: {r:?}"
    );
    let f = &r.findings[0];
    assert!(f.sizes.1 < f.sizes.0, "not shrunk: {:?}", f.sizes);
    let wasm_path = PathBuf::from(&f.path);
    let wasm = std::fs::read(&wasm_path).unwrap();
    assert!(wasm_path.with_extension("wat").exists());
    let saved = std::fs::read_to_string(wasm_path.with_extension("wast")).unwrap();
    // The shrunk module still shows the fault.
    let arg_seed = arg_seed_of(&saved);
    let again = check_module(&wasm, e.as_mut(), &c.check, arg_seed);
    assert!(
        again.difference.is_some(),
        "shrunk module no longer differs"
    );
    // The saved script asserts the (faulty) oracle's results; the same script made by the
    // correct oracle passes on Heddle, and the two differ.
    let correct = finding::heddle_script(&wasm, OracleOptions::default(), arg_seed);
    let rep = run_wast_source("correct.wast", &correct, &RunOptions::default());
    assert!(
        rep.ok(),
        "the correct oracle's script fails: {rep:?}\n{correct}"
    );
    if matches!(f.kind.as_str(), "result" | "trap" | "global") {
        let rep = run_wast_source("saved.wast", &saved, &RunOptions::default());
        assert!(
            !rep.ok(),
            "the faulty oracle's script passes on correct Heddle:\n{saved}"
        );
    }
}

fn arg_seed_of(script: &str) -> u64 {
    let i = script
        .find("arguments seed ")
        .expect("the script names its arguments seed");
    script[i + 15..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A module whose export "w" waits on a shared memory with timeout `timeout` (ns; -1 for
/// none) at an address holding the expected value.
fn wait_module(timeout: i64) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (memory (export "m") 1 1 shared)
             (func (export "w") (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const {timeout}))))"#
    ))
    .unwrap()
}

#[cfg(feature = "wasmtime")]
#[test]
fn lone_wait_with_timeout_never_hangs() {
    let mut e: Box<dyn DiffEngine> = engine_by_name("wasmtime").unwrap();
    let o = CheckOptions {
        rounds: 1,
        ..CheckOptions::default()
    };
    // A short timeout: both engines time out and return 2.
    let c = check_module(&wait_module(1_000), e.as_mut(), &o, 0);
    assert_eq!((c.calls, c.skip, c.difference), (1, None, None));
    // An hour: Heddle jumps its virtual clock; the engine is not asked to sleep.
    let c = check_module(&wait_module(3_600_000_000_000), e.as_mut(), &o, 0);
    assert_eq!(
        (c.calls, c.skip, c.difference),
        (0, Some(Skip::LongWait), None)
    );
    // No timeout: Heddle reports the deadlock; the engine is not run.
    let c = check_module(&wait_module(-1), e.as_mut(), &o, 0);
    assert_eq!(
        (c.calls, c.skip, c.difference),
        (0, Some(Skip::WaitForever), None)
    );
    // The same waits in a start function.
    for (timeout, skip) in [
        (3_600_000_000_000i64, Skip::LongWait),
        (-1, Skip::WaitForever),
    ] {
        let wasm = wat::parse_str(format!(
            r#"(module (memory 1 1 shared) (start 0)
                 (func (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const {timeout})))))"#
        ))
        .unwrap();
        let c = check_module(&wasm, e.as_mut(), &o, 0);
        assert_eq!((c.calls, c.skip, c.difference), (0, Some(skip), None));
    }
}

#[cfg(feature = "wasmtime")]
#[test]
fn trap_reasons_compare_under_the_policy() {
    let mut e = engine_by_name("wasmtime").unwrap();
    // Unaligned and out of bounds with address + offset >= 2^32: Heddle says unaligned,
    // wasmtime out of bounds; equivalent under the policy.
    let wasm = wat::parse_str(
        r#"(module (memory 1 1 shared)
             (func (export "n") (result i32)
               (memory.atomic.notify offset=0xffffffff (i32.const 2) (i32.const 1))))"#,
    )
    .unwrap();
    let o = CheckOptions {
        rounds: 1,
        ..CheckOptions::default()
    };
    let c = check_module(&wasm, e.as_mut(), &o, 0);
    assert_eq!((c.calls, c.skip, c.difference), (1, None, None));
    // The reasons do differ; the policy is what makes them equal.
    let mut oracle = Oracle::new(&wasm, OracleOptions::default()).unwrap();
    let Outcome::Trapped(t) = oracle.call("n", &[]) else {
        panic!()
    };
    assert_eq!(TrapKind::of(&t), TrapKind::UnalignedAtomic);
    assert!(matches!(
        e.instantiate(&wasm, 1000),
        EngineInstantiation::Ready
    ));
    let ty = heddle_interp::FuncType {
        params: vec![],
        results: vec![heddle_interp::ValType::I32],
    };
    assert!(matches!(
        e.call("n", &ty, &[], 1000),
        EngineOutcome::Trapped(TrapKind::OutOfBoundsMemoryAccess, _)
    ));
    assert!(traps_equivalent(
        TrapKind::UnalignedAtomic,
        TrapKind::OutOfBoundsMemoryAccess
    ));
    assert!(!traps_equivalent(
        TrapKind::OutOfBoundsMemoryAccess,
        TrapKind::UnalignedAtomic
    ));
    assert!(!traps_equivalent(
        TrapKind::Unreachable,
        TrapKind::IntegerOverflow
    ));
}

/// docs/findings.md §3 and §4: Heddle and wasmtime agree on the reproducers of the wasmi
/// 2.0.0 findings, and wasmi still differs there, as it did when they were found (when it
/// stops differing, the finding is fixed in wasmi: update docs/findings.md).
#[cfg(all(feature = "wasmtime", feature = "wasmi"))]
#[test]
fn wasmi_finding_reproducers_agree_with_wasmtime() {
    for (file, kind) in [
        ("wasmi-2.0.0-value-under-if.wat", "global"),
        ("wasmi-2.0.0-store-same-register.wat", "engine-panic"),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/findings")
            .join(file);
        let wasm = heddle_fuzz::diff::read_module(&path).unwrap();
        let options = CheckOptions::default();
        let mut wasmtime = engine_by_name("wasmtime").unwrap();
        let c = check_module(&wasm, wasmtime.as_mut(), &options, 0);
        assert_eq!(
            (c.skip, c.difference.clone()),
            (None, None),
            "{file}: {c:?}"
        );
        assert!(c.calls >= 1, "{file}");
        let mut wasmi = engine_by_name("wasmi").unwrap();
        let d = check_module(&wasm, wasmi.as_mut(), &options, 0).difference;
        assert_eq!(
            d.as_ref().map(|d| d.kind),
            Some(kind),
            "wasmi no longer differs on {file}: {d:?}"
        );
    }
}

/// A campaign over files goes through the same batches (the engine compiling ahead, Heddle
/// preparing ahead) as generated modules: over the two wasmi reproducers it reports the
/// same differences as checking each file alone, the engine's panic included.
#[cfg(feature = "wasmi")]
#[test]
fn campaign_over_files_reports_what_checking_each_file_reports() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/findings");
    let files = vec![
        dir.join("wasmi-2.0.0-value-under-if.wat"),
        dir.join("wasmi-2.0.0-store-same-register.wat"),
    ];
    let c = Campaign {
        bound: Bound::Iterations(1),
        files,
        out_dir: scratch("files"),
        shrink_attempts: 0,
        ..Campaign::default()
    };
    let mut e = engine_by_name("wasmi").unwrap();
    let r = run_campaign(&c, e.as_mut(), &mut |_, _| {}).unwrap();
    let kinds: Vec<&str> = r.findings.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        (r.modules, kinds),
        (2, vec!["global", "engine-panic"]),
        "{r:?}"
    );
    assert!(r.findings[1].summary.contains("wasmi panicked"), "{r:?}");
}

/// A module compiled by one engine is rejected by another engine's adapter, not misread.
#[cfg(all(feature = "wasmtime", feature = "wasmi"))]
#[test]
fn a_module_compiled_by_another_engine_is_rejected() {
    let wasm = wat::parse_str("(module (func (export \"f\")))").unwrap();
    let wasmtime = engine_by_name("wasmtime").unwrap();
    let mut wasmi = engine_by_name("wasmi").unwrap();
    let compiled = wasmtime.compiler().compile(&wasm);
    match wasmi.instantiate_compiled(compiled, 1_000) {
        EngineInstantiation::Rejected(m) => assert!(m.contains("another engine"), "{m}"),
        other => panic!("{other:?}"),
    }
    let compiled = wasmi.compiler().compile(&wasm);
    assert_eq!(
        wasmi.instantiate_compiled(compiled, 1_000),
        EngineInstantiation::Ready
    );
}
