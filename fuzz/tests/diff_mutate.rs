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

/// Exception handling (try_table with every clause, throw, throw_ref, the legacy
/// try/catch/delegate/rethrow, exnref in tables and globals) is not in wasm-smith's
/// modules above: 40,000 mutants of two hand-written ones go through decode, validate,
/// instantiate and run without a panic.
#[test]
fn exception_handling_mutants_do_not_panic_heddle() {
    use heddle_fuzz::diff::mutate::exercise;
    use heddle_fuzz::oracle::OracleOptions;
    let bases = [
        r#"(module
  (tag $e (export "e") (param i32))
  (tag $f (param i64 f32))
  (global $g (mut exnref) (ref.null exn))
  (table $t 2 exnref)
  (func $thrower (export "thrower") (param i32) (throw $e (local.get 0)))
  (func (export "all") (param i32) (result i32)
    (block $a (result i32)
      (block $b (result i32 exnref)
        (block $c (result exnref)
          (block $d
            (try_table (catch $e $a) (catch_ref $e $b) (catch_all_ref $c) (catch_all $d)
              (call $thrower (local.get 0))))
          (return (i32.const -1)))
        (global.set $g)
        (return (i32.const -2)))
      (global.set $g)
      (drop)
      (table.set $t (i32.const 1) (global.get $g))
      (throw_ref (global.get $g))))
  (func (export "loop") (param i32) (result i32)
    (local.get 0)
    (loop $l (param i32) (result i32)
      (try_table (param i32) (result i32) (catch $e $l)
        (if (i32.eqz (local.get 0)) (then (return (i32.const 7))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (throw $e))))
  (func (export "rethrow") (throw_ref (table.get $t (i32.const 1)))))"#,
        r#"(module
  (tag $e (param i32))
  (func $f (param i32) (result i32)
    try (result i32)
      try (result i32)
        (throw $e (local.get 0))
      delegate 0
    catch $e
      try
        (throw $e (i32.const 1))
      catch_all
        (rethrow 1)
      end
    catch_all
      (i32.const 3)
    end)
  (func (export "f") (param i32) (result i32)
    try (result i32)
      (call $f (local.get 0))
    catch $e
    end))"#,
    ];
    let mut rng = Rng::new(11);
    let (mut valid, mut ran) = (0, 0);
    for base in bases {
        let base = wat::parse_str(base).unwrap();
        assert!(heddle_interp::Module::decode(&base).is_ok());
        for i in 0..20_000u64 {
            let mut m = base.clone();
            mutate(&mut rng, &mut m);
            let options = OracleOptions {
                fuel: 10_000,
                ..Default::default()
            };
            let r = std::panic::catch_unwind(|| exercise(&m, options, i));
            let Ok((ok, instantiated, _)) = r else {
                panic!("mutant {i} panics Heddle: {m:02x?}")
            };
            valid += usize::from(ok);
            ran += usize::from(instantiated);
        }
    }
    assert!(valid > 100 && ran > 100, "{valid} valid, {ran} ran");
}
