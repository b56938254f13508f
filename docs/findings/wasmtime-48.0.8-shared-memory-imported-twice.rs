//! wasmtime 48.0.8: an out-of-bounds access to a `SharedMemory` that one `Store` imports
//! twice panics the host (`assertion failed: fault.is_none()`, wasmtime
//! `src/runtime/store.rs:2031`) instead of trapping.
//!
//! Each `Instance::new` that imports a `SharedMemory` adds a host instance defining that
//! memory to the store (`SharedMemory::vmimport`), so after two imports two instances of the
//! store claim the memory's address range. A load past the memory's length faults in the
//! guard region; turning the fault into a trap (`catch_traps`) asks the store which memory
//! the address belongs to (`StoreOpaque::wasm_fault`), finds it twice and asserts that it
//! found it once.
//!
//! The spec wants a trap (`t.load`, instructions.rst: "If ea + N/8 is larger than the
//! length of mem.data, then trap"), and importing one memory into two instances of a store
//! is ordinary use. One import per store (or per memory) traps as it should.
//!
//! Run: `cargo run --release -p heddle-fuzz --example wasmtime_shared_memory_imported_twice`
//! (docs/findings.md, part 1). It prints `trapped: ...` when fixed; on wasmtime 48.0.8 the
//! call panics while it turns the fault into a trap (`Func::call` never returns; exit code
//! 101). With `-- once` (one import) it prints `trapped: ...`.

use wasmtime::{Config, Engine, Extern, Instance, MemoryType, Module, SharedMemory, Store};

fn main() -> wasmtime::Result<()> {
    let mut config = Config::new();
    config.wasm_threads(true);
    config.shared_memory(true);
    let engine = Engine::new(&config)?;
    let memory = SharedMemory::new(&engine, MemoryType::shared(1, 2))?;
    let wasm = wat::parse_str(
        r#"(module
             (import "m" "m" (memory 1 2 shared))
             (func (export "load") (result i32) (i32.load (i32.const 65536))))"#,
    )?;
    let module = Module::new(&engine, wasm)?;
    let mut store = Store::new(&engine, ());
    let imports = [Extern::SharedMemory(memory.clone())];
    let first = Instance::new(&mut store, &module, &imports)?;
    // The second import of the same memory into the same store (`-- once` leaves it out,
    // and the load traps).
    if std::env::args().nth(1).as_deref() != Some("once") {
        Instance::new(&mut store, &module, &imports)?;
    }
    let load = first.get_typed_func::<(), i32>(&mut store, "load")?;
    match load.call(&mut store, ()) {
        Ok(v) => println!("no trap: loaded {v}"),
        Err(e) => println!("trapped: {e}"),
    }
    Ok(())
}
