//! The engine view of litmus files: extraction, reset region, outcome assembly with the
//! model's meaning of blocked threads.

mod common;
use heddle_fuzz::litmus::{parse_value, LitmusTest, RawResult, Step};
use heddle_fuzz::RunOptions;
use heddle_model::{InvokeResult, Value};
use pretty_assertions::assert_eq;

fn litmus(name: &str) -> LitmusTest {
    let path = format!(
        "{}/../model/tests/litmus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("catalogue file");
    LitmusTest::from_wast(name, &text).expect("litmus test")
}

#[test]
fn store_buffering_has_two_threads_one_module_each() {
    let t = litmus("SB.wast");
    assert_eq!(t.modules.len(), 2);
    let names: Vec<&str> = t.threads.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["main", "T0", "T1"]);
    assert_eq!(
        t.threads[0].steps,
        [Step::Spawn(1), Step::Spawn(2), Step::Join(1), Step::Join(2)]
    );
    assert_eq!(
        t.threads[1].steps,
        [
            Step::Instantiate { module: 0 },
            Step::Invoke {
                instance: 0,
                export: "run".into(),
                args: vec![],
                results: vec!["i32"],
            }
        ]
    );
    assert_eq!(t.outcome_threads(), [1, 2]);
    // Addresses 0 and 4 (+ 8) round up to one 64-byte reset region.
    assert_eq!(t.memory.reset_len, 64);
    assert_eq!(t.memory.initial_pages, 1);
    assert_eq!(t.memory.maximum_pages, 1);
    assert_eq!(t.wait_addresses.len(), 16);
}

#[test]
fn harness_json_on_a_fixed_seed() {
    let t = litmus("SB.wast");
    let opts = RunOptions {
        iterations: 7,
        seed: 42,
        ..RunOptions::default()
    };
    let j = t.to_harness_json(&opts);
    assert_eq!(j["iterations"], 7);
    assert_eq!(j["seed"], 42);
    assert_eq!(j["memory"]["reset_len"], 64);
    assert_eq!(j["threads"][0]["steps"][0], serde_json::json!({"spawn": 1}));
    assert_eq!(
        j["threads"][1]["steps"][1],
        serde_json::json!({"invoke": {"instance": 0, "export": "run", "args": [], "results": ["i32"], "waits": 0, "untimed": true}})
    );
    // Module bytes start with the Wasm magic number.
    assert_eq!(j["modules"][0][0], 0);
    assert_eq!(j["modules"][0][1], 0x61);
}

/// A thread with one invoke whose function runs `body` (a memory imported as `shared`).
fn one_invoke(body: &str) -> String {
    common::one_thread(&format!(
        r#"(func $helper (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 10)))
    (func (export "run") (result i32) {body})"#
    ))
}

/// Only a `wait` with a negative constant timeout can block forever; a finite timeout, a
/// non-constant one, or a call into a module with a timed wait cannot be called blocked.
#[test]
fn untimed_waits_are_those_with_a_negative_constant_timeout() {
    let untimed = |body: &str| {
        let src = one_invoke(body);
        LitmusTest::unmodelled("t", &src, 64)
            .expect("test")
            .untimed_per_invoke()[1][0]
    };
    let wait =
        |timeout: &str| format!("(memory.atomic.wait32 (i32.const 0) (i32.const 0) {timeout})");
    assert!(untimed(&wait("(i64.const -1)")));
    assert!(untimed("(i32.const 0)"));
    assert!(!untimed(&wait("(i64.const 1000)")));
    assert!(!untimed(&wait("(i64.const 0)")));
    assert!(!untimed(&wait(
        "(i64.extend_i32_u (i32.load (i32.const 4)))"
    )));
    // $helper's wait has a timeout of 10 ns.
    assert!(!untimed("(call $helper)"));
    // The model's view of a litmus file says the same.
    let model = |timeout: i64| {
        LitmusTest::from_wast("t", &common::lone_wait_source(timeout))
            .expect("test")
            .untimed_per_invoke()[1][0]
    };
    assert!(model(-1));
    assert!(!model(1000));
}

