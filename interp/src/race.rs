//! Races and data races of a run on the sequentially consistent backend, by relaxed.rst's
//! definitions (the closing note of *Relaxed Memory Model*): a *race* is two accesses to
//! overlapping locations that happens-before does not order; a *data race* is a race where
//! at least one of the two is a non-atomic write. As in `heddle-model`'s `race` module, a
//! race needs at least one of the two to write (`docs/races.md`, *Decisions*).
//!
//! Happens-before is tracked with vector clocks after FastTrack (Flanagan and Freund,
//! PLDI 2009): every thread has a vector clock; an access is stamped with its thread's
//! *epoch* (thread, own clock entry) and it happens before a later access of thread `t`
//! iff its clock entry is at most `t`'s vector clock's entry for its thread. The edges are
//! exactly those of the model's least happens-before (`heddle_model::Execution::least_hb`):
//!
//! * program order: a thread's own clock;
//! * synchronises-with (relaxed.rst *Consistency*, `sync`): a seq-cst read (an atomic load,
//!   the read of an RMW or a wait) that reads a byte from a seq-cst write of the *same
//!   range* acquires that write's clock; an atomic access of another width does not;
//! * suspension events (wait, woken, timeout, notify) of one location are ordered by the
//!   total order, so each acquires and releases the location's clock: a woken wait
//!   happens after its notify;
//! * thread start and join ([`RaceDetector::join`], from [`crate::memory::SharedMemory::join_view`]);
//! * the allocation's init write happens before everything: a byte without shadow state.
//!
//! Shadow state is kept per byte, so mixed-size and unaligned accesses are exact (stored
//! compactly: accesses interned, two entries inline, and a chunk that a bulk access
//! covered whole kept as one state for all its bytes until an access tells them apart). Per byte
//! and thread, the latest access of each class (non-atomic write, atomic write, read) is
//! kept: a later access of the same thread and class happens after the earlier one, so it
//! races with every access the earlier one races with, and with the same kind. A bounds
//! check is a non-atomic read of the memory's *length* location, `memory.size` a seq-cst
//! read of it and `memory.grow` a seq-cst RMW (relaxed.rst *Consistency*, note): a bounds
//! check racing a grow is a race, never a data race.
//!
//! A detector belongs to one shared memory, with its own clocks: synchronisation through
//! another shared memory does not order this memory's accesses (`docs/races.md`,
//! *Limits*).

use crate::runtime::ThreadId;
use crate::trace::Ordering;
use rustc_hash::{FxHashMap, FxHashSet};
use std::hash::Hash;
use std::sync::Arc;

/// Where an access is in the code: the function (in the instance's function index space:
/// imported functions first) and the instruction's offset, counted in instructions of the
/// function's lowered body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    /// The instance address of the code (an index into [`crate::Store::instances`]).
    pub instance: u32,
    /// The function index in that instance's module (imports first).
    pub func: u32,
    /// The instruction's index in the function's lowered body.
    pub pc: u32,
}

/// What a memory access does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A read (`RD`).
    Read,
    /// A write (`WR`).
    Write,
    /// A read-modify-write (`RMW`): a read and a write in one event.
    Rmw,
}

impl AccessKind {
    /// Whether the access writes.
    pub fn writes(self) -> bool {
        matches!(self, AccessKind::Write | AccessKind::Rmw)
    }
    /// Whether the access reads.
    pub fn reads(self) -> bool {
        matches!(self, AccessKind::Read | AccessKind::Rmw)
    }
}

/// The location an access is to: bytes of the memory's data, or its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The `data` region: `address` is an effective address.
    Data,
    /// The distinguished length location (bounds checks, `memory.size`, `memory.grow`).
    Length,
}

/// One access of a race.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// The interpreter thread.
    pub thread: ThreadId,
    /// The code location.
    pub site: Site,
    /// Data or length.
    pub region: Region,
    /// The first byte (effective address; 0 for the length location).
    pub address: u64,
    /// The number of bytes (8 for the length location).
    pub size: u64,
    /// Whether the access is atomic (seq-cst), else non-atomic (`unord`).
    pub atomic: bool,
    /// Read, write or RMW.
    pub kind: AccessKind,
}

impl Access {
    fn non_atomic_write(&self) -> bool {
        !self.atomic && self.kind.writes()
    }
}

