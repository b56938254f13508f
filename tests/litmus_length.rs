//! `heddle litmus` on the catalogue files of the length location and bulk memory
//! (`model/tests/litmus/grow_*.wast`, `bulk_*.wast`): the allowed outcomes it prints, in
//! the human and the JSON format, are exactly those each file's comment states
//! (`;; allowed: OUTCOME` lines, derived by hand from relaxed.rst), traps included.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const FILES: [&str; 8] = [
    "grow_size",
    "grow_grow",
    "grow_publish",
    "grow_no_publish",
    "grow_bounds_no_sync",
    "grow_size_publishes",
    "bulk_fill_race",
    "bulk_copy_init",
];

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("model/tests/litmus/{name}.wast"))
}

fn stated(name: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path(name)).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(";; allowed: "))
        .map(String::from)
        .collect()
}

fn litmus(args: &[&str], name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_heddle"))
        .arg("litmus")
        .args(args)
        .arg(path(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The human format: the lines between `  allowed:` and `  forbidden:`.
#[test]
fn human_allowed_sets() {
    for name in FILES {
        let text = litmus(&[], name);
        let got: BTreeSet<String> = text
            .lines()
            .skip_while(|l| *l != "  allowed:")
            .skip(1)
            .take_while(|l| *l != "  forbidden:")
            .map(|l| l.trim().to_string())
            .collect();
        assert_eq!(got, stated(name), "{name}");
    }
}

/// The JSON format: an invoke result is a list of `"i32:N"` strings or the string `"trap"`.
#[test]
fn json_allowed_sets() {
    for name in FILES {
        let line = litmus(&["--format", "json"], name);
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        let got: BTreeSet<String> = v["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let threads: Vec<String> = o
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(t, results)| {
                        let rs: Vec<String> = results
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|r| match r {
                                serde_json::Value::String(s) => s.clone(),
                                vs => {
                                    let vs: Vec<&str> = vs
                                        .as_array()
                                        .unwrap()
                                        .iter()
                                        .map(|x| x.as_str().unwrap())
                                        .collect();
                                    format!("[{}]", vs.join(", "))
                                }
                            })
                            .collect();
                        if rs.is_empty() {
                            format!("{t}: -")
                        } else {
                            format!("{t}: {}", rs.join(" "))
                        }
                    })
                    .collect();
                threads.join("  ")
            })
            .collect();
        assert_eq!(got, stated(name), "{name}");
    }
    // A trap is the string "trap" in place of the invoke's list of values.
    let line = litmus(&["--format", "json"], "grow_publish");
    assert!(line.contains(r#"{"T0":[["i32:1"]],"T1":[["i32:0"],"trap"]}"#));
}
