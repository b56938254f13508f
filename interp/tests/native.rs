//! The native backend on real OS threads (the loom models are in `tests/loom.rs`): real
//! timeouts, wait/notify between configurations on different threads, seq-cst store
//! buffering, concurrent growth.
#![cfg(not(loom))]

mod common;
use common::{func, module};
use heddle_interp::exec::ThreadId;
use heddle_interp::memory::{Ordering, SharedMemory};
use heddle_interp::types::{Limits, MemType};
use heddle_interp::*;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const T0: ThreadId = ThreadId(0);

fn shared(min: u64, max: u64) -> Arc<NativeMemory> {
    Arc::new(
        NativeMemory::new(MemType::new(
            Limits {
                min,
                max: Some(max),
            },
            true,
        ))
        .unwrap(),
    )
}

const WAITER: &str = r#"
  (module
    (memory (import "env" "mem") 1 1 shared)
    (func (export "wait") (param i64) (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get 0)))
    (func (export "notify_until_one") (result i32)
      (local i32)
      (loop
        (local.set 0 (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (br_if 0 (i32.eqz (local.get 0))))
      (local.get 0))
    (func (export "size") (result i32) (memory.size)))"#;

/// A configuration on the native backend with `WAITER` instantiated over `memory`.
fn waiter_config(memory: Arc<NativeMemory>) -> (Configuration, InstanceAddr) {
    let mut c = Configuration::new();
    c.set_shared_backend(SharedBackend::Native { wait_limit: None });
    let mem = c.import_native_memory(memory);
    let inst = c
        .instantiate(module(WAITER), &[ExternVal::Memory(mem)])
        .expect("instantiates");
    (c, inst)
}

#[test]
fn a_finite_timeout_expires_in_real_time() {
    let (mut c, i) = waiter_config(shared(1, 1));
    let wait = func(&c, i, "wait");
    let start = Instant::now();
    assert_eq!(
        c.invoke(wait, &[Value::I64(10_000_000)]),
        Ok(vec![Value::I32(2)])
    );
    assert!(
        start.elapsed() >= Duration::from_millis(10),
        "{:?}",
        start.elapsed()
    );
    // Timeout 0: returns 2 at once.
    assert_eq!(c.invoke(wait, &[Value::I64(0)]), Ok(vec![Value::I32(2)]));
}

#[test]
fn wait_on_one_os_thread_is_woken_by_notify_on_another() {
    let memory = shared(1, 1);
    let m2 = memory.clone();
    let waiter = std::thread::spawn(move || {
        let (mut c, i) = waiter_config(m2);
        let wait = func(&c, i, "wait");
        c.invoke(wait, &[Value::I64(-1)])
    });
    let (mut c, i) = waiter_config(memory.clone());
    let notify = func(&c, i, "notify_until_one");
    assert_eq!(c.invoke(notify, &[]), Ok(vec![Value::I32(1)]));
    assert_eq!(waiter.join().unwrap(), Ok(vec![Value::I32(0)]));
    assert_eq!(memory.waiters(0), 0);
}

#[test]
fn a_wait_limit_turns_a_deadlock_into_a_trap() {
    let mut c = Configuration::new();
    c.set_shared_backend(SharedBackend::Native {
        wait_limit: Some(Duration::from_millis(20)),
    });
    let inst = c
        .instantiate(
            module(
                r#"(module (memory 1 1 shared)
                     (func (export "wait") (result i32)
                       (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))"#,
            ),
            &[],
        )
        .unwrap();
    let wait = func(&c, inst, "wait");
    assert!(matches!(c.invoke(wait, &[]), Err(Trap::Deadlock(_))));
    let mem = c.store.instances[inst.0 as usize].mems[0];
    assert!(c.native_memory(mem).is_some());
}

/// Store buffering with seq-cst accesses on real threads: (0,0) is forbidden by the model
/// (and not checkable under loom, which treats SeqCst like acquire/release).
#[test]
fn sb_atomic_never_shows_both_zero() {
    const ROUNDS: usize = 20_000;
    let memory = shared(1, 1);
    let barrier = Arc::new(Barrier::new(2));
    let run = |x: u64, y: u64| {
        let mut h = NativeHandle::new(memory.clone());
        let barrier = barrier.clone();
        std::thread::spawn(move || {
            let mut results = Vec::with_capacity(ROUNDS);
            for round in 1..=ROUNDS as u32 {
                barrier.wait();
                h.write(T0, Ordering::SeqCst, x, &round.to_le_bytes(), true)
                    .unwrap();
                let mut b = [0u8; 4];
                h.read(T0, Ordering::SeqCst, y, &mut b, true).unwrap();
                // Saw the other thread's store of this round?
                results.push(u32::from_le_bytes(b) >= round);
            }
            results
        })
    };
    let t1 = run(0, 64);
    let t2 = run(64, 0);
    let (r1, r2) = (t1.join().unwrap(), t2.join().unwrap());
    let both_zero = r1.iter().zip(&r2).filter(|(a, b)| !**a && !**b).count();
    assert_eq!(both_zero, 0, "SB (0,0) with seq-cst accesses");
}

/// Several threads grow the memory while others store and load in the part that exists:
/// every grow returns a distinct old size, the final size is their total, and no access
/// in bounds of a size it observed traps.
#[test]
fn concurrent_grow_stress() {
    let memory = shared(1, 64);
    let growers: Vec<_> = (0..2)
        .map(|_| {
            let m = memory.clone();
            std::thread::spawn(move || (0..20).filter_map(|_| m.grow(1)).collect::<Vec<_>>())
        })
        .collect();
    let accessors: Vec<_> = (0..2u8)
        .map(|k| {
            let mut h = NativeHandle::new(memory.clone());
            std::thread::spawn(move || {
                for i in 0..20_000u64 {
                    let size = h.len_bytes(T0);
                    let ea = (i * 4099 + u64::from(k) * 8) % (size - 8);
                    h.write(T0, Ordering::Unord, ea, &[k + 1; 8], false)
                        .expect("in bounds of an observed size");
                    let mut b = [0u8; 8];
                    h.read(T0, Ordering::Unord, ea, &mut b, false).unwrap();
                }
            })
        })
        .collect();
    let mut olds: Vec<u64> = growers
        .into_iter()
        .flat_map(|g| g.join().unwrap())
        .collect();
    for a in accessors {
        a.join().unwrap();
    }
    olds.sort();
    assert_eq!(olds, (1..=40).collect::<Vec<_>>());
    assert_eq!(memory.pages(), 41);
    assert_eq!(memory.grow(24), None, "past the maximum of 64");
    assert_eq!(memory.grow(23), Some(41));
}

/// Non-atomic sub-word stores to the same word from two threads keep each other's bytes.
#[test]
fn concurrent_byte_stores_do_not_clobber_neighbours() {
    let memory = shared(1, 1);
    let writers: Vec<_> = (0..2u64)
        .map(|k| {
            let mut h = NativeHandle::new(memory.clone());
            std::thread::spawn(move || {
                for i in 0..50_000u32 {
                    let v = (i % 250) as u8 + 1;
                    h.write(T0, Ordering::Unord, k, &[v], true).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut h = NativeHandle::new(memory);
    let mut b = [0u8; 2];
    h.read(T0, Ordering::Unord, 0, &mut b, false).unwrap();
    assert_eq!(b, [((49_999 % 250) + 1) as u8; 2]);
}

#[test]
fn the_sc_backend_is_still_the_default() {
    let c = Configuration::new();
    assert_eq!(c.shared_backend(), SharedBackend::Sc);
}
