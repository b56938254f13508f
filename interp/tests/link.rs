//! Link errors (spec *Instantiation*, import matching) say what was expected and what was
//! given in the text format's terms, not as Rust values.

mod common;
use common::{func, module};
use heddle_interp::*;

/// The link error of instantiating `importer` with `given`.
fn link_error(c: &mut Configuration, importer: &str, given: ExternVal) -> String {
    match c.instantiate(module(importer), &[given]) {
        Err(InstantiationError::Link(m)) => m,
        other => panic!("expected a link error, got {other:?}"),
    }
}

#[test]
fn an_incompatible_import_names_both_types_in_words() {
    let mut c = Configuration::new();
    let exporter = c
        .instantiate(
            module(
                r#"(module
                  (func (export "f"))
                  (memory (export "m") 1 2 shared)
                  (table (export "t") 3 funcref)
                  (global (export "g") (mut i64) (i64.const 0)))"#,
            ),
            &[],
        )
        .unwrap();
    let f = ExternVal::Func(func(&c, exporter, "f"));
    let m = c.export(exporter, "m").unwrap();
    let t = c.export(exporter, "t").unwrap();
    let g = c.export(exporter, "g").unwrap();
    let cases = [
        (
            r#"(module (func (import "m" "f") (param i32)))"#,
            f,
            r#"incompatible import type for "m" "f": expected a function of type [i32] -> [], got a function of type [] -> []"#,
        ),
        (
            r#"(module (memory (import "m" "f") 1 2))"#,
            m,
            r#"incompatible import type for "m" "f": expected a memory of type 1 2, got a memory of type 1 2 shared"#,
        ),
        (
            r#"(module (memory (import "m" "f") i64 1))"#,
            m,
            r#"incompatible import type for "m" "f": expected a memory of type i64 1, got a memory of type 1 2 shared"#,
        ),
        (
            r#"(module (table (import "m" "f") 3 4 externref))"#,
            t,
            r#"incompatible import type for "m" "f": expected a table of type 3 4 externref, got a table of type 3 funcref"#,
        ),
        (
            r#"(module (global (import "m" "f") i64))"#,
            g,
            r#"incompatible import type for "m" "f": expected a global of type i64, got a global of type (mut i64)"#,
        ),
        (
            r#"(module (func (import "m" "f")))"#,
            m,
            r#"incompatible import type for "m" "f": expected a function of type [] -> [], got a memory of type 1 2 shared"#,
        ),
    ];
    for (importer, given, want) in cases {
        assert_eq!(link_error(&mut c, importer, given), want, "{importer}");
    }
}
