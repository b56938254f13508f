//! Heddle must not panic on any input: the fuzzer's bytes (mutated by libFuzzer, seeded
//! with real modules) through decode, validate, instantiate and run with fuel.
#![no_main]

use heddle_fuzz::diff::mutate::exercise;
use heddle_fuzz::oracle::OracleOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = OracleOptions {
        fuel: 10_000,
        ..OracleOptions::default()
    };
    exercise(data, options, 0);
});
