//! What the command-line tests of WASI programs share: running the `heddle` binary, the
//! WAT programs of `wasi/tests/wat/`, the fixtures of `fixtures/wasi/`, and the schedule a
//! run prints for `--replay`. Each test file uses some of them.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Run the `heddle` binary with `args`; its status and captured output.
pub fn heddle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heddle"))
        .args(args)
        .output()
        .unwrap()
}

/// The path of the WAT program `name` (with its extension) in `wasi/tests/wat/`.
pub fn wat(name: &str) -> String {
    format!("{}/wasi/tests/wat/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The path of the fixture `name` (without `.wasm`) in `fixtures/wasi/`.
pub fn fixture(name: &str) -> String {
    format!("{}/fixtures/wasi/{name}.wasm", env!("CARGO_MANIFEST_DIR"))
}

/// Bytes of output as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The schedule a run printed on stderr (`schedule (replay with --replay): S`); panics,
/// naming stderr, if there is none.
pub fn printed_schedule(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.split_once("schedule (replay with --replay): "))
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| panic!("no schedule in {stderr:?}"))
}
