use heddle_fuzz::engines::{self, EngineSpec};
use heddle_fuzz::xcheck::{self, Input};
use heddle_fuzz::RunOptions;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = engines::create(&EngineSpec {
        name: args[1].clone(),
        path: None,
        memory: heddle_spec_tests::explore::MemoryMode::Sc,
    })
    .unwrap();
    let iters: u64 = args[2].parse().unwrap();
    let files =
        xcheck::collect_wast_files(&args[3..].iter().map(Into::into).collect::<Vec<_>>()).unwrap();
    let inputs: Vec<Input> = files
        .iter()
        .map(|f| Input {
            name: f.display().to_string(),
            source: std::fs::read_to_string(f).unwrap(),
        })
        .collect();
    let mut prepared = xcheck::prepare(&inputs, &heddle_model::Config::default());
    let engines = vec![engine];
    xcheck::run(
        &mut prepared,
        &engines,
        &RunOptions {
            iterations: iters,
            seed: 1,
            timeout: std::time::Duration::from_secs(120),
        },
        &mut |_, _| {},
    );
    for (_, r) in &prepared {
        for row in &r.rows {
            match &row.result {
                Ok(c) => println!(
                    "{:50} {:8.3}s {:>8} it/s disc {} forb {} outcomes {}",
                    r.file.rsplit('/').next().unwrap(),
                    c.histogram.seconds,
                    (c.histogram.iterations as f64 / c.histogram.seconds) as u64,
                    c.histogram.discarded,
                    c.forbidden_observed(),
                    c.outcomes.len()
                ),
                Err(e) => println!("{} {e}", r.file),
            }
        }
    }
}
