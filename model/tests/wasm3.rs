//! Litmus programs over Wasm 3.0 memories (`tests/litmus-wasm3/`): a shared 64-bit memory,
//! and two shared memories, where a location is a memory and an address.

mod common;
use common::flat;
use heddle_model::{enumerate, location, memory_and_address, parse_litmus, Config, MEMORY_SPAN};
use pretty_assertions::assert_eq;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn allowed(name: &str) -> BTreeSet<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/litmus-wasm3/{name}.wast"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let prog = parse_litmus(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let en = enumerate(&prog, &Config::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    en.allowed.keys().map(flat).collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_same_address_in_two_memories_is_two_locations() {
    // Plain SB across memories: the weak outcome is allowed, as on one memory.
    assert_eq!(
        allowed("SB_two_memories"),
        set(&["0 0", "0 1", "1 0", "1 1"])
    );
    // Seq-cst: forbidden.
    assert_eq!(allowed("SB_sc_two_memories"), set(&["0 1", "1 0", "1 1"]));
    // Message passing with the flag in memory 0 and the data in memory 1.
    assert_eq!(
        allowed("MP_sc_flag_other_memory"),
        set(&["0 0", "0 42", "1 42"])
    );
}

#[test]
fn wait_queues_are_per_memory() {
    // The notify of memory 0 wakes no one (first result 0); the waiter on memory 1 is
    // woken by the notify of memory 1, or finds the value changed.
    assert_eq!(allowed("wait_notify_memory1"), set(&["0 0 1", "1 0 0"]));
}

#[test]
fn a_64_bit_shared_memory_takes_i64_addresses() {
    assert_eq!(allowed("SB_sc_memory64"), set(&["0 1", "1 0", "1 1"]));
}

#[test]
fn locations_encode_memory_and_address() {
    assert_eq!(location(0, 8), 8);
    assert_eq!(location(1, 8), MEMORY_SPAN + 8);
    assert_eq!(
        memory_and_address(location(3, 0x1_0000_0008)),
        (3, 0x1_0000_0008)
    );
    assert_eq!(heddle_model::event::describe(location(0, 8)), "address 8");
    assert_eq!(
        heddle_model::event::describe(location(1, 8)),
        "memory 1 address 8"
    );
}

#[test]
fn with_two_memories_an_import_must_name_a_registered_one() {
    let text = r#"
(module (memory 1 1 shared) (memory 1 1 shared))
(module
  (memory (import "nowhere" "m") 1 1 shared)
  (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))
(invoke "f")
"#;
    let e = parse_litmus(text).unwrap_err();
    assert!(e.message.contains("no registered module exports it"), "{e}");
    // 64-bit accesses past the end of a 64-bit memory trap in the model too.
    let text = r#"
(module $M (memory (export "m") i64 1 1 shared))
(register "mem" $M)
(module
  (memory (import "mem" "m") i64 1 1 shared)
  (func (export "f") (result i32) (i32.atomic.load (i64.const 0x1_0000_0000))))
(invoke "f")
"#;
    let prog = parse_litmus(text).unwrap();
    let en = enumerate(&prog, &Config::default()).unwrap();
    assert_eq!(
        en.allowed.keys().map(flat).collect::<BTreeSet<_>>(),
        set(&["trap"])
    );
}
