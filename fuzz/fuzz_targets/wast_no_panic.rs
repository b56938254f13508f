//! The `.wast` runner must not panic on any script text.
#![no_main]

use heddle_spec_tests::{run_wast_source, RunOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let opts = RunOptions {
            fuel: Some(10_000),
            ..RunOptions::default()
        };
        let _ = run_wast_source("fuzz.wast", text, &opts);
    }
});