/// Race or data race (relaxed.rst's two names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RaceKind {
    /// Neither access is a non-atomic write.
    Race,
    /// At least one of the two is a non-atomic write.
    DataRace,
}

impl RaceKind {
    /// The spec's name: `"race"` or `"data race"`.
    pub fn name(self) -> &'static str {
        match self {
            RaceKind::Race => "race",
            RaceKind::DataRace => "data race",
        }
    }
}

/// A race found: the earlier access (in execution order) and the later one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Race {
    /// Race or data race.
    pub kind: RaceKind,
    /// The access that happened first.
    pub first: Access,
    /// The access that happened second.
    pub second: Access,
}

/// A vector clock: entry `u` is the last step of thread `u` known to happen before.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct VectorClock(Vec<u32>);

impl VectorClock {
    fn get(&self, t: usize) -> u32 {
        self.0.get(t).copied().unwrap_or(0)
    }
    fn join(&mut self, other: &VectorClock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }
    fn tick(&mut self, t: usize) {
        if self.0.len() <= t {
            self.0.resize(t + 1, 0);
        }
        self.0[t] += 1;
    }
}

/// The class of a recorded access: at most one per thread and class is kept per byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Class {
    NonAtomicWrite,
    AtomicWrite,
    Read,
}

/// The index of an [`Access`] in [`RaceDetector::accesses`] (accesses are interned: a
/// byte's shadow state names its accesses by index, 4 bytes instead of a copy).
type AccessId = u32;

/// No access: an empty slot of [`ByteShadow`].
const NO_ACCESS: AccessId = AccessId::MAX;

/// A recorded access: its epoch (its thread and that thread's clock entry) and the access
/// (its thread is the access's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    clock: u32,
    access: AccessId,
    class: Class,
}

impl Entry {
    const EMPTY: Entry = Entry {
        clock: 0,
        access: NO_ACCESS,
        class: Class::Read,
    };
}

/// Shadow state of one byte: the recorded accesses (the first two inline, the rest, rare,
/// on the heap) and its last write (an access, `NO_ACCESS` for the init write); a seq-cst
/// last write released the clock [`RaceDetector::released`] holds for it, which a seq-cst
/// read of the same range acquires. 40 bytes, and no allocation for a byte at most two
/// classes of one thread touched.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ByteShadow {
    inline: [Entry; 2],
    more: Option<Box<[Entry]>>,
    last_write: AccessId,
}

impl Default for ByteShadow {
    fn default() -> Self {
        ByteShadow {
            inline: [Entry::EMPTY; 2],
            more: None,
            last_write: NO_ACCESS,
        }
    }
}

impl ByteShadow {
    fn is_empty(&self) -> bool {
        self.last_write == NO_ACCESS && self.inline[0].access == NO_ACCESS
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.inline
            .iter()
            .filter(|e| e.access != NO_ACCESS)
            .chain(self.more.iter().flat_map(|m| m.iter()))
    }

    /// Replace the entry of `thread` and `class` (`same` tells whether an entry is one), or
    /// add `entry`.
    fn record(&mut self, entry: Entry, same: impl Fn(&Entry) -> bool) {
        for e in self.inline.iter_mut() {
            if e.access == NO_ACCESS {
                *e = entry;
                return;
            }
            if same(e) {
                *e = entry;
                return;
            }
        }
        match self
            .more
            .as_mut()
            .and_then(|m| m.iter_mut().find(|e| same(e)))
        {
            Some(e) => *e = entry,
            None => {
                let mut more = self.more.take().map(|m| m.into_vec()).unwrap_or_default();
                more.push(entry);
                self.more = Some(more.into_boxed_slice());
            }
        }
    }
}

/// Bytes per shadow chunk.
const CHUNK: u64 = 256;

/// The shadow state of a chunk of bytes: every byte the same (after an access that covered
/// the whole chunk, e.g. a `memory.fill`), or byte by byte. A chunk never accessed has
/// none (every byte empty).
#[derive(Clone, Debug)]
enum Chunk {
    Uniform(ByteShadow),
    Dense(Box<[ByteShadow]>),
}

/// Threads beyond this id (e.g. the instantiating pseudo-thread, which writes data
/// segments) are not tracked: their writes are treated like the allocation's.
const MAX_TRACKED_THREAD: u32 = 1 << 16;

