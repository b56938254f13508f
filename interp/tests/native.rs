//! The native backend on real OS threads (the loom models are in `tests/loom.rs`, the
//! seq-cst and contention tests in `tests/native_seqcst.rs`): real timeouts, wait/notify
//! between configurations on different threads, concurrent growth, snapshots, custom
//! page sizes.
#![cfg(not(loom))]

mod common;
use common::{func, module, shared};
use heddle_interp::exec::ThreadId;
use heddle_interp::memory::{Ordering, SharedMemory};
use heddle_interp::*;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const T0: ThreadId = ThreadId(0);

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

/// An OS thread with its own [`waiter_config`] over `memory`, waiting without a timeout
/// on address 0; joins to the wait's result.
fn spawn_waiter(memory: &Arc<NativeMemory>) -> JoinHandle<Result<Vec<Value>, Trap>> {
    let memory = memory.clone();
    std::thread::spawn(move || {
        let (mut c, i) = waiter_config(memory);
        let wait = func(&c, i, "wait");
        c.invoke(wait, &[Value::I64(-1)])
    })
}

/// A configuration on the native backend (no wait limit) with the module `wat`
/// instantiated, importing nothing.
fn native_instance(wat: &str) -> (Configuration, InstanceAddr) {
    let mut c = Configuration::new();
    c.set_shared_backend(SharedBackend::Native { wait_limit: None });
    let inst = c.instantiate(module(wat), &[]).unwrap();
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
    let waiter = spawn_waiter(&memory);
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

/// `Configuration::clone` (and `SharedMemory::box_clone`) take a snapshot of a native
/// memory: the copy has the contents at the time of the clone and its own storage, and
/// writes on either side do not show on the other.
#[test]
fn cloning_a_configuration_snapshots_its_native_memory() {
    let (mut c, inst) = native_instance(
        r#"(module (memory (export "m") 1 2 shared)
                     (func (export "set") (param i32) (i32.atomic.store (i32.const 8) (local.get 0)))
                     (func (export "get") (result i32) (i32.atomic.load (i32.const 8)))
                     (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    );
    let (set, get, grow) = (
        func(&c, inst, "set"),
        func(&c, inst, "get"),
        func(&c, inst, "grow"),
    );
    c.invoke(set, &[Value::I32(42)]).unwrap();
    let mut copy = c.clone();
    c.invoke(set, &[Value::I32(7)]).unwrap();
    assert_eq!(copy.invoke(get, &[]), Ok(vec![Value::I32(42)]));
    copy.invoke(set, &[Value::I32(9)]).unwrap();
    assert_eq!(c.invoke(get, &[]), Ok(vec![Value::I32(7)]));
    // Growing the copy leaves the original's size alone.
    assert_eq!(copy.invoke(grow, &[]), Ok(vec![Value::I32(1)]));
    let Some(ExternVal::Memory(mem)) = c.export(inst, "m") else {
        panic!("no memory export")
    };
    let (original, copied) = (
        c.native_memory(mem).expect("native"),
        copy.native_memory(mem).expect("the copy is native too"),
    );
    assert!(!Arc::ptr_eq(&original, &copied));
    assert_eq!((original.pages(), copied.pages()), (1, 2));
}

/// Waiters are OS threads blocked on the original memory: a snapshot has none, and a
/// notify on it wakes nobody (the waiter is still woken by a notify on the original).
#[test]
fn a_snapshot_has_no_waiters() {
    let memory = shared(1, 1);
    let waiter = spawn_waiter(&memory);
    while memory.waiters(0) == 0 {
        std::thread::yield_now();
    }
    let copy = memory.snapshot();
    assert_eq!(copy.waiters(0), 0);
    assert_eq!(copy.notify(0, 1), 0);
    assert_eq!(memory.notify(0, 1), 1);
    assert_eq!(waiter.join().unwrap(), Ok(vec![Value::I32(0)]));
}

/// A shared memory with a custom page size (1 byte) is native, sized and bounds-checked
/// in bytes, and grows by bytes, across the backend's 64 KiB storage blocks.
#[test]
fn custom_page_sizes_are_native() {
    let (mut c, inst) = native_instance(
        r#"(module (memory (export "m") 5 200000 shared (pagesize 1))
                     (func (export "size") (result i32) (memory.size))
                     (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
                     (func (export "store") (param i32 i32) (i32.atomic.store8 (local.get 0) (local.get 1)))
                     (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#,
    );
    let Some(ExternVal::Memory(mem)) = c.export(inst, "m") else {
        panic!("no memory export")
    };
    let native = c
        .native_memory(mem)
        .expect("a native memory, not the SC backend");
    assert_eq!(native.ty().page_size_log2, 0);
    let call = |c: &mut Configuration, name: &str, args: &[i32]| {
        let f = func(c, inst, name);
        let args: Vec<Value> = args.iter().map(|a| Value::I32(*a)).collect();
        c.invoke(f, &args)
    };
    let i32s = |v: &[i32]| Ok(v.iter().map(|x| Value::I32(*x)).collect::<Vec<_>>());
    assert_eq!(call(&mut c, "size", &[]), i32s(&[5]));
    assert_eq!(
        call(&mut c, "load", &[1]),
        i32s(&[0]),
        "bytes 1..5 in bounds"
    );
    assert_eq!(
        call(&mut c, "load", &[2]),
        Err(Trap::OutOfBoundsMemoryAccess),
        "bytes 2..6 are not"
    );
    assert_eq!(
        call(&mut c, "store", &[5, 1]),
        Err(Trap::OutOfBoundsMemoryAccess)
    );
    // Grow by 3 bytes: byte 5 (in the word of bytes 0..8) becomes accessible and zero.
    assert_eq!(call(&mut c, "grow", &[3]), i32s(&[5]));
    assert_eq!(call(&mut c, "size", &[]), i32s(&[8]));
    assert_eq!(call(&mut c, "load", &[4]), i32s(&[0]));
    assert_eq!(call(&mut c, "store", &[7, 0xab]), Ok(vec![]));
    assert_eq!(call(&mut c, "load", &[4]), i32s(&[0xab00_0000u32 as i32]));
    // Across a block: to 70,000 bytes, and another handle (thread) sees the growth.
    assert_eq!(call(&mut c, "grow", &[69_992]), i32s(&[8]));
    assert_eq!(native.pages(), 70_000);
    assert_eq!(call(&mut c, "store", &[69_999, 1]), Ok(vec![]));
    assert_eq!(
        call(&mut c, "store", &[70_000, 1]),
        Err(Trap::OutOfBoundsMemoryAccess)
    );
    let mut h = NativeHandle::new(native.clone());
    let mut b = [0u8; 4];
    h.read(T0, Ordering::SeqCst, 69_996, &mut b, true).unwrap();
    assert_eq!(b, [0, 0, 0, 1]);
    assert_eq!(native.grow(200_000), None, "past the maximum");
    // A snapshot keeps the page size and the contents.
    let copy = native.snapshot();
    assert_eq!((copy.ty(), copy.len_bytes()), (native.ty(), 70_000));
}

/// Bulk instructions take the spec's byte steps on a shared memory whose threads a
/// scheduler interleaves, but not on a native one, whose OS threads interleave by
/// themselves, nor on an unshared one ([`memory::MemInst::steps_by_bytes`]); the native
/// memory is found again behind its instance (`native()`), and only there.
#[test]
fn only_scheduled_shared_memories_step_bulk_instructions_by_bytes() {
    use heddle_interp::memory::MemInst;
    let ty = |shared| {
        MemType::new(
            Limits {
                min: 1,
                max: Some(1),
            },
            shared,
        )
    };
    let native = SharedBackend::Native { wait_limit: None };
    let sc = MemInst::with_backend(ty(true), SharedBackend::Sc);
    let on_os_threads = MemInst::with_backend(ty(true), native);
    let unshared = MemInst::with_backend(ty(false), native);
    assert!(sc.steps_by_bytes());
    assert!(!on_os_threads.steps_by_bytes());
    assert!(!unshared.steps_by_bytes());
    let native_of = |m: &MemInst| match m {
        MemInst::Shared(s) => s.native().is_some(),
        MemInst::Unshared { .. } => false,
    };
    assert!(native_of(&on_os_threads));
    assert!(!native_of(&sc));
}
