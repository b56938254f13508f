//! The oracle's reads of exported state: by name, and all at once (`export_states`).

use heddle_fuzz::oracle::{ExportKind, ExportState, Oracle, OracleOptions, Outcome, TableView};
use heddle_interp::Value;

const MODULE: &str = r#"(module
    (func $f (export "f") (param i32)
        (global.set $g (local.get 0))
        (table.set $t (i32.const 1) (ref.func $f)))
    (memory (export "m") 1 1)
    (global $g (export "g") (mut i32) (i32.const 7))
    (table $t (export "t") 3 3 funcref)
    (global (export "h") i64 (i64.const -1))
    (elem declare func $f))"#;

fn oracle() -> Oracle {
    let wasm = wat::parse_str(MODULE).expect("the module parses");
    Oracle::new(&wasm, OracleOptions::default()).expect("the module instantiates")
}

/// `export_states` has one entry per export, in the order of `exports`, and agrees with
/// the reads by name, before and after a call that changes a global and a table entry.
#[test]
fn export_states_follow_the_exports_and_agree_with_reads_by_name() {
    let mut oracle = oracle();
    let names: Vec<String> = oracle.exports().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["f", "m", "g", "t", "h"]);
    let table = |null: &[bool]| {
        ExportState::Table(TableView {
            null: null.to_vec(),
        })
    };
    assert_eq!(
        oracle.export_states(),
        [
            ExportState::Other,
            ExportState::Other,
            ExportState::Global(Value::I32(7)),
            table(&[true, true, true]),
            ExportState::Global(Value::I64(-1)),
        ]
    );
    assert_eq!(
        oracle.call("f", &[Value::I32(42)]),
        Outcome::Returned(vec![])
    );
    let states = oracle.export_states();
    assert_eq!(states[2], ExportState::Global(Value::I32(42)));
    assert_eq!(states[3], table(&[true, false, true]));
    for ((name, kind), state) in oracle.exports().iter().zip(&states) {
        match (kind, state) {
            (ExportKind::Global, ExportState::Global(v)) => {
                assert_eq!(oracle.global(name).as_ref(), Some(v), "{name}")
            }
            (ExportKind::Table, ExportState::Table(t)) => {
                assert_eq!(oracle.table(name).as_ref(), Some(t), "{name}")
            }
            (ExportKind::Func(_) | ExportKind::Memory, ExportState::Other) => {}
            other => panic!("export {name}: {other:?}"),
        }
    }
}
