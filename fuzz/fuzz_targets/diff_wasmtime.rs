//! Differential: a wasm-smith module (threads on) built from the fuzzer's bytes, in Heddle
//! and wasmtime; any difference panics (libFuzzer saves the input).
#![no_main]

use heddle_fuzz::diff::{finding::assert_no_difference, generate::smith_config, wasmtime::Wasmtime};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static ENGINE: RefCell<Wasmtime> = RefCell::new(Wasmtime::new().expect("wasmtime engine"));
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(module) = wasm_smith::Module::new(smith_config(true), &mut u) else {
        return;
    };
    let wasm = module.to_bytes();
    ENGINE.with(|e| assert_no_difference(&wasm, &mut *e.borrow_mut()));
});
