//! The race detector against the model (docs/races.md, *SC executions suffice*): for
//! straight-line litmus programs, "some explored sequentially consistent execution has a
//! data race" (`heddle explore --races`) equals the model's "some allowed execution has a
//! data race" (`heddle_model::find_data_race`, a search over all candidate executions), on
//! the catalogue (`model/tests/litmus/`) and on 500 programs of the seeded generator.
//!
//! (In heddle-fuzz, which has the generator: the model must not depend on it, see
//! `scripts/check-crate-graph.sh`.)

#[allow(dead_code)] // the helpers other exploration tests use
#[path = "../../explore/tests/common/mod.rs"]
mod common;
use heddle_explore::{explore, ExploreOptions, Plan};
use heddle_fuzz::generate::{generate, GenConfig};
use heddle_model::{find_data_race, parse_litmus, Config};

/// `None` when the model or the explorer does not take the program (or a bound cuts
/// either); else (explorer, model) answers to "has a data race".
fn answers(text: &str) -> Option<(bool, bool)> {
    let program = parse_litmus(text).ok()?;
    let model = find_data_race(&program, &Config::default()).ok()?.is_some();
    let plan = Plan::from_text(text).ok()?;
    let ex = explore(
        &plan,
        &ExploreOptions {
            races: true,
            jobs: 1,
            ..ExploreOptions::default()
        },
    )
    .ok()?;
    ex.complete.then(|| (ex.has_data_race(), model))
}

fn disagreements(programs: impl Iterator<Item = (String, String)>) -> (usize, Vec<String>) {
    let mut compared = 0;
    let mut wrong = Vec::new();
    for (name, text) in programs {
        if let Some((explorer, model)) = answers(&text) {
            compared += 1;
            if explorer != model {
                wrong.push(format!(
                    "{name}: explorer {explorer}, model {model}\n{text}"
                ));
            }
        }
    }
    (compared, wrong)
}

#[test]
fn catalogue_detector_and_model_agree_on_data_races() {
    let files = common::catalogue();
    let (compared, wrong) = disagreements(
        files
            .iter()
            .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap())),
    );
    assert!(compared >= 40, "only {compared} catalogue files compared");
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn generated_programs_detector_and_model_agree_on_data_races() {
    let programs = generate(&GenConfig::model_mixed(3), 28, 500);
    assert_eq!(programs.len(), 500);
    let mut racy = 0;
    let mut wrong = Vec::new();
    for (i, p) in programs.iter().enumerate() {
        let text = p.to_wast();
        let (explorer, model) =
            answers(&text).unwrap_or_else(|| panic!("program {i} not compared:\n{text}"));
        racy += usize::from(explorer);
        if explorer != model {
            wrong.push(format!(
                "program {i}: explorer {explorer}, model {model}\n{text}"
            ));
        }
    }
    // Both answers occur: the comparison is not vacuous.
    assert!(racy > 0 && racy < 500, "{racy} of 500 racy");
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
