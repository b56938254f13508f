//! The threads proposal's edge cases, at the level of the interpreter's API: alignment on
//! the effective address, wait/notify keyed by effective address and FIFO, timeouts on the
//! virtual clock, deadlock reports, sharedness in linking, narrow cmpxchg, grow on shared
//! memory. (The same cases as `.wast` scripts live in `spec-tests/tests/wast/`.)

mod common;
use common::{func, module};
use heddle_interp::*;

const WAIT_NOTIFY: &str = r#"
  (module
    (memory (export "mem") 1 1 shared)
    (func (export "wait_at4") (param i64) (result i32)
      (memory.atomic.wait32 offset=4 (i32.const 0) (i32.const 0) (local.get 0)))
    (func (export "wait_at0") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    (func (export "notify") (param i32 i32) (result i32)
      (memory.atomic.notify (local.get 0) (local.get 1)))
    (func (export "load_off1") (result i32) (i32.atomic.load offset=1 (i32.const 0)))
    (func (export "load_off4") (result i32) (i32.atomic.load offset=4 (i32.const 0)))
    (func (export "load_unaligned_oob") (result i32) (i32.atomic.load (i32.const 65535)))
    (func (export "cmpxchg8") (param i32) (result i32)
      (i32.atomic.rmw8.cmpxchg_u (i32.const 16) (local.get 0) (i32.const 0x7f)))
    (func (export "load8") (result i32) (i32.atomic.load8_u (i32.const 16)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  )"#;

fn setup() -> (Configuration, InstanceAddr) {
    let mut config = Configuration::new();
    let inst = config
        .instantiate(module(WAIT_NOTIFY), &[])
        .expect("instantiates");
    (config, inst)
}

#[test]
fn alignment_is_checked_on_the_effective_address_before_bounds() {
    let (mut c, i) = setup();
    let off1 = func(&c, i, "load_off1");
    let off4 = func(&c, i, "load_off4");
    let oob = func(&c, i, "load_unaligned_oob");
    assert_eq!(c.invoke(off1, &[]), Err(Trap::UnalignedAtomic));
    assert_eq!(c.invoke(off4, &[]), Ok(vec![Value::I32(0)]));
    assert_eq!(c.invoke(oob, &[]), Err(Trap::UnalignedAtomic));
}

#[test]
fn wait_and_notify_are_keyed_by_effective_address_and_fifo() {
    let (mut c, i) = setup();
    let wait4 = func(&c, i, "wait_at4");
    let wait0 = func(&c, i, "wait_at0");
    let notify = func(&c, i, "notify");
    let a = c.spawn(wait4, &[Value::I64(-1)]).unwrap();
    let b = c.spawn(wait4, &[Value::I64(-1)]).unwrap();
    let z = c.spawn(wait0, &[]).unwrap();
    for t in [a, b, z] {
        c.step(t, 100);
        assert!(
            matches!(c.status(t), ThreadStatus::Blocked { .. }),
            "{t} blocks"
        );
    }
    assert!(matches!(
        c.status(a),
        ThreadStatus::Blocked { address: 4, .. }
    ));
    // notify(4, 1) wakes the oldest waiter on address 4 only.
    assert_eq!(
        c.invoke(notify, &[Value::I32(4), Value::I32(1)]),
        Ok(vec![Value::I32(1)])
    );
    assert_eq!(c.status(a), ThreadStatus::Runnable);
    assert!(matches!(c.status(b), ThreadStatus::Blocked { .. }));
    assert!(matches!(
        c.status(z),
        ThreadStatus::Blocked { address: 0, .. }
    ));
    c.step(a, 100);
    assert_eq!(c.take_result(a), Some(Ok(vec![Value::I32(0)])));
    // A count larger than the queue wakes everyone waiting there, and says how many.
    assert_eq!(
        c.invoke(notify, &[Value::I32(4), Value::I32(10)]),
        Ok(vec![Value::I32(1)])
    );
    assert_eq!(
        c.invoke(notify, &[Value::I32(0), Value::I32(0)]),
        Ok(vec![Value::I32(0)])
    );
    assert_eq!(
        c.invoke(notify, &[Value::I32(0), Value::I32(1)]),
        Ok(vec![Value::I32(1)])
    );
}

#[test]
fn finite_timeouts_expire_on_the_virtual_clock() {
    let (mut c, i) = setup();
    let wait4 = func(&c, i, "wait_at4");
    assert_eq!(
        c.invoke(wait4, &[Value::I64(1000)]),
        Ok(vec![Value::I32(2)])
    );
    assert_eq!(c.invoke(wait4, &[Value::I64(0)]), Ok(vec![Value::I32(2)]));
    assert!(c.now() >= 1000);
}

#[test]
fn waiting_forever_alone_is_a_deadlock_naming_the_thread_and_address() {
    let (mut c, i) = setup();
    let wait4 = func(&c, i, "wait_at4");
    match c.invoke(wait4, &[Value::I64(-1)]) {
        Err(Trap::Deadlock(msg)) => {
            assert!(msg.contains("thread 0"), "{msg}");
            assert!(msg.contains("address 4"), "{msg}");
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

#[test]
fn two_waiters_without_a_notifier_deadlock_under_a_scheduler() {
    let (mut c, i) = setup();
    let wait0 = func(&c, i, "wait_at0");
    let a = c.spawn(wait0, &[]).unwrap();
    let b = c.spawn(wait0, &[]).unwrap();
    let r = c.run_threads(&[a, b], &mut SeededRandom::new(1, 10));
    assert!(
        matches!(&r, Err(Trap::Deadlock(m)) if m.contains("thread 0") && m.contains("thread 1")),
        "{r:?}"
    );
}

#[test]
fn narrow_cmpxchg_wraps_the_expected_value_to_the_access_width() {
    let (mut c, i) = setup();
    let cmpxchg = func(&c, i, "cmpxchg8");
    let load8 = func(&c, i, "load8");
    // Memory holds 0; expected 0x100 wraps to 0x00, so the exchange happens.
    assert_eq!(
        c.invoke(cmpxchg, &[Value::I32(0x100)]),
        Ok(vec![Value::I32(0)])
    );
    assert_eq!(c.invoke(load8, &[]), Ok(vec![Value::I32(0x7f)]));
    // Expected 0x17f wraps to 0x7f: exchanges again (same value), returns the old 0x7f.
    assert_eq!(
        c.invoke(cmpxchg, &[Value::I32(0x17f)]),
        Ok(vec![Value::I32(0x7f)])
    );
    // Expected 1 does not match: no write, returns the loaded value.
    assert_eq!(
        c.invoke(cmpxchg, &[Value::I32(1)]),
        Ok(vec![Value::I32(0x7f)])
    );
}

#[test]
fn memory_grow_on_a_shared_memory_respects_its_maximum() {
    let (mut c, i) = setup();
    let grow = func(&c, i, "grow");
    assert_eq!(c.invoke(grow, &[Value::I32(1)]), Ok(vec![Value::I32(-1)]));
    assert_eq!(c.invoke(grow, &[Value::I32(0)]), Ok(vec![Value::I32(1)]));
}

#[test]
fn sharedness_must_match_when_linking() {
    let mut c = Configuration::new();
    let shared = c.alloc_memory(MemType::new(
        Limits {
            min: 1,
            max: Some(1),
        },
        true,
    ));
    let unshared = c.alloc_memory(MemType::new(
        Limits {
            min: 1,
            max: Some(1),
        },
        false,
    ));
    let wants_shared = module(r#"(module (memory (import "m" "mem") 1 1 shared))"#);
    let wants_unshared = module(r#"(module (memory (import "m" "mem") 1 1))"#);
    assert!(c
        .instantiate(wants_shared.clone(), &[ExternVal::Memory(shared)])
        .is_ok());
    assert!(c
        .instantiate(wants_unshared.clone(), &[ExternVal::Memory(unshared)])
        .is_ok());
    for r in [
        c.instantiate(wants_shared, &[ExternVal::Memory(unshared)]),
        c.instantiate(wants_unshared, &[ExternVal::Memory(shared)]),
    ] {
        assert!(
            matches!(&r, Err(InstantiationError::Link(m)) if m.contains("incompatible import type")),
            "{r:?}"
        );
    }
}

#[test]
fn wait_on_unshared_memory_traps_and_notify_returns_zero() {
    let mut c = Configuration::new();
    let m = module(
        r#"(module (memory 1)
          (func (export "wait") (result i32)
            (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))
          (func (export "notify") (result i32) (memory.atomic.notify (i32.const 0) (i32.const 5))))"#,
    );
    let i = c.instantiate(m, &[]).unwrap();
    let wait = func(&c, i, "wait");
    let notify = func(&c, i, "notify");
    assert_eq!(c.invoke(wait, &[]), Err(Trap::ExpectedSharedMemory));
    assert_eq!(c.invoke(notify, &[]), Ok(vec![Value::I32(0)]));
}

#[test]
fn deep_recursion_traps_instead_of_overflowing_the_rust_stack() {
    let mut c = Configuration::new();
    let m = module(r#"(module (func $f (export "f") (call $f)))"#);
    let i = c.instantiate(m, &[]).unwrap();
    let f = func(&c, i, "f");
    assert_eq!(c.invoke(f, &[]), Err(Trap::CallStackExhausted));
}

#[test]
fn fuel_limits_runaway_programs() {
    let mut c = Configuration::with_limits(ExecLimits {
        fuel: Some(10_000),
        ..Default::default()
    });
    let m = module(r#"(module (func (export "spin") (loop (br 0))))"#);
    let i = c.instantiate(m, &[]).unwrap();
    let f = func(&c, i, "spin");
    assert_eq!(c.invoke(f, &[]), Err(Trap::FuelExhausted));
}

#[test]
fn seeded_schedules_reproduce() {
    let run = |seed| {
        let (mut c, i) = setup();
        let m = module(
            r#"(module (memory (import "m" "mem") 1 1 shared)
              (func (export "inc") (local i32)
                (loop (i32.store (i32.const 32) (i32.add (i32.load (i32.const 32)) (i32.const 1)))
                      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                      (br_if 0 (i32.lt_u (local.get 0) (i32.const 100)))))
              (func (export "get") (result i32) (i32.load (i32.const 32))))"#,
        );
        let Some(mem) = c.export(i, "mem") else {
            panic!()
        };
        let j = c.instantiate(m, &[mem]).unwrap();
        let inc = func(&c, j, "inc");
        let ts: Vec<_> = (0..3).map(|_| c.spawn(inc, &[]).unwrap()).collect();
        c.run_threads(&ts, &mut SeededRandom::new(seed, 7)).unwrap();
        let get = func(&c, j, "get");
        c.invoke(get, &[]).unwrap()
    };
    assert_eq!(run(42), run(42));
    // Racy non-atomic increments lose updates under some interleavings.
    let totals: std::collections::HashSet<_> = (0..20).map(run).collect();
    assert!(totals.len() > 1, "{totals:?}");
}

/// Bulk memory on a shared memory takes the spec's byte steps (exec/instructions.rst
/// *memory.fill*, *memory.copy*, *memory.init*): one small step per byte of a fill or an
/// init, two (the load and the store) per byte of a copy; on an unshared memory one step
/// does the whole range. Counted with [`Configuration::steps`] around each invocation.
#[test]
fn bulk_memory_takes_byte_steps_only_on_a_shared_memory() {
    const N: u64 = 1000;
    for shared in [false, true] {
        let mem = if shared {
            "(memory 1 1 shared)"
        } else {
            "(memory 1)"
        };
        let wat = format!(
            r#"(module {mem}
              (data $d "\01\02\03\04")
              (func (export "fill") (memory.fill (i32.const 0) (i32.const 7) (i32.const {N})))
              (func (export "copy") (memory.copy (i32.const 1) (i32.const 0) (i32.const {N})))
              (func (export "init") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 4)))
              (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))"#
        );
        let mut config = Configuration::new();
        let inst = config.instantiate(module(&wat), &[]).unwrap();
        let mut steps = |name: &str| {
            let before = config.steps();
            config.invoke(func(&config, inst, name), &[]).unwrap();
            config.steps() - before
        };
        // Besides the bulk instruction's steps: its three operands, and the return.
        let (fill, copy, init) = (steps("fill"), steps("copy"), steps("init"));
        if shared {
            assert_eq!((fill, copy, init), (N + 4, 2 * N + 4, 4 + 4));
        } else {
            assert_eq!((fill, copy, init), (5, 5, 5));
        }
        // The contents are those of the unshared rules.
        let load8 = func(&config, inst, "load8");
        for a in [0, 4, N as i32 - 1, N as i32] {
            let want = if a < 4 { a + 1 } else { 7 };
            assert_eq!(
                config.invoke(load8, &[Value::I32(a)]),
                Ok(vec![Value::I32(want)]),
                "shared={shared}: byte {a}"
            );
        }
    }
}
