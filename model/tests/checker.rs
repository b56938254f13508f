//! The literal checker on hand-modified executions: it names the broken rule.

use heddle_model::{check_execution, enumerate, parse_litmus, Action, Config, Execution, Rule};
use std::path::PathBuf;

fn witness(name: &str, outcome: &str) -> Execution {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/litmus/{name}.wast"));
    let prog = parse_litmus(&std::fs::read_to_string(path).expect("read")).expect("parse");
    let en = enumerate(&prog, &Config::default()).expect("enumerate");
    en.allowed
        .iter()
        .find(|(o, _)| o.to_string() == outcome)
        .map(|(_, ex)| ex.clone())
        .unwrap_or_else(|| panic!("{outcome} not allowed"))
}

/// The event that reads address `addr` in thread `t` (first one).
fn reader(ex: &Execution, t: usize, addr: u64) -> usize {
    (0..ex.events.len())
        .find(|&e| {
            ex.events[e].thread == Some(t)
                && ex.events[e].reading()
                && ex.events[e].range().0 == addr
        })
        .expect("reader")
}

/// Makes event `r` read zeros from the init write (event 0) and recomputes the least hb.
fn read_init(ex: &mut Execution, r: usize) {
    for a in &mut ex.events[r].actions {
        if let Action::Read { bytes, .. } = a {
            bytes.iter_mut().for_each(|b| *b = 0);
        }
    }
    ex.rf[r] = vec![0; ex.rf[r].len()];
    ex.hb = ex.least_hb();
}

#[test]
fn witnesses_pass() {
    let ex = witness("SB_sc", "T0: [i32:0]  T1: [i32:1]");
    assert_eq!(check_execution(&ex, &Config::default()), Ok(()));
    assert_eq!(ex.hb, ex.least_hb());
}

#[test]
fn sb_sc_reading_init_breaks_dagger() {
    // T1's load of x reads 1 from T0's store; make it read the init write instead.
    let mut ex = witness("SB_sc", "T0: [i32:0]  T1: [i32:1]");
    let r = reader(&ex, 2, 0);
    read_init(&mut ex, r);
    let v = check_execution(&ex, &Config::default()).expect_err("(0,0) must be inconsistent");
    assert_eq!(v.rule, Rule::ScLastVisibleDagger, "{v}");
    // Without (†) this particular execution is consistent (init reads are unconstrained).
    let js = Config {
        dagger: false,
        ..Config::default()
    };
    assert_eq!(check_execution(&ex, &js), Ok(()));
}

#[test]
fn mp_sc_stale_data_breaks_hb_consistency() {
    let mut ex = witness("MP_sc", "T0: []  T1: [i32:1, i32:42]");
    let r = reader(&ex, 2, 0);
    read_init(&mut ex, r);
    let v = check_execution(&ex, &Config::default()).expect_err("(1,0) must be inconsistent");
    assert_eq!(v.rule, Rule::HbInterveningWrite, "{v}");
}

#[test]
fn corrupted_executions_name_their_rule() {
    let base = witness("SB", "T0: [i32:1]  T1: [i32:1]");
    let cfg = Config::default();
    let r = reader(&base, 1, 4);

    let mut ex = base.clone();
    ex.rf[r].pop();
    assert_eq!(
        check_execution(&ex, &cfg).map_err(|v| v.rule),
        Err(Rule::ReadsEachFrom)
    );

    let mut ex = base.clone();
    ex.rf[r][0] = r;
    assert_eq!(
        check_execution(&ex, &cfg).map_err(|v| v.rule),
        Err(Rule::ReadsFromSource)
    );

    let mut ex = base.clone();
    ex.rf[r] = vec![0; 4]; // init wrote 0, the read saw 1
    assert_eq!(
        check_execution(&ex, &cfg).map_err(|v| v.rule),
        Err(Rule::ValueConsistency)
    );

    let mut ex = base.clone();
    ex.tot.reverse();
    assert_eq!(
        check_execution(&ex, &cfg).map_err(|v| v.rule),
        Err(Rule::HbInTot)
    );

    let mut ex = base.clone();
    ex.hb = heddle_model::Relation::new(ex.events.len());
    assert_eq!(
        check_execution(&ex, &cfg).map_err(|v| v.rule),
        Err(Rule::PoInHb)
    );
}

#[test]
fn tearing_two_writers_breaks_no_tear() {
    let mut ex = witness("tear_two_writers", "T0: []  T1: []  T2: [i32:257]");
    // Byte 1 read 1 from T0's write; take byte 0 from T1's write (value 2) instead.
    let r = reader(&ex, 3, 0);
    let w1 = (0..ex.events.len())
        .find(|&e| ex.events[e].thread == Some(2) && ex.events[e].writing())
        .expect("T1 write");
    if let Some(Action::Read { bytes, .. }) = ex.events[r].actions.first_mut() {
        bytes[0] = 2;
    }
    ex.rf[r][0] = w1;
    ex.hb = ex.least_hb();
    let v = check_execution(&ex, &Config::default()).expect_err("mixing two same-range writes");
    assert_eq!(v.rule, Rule::NoTear, "{v}");
}
