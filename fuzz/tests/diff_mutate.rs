//! The no-panic campaign at CI size: mutated wasm-smith modules through Heddle's decode,
//! validate, instantiate and run never panic (the 1,000,000-module figure is in
//! BENCHMARKS.md).

use heddle_fuzz::diff::generate::Rng;
use heddle_fuzz::diff::mutate::{mutate, run_mutation_campaign};

#[test]
fn twenty_thousand_mutants_do_not_panic_heddle() {
    let out = std::env::temp_dir().join(format!("heddle-mutate-{}", std::process::id()));
    let r = run_mutation_campaign(3, 20_000, 10_000, &out, &mut |_| {}).unwrap();
    assert_eq!(
        r.heddle_panics,
        0,
        "panicking inputs saved in {}",
        out.display()
    );
    assert_eq!(r.modules, 20_000);
    // The campaign is not vacuous: some mutants still validate and run.
    assert!(
        r.valid > 100 && r.instantiated > 50 && r.calls > 100,
        "{r:?}"
    );
}

#[test]
fn mutations_change_the_module() {
    let mut rng = Rng::new(1);
    let base = wat::parse_str("(module (func (export \"f\") (result i32) (i32.const 1)))").unwrap();
    let changed = (0..100)
        .filter(|_| {
            let mut m = base.clone();
            mutate(&mut rng, &mut m);
            m != base
        })
        .count();
    assert!(changed > 90, "only {changed} of 100 mutants differ");
}