#[test]
fn observer_on_main_is_the_last_outcome_thread() {
    let path = format!(
        "{}/../explore/tests/common/../../../model/tests/litmus/2+2W_sc_sc_observer.wast",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("file");
    let t = LitmusTest::from_wast("obs", &text).expect("test");
    assert_eq!(*t.outcome_threads().last().expect("threads"), 0);
}

#[test]
fn blocked_invoke_ends_its_thread_and_blocks_its_joiner() {
    // main spawns T0 and T1, joins both, then invokes an observer: if T0 is blocked, main's
    // observer invoke is blocked too (docs/model.md, "Blocked threads").
    let text = r#"
(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem)) (register "mem" $Mem)
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (invoke "run") (invoke "run"))
(thread $T1 (shared (module $Mem)) (register "mem" $Mem)
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32) (i32.load (i32.const 4))))
  (invoke "run"))
(wait $T0)
(wait $T1)
(module $Check (memory (import "mem" "shared") 1 1 shared)
  (func (export "check") (result i32) (i32.load (i32.const 0))))
(invoke $Check "check")
"#;
    let t = LitmusTest::from_wast("blocked", text).expect("test");
    let v = |x| RawResult::Values(vec![Value::I32(x)]);
    let raw = vec![vec![v(9)], vec![RawResult::Blocked, v(0)], vec![v(0)]];
    let o = t.assemble(&raw);
    assert_eq!(o.get("T0"), Some(&[InvokeResult::Blocked][..]));
    assert_eq!(
        o.get("T1"),
        Some(&[InvokeResult::Values(vec![Value::I32(0)])][..])
    );
    assert_eq!(o.get("main"), Some(&[InvokeResult::Blocked][..]));
    // The same outcome without the block.
    let raw = vec![vec![v(0)], vec![v(0), v(1)], vec![v(0)]];
    let o = t.assemble(&raw);
    assert_eq!(o.get("T0").map(|r| r.len()), Some(2));
    assert_eq!(
        o.get("main"),
        Some(&[InvokeResult::Values(vec![Value::I32(0)])][..])
    );
    // The watchdog waits at least 0.2 ms and the wait has no finite timeout.
    assert_eq!(t.watchdog, std::time::Duration::from_micros(200));
}

#[test]
fn finite_timeouts_lengthen_the_watchdog() {
    let text = common::lone_wait_source(1_000_000);
    let t = LitmusTest::from_wast("timeout", &text).expect("test");
    // 10 ms plus twice the 1 ms timeout.
    assert_eq!(t.watchdog, std::time::Duration::from_millis(12));
    // The timeout is not taken for an address.
    assert_eq!(t.memory.reset_len, 64);
}

#[test]
fn values_parse_in_the_outcome_format() {
    assert_eq!(parse_value("i32:4294967295"), Ok(Value::I32(u32::MAX)));
    assert_eq!(parse_value("i64:1"), Ok(Value::I64(1)));
    assert_eq!(parse_value("f32:1065353216"), Ok(Value::F32(0x3f80_0000)));
    assert!(parse_value("i32:4294967296").is_err());
    assert!(parse_value("v128:0").is_err());
    assert!(parse_value("i32").is_err());
}

#[test]
fn files_the_model_rejects_are_rejected_with_a_line() {
    let text = r#"
(module $Mem (memory (export "shared") 1 1 shared))
(thread $T0 (shared (module $Mem))
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (loop))))
"#;
    let e = LitmusTest::from_wast("bad", text).expect_err("loop is not supported");
    assert!(e.contains("line 5") && e.contains("loop"), "{e}");
    assert!(LitmusTest::from_wast("bad", "(module").is_err());
}

/// A test that grows its memory asks the harnesses for a fresh memory per iteration
/// (`SharedMemorySpec::grows`), read from the model's view or, unmodelled, from the binary.
#[test]
fn a_test_that_grows_its_memory_says_so() {
    assert!(litmus("grow_size.wast").memory.grows);
    assert!(!litmus("SB.wast").memory.grows);
    let grows =
        common::one_thread(r#"(func (export "run") (result i32) (memory.grow (i32.const 0)))"#);
    let t = LitmusTest::unmodelled("grows", &grows, 64).expect("a threaded script");
    assert!(t.memory.grows);
    assert_eq!(
        t.to_harness_json(&RunOptions::default())["memory"]["grows"],
        true
    );
    let t = LitmusTest::unmodelled("waits", &common::lone_wait_source(-1), 64).expect("script");
    assert!(!t.memory.grows);
}
