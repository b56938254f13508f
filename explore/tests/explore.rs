//! `heddle explore` against the memory model: on every litmus file the model accepts (the
//! catalogue in `model/tests/litmus/` and the straight-line files of the suite's
//! `threads/`), every outcome reached by exhaustive sequentially consistent exploration is
//! allowed, and for programs whose accesses are all seq-cst and of one size the two sets are
//! equal (SC-DRF); every trace of every run that reached an outcome passes the model's
//! `check_execution`.

#[allow(dead_code)] // the helpers other exploration tests use
mod common;
use common::{
    assert_spin_loop_terminates, assert_suite_outcomes_pass_check, catalogue, catalogue_file,
    check_traces, model_allowed, suite_threads_dir,
};
use heddle_explore::{explore, ExploreOptions, Plan};
use heddle_interp::trace::TraceAction;
use heddle_model::{enumerate, parse_litmus, Config, Outcome};
use std::collections::BTreeSet;
use std::path::Path;

/// Whether every access of every trace (but the initialising write) is seq-cst and all
/// have one width.
fn all_seqcst_one_size(ex: &heddle_explore::Exploration) -> bool {
    let mut widths = BTreeSet::new();
    for t in &ex.traces {
        for e in t.trace.events.iter().skip(1) {
            for a in &e.actions {
                match a {
                    TraceAction::Read { ord, bytes, .. }
                    | TraceAction::Write { ord, bytes, .. } => {
                        if *ord != heddle_interp::memory::Ordering::SeqCst {
                            return false;
                        }
                        widths.insert(bytes.len());
                    }
                    TraceAction::Rmw { read, .. } => {
                        widths.insert(read.len());
                    }
                    _ => {}
                }
            }
        }
    }
    widths.len() <= 1
}

fn check_file(path: &Path) -> Option<(Vec<Outcome>, Vec<Outcome>)> {
    let text = std::fs::read_to_string(path).unwrap();
    // None: not a litmus file the model accepts
    let allowed = model_allowed(path, &text)?;
    let plan = Plan::from_text(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opts = ExploreOptions {
        keep_traces: true,
        ..ExploreOptions::default()
    };
    let ex = explore(&plan, &opts).unwrap();
    assert!(ex.complete, "{}: exploration incomplete", path.display());
    let reached: Vec<Outcome> = ex.reachable.keys().cloned().collect();
    for o in &reached {
        assert!(
            allowed.contains(o),
            "{}: SC exploration reached {o}, which the model forbids",
            path.display()
        );
    }
    if all_seqcst_one_size(&ex) {
        let a: BTreeSet<_> = allowed.iter().collect();
        let r: BTreeSet<_> = reached.iter().collect();
        assert_eq!(
            a,
            r,
            "{}: all seq-cst, one size: SC outcomes must equal the allowed ones",
            path.display()
        );
    }
    assert_eq!(
        ex.traces.len() as u64,
        ex.reachable.values().map(|f| f.count).sum::<u64>()
    );
    let checked_traces =
        check_traces(&ex).unwrap_or_else(|v| panic!("{}: a trace breaks {v}", path.display()));
    assert!(
        checked_traces > 0,
        "{}: no trace was checked",
        path.display()
    );
    Some((reached, allowed))
}

#[test]
fn sc_exploration_of_the_catalogue_is_sound_and_sc_drf() {
    let mut checked = 0;
    let mut equal = 0;
    for f in catalogue() {
        if let Some((r, a)) = check_file(&f) {
            checked += 1;
            equal += usize::from(r.len() == a.len());
        }
    }
    assert!(checked >= 40, "only {checked} catalogue files checked");
    // Weak outcomes exist in the catalogue, so SC exploration must miss some.
    assert!(equal < checked);
}

#[test]
fn sc_exploration_of_the_suite_threads_files_is_sound() {
    let mut checked = 0;
    for f in std::fs::read_dir(suite_threads_dir()).unwrap() {
        let f = f.unwrap().path();
        if check_file(&f).is_some() {
            checked += 1;
        }
    }
    // SB, MP, LB and their atomic variants, simple, nested, deeply_nested, thread.
    assert!(
        checked >= 8,
        "only {checked} suite files accepted by the model"
    );
}

#[test]
fn every_reachable_outcome_of_the_suite_passes_its_check() {
    assert_suite_outcomes_pass_check(&ExploreOptions::default());
}

#[test]
fn spin_loops_terminate_by_state_caching() {
    assert_spin_loop_terminates(&ExploreOptions::default());
}

#[test]
fn bounds_make_the_result_incomplete_not_a_hang() {
    let text = r#"
      (module $Mem (memory (export "shared") 1 1 shared))
      (thread $T (shared (module $Mem))
        (register "mem" $Mem)
        (module (memory (import "mem" "shared") 1 1 shared)
          (func (export "run") (loop (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))) (br 0))))
        (invoke "run"))
      (wait $T)
    "#;
    let plan = Plan::from_text(text).unwrap();
    let ex = explore(
        &plan,
        &ExploreOptions {
            max_steps: 1000,
            ..ExploreOptions::default()
        },
    )
    .unwrap();
    assert!(!ex.complete);
    assert!(ex.reachable.is_empty());
}

#[test]
fn a_schedule_replays_its_outcome() {
    let path = catalogue_file("SB.wast");
    let plan = Plan::from_text(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ex = explore(&plan, &ExploreOptions::default()).unwrap();
    assert!(ex.reachable.len() >= 3);
    for (o, f) in &ex.reachable {
        let r = heddle_explore::replay(&plan, &f.schedule, &ExploreOptions::default()).unwrap();
        assert_eq!(r.outcome.as_ref(), Some(o));
        assert_eq!(r.schedule, f.schedule);
        assert!(r.trace.is_some());
    }
}

/// The Wasm 3.0 litmus files (`model/tests/litmus-wasm3/`): a shared 64-bit memory, two
/// shared memories. SC exploration reaches only allowed outcomes, and all of them when the
/// accesses are seq-cst; traces are checked on the one-memory file; the relaxed backend and
/// traces refuse a script with two shared memories (they cover one).
#[test]
fn sc_exploration_of_wasm3_litmus_files_is_sound() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/litmus-wasm3");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let program = parse_litmus(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let allowed: BTreeSet<Outcome> = enumerate(&program, &Config::default())
            .unwrap()
            .allowed
            .keys()
            .cloned()
            .collect();
        let plan = Plan::from_text(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let ex = explore(&plan, &ExploreOptions::default()).unwrap();
        assert!(ex.complete, "{}", f.display());
        let reached: BTreeSet<Outcome> = ex.reachable.keys().cloned().collect();
        assert!(
            reached.is_subset(&allowed),
            "{}: {reached:?} ⊄ {allowed:?}",
            f.display()
        );
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("_sc") {
            assert_eq!(reached, allowed, "{name}: seq-cst accesses: SC-DRF");
        }
        if program.memories.len() > 1 {
            let traced = ExploreOptions {
                keep_traces: true,
                ..ExploreOptions::default()
            };
            let e = explore(&plan, &traced).unwrap_err();
            assert!(e.contains("shared memories"), "{name}: {e}");
        }
    }
    assert!(check_file(&dir.join("SB_sc_memory64.wast")).is_some());
}