/// The happens-before tracker and shadow memory of one shared memory (see the module
/// documentation).
#[derive(Clone, Debug, Default)]
pub struct RaceDetector {
    clocks: Vec<VectorClock>,
    /// The code location of each thread's current instruction ([`RaceDetector::set_site`]).
    sites: Vec<Site>,
    chunks: Vec<Option<Chunk>>,
    length: ByteShadow,
    /// Every access recorded so far, once (interned by [`RaceDetector::intern`]).
    accesses: Vec<Access>,
    access_ids: FxHashMap<Access, AccessId>,
    /// Per seq-cst writing access, the clock its latest execution released.
    released: FxHashMap<AccessId, Arc<VectorClock>>,
    /// Per waited-on address, the clock of its last suspension event.
    suspension: FxHashMap<u64, VectorClock>,
    races: Vec<Race>,
    seen: FxHashSet<(Site, Site, RaceKind)>,
}

impl RaceDetector {
    /// A detector with no threads and no accesses yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed `h` the detector's state: the clocks, the shadow state and the suspension
    /// clocks (not the races found): two runs in the same memory state with equal
    /// detector states have the same races ahead, so an explorer's state cache may prune
    /// one of them. An exact encoding (no digests), of the accesses themselves (not their
    /// interned indices, which depend on the order they were first seen).
    pub fn hash_state(&self, mut h: &mut dyn std::hash::Hasher) {
        self.clocks.hash(&mut h);
        let byte = |h: &mut dyn std::hash::Hasher, b: &ByteShadow| {
            let mut h = h;
            for e in b.entries() {
                (e.clock, e.class, &self.accesses[e.access as usize]).hash(&mut h);
            }
            0xffu8.hash(&mut h);
            if b.last_write != NO_ACCESS {
                self.accesses[b.last_write as usize].hash(&mut h);
                self.released.get(&b.last_write).hash(&mut h);
            }
        };
        for (c, chunk) in self.chunks.iter().enumerate() {
            for i in 0..CHUNK as usize {
                let b = match chunk {
                    None => continue,
                    Some(Chunk::Uniform(u)) => u,
                    Some(Chunk::Dense(d)) => &d[i],
                };
                if !b.is_empty() {
                    (c, i).hash(&mut h);
                    byte(h, b);
                }
            }
        }
        usize::MAX.hash(&mut h);
        byte(h, &self.length);
        let mut locs: Vec<_> = self.suspension.iter().collect();
        locs.sort_by_key(|(a, _)| **a);
        locs.hash(&mut h);
    }

    /// The races found so far, one per pair of code locations (and kind), in the order
    /// found.
    pub fn races(&self) -> &[Race] {
        &self.races
    }

    fn tracked(t: ThreadId) -> Option<usize> {
        (t.0 < MAX_TRACKED_THREAD).then_some(t.0 as usize)
    }

    fn clock_mut(&mut self, t: usize) -> &mut VectorClock {
        if self.clocks.len() <= t {
            self.clocks.resize(t + 1, VectorClock::default());
        }
        let c = &mut self.clocks[t];
        if c.get(t) == 0 {
            c.tick(t);
        }
        c
    }

    /// Thread `t` is about to execute the instruction at `site`.
    pub fn set_site(&mut self, t: ThreadId, site: Site) {
        if let Some(t) = Self::tracked(t) {
            if self.sites.len() <= t {
                self.sites.resize(t + 1, Site::default());
            }
            self.sites[t] = site;
        }
    }

    /// Everything `from` did so far happens before everything `to` does from now on
    /// (thread start: the spawner's clock at the spawn; join).
    pub fn join(&mut self, to: ThreadId, from: ThreadId) {
        let (Some(to), Some(from)) = (Self::tracked(to), Self::tracked(from)) else {
            return;
        };
        if to == from {
            return;
        }
        let f = self.clock_mut(from).clone();
        self.clock_mut(to).join(&f);
        self.clock_mut(from).tick(from);
    }

    /// A suspension event (WAIT, WOKEN, TIMEOUT, NOTIFY) of thread `t` on `address`: the
    /// suspension events of one location are ordered by the total order, and that order
    /// is part of happens-before (relaxed.rst *Consistency*, suspensions consistent).
    pub fn suspension(&mut self, t: ThreadId, address: u64) {
        let Some(ti) = Self::tracked(t) else { return };
        let l = self.suspension.remove(&address).unwrap_or_default();
        let c = self.clock_mut(ti);
        c.join(&l);
        let released = c.clone();
        c.tick(ti);
        self.suspension.insert(address, released);
    }

