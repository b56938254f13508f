//! The length location of a shared memory (relaxed.rst, *Consistency*, note: bounds checks
//! read a distinguished length location; `memory.grow` is an atomic RMW of it) and bulk
//! memory per byte: the catalogue files `grow_*.wast` and `bulk_*.wast`, whose comments
//! state their expected outcomes, derived by hand; the switch `spurious_grow_failure`; the
//! rule that makes a grow atomic; and the claim that a memory nobody grows needs no length
//! events.

mod common;
use common::flat;
use heddle_model::event::{length_location, LENGTH_REGION};
use heddle_model::{
    check_execution, enumerate, memory_and_address, parse_litmus, Action, Config, Enumeration,
    Event, Execution, MemOrder, Program, Relation, Rule,
};
use pretty_assertions::assert_eq;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

fn litmus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/litmus")
}

fn read(name: &str) -> String {
    let path = litmus_dir().join(format!("{name}.wast"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(program: &Program, cfg: &Config) -> Enumeration {
    enumerate(program, cfg).unwrap_or_else(|e| panic!("enumerate: {e}"))
}

/// The outcomes a file's comment states: `;; allowed: OUTCOME` lines, and
/// `;; forbidden (RULE): OUTCOME` lines (outcomes as `heddle litmus` prints them).
fn stated(text: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let mut allowed = BTreeSet::new();
    let mut forbidden = BTreeMap::new();
    for line in text.lines() {
        if let Some(o) = line.strip_prefix(";; allowed: ") {
            allowed.insert(o.to_string());
        } else if let Some(rest) = line.strip_prefix(";; forbidden (") {
            let (rule, o) = rest
                .split_once("): ")
                .expect("`;; forbidden (RULE): OUTCOME`");
            forbidden.insert(o.to_string(), rule.to_string());
        }
    }
    assert!(!allowed.is_empty(), "no `;; allowed:` line");
    (allowed, forbidden)
}

const STATED: [&str; 8] = [
    "grow_size_publishes",
    "grow_size",
    "grow_grow",
    "grow_publish",
    "grow_no_publish",
    "grow_bounds_no_sync",
    "bulk_fill_race",
    "bulk_copy_init",
];

/// Every file's enumeration allows exactly the outcomes its comment states, and forbids
/// the stated forbidden ones by the stated rule.
#[test]
fn stated_outcomes() {
    for name in STATED {
        let text = read(name);
        let (allowed, forbidden) = stated(&text);
        let program = parse_litmus(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let en = run(&program, &Config::default());
        let got: BTreeSet<String> = en.allowed.keys().map(|o| o.to_string()).collect();
        assert_eq!(got, allowed, "allowed outcomes of {name}");
        for (o, rule) in &forbidden {
            let v = en
                .forbidden
                .iter()
                .find(|(x, _)| x.to_string() == *o)
                .unwrap_or_else(|| panic!("{name}: {o} is not a forbidden candidate"))
                .1;
            assert_eq!(v.rule.name(), rule, "{name}: rule forbidding {o}");
        }
    }
}

/// `spurious_grow_failure` off: a grow fails only beyond the maximum.
#[test]
fn grow_fails_only_at_max() {
    let cfg = Config {
        spurious_grow_failure: false,
        ..Config::default()
    };
    let program = parse_litmus(&read("grow_grow")).unwrap();
    let got: BTreeSet<String> = run(&program, &cfg).allowed.keys().map(flat).collect();
    assert_eq!(got, ["1 2", "2 1"].map(String::from).into());
    // With a maximum of 2 pages only the first grow fits.
    let text = read("grow_grow").replace("1 3 shared", "1 2 shared");
    let program = parse_litmus(&text).unwrap();
    let got: BTreeSet<String> = run(&program, &cfg).allowed.keys().map(flat).collect();
    assert_eq!(
        got,
        ["1 4294967295", "4294967295 1"].map(String::from).into()
    );
}

/// The lost update of two grows, as an execution: both read the allocation's length and
/// write 2 pages. With the grows as RMWs (the spec) the checker rejects it by (†); with a
/// wrong rule, the grows as a non-atomic read and write of the length, it is consistent.
/// The RMW is what makes grow vs grow return (1, 2) or (2, 1) and never (1, 1).
#[test]
fn grow_is_an_rmw() {
    let len = length_location(0);
    let bytes = |pages: u64| (pages << 16).to_le_bytes().to_vec();
    let init = Event {
        thread: None,
        po_index: 0,
        actions: vec![Action::Write {
            ord: MemOrder::SeqCst,
            offset: len,
            bytes: bytes(1),
            no_tear: true,
        }],
        label: "init: length".into(),
    };
    let grow = |t: usize| Event {
        thread: Some(t),
        po_index: 0,
        actions: vec![Action::Rmw {
            offset: len,
            read: bytes(1),
            written: bytes(2),
        }],
        label: format!("T{t}: memory.grow"),
    };
    // Events 0 (init), 1 (T0's grow), 2 (T1's grow); init happens before both.
    let events = vec![init.clone(), grow(1), grow(2)];
    let mut hb = Relation::new(3);
    hb.set(0, 1);
    hb.set(0, 2);
    let mut spawn = hb.clone();
    spawn.set(0, 1);
    let ex = Execution {
        events,
        po: Relation::new(3),
        spawn,
        rf: vec![vec![], vec![0; 8], vec![0; 8]],
        tot: vec![0, 1, 2],
        hb: hb.clone(),
    };
    let v = check_execution(&ex, &Config::default()).expect_err("a lost update of two RMWs");
    assert!(
        matches!(v.rule, Rule::ScLastVisible | Rule::ScLastVisibleDagger),
        "{v}"
    );

    // The planted wrong rule: each grow a non-atomic read of the length, then a write.
    let split = |t: usize, po: usize, action: Action| Event {
        thread: Some(t),
        po_index: po,
        actions: vec![action],
        label: format!("T{t}: non-atomic grow"),
    };
    let rd = |t| {
        split(
            t,
            0,
            Action::Read {
                ord: MemOrder::Unord,
                offset: len,
                bytes: bytes(1),
                no_tear: true,
            },
        )
    };
    let wr = |t| {
        split(
            t,
            1,
            Action::Write {
                ord: MemOrder::Unord,
                offset: len,
                bytes: bytes(2),
                no_tear: true,
            },
        )
    };
    // Events 0 (init), 1-2 (T1: read, write), 3-4 (T2: read, write).
    let events = vec![init, rd(1), wr(1), rd(2), wr(2)];
    let mut po = Relation::new(5);
    po.set(1, 2);
    po.set(3, 4);
    let mut spawn = Relation::new(5);
    for e in 1..5 {
        spawn.set(0, e);
    }
    let mut hb = po.clone();
    for e in 1..5 {
        hb.set(0, e);
    }
    let ex = Execution {
        events,
        po,
        spawn,
        rf: vec![vec![], vec![0; 8], vec![], vec![0; 8], vec![]],
        tot: vec![0, 1, 2, 3, 4],
        hb,
    };
    assert_eq!(check_execution(&ex, &Config::default()), Ok(()));
}

/// A program nobody grows has a constant length, and the model leaves its length location
/// out. Forcing the length location in (every memory `growable`) must change nothing: the
/// same allowed and forbidden outcomes, with the same rules, on the whole catalogue.
#[test]
fn constant_length_needs_no_events() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(litmus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wast"))
        .collect();
    files.sort();
    let mut compared = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let program = parse_litmus(&text).unwrap();
        if program.memories.iter().any(|m| m.growable) {
            continue;
        }
        let plain = run(&program, &Config::default());
        // No event of any witness touches a length location.
        for ex in plain.allowed.values() {
            for e in &ex.events {
                let (start, _) = e.range();
                assert!(
                    memory_and_address(start).0 < LENGTH_REGION,
                    "{}: length event {e:?}",
                    path.display()
                );
            }
        }
        let mut forced = program.clone();
        let mut memories = forced.memories.to_vec();
        for m in &mut memories {
            m.growable = true;
        }
        forced.memories = Arc::from(memories);
        let with_length = run(&forced, &Config::default());
        let name = path.display();
        let keys = |en: &Enumeration| en.allowed.keys().map(flat).collect::<Vec<_>>();
        assert_eq!(
            keys(&with_length),
            keys(&plain),
            "allowed outcomes of {name}"
        );
        let rules = |en: &Enumeration| {
            en.forbidden
                .iter()
                .map(|(o, v)| (flat(o), v.rule))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rules(&with_length),
            rules(&plain),
            "forbidden outcomes of {name}"
        );
        // The forced length location is really there: bounds checks read it.
        let reads_length = with_length.allowed.values().any(|ex| {
            ex.events
                .iter()
                .any(|e| e.reading() && memory_and_address(e.range().0).0 >= LENGTH_REGION)
        });
        assert!(reads_length, "{name}: no bounds check read the length");
        compared += 1;
    }
    assert!(compared >= 40, "only {compared} files compared");
}
