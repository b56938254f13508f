//! The report of a real cross-check: generated programs and a catalogue test run on
//! Heddle's exploring engines (SC and relaxed memory), checked against the model.

use heddle_explore::MemoryMode;
use heddle_fuzz::engines::heddle::HeddleEngine;
use heddle_fuzz::generate::{generate, GenConfig};
use heddle_fuzz::xcheck::{prepare, run, Input};
use heddle_fuzz::{Engine, RunOptions};
use heddle_model::Config;

#[test]
fn report_of_generated_programs_on_heddle() {
    let mut inputs: Vec<Input> = generate(&GenConfig::xcheck(), 2026, 6)
        .iter()
        .enumerate()
        .map(|(i, p)| Input {
            name: format!("gen-2026-{i}.wast"),
            source: p.to_wast(),
        })
        .collect();
    inputs.push(Input {
        name: "SB.wast".into(),
        source: include_str!("../../model/tests/litmus/SB.wast").into(),
    });
    let mut prepared = prepare(&inputs, &Config::default());
    assert!(prepared.iter().all(|(t, r)| t.is_some() && r.model.is_ok()));
    let engines: Vec<Box<dyn Engine>> = vec![
        Box::new(HeddleEngine::new(MemoryMode::Sc)),
        Box::new(HeddleEngine::new(MemoryMode::Relaxed)),
    ];
    run(
        &mut prepared,
        &engines,
        &RunOptions::default(),
        &mut |_, _| {},
    );
    let reports: Vec<_> = prepared.into_iter().map(|(_, r)| r).collect();
    let page = heddle_fuzz::report::html(&reports, "heddle on generated programs");
    if let Some(path) = std::env::var_os("HEDDLE_REPORT_E2E") {
        std::fs::write(path, &page).expect("write the report");
    }
    // Exploration only reaches allowed outcomes: no findings, one plot per test.
    assert!(reports.iter().all(|r| !r.has_finding()), "{page}");
    assert!(page.contains("0 with findings"));
    assert_eq!(page.matches("<svg").count(), inputs.len());
    assert!(page.contains("SB.wast"));
    assert!(!page.contains("http://") && !page.contains("https://"));
}