    /// A bounds check of thread `t` (a non-atomic read of the length location).
    pub fn bounds_check(&mut self, t: ThreadId) {
        self.length_access(t, false, AccessKind::Read);
    }

    /// An access of thread `t` to the length location: `memory.size` (atomic read),
    /// `memory.grow` (atomic RMW) or a bounds check (non-atomic read).
    pub fn length_access(&mut self, t: ThreadId, atomic: bool, kind: AccessKind) {
        let mut shadow = std::mem::take(&mut self.length);
        self.access_bytes(
            t,
            Region::Length,
            0,
            8,
            atomic,
            kind,
            std::slice::from_mut(&mut shadow),
        );
        self.length = shadow;
    }

    /// An access of thread `t` to `size` bytes of data at `address` with ordering `ord`
    /// (an init access is not tracked).
    pub fn access(
        &mut self,
        t: ThreadId,
        ord: Ordering,
        address: u64,
        size: u64,
        kind: AccessKind,
    ) {
        if ord == Ordering::Init || size == 0 {
            return;
        }
        let atomic = ord == Ordering::SeqCst;
        let end = address.saturating_add(size);
        if size <= 16 {
            // A load or store: its bytes' shadow state is taken out (onto the stack),
            // stepped, and put back.
            let mut small: [ByteShadow; 16] = Default::default();
            let shadows = &mut small[..size as usize];
            for (k, s) in (address..end).zip(shadows.iter_mut()) {
                *s = self.take_byte(k);
            }
            self.access_bytes(t, Region::Data, address, size, atomic, kind, shadows);
            for (k, s) in (address..end).zip(shadows.iter_mut()) {
                self.put_byte(k, std::mem::take(s));
            }
            return;
        }
        // Bulk memory: a chunk the access covers whole and whose bytes are all alike (never
        // accessed, or uniform) is stepped once, for all its bytes, and stays uniform;
        // other bytes one by one.
        let mut segments: Vec<(u64, bool)> = Vec::new();
        let mut shadows: Vec<ByteShadow> = Vec::new();
        let mut k = address;
        while k < end {
            let c = (k / CHUNK) as usize;
            let whole = k.is_multiple_of(CHUNK) && end - k >= CHUNK;
            let alike = !matches!(self.chunks.get(c), Some(Some(Chunk::Dense(_))));
            if whole && alike {
                let s = match self.chunks.get_mut(c).and_then(|x| x.take()) {
                    Some(Chunk::Uniform(u)) => u,
                    _ => ByteShadow::default(),
                };
                segments.push((k, true));
                shadows.push(s);
                k += CHUNK;
            } else {
                segments.push((k, false));
                shadows.push(self.take_byte(k));
                k += 1;
            }
        }
        self.access_bytes(t, Region::Data, address, size, atomic, kind, &mut shadows);
        for ((k, whole), s) in segments.into_iter().zip(shadows) {
            if whole {
                let c = (k / CHUNK) as usize;
                if self.chunks.len() <= c {
                    self.chunks.resize_with(c + 1, || None);
                }
                self.chunks[c] = Some(Chunk::Uniform(s));
            } else {
                self.put_byte(k, s);
            }
        }
    }

    fn take_byte(&mut self, k: u64) -> ByteShadow {
        let (c, i) = ((k / CHUNK) as usize, (k % CHUNK) as usize);
        match self.chunks.get_mut(c) {
            Some(Some(Chunk::Dense(chunk))) => std::mem::take(&mut chunk[i]),
            Some(Some(Chunk::Uniform(u))) => u.clone(),
            _ => ByteShadow::default(),
        }
    }

    fn put_byte(&mut self, k: u64, s: ByteShadow) {
        let (c, i) = ((k / CHUNK) as usize, (k % CHUNK) as usize);
        if self.chunks.len() <= c {
            if s.is_empty() {
                return;
            }
            self.chunks.resize_with(c + 1, || None);
        }
        let slot = &mut self.chunks[c];
        match slot {
            Some(Chunk::Dense(chunk)) => chunk[i] = s,
            Some(Chunk::Uniform(u)) if *u == s => {}
            Some(Chunk::Uniform(u)) => {
                let mut chunk = vec![u.clone(); CHUNK as usize].into_boxed_slice();
                chunk[i] = s;
                *slot = Some(Chunk::Dense(chunk));
            }
            None if s.is_empty() => {}
            None => {
                let mut chunk = vec![ByteShadow::default(); CHUNK as usize].into_boxed_slice();
                chunk[i] = s;
                *slot = Some(Chunk::Dense(chunk));
            }
        }
    }

