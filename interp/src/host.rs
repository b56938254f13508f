//! The host interface: what a host function ([`crate::store::HostCallFunc`]) may do besides
//! computing results from its arguments (the spec's embedding interface: host functions act on the
//! store; the spec leaves their behaviour to the embedder).
//!
//! A [`Caller`] gives a host function
//! * the calling thread ([`Caller::thread`]) and the instance of the frame that called it
//!   ([`Caller::instance`], e.g. to find the memory a WASI function's pointers point into);
//! * byte access to a memory of the store ([`Caller::read`], [`Caller::write`]), made
//!   through the memory instance as one non-atomic access (spec `RD_unord`/`WR_unord`,
//!   `exec/relaxed.rst`) by the calling thread, so that every shared-memory backend
//!   (sequentially consistent, relaxed, native) sees it as an event of that thread;
//! * the virtual clock ([`Caller::now`]);
//! * thread creation ([`Caller::spawn`]): a [`SpawnRequest`] (instantiate a module in the
//!   same store, then invoke one of its exports on a new thread) that the embedder takes
//!   after the step ([`crate::Configuration::take_spawn_requests`]) and carries out in the
//!   same configuration ([`crate::Configuration::start_spawned`]), or that a
//!   [`SpawnHandler`] starts at once (on another OS thread);
//! * ending the whole program with an exit code ([`Caller::exit`], [`Trap::Exit`]).
//!
//! The types [`Caller`], [`SpawnRequest`] and [`SpawnHandler`] are defined in
//! [`crate::store`] (and re-exported here): the store holds host functions, whose type
//! names `Caller`, which borrows the store, so they live in one module; their operations
//! are here.

use crate::memory::Ordering;
use crate::runtime::ThreadId;
pub use crate::store::{Caller, SpawnHandler, SpawnRequest};
use crate::store::{InstanceAddr, MemAddr, Store};
use crate::Trap;

impl Caller<'_> {
    /// The calling thread.
    pub fn thread(&self) -> ThreadId {
        self.thread
    }

    /// The instance of the calling frame; `None` when the host function was invoked
    /// directly by the embedder (no Wasm frame).
    pub fn instance(&self) -> Option<InstanceAddr> {
        self.instance
    }

    /// The configuration's virtual clock, in nanoseconds ([`crate::Configuration::now`]),
    /// as it was when the calling thread's current step (its quantum) began.
    pub fn now(&self) -> u64 {
        self.clock
    }

    /// The store (every instance; memories are better accessed through
    /// [`Caller::read`] and [`Caller::write`], which name the accessing thread).
    pub fn store(&mut self) -> &mut Store {
        self.store
    }

    /// The address of memory `index` of the calling instance (spec `F.module.memaddrs`);
    /// `Trap::Host` if there is no caller instance or no such memory.
    pub fn memory(&self, index: u32) -> Result<MemAddr, Trap> {
        self.instance
            .and_then(|i| self.store.instances[i.0 as usize].mems.get(index as usize))
            .copied()
            .ok_or_else(|| Trap::Host(format!("the caller has no memory {index}")))
    }

    /// Read `len` bytes of memory `mem` at byte address `ea`: one non-atomic read by the
    /// calling thread. Out of bounds (checked before anything is read or allocated):
    /// [`Trap::OutOfBoundsMemoryAccess`].
    pub fn read(&mut self, mem: MemAddr, ea: u64, len: u64) -> Result<Vec<u8>, Trap> {
        let m = &mut self.store.mems[mem.0 as usize];
        if ea
            .checked_add(len)
            .is_none_or(|end| end > m.len_bytes(self.thread))
        {
            return Err(Trap::OutOfBoundsMemoryAccess);
        }
        let mut out = vec![0; len as usize];
        m.read(self.thread, Ordering::Unord, ea, &mut out, false)?;
        Ok(out)
    }

    /// Write `data` to memory `mem` at byte address `ea`: one non-atomic write by the
    /// calling thread. Out of bounds: [`Trap::OutOfBoundsMemoryAccess`], nothing written.
    pub fn write(&mut self, mem: MemAddr, ea: u64, data: &[u8]) -> Result<(), Trap> {
        let m = &mut self.store.mems[mem.0 as usize];
        m.write(self.thread, Ordering::Unord, ea, data, false)
    }

    /// Ask the embedder to start a thread (see [`SpawnRequest`]): at once, if it set a
    /// spawn handler ([`crate::Configuration::set_spawn_handler`]), else once the current
    /// step is over. Either way the calling thread's step (its quantum) ends after this
    /// call, so that a scheduler can run the new thread next.
    pub fn spawn(&mut self, mut request: SpawnRequest) {
        request.spawner = Some(self.thread);
        self.spawned = true;
        match self.spawn_handler {
            Some(handler) => (handler.0)(request),
            None => self.spawns.push(request),
        }
    }

    /// End the whole program with exit status `code`: return the result of this call as
    /// the host function's error (`return Err(caller.exit(code))`). The calling thread
    /// finishes with [`Trap::Exit`]; the embedder stops the others.
    pub fn exit(&self, code: i32) -> Trap {
        Trap::Exit(code)
    }
}
