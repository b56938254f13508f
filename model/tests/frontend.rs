//! The `.wast` front end rejects unsupported constructs with their name and line.

use heddle_model::parse_litmus;

const HEAD: &str = "(module $Mem (memory (export \"shared\") 1 1 shared))\n";

fn thread(body: &str) -> String {
    format!(
        "{HEAD}(thread $T (shared (module $Mem))\n  (module (memory (import \"mem\" \"shared\") 1 1 shared)\n    (func (export \"run\")\n{body}))\n  (invoke \"run\"))\n(wait $T)\n"
    )
}

#[test]
fn loop_is_rejected_with_its_line() {
    let e = parse_litmus(&thread("      (loop (br 0))")).expect_err("loop");
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("loop"), "{e}");
}

#[test]
fn call_and_globals_are_rejected() {
    let e = parse_litmus(&thread("      (call 0)")).expect_err("call");
    assert!(e.message.contains("call"), "{e}");
    let src = format!("{HEAD}(module (global i32 (i32.const 0)))\n");
    let e = parse_litmus(&src).expect_err("global");
    assert!(e.message.contains("global") && e.line == 2, "{e}");
}

#[test]
fn unknown_thread_and_syntax_errors() {
    let e = parse_litmus(&format!("{HEAD}(wait $Nope)\n")).expect_err("wait");
    assert!(e.message.contains("Nope") && e.line == 2, "{e}");
    let e = parse_litmus("(module").expect_err("syntax");
    assert!(e.message.starts_with("syntax error"), "{e}");
    let e = parse_litmus("(module $M (memory 1 1 shared))\n\n  (invoke \"f\" (i32.const 1)")
        .expect_err("syntax");
    assert_eq!((e.line, e.column), (3, 28), "{e}");
    assert!(
        e.to_string().starts_with("line 3, column 28: syntax error"),
        "{e}"
    );
    let e = parse_litmus("(module)\n").expect_err("no memory");
    assert_eq!(e.line, 0, "{e}");
    assert!(!e.to_string().contains("line 0"), "{e}");
    let e = parse_litmus("(module (memory 1))").expect_err("unshared");
    assert!(e.message.contains("unshared memory"), "{e}");
}

#[test]
fn straight_line_program_is_accepted() {
    let p = parse_litmus(&thread(
        "      (i32.atomic.store (i32.const 0) (i64.const 1) (i32.wrap_i64))\n      (drop (i64.atomic.rmw.cmpxchg (i32.const 8) (i64.const 0) (i64.const 1)))\n      (atomic.fence)",
    ));
    assert!(p.is_ok(), "{p:?}");
}
