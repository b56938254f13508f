//! `memory.fill`, `memory.copy` and `memory.init` work in place: they never allocate a
//! buffer the size of what they write (a 4 GiB fill must not need 8 GiB). A counting global
//! allocator records the largest allocation made while the bulk operations run. One test in
//! this file, so that no other test allocates meanwhile.

use heddle_interp::{Configuration, ExternVal, Module, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting;

static RECORDING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if RECORDING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if RECORDING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if RECORDING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// 256 pages: 16 MiB.
const PAGES: u32 = 256;
const BYTES: i32 = (PAGES as i32) << 16;

fn module(shared: bool) -> Arc<Module> {
    let mem = if shared {
        format!("(memory {PAGES} {PAGES} shared)")
    } else {
        format!("(memory {PAGES})")
    };
    let wat = format!(
        r#"(module {mem}
          (data $d "\01\02\03\04\05\06\07\08")
          (func (export "fill") (param i32 i32 i32)
            (memory.fill (local.get 0) (local.get 1) (local.get 2)))
          (func (export "copy") (param i32 i32 i32)
            (memory.copy (local.get 0) (local.get 1) (local.get 2)))
          (func (export "init") (param i32)
            (memory.init $d (local.get 0) (i32.const 0) (i32.const 8)))
          (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#
    );
    Arc::new(Module::decode(&wat::parse_str(wat).unwrap()).unwrap())
}

fn func(config: &Configuration, inst: heddle_interp::InstanceAddr, name: &str) -> ExternVal {
    config.export(inst, name).unwrap()
}

#[test]
fn bulk_operations_allocate_no_buffer_of_their_size() {
    for shared in [false, true] {
        let mut config = Configuration::new();
        let inst = config.instantiate(module(shared), &[]).unwrap();
        let [ExternVal::Func(fill), ExternVal::Func(copy), ExternVal::Func(init), ExternVal::Func(load)] =
            ["fill", "copy", "init", "load"].map(|n| func(&config, inst, n))
        else {
            panic!("exports are functions")
        };
        let load = |config: &mut Configuration, a: i32| config.invoke(load, &[Value::I32(a)]);

        LARGEST.store(0, Ordering::Relaxed);
        RECORDING.store(true, Ordering::Relaxed);
        // Fill the whole memory with 0xab, copy its first half over its second half shifted
        // by one byte (overlapping), and init 8 bytes at the end.
        let r1 = config.invoke(fill, &[Value::I32(0), Value::I32(0xab), Value::I32(BYTES)]);
        let r2 = config.invoke(
            fill,
            &[Value::I32(0), Value::I32(0x11), Value::I32(BYTES / 2)],
        );
        let r3 = config.invoke(copy, &[Value::I32(1), Value::I32(0), Value::I32(BYTES / 2)]);
        let r4 = config.invoke(init, &[Value::I32(BYTES - 8)]);
        // Out of bounds by one byte: a trap, and nothing written.
        let r5 = config.invoke(fill, &[Value::I32(1), Value::I32(0x22), Value::I32(BYTES)]);
        RECORDING.store(false, Ordering::Relaxed);
        let largest = LARGEST.load(Ordering::Relaxed);

        assert_eq!(
            (r1, r2, r3, r4),
            (Ok(vec![]), Ok(vec![]), Ok(vec![]), Ok(vec![]))
        );
        assert!(r5.is_err(), "out of bounds fill must trap");
        assert!(
            largest < 1 << 20,
            "shared={shared}: a bulk operation allocated {largest} bytes at once (a copy of what it writes)"
        );
        for (addr, want) in [
            (0, 0x11),
            (BYTES / 2 - 1, 0x11),
            (BYTES / 2, 0x11), // copied from BYTES/2 - 1
            (BYTES / 2 + 1, 0xab),
            (BYTES - 9, 0xab),
            (BYTES - 8, 1),
            (BYTES - 1, 8),
        ] {
            assert_eq!(
                load(&mut config, addr),
                Ok(vec![Value::I32(want)]),
                "shared={shared}: byte {addr:#x}"
            );
        }
    }
}
