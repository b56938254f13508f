//! The race detector against the scripts with the answer in their comments
//! (`model/tests/races/*.wast`, `;; expect: data race | race | none`): what exhaustive
//! sequentially consistent exploration with `--races` finds, and what the model's
//! predicates (`heddle_model::find_data_race`, `find_race`: some allowed execution has a
//! data race, a race) say, must both be the answer. See `docs/races.md`.

use heddle_explore::{explore, Exploration, ExploreOptions, Plan};
use heddle_model::{find_data_race, find_race, parse_litmus, Config};
use std::path::{Path, PathBuf};

/// The strongest race some execution of a script has.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Answer {
    DataRace,
    Race,
    None,
}

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/races");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} race scripts", files.len());
    files
}

fn expected(text: &str, path: &Path) -> Answer {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(";; expect: "))
        .unwrap_or_else(|| panic!("{}: no `;; expect:` line", path.display()));
    match line.trim() {
        "data race" => Answer::DataRace,
        "race" => Answer::Race,
        "none" => Answer::None,
        other => panic!("{}: unknown answer {other:?}", path.display()),
    }
}

fn explored(text: &str, path: &Path) -> Exploration {
    let plan = Plan::from_text(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ex = explore(
        &plan,
        &ExploreOptions {
            races: true,
            ..ExploreOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(ex.complete, "{}: exploration incomplete", path.display());
    ex
}

fn detector_answer(ex: &Exploration) -> Answer {
    if ex.has_data_race() {
        Answer::DataRace
    } else if !ex.races.is_empty() {
        Answer::Race
    } else {
        Answer::None
    }
}

fn model_answer(text: &str, path: &Path) -> Answer {
    let program = parse_litmus(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cfg = Config::default();
    let model = |r: Result<Option<heddle_model::Execution>, _>| {
        r.unwrap_or_else(|e: heddle_model::ModelError| panic!("{}: model: {e}", path.display()))
            .is_some()
    };
    if model(find_data_race(&program, &cfg)) {
        Answer::DataRace
    } else if model(find_race(&program, &cfg)) {
        Answer::Race
    } else {
        Answer::None
    }
}

#[test]
fn every_script_answer_holds_for_the_detector_and_the_model() {
    let mut wrong = Vec::new();
    for path in scripts() {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = expected(&text, &path);
        let ex = explored(&text, &path);
        let detector = detector_answer(&ex);
        let model = model_answer(&text, &path);
        if detector != want || model != want {
            wrong.push(format!(
                "{}: expected {want:?}, detector {detector:?} ({:#?}), model {model:?}",
                path.display(),
                ex.races.iter().map(|r| r.human()).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A report names both accesses fully, and its schedule replays a run that has it.
#[test]
fn a_report_gives_both_accesses_and_a_replaying_schedule() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/races/mp_plain_flag.wast");
    let text = std::fs::read_to_string(&path).unwrap();
    let ex = explored(&text, &path);
    let flag = ex
        .races
        .iter()
        .find(|r| r.first.address == 4)
        .unwrap_or_else(|| panic!("no race on the flag: {:#?}", ex.races));
    assert_eq!(flag.kind, "data race");
    let mut threads = [flag.first.thread.as_str(), flag.second.thread.as_str()];
    threads.sort();
    assert_eq!(threads, ["T0", "T1"]);
    let mut functions = [flag.first.function.as_str(), flag.second.function.as_str()];
    functions.sort();
    assert_eq!(functions, ["$consumer", "$producer"]);
    for a in [&flag.first, &flag.second] {
        assert_eq!((a.address, a.size, a.atomic), (4, 4, false));
        assert_eq!(a.location, "data");
    }
    let mut accesses = [flag.first.access.as_str(), flag.second.access.as_str()];
    accesses.sort();
    assert_eq!(accesses, ["read", "write"]);
    // Deduplicated by the pair of code locations: one report per pair and kind.
    for (i, a) in ex.races.iter().enumerate() {
        for b in &ex.races[i + 1..] {
            assert!(!a.same_locations(b), "duplicate reports {a:?} and {b:?}");
        }
    }
    // The schedule replays a run with the same race.
    let plan = Plan::from_text(&text).unwrap();
    let r = heddle_explore::replay(
        &plan,
        &flag.schedule,
        &ExploreOptions {
            races: true,
            ..ExploreOptions::default()
        },
    )
    .unwrap();
    assert!(
        r.races.iter().any(|x| x.same_locations(flag)),
        "schedule {} does not replay {flag:?}: {:#?}",
        flag.schedule,
        r.races
    );
}