    /// The index of `a` in [`RaceDetector::accesses`], adding it if new.
    fn intern(&mut self, a: Access) -> AccessId {
        if let Some(&id) = self.access_ids.get(&a) {
            return id;
        }
        let id = self.accesses.len() as AccessId;
        self.accesses.push(a);
        self.access_ids.insert(a, id);
        id
    }

    /// The FastTrack step of one access over its bytes' shadow state: acquire (a seq-cst
    /// read of a seq-cst write of the same range), check against every recorded access of
    /// the bytes, record this one, release (a seq-cst write).
    #[allow(clippy::too_many_arguments)]
    fn access_bytes(
        &mut self,
        t: ThreadId,
        region: Region,
        address: u64,
        size: u64,
        atomic: bool,
        kind: AccessKind,
        shadows: &mut [ByteShadow],
    ) {
        let Some(ti) = Self::tracked(t) else { return };
        let site = self.sites.get(ti).copied().unwrap_or_default();
        let this = Access {
            thread: t,
            site,
            region,
            address,
            size,
            atomic,
            kind,
        };
        // Acquire: synchronises-with (relaxed.rst `sync`: same range, both seq-cst).
        if atomic && kind.reads() {
            let mut acquired: Vec<AccessId> = Vec::new();
            for s in shadows.iter() {
                let w = s.last_write;
                if w != NO_ACCESS && !acquired.contains(&w) {
                    let a = &self.accesses[w as usize];
                    if a.atomic && a.address == address && a.size == size {
                        acquired.push(w);
                    }
                }
            }
            for w in acquired {
                if let Some(r) = self.released.get(&w).cloned() {
                    self.clock_mut(ti).join(&r);
                }
            }
        }
        self.clock_mut(ti);
        let clock = &self.clocks[ti];
        let now = clock.get(ti);
        // Check: every recorded access not happening before this one, one of the two
        // writing, is a race.
        let mut found: Vec<Race> = Vec::new();
        for s in shadows.iter() {
            for e in s.entries() {
                let other = &self.accesses[e.access as usize];
                let u = other.thread.0 as usize;
                if u == ti || e.clock <= clock.get(u) {
                    continue;
                }
                if !(kind.writes() || other.kind.writes()) {
                    continue;
                }
                let kind = if this.non_atomic_write() || other.non_atomic_write() {
                    RaceKind::DataRace
                } else {
                    RaceKind::Race
                };
                found.push(Race {
                    kind,
                    first: *other,
                    second: this,
                });
            }
        }
        for r in found {
            self.report(r);
        }
        // Record: one entry per thread and class.
        let classes: &[Class] = match (kind, atomic) {
            (AccessKind::Read, _) => &[Class::Read],
            (AccessKind::Write, false) => &[Class::NonAtomicWrite],
            (AccessKind::Write, true) => &[Class::AtomicWrite],
            (AccessKind::Rmw, _) => &[Class::Read, Class::AtomicWrite],
        };
        let id = self.intern(this);
        if atomic && kind.writes() {
            self.released.insert(id, Arc::new(self.clocks[ti].clone()));
        }
        let accesses = &self.accesses;
        for s in shadows.iter_mut() {
            for &class in classes {
                let entry = Entry {
                    clock: now,
                    access: id,
                    class,
                };
                s.record(entry, |e| {
                    e.class == class && accesses[e.access as usize].thread == t
                });
            }
            if kind.writes() {
                s.last_write = id;
            }
        }
        // Release: later steps of this thread are not covered by the clock just released.
        if atomic && kind.writes() {
            self.clock_mut(ti).tick(ti);
        }
    }

    fn report(&mut self, r: Race) {
        let (a, b) = if r.first.site <= r.second.site {
            (r.first.site, r.second.site)
        } else {
            (r.second.site, r.first.site)
        };
        if self.seen.insert((a, b, r.kind)) {
            self.races.push(r);
        }
    }
}
