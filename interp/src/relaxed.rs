//! Relaxed shared memory: the view-based operational semantics over an event log of
//! MODEL.md §9.3, the backend behind `heddle explore --memory relaxed`.
//!
//! The spec's operational layer (`exec/runtime.rst`, *Configurations*) lets a read of a
//! shared memory return *any* bytes, and the axiomatic layer (`exec/relaxed.rst`) keeps
//! the executions whose reads can be explained by a consistent reads-from choice.
//! [`RelaxedMemory`] turns that around: it keeps every executed event in an append-only
//! log whose order is the total order `tot`, with each event's happens-before
//! predecessors, and lets each read pick (through the shared [`ChoiceLog`]) one of the
//! combinations of already executed writes that the consistency rules allow *now*.
//!
//! Why "now" suffices (MODEL.md §9.3): every edge of the least happens-before
//! (`po`, spawn/join, init, synchronises-with, suspension order; MODEL.md §3.2) goes from
//! an earlier to a later event in the log, and every clause of the rules that could forbid
//! a read from `W` (C6(3), C7(1), (†), (‡)) talks about a write `W'` that is hb- or
//! tot-*before* the read. Later events can therefore never make an earlier read
//! inconsistent, and the allowed sources of a read among the executed writes are decided
//! when it executes.
//!
//! **Promises** (MODEL.md §9.4; Kang et al., POPL 2017, adapted): reads from writes *later*
//! in `tot` (load buffering, LB (1,1)) are made by guessing. With a [`Promises`] value
//! domain installed ([`RelaxedMemory::with_promises`]), a byte of a read may also take any
//! value of the domain at its address that no executed write offers; the read is then
//! *pending*, and [`SharedMemory::fulfil_promises`] decides at the end of the run whether
//! writes later in the log keep every promise. For such a source `W` of byte `k` of read
//! `R`, with `R` before `W` in `tot`, the rules of MODEL.md §4 reduce to: `W` writes that
//! byte value (C5); `W` is not hb-after `R` (C6(1), checked against `W`'s hb-predecessors,
//! which are final when `W` executes); `W` and `R` do not synchronise (C6(2): a
//! synchronising pair must be in hb, hence in `tot` order); and C8 over all of `R`'s
//! sources. C6(3) and C7 are vacuous (they need `hb(W, R)` or a write hb-between `W` and
//! `R`, impossible when `W` is tot-after `R`), and a promised read synchronises with
//! nothing, so it changes no view. The domain is the explorer's business (values written
//! by the executions found so far, to a fixpoint); values outside it (out-of-thin-air
//! values such as LB+data's 42) are not guessed.
//!
//! What is modelled, per MODEL.md §4:
//! * **Happens-before** as vector clocks. A thread's *view* is the clock of its
//!   hb-predecessors; an event's `pred` is the view it executed with. Init (event 0) is
//!   hb-before everything (C2). [`SharedMemory::join_view`] adds spawn and join edges.
//! * **Reads** choose, per byte, a covering write subject to C6(2) and C6(3), C7(1), (†),
//!   (‡) and, per read, C8 (no-tear). A read that picks the tot-latest same-range seq-cst
//!   write, being seq-cst itself, synchronises with it: its view joins the write's (C10).
//! * **RMW** reads like a seq-cst read of its range, then writes in the same event; a
//!   failed `cmpxchg` is a seq-cst read (instr l.3313). Atomicity is what the rules give,
//!   nothing more: an RMW cannot read past a same-range seq-cst write that is tot-before
//!   it and hb-after (or, if it synchronises, tot-after) its source (C7(1), (†)), so two
//!   RMW increments never both read 0 (catalogue `rmw_atomicity`); it may still read a
//!   racing plain write, and RMWs of different ranges do not order each other at all.
//! * **wait/notify** keep a FIFO queue and a *suspension view* per effective address: every
//!   suspension event (WAIT, NOTIFY, WOKEN, TIMEOUT) on one location is hb-after the
//!   previous ones (C9(a)), which is also how a woken thread comes to see everything the
//!   notifier did before the notify.
//!
//! **Choices.** A tear-free read (seq-cst, RMW, wait, or plain with `noTear`) makes one
//! choice through the [`ChoiceLog`] among its allowed source combinations, distinct by
//! (bytes read, resulting view); option 0 is always the sequentially consistent one (the
//! latest write of every byte), so a log that always takes option 0 behaves like
//! [`crate::memory::ScMemory`]. A read that is not tear-free is plain and synchronises
//! with nothing, and C8 does not constrain it: it makes one choice per byte (the same
//! runs, without building a product that is exponential in the width of, say, a
//! `memory.copy`). A wait's options are those of its read, suspending (if the value is the
//! expected one) or not.
//!
//! **The length location** (relaxed.rst *Consistency*, note; runtime.rst `a.len`), once
//! [`SharedMemory::model_length`] is called: the length is one more location of the log
//! ([`LENGTH_ADDRESS`]), written by the allocation (`WR_seqcst`, event 1) and by every
//! successful `memory.grow` (`RMW len l (l+k)`, after its `WR_unord data[l] 0^k`). A
//! bounds check is an `RD_unord` of it, its own event before the access, and reads any
//! write of the length the rules above allow (C6(3): not one that an hb-later write of
//! the length hides), so a thread that has not synchronised with a grow may still trap on
//! the new pages; its options are told apart by their verdict only (in bounds or not).
//! `memory.size` and a failing `memory.grow` are an `RD_seqcst`, and a grow's RMW reads
//! like one: by C7(1) they read the latest write of the length and synchronise with it,
//! so they see everything the grower did before. The length's writes are never promised
//! (a bounds check reads only a length already written). Without `model_length`, bounds
//! checks and `memory.size` read the current length and a grow writes only its zeros.

use crate::content_hash::ContentHash;
use crate::memory::{
    grown_pages, le_to_u64, length_bytes, Notified, Ordering, SharedMemory, WaitOutcome,
    WaitQueues, LENGTH_ADDRESS, LENGTH_WIDTH,
};
use crate::runtime::ThreadId;
use crate::scheduler::ChoiceLog;
use crate::trace::{Trace, TraceAction};
use crate::types::{Limits, MemType};
use crate::Trap;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// A vector clock: for every thread, how many of its first events (in program order) are
/// included. The init write (event 0) is included in every clock. Invariant: no trailing
/// zeros, so equal clocks are equal vectors (and hash equally).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Clock(Vec<u32>);

impl Clock {
    /// Number of events of `t` included.
    fn get(&self, t: ThreadId) -> u32 {
        self.0.get(t.0 as usize).copied().unwrap_or(0)
    }

    /// Raise the entry of `t` to at least `n`.
    fn raise(&mut self, t: ThreadId, n: u32) {
        let i = t.0 as usize;
        if n == 0 {
            return;
        }
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = self.0[i].max(n);
    }

    /// Pointwise maximum (the union of two hb-downsets).
    fn join(&mut self, other: &Clock) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }

    /// Whether event number `po` (0-based, program order) of `thread` is included; the init
    /// write (`thread` = `None`) always is.
    fn includes(&self, thread: Option<ThreadId>, po: u32) -> bool {
        match thread {
            None => true,
            Some(t) => self.get(t) > po,
        }
    }
}

/// An executed writing event (a write, the write part of an RMW, the init write, or the
/// zeros of a `memory.grow`): what later reads may read from.
#[derive(Clone, Debug)]
struct Write {
    /// Index of the event in the trace (the log).
    id: usize,
    /// The thread; `None` for the init write.
    thread: Option<ThreadId>,
    /// Index of the event in its thread's program order.
    po: u32,
    /// `ord(W)`: `SeqCst` for an RMW.
    ord: Ordering,
    ea: u64,
    bytes: Vec<u8>,
    /// The hash of `bytes` (computed once, so that hashing a state does not read the
    /// 64 KiB of the init write at every choice point).
    content: ContentHash,
    /// relaxed.rst `tearfree` (MODEL.md §2.4, erratum 4): seq-cst, RMW, or unord with the
    /// `noTear` flag; never the init write.
    tearfree: bool,
    /// The clock of the event's hb-predecessors (excluding itself).
    pred: Clock,
}

impl Write {
    fn covers(&self, k: u64) -> bool {
        self.ea <= k && k < self.ea + self.bytes.len() as u64
    }

    fn byte(&self, k: u64) -> u8 {
        self.bytes[(k - self.ea) as usize]
    }

    /// Whether this event is included in `view` (happens before an event with that view).
    fn in_view(&self, view: &Clock) -> bool {
        view.includes(self.thread, self.po)
    }

    /// The clock of this event and its hb-predecessors.
    fn view_after(&self) -> Clock {
        let mut v = self.pred.clone();
        if let Some(t) = self.thread {
            v.raise(t, self.po + 1);
        }
        v
    }
}

/// The read being performed: its ordering, range and whether it is tear-free.
#[derive(Clone, Copy, Debug, Hash)]
struct ReadReq {
    /// The reading thread.
    thread: ThreadId,
    ord: Ordering,
    ea: u64,
    n: usize,
    /// `tearfree(R)`: seq-cst (including RMW and the read of a wait) or unord with `noTear`.
    tearfree: bool,
}

impl ReadReq {
    /// `same(W, R)`: identical byte ranges.
    fn same(&self, w: &Write) -> bool {
        w.ea == self.ea && w.bytes.len() == self.n
    }

    /// `sync(W, R)`: same range, both seq-cst ("could synchronise").
    fn sync(&self, w: &Write) -> bool {
        self.same(w) && w.ord == Ordering::SeqCst && self.ord == Ordering::SeqCst
    }
}

/// `sync(W, W')` between two writes.
fn sync_ww(a: &Write, b: &Write) -> bool {
    a.ea == b.ea
        && a.bytes.len() == b.bytes.len()
        && a.ord == Ordering::SeqCst
        && b.ord == Ordering::SeqCst
}

/// Where one byte of a read comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    /// An executed write (an index into [`RelaxedMemory::writes`]).
    Past(usize),
    /// A write later in `tot` that is to write this byte value: a promise, kept or broken
    /// when the run ends ([`SharedMemory::fulfil_promises`]).
    Future(u8),
}

/// One allowed way to perform a read: the bytes, the source of each byte, and the read's
/// hb-predecessors (its thread's view, joined with its synchronising source's).
#[derive(Clone, Debug)]
struct ReadOption {
    bytes: Vec<u8>,
    sources: Vec<Source>,
    view: Clock,
}

impl ReadOption {
    /// Whether some byte is promised by a write not yet executed.
    fn promises(&self) -> bool {
        self.sources.iter().any(|s| matches!(s, Source::Future(_)))
    }
}

/// Who wrote a value of a [`ValueDomain`]: the thread and the shape of the write, which
/// decide which reads it can be promised to (not its own thread's: a write po-after a read
/// is hb-after it; not a read it would synchronise with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Writer {
    thread: ThreadId,
    ea: u64,
    len: usize,
    seq_cst: bool,
}

impl Writer {
    /// Whether a write of this shape may keep a promise made to read `r` (C6(1) for the
    /// same thread, C6(2)).
    fn may_promise_to(&self, r: &ReadReq) -> bool {
        let sync = self.seq_cst && r.ord == Ordering::SeqCst && self.ea == r.ea && self.len == r.n;
        self.thread != r.thread && !sync
    }
}

/// A value domain for promises: per byte address, the byte values that writes write there,
/// with the `Writer`s that wrote each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValueDomain(BTreeMap<u64, BTreeMap<u8, BTreeSet<Writer>>>);

impl ValueDomain {
    /// Add the bytes of write `w`.
    fn insert(&mut self, w: &Write) {
        // The length location is never promised (module documentation).
        let Some(thread) = w.thread.filter(|_| w.ea != LENGTH_ADDRESS) else {
            return;
        };
        let writer = Writer {
            thread,
            ea: w.ea,
            len: w.bytes.len(),
            seq_cst: w.ord == Ordering::SeqCst,
        };
        for (k, &b) in (w.ea..).zip(&w.bytes) {
            self.0
                .entry(k)
                .or_default()
                .entry(b)
                .or_default()
                .insert(writer);
        }
    }

    /// The values of byte address `k` that some write of the domain could promise to read
    /// `r`, ascending.
    fn values_for<'a>(&'a self, r: &'a ReadReq, k: u64) -> impl Iterator<Item = u8> + 'a {
        self.0
            .get(&k)
            .into_iter()
            .flatten()
            .filter(|(_, writers)| writers.iter().any(|w| w.may_promise_to(r)))
            .map(|(v, _)| *v)
    }

    /// Add every value and writer of `other`; whether anything was new.
    pub fn extend(&mut self, other: &ValueDomain) -> bool {
        let mut grew = false;
        for (k, values) in &other.0 {
            let mine = self.0.entry(*k).or_default();
            for (v, writers) in values {
                let w = mine.entry(*v).or_default();
                for writer in writers {
                    grew |= w.insert(*writer);
                }
            }
        }
        grew
    }

    /// Number of (address, value) pairs.
    pub fn len(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The promises of one round of an exploration: the [`ValueDomain`] reads may guess from
/// (fixed, so that every run of the round has the same choices), and the values written
/// by the runs of the round that kept their promises, i.e. by executions of the model (so
/// the explorer can tell whether the domain is closed, or needs another round with the
/// larger one). Shared by the runs of a round.
#[derive(Debug, Default)]
pub struct Promises {
    offered: ValueDomain,
    written: Mutex<ValueDomain>,
}

impl Promises {
    /// Promises guessing from `offered`.
    pub fn new(offered: ValueDomain) -> Self {
        Promises {
            offered,
            written: Mutex::new(ValueDomain::default()),
        }
    }

    /// The domain reads guess from.
    pub fn offered(&self) -> &ValueDomain {
        &self.offered
    }

    /// The values written so far by the runs made with these promises that kept them
    /// ([`SharedMemory::fulfil_promises`]).
    pub fn written(&self) -> ValueDomain {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A read some of whose bytes were promised by writes not yet executed.
#[derive(Clone, Debug)]
struct PendingRead {
    /// The read's index in the trace (the log).
    event: usize,
    thread: ThreadId,
    /// Its index in its thread's program order.
    po: u32,
    req: ReadReq,
    sources: Vec<Source>,
}

/// Relaxed shared memory (MODEL.md §9.3): an event log with happens-before views; reads
/// return any combination of executed writes the consistency rules of MODEL.md §4 allow,
/// chosen through a shared [`ChoiceLog`]. Option 0 of every read is the sequentially
/// consistent one (the latest write of every byte), so a [`ChoiceLog`] that always takes
/// option 0 reproduces the behaviour of [`crate::memory::ScMemory`].
///
/// The backend always records its [`Trace`] (the log *is* the trace, event 0 being the
/// initialising write); [`SharedMemory::trace`] returns it once
/// [`SharedMemory::enable_trace`] was called, covering the whole run since construction.
#[derive(Clone, Debug)]
pub struct RelaxedMemory {
    ty: MemType,
    /// Current length in bytes (the `len` location, not modelled relaxed).
    len: u64,
    /// Every writing event, in log (`tot`) order; `writes[0]` is the init write.
    writes: Vec<Write>,
    /// Per thread (indexed by [`ThreadId`]): the clock of its hb-predecessors, i.e. of its
    /// next event. Entry `t` of thread `t`'s view is its number of events so far.
    views: Vec<Clock>,
    /// FIFO wait queues by effective address, oldest first.
    queues: WaitQueues,
    /// Per effective address: the clock of the last suspension event there, including it
    /// (the next suspension event there happens after it, C9(a)).
    susp_views: BTreeMap<u64, Clock>,
    trace: Trace,
    tracing: bool,
    choices: Arc<Mutex<ChoiceLog>>,
    /// The value domain reads may guess from (`None`: no promises, reads see only executed
    /// writes).
    promises: Option<Arc<Promises>>,
    /// Reads with promised bytes, in log order, until the run ends.
    pending: Vec<PendingRead>,
    /// The length location, when modelled ([`SharedMemory::model_length`]): `Some`, with
    /// the log through which a grow may fail by choice, if it may.
    length: Option<Option<Arc<Mutex<ChoiceLog>>>>,
}

impl RelaxedMemory {
    /// A relaxed shared memory of type `ty` whose contents are `initial` (its length must be
    /// a whole number of pages; the current size, which may exceed `ty.limits.min`). The
    /// contents become the init write, event 0 (`WR_init data[0] initial`, modules.rst
    /// *allocmem*). Read choices are made through `choices`, typically the same log as the
    /// explorer's scheduling choices.
    pub fn new(ty: MemType, initial: Vec<u8>, choices: Arc<Mutex<ChoiceLog>>) -> Self {
        let mut trace = Trace::default();
        trace.push(
            None,
            vec![TraceAction::Write {
                ord: Ordering::Init,
                ea: 0,
                bytes: initial.clone(),
                no_tear: false,
            }],
            Vec::new(),
        );
        RelaxedMemory {
            ty,
            len: initial.len() as u64,
            writes: vec![Write {
                id: 0,
                thread: None,
                po: 0,
                ord: Ordering::Init,
                ea: 0,
                content: ContentHash::of(&initial),
                bytes: initial,
                tearfree: false,
                pred: Clock::default(),
            }],
            views: Vec::new(),
            queues: WaitQueues::default(),
            susp_views: BTreeMap::new(),
            trace,
            tracing: false,
            choices,
            promises: None,
            pending: Vec::new(),
            length: None,
        }
    }

    /// [`RelaxedMemory::new`] whose reads may also take a byte from a write later in
    /// `tot` (a promise, see the module documentation): any value of `promises`' domain at
    /// the byte's address that no executed write offers. The values written by a run that
    /// keeps its promises are added to `promises`' written set.
    pub fn with_promises(
        ty: MemType,
        initial: Vec<u8>,
        choices: Arc<Mutex<ChoiceLog>>,
        promises: Arc<Promises>,
    ) -> Self {
        RelaxedMemory {
            promises: Some(promises),
            ..RelaxedMemory::new(ty, initial, choices)
        }
    }

    fn view(&self, t: ThreadId) -> Clock {
        self.views.get(t.0 as usize).cloned().unwrap_or_default()
    }

    fn set_view(&mut self, t: ThreadId, v: Clock) {
        let i = t.0 as usize;
        if self.views.len() <= i {
            self.views.resize(i + 1, Clock::default());
        }
        self.views[i] = v;
    }

    /// The thread's view joined with the suspension view of `ea`: the hb-predecessors of a
    /// suspension event of `thread` on `ea` (C9(a): suspension events on one location are
    /// hb-ordered as they are tot-ordered).
    fn susp_pred(&self, thread: ThreadId, ea: u64) -> Clock {
        let mut v = self.view(thread);
        if let Some(s) = self.susp_views.get(&ea) {
            v.join(s);
        }
        v
    }

    /// Append the read event of request `r` (`RD_ord data[ea] b* [noTear]`) taking option
    /// `opt`: its bytes, sources and view.
    fn push_read(&mut self, r: &ReadReq, opt: ReadOption, no_tear: bool) {
        let action = TraceAction::Read {
            ord: r.ord,
            ea: r.ea,
            bytes: opt.bytes,
            no_tear,
        };
        self.push_event(
            r.thread,
            opt.view,
            vec![action],
            Some((r, &opt.sources)),
            None,
        );
    }

    /// Append an event of `thread` whose hb-predecessors are `pred` (which includes the
    /// thread's view) to the log: its trace entry, if it reads, the sources of its bytes
    /// (a read with promised bytes becomes pending), and if it writes, its [`Write`].
    /// The thread's view becomes `pred` plus the event; returns that view.
    fn push_event(
        &mut self,
        thread: ThreadId,
        pred: Clock,
        actions: Vec<TraceAction>,
        read: Option<(&ReadReq, &[Source])>,
        write: Option<(Ordering, u64, Vec<u8>, bool)>,
    ) -> Clock {
        let po = pred.get(thread);
        debug_assert_eq!(
            po,
            self.view(thread).get(thread),
            "program order of {thread}"
        );
        let id = self.trace.events.len();
        let sources = read.map_or(&[][..], |(_, s)| s);
        // A promised byte's source is filled in when the promise is kept.
        let reads_from = sources
            .iter()
            .map(|s| match *s {
                Source::Past(w) => self.writes[w].id,
                Source::Future(_) => usize::MAX,
            })
            .collect();
        self.trace.push(Some(thread), actions, reads_from);
        if let Some((req, sources)) = read {
            if sources.iter().any(|s| matches!(s, Source::Future(_))) {
                self.pending.push(PendingRead {
                    event: id,
                    thread,
                    po,
                    req: *req,
                    sources: sources.to_vec(),
                });
            }
        }
        let mut after = pred.clone();
        after.raise(thread, po + 1);
        if let Some((ord, ea, bytes, tearfree)) = write {
            self.writes.push(Write {
                id,
                thread: Some(thread),
                po,
                ord,
                ea,
                content: ContentHash::of(&bytes),
                bytes,
                tearfree,
                pred,
            });
        }
        self.set_view(thread, after.clone());
        after
    }

    /// `hb(W_a, W_b)` between two logged writes (indices into `writes`); the allocation's
    /// writes (no thread) happen after nothing.
    fn hb_ww(&self, a: usize, b: usize) -> bool {
        a != b && self.writes[b].thread.is_some() && self.writes[a].in_view(&self.writes[b].pred)
    }

    /// Whether read `r`, with hb-predecessors `view`, may read byte `k` from write `wi`
    /// (MODEL.md §4 C4–C7; C5 holds by taking the write's byte; C6(1) holds because no
    /// logged write is hb-after a read being executed now).
    fn allowed_source(&self, r: &ReadReq, view: &Clock, k: u64, wi: usize) -> bool {
        let w = &self.writes[wi];
        let sync = r.sync(w);
        let w_hb_r = w.in_view(view);
        // C6(2): a sync pair in reads-from is in hb (the caller joins the source's view
        // into `view` for the synchronising variant).
        if sync && !w_hb_r {
            return false;
        }
        for (j, w2) in self.writes.iter().enumerate() {
            // C6(3): no write of byte k hb-between the source and the read.
            if w2.covers(k) && self.hb_ww(wi, j) && w2.in_view(view) {
                return false;
            }
            if w_hb_r {
                // C7(1): a synchronising read reads the tot-latest same-range SC write.
                if sync && j > wi && r.sync(w2) {
                    return false;
                }
                // C7(2) (†): no same-range SC write hb-after the source (and tot-before
                // the read, as every logged write is).
                if self.hb_ww(wi, j) && r.sync(w2) {
                    return false;
                }
                // C7(3) (‡): no SC write of the source's range tot-after an SC source and
                // hb-before the read.
                if j > wi && w2.in_view(view) && sync_ww(w, w2) {
                    return false;
                }
            }
        }
        true
    }

    /// The index of the latest logged write of every byte of `r` (the sequentially
    /// consistent choice).
    fn latest_sources(&self, r: &ReadReq) -> Vec<usize> {
        (r.ea..r.ea + r.n as u64)
            .map(|k| {
                self.writes
                    .iter()
                    .rposition(|w| w.covers(k))
                    .expect("the init write covers the initial memory, grow covers the rest")
            })
            .collect()
    }

    /// The allowed sources of byte `k` of read `r` with hb-predecessors `view`: executed
    /// writes, latest first, one per (value, C8 identity) (sources that agree on the byte
    /// are interchangeable unless they are same-range tear-free writes of a tear-free read);
    /// then, with promises, every value of the domain at `k` that no executed write offers
    /// outside C8's count, in ascending order.
    fn byte_candidates(&self, r: &ReadReq, view: &Clock, k: u64) -> Vec<Source> {
        let mut cands: Vec<Source> = Vec::new();
        let mut keys: Vec<(u8, Option<usize>)> = Vec::new();
        for wi in (0..self.writes.len()).rev() {
            let w = &self.writes[wi];
            if !w.covers(k) || !self.allowed_source(r, view, k, wi) {
                continue;
            }
            let key = (
                w.byte(k),
                (r.tearfree && r.same(w) && w.tearfree).then_some(wi),
            );
            if !keys.contains(&key) {
                keys.push(key);
                cands.push(Source::Past(wi));
            }
        }
        if let Some(p) = &self.promises {
            for v in p.offered.values_for(r, k) {
                if !keys.contains(&(v, None)) {
                    cands.push(Source::Future(v));
                }
            }
        }
        cands
    }

    /// The byte a source gives to byte `k`.
    fn source_byte(&self, s: Source, k: u64) -> u8 {
        match s {
            Source::Past(w) => self.writes[w].byte(k),
            Source::Future(v) => v,
        }
    }

    /// Every allowed way to perform read `r` by a thread whose hb-predecessors are `base`,
    /// distinct by (bytes, resulting view), the sequentially consistent one first.
    ///
    /// The read's own view is `base`, or, if it synchronises, `base` joined with its
    /// synchronising source's view. Only one source can synchronise: by C7(1) it is the
    /// tot-latest same-range seq-cst write, and by C8 a seq-cst read takes bytes from at
    /// most one same-range tear-free write. So there are at most two variants: `base` with
    /// no synchronising source outside `base`, and `base ∪ view(W_last)` with `W_last`
    /// among the sources.
    fn read_options(&self, r: &ReadReq, base: &Clock) -> Vec<ReadOption> {
        let mut variants: Vec<(Clock, Option<usize>)> = vec![(base.clone(), None)];
        if let Some(last) = self.writes.iter().rposition(|w| r.sync(w)) {
            if !self.writes[last].in_view(base) {
                let mut v = base.clone();
                v.join(&self.writes[last].view_after());
                variants.push((v, Some(last)));
            }
        }
        let mut options = Vec::new();
        for (view, required) in variants {
            let per_byte: Vec<Vec<Source>> = (r.ea..r.ea + r.n as u64)
                .map(|k| self.byte_candidates(r, &view, k))
                .collect();
            if per_byte.iter().any(Vec::is_empty) {
                continue;
            }
            // The product over bytes (odometer), filtered by C8 and, for the
            // synchronising variant, by the presence of its source.
            let mut idx = vec![0usize; r.n];
            loop {
                let sources: Vec<Source> = idx.iter().zip(&per_byte).map(|(&i, c)| c[i]).collect();
                if self.no_tear(r, &sources)
                    && required.is_none_or(|l| sources.contains(&Source::Past(l)))
                {
                    let bytes = sources
                        .iter()
                        .enumerate()
                        .map(|(i, &s)| self.source_byte(s, r.ea + i as u64))
                        .collect();
                    options.push(ReadOption {
                        bytes,
                        sources,
                        view: view.clone(),
                    });
                }
                let mut b = 0;
                while b < r.n {
                    idx[b] += 1;
                    if idx[b] < per_byte[b].len() {
                        break;
                    }
                    idx[b] = 0;
                    b += 1;
                }
                if b == r.n {
                    break;
                }
            }
        }
        let sc: Vec<Source> = self
            .latest_sources(r)
            .into_iter()
            .map(Source::Past)
            .collect();
        let first = options
            .iter()
            .position(|o| o.sources == sc)
            .expect("the sequentially consistent choice is always allowed");
        options[..=first].rotate_right(1);
        // Options without promises, distinct by what the rest of the run sees (bytes and
        // view); then options with promises, unless one without gives the same bytes and
        // view (it needs no fulfilment). Those with promises are kept apart from each
        // other: whether they can be kept depends on their sources.
        let (kept, promised): (Vec<ReadOption>, Vec<ReadOption>) =
            options.into_iter().partition(|o| !o.promises());
        let mut distinct: Vec<ReadOption> = Vec::with_capacity(kept.len() + promised.len());
        for o in kept {
            if !distinct
                .iter()
                .any(|d| d.bytes == o.bytes && d.view == o.view)
            {
                distinct.push(o);
            }
        }
        let without_promises = distinct.len();
        for o in promised {
            if !distinct[..without_promises]
                .iter()
                .any(|d| d.bytes == o.bytes && d.view == o.view)
            {
                distinct.push(o);
            }
        }
        distinct
    }

    /// C8 no-tear: a tear-free read takes bytes from at most one same-range tear-free
    /// write (writes of other ranges and the init write do not count). Only executed
    /// sources are counted here; promised bytes are counted when they are kept.
    fn no_tear(&self, r: &ReadReq, sources: &[Source]) -> bool {
        if !r.tearfree {
            return true;
        }
        let mut first = None;
        for w in sources.iter().filter_map(|s| match *s {
            Source::Past(w) => Some(w),
            Source::Future(_) => None,
        }) {
            if r.same(&self.writes[w]) && self.writes[w].tearfree {
                match first {
                    None => first = Some(w),
                    Some(f) if f != w => return false,
                    Some(_) => {}
                }
            }
        }
        true
    }

    /// Take one of `n >= 1` options through the choice log.
    fn choose(&self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.choices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .choose(n)
    }

    /// Perform the read part of an access: choose among the allowed options.
    ///
    /// A tear-free read makes one choice among [`RelaxedMemory::read_options`]. A read that
    /// is not tear-free (a plain access without `noTear`: 64-bit, float, unaligned, or a
    /// bulk `memory.copy`) is unord, so it neither synchronises nor is constrained by C8:
    /// its bytes are independent, and it makes one choice per byte that has more than one
    /// allowed value (the same runs as one choice over the product, without building the
    /// product, which is exponential in the width).
    fn choose_read(&self, r: &ReadReq, base: &Clock) -> ReadOption {
        if r.tearfree {
            let mut options = self.read_options(r, base);
            let i = self.choose(options.len());
            return options.swap_remove(i);
        }
        let mut sources = Vec::with_capacity(r.n);
        let mut bytes = Vec::with_capacity(r.n);
        for k in r.ea..r.ea + r.n as u64 {
            let cands = self.byte_candidates(r, base, k);
            let s = cands[self.choose(cands.len())];
            sources.push(s);
            bytes.push(self.source_byte(s, k));
        }
        ReadOption {
            bytes,
            sources,
            view: base.clone(),
        }
    }

    /// The reads-from list (trace event per byte) of pending read `p` once its promises
    /// are kept, or `None` if some cannot be. A promised byte `k` with value `v` may come
    /// from a write `W` later in the log covering `k` with `v` there (C5), with `p` not in
    /// `W`'s hb-predecessors (C6(1)) and not `sync(W, p)` (C6(2)). C8: if some promised
    /// byte has only same-range tear-free candidates (of a tear-free read), all such bytes
    /// take one write, the same as any same-range tear-free executed source; every other
    /// promised byte takes a candidate that C8 does not count.
    fn promise_sources(&self, p: &PendingRead) -> Option<Vec<usize>> {
        let r = &p.req;
        let counted = |w: &Write| r.tearfree && r.same(w) && w.tearfree;
        let executed_counted = p.sources.iter().find_map(|s| match *s {
            Source::Past(w) if counted(&self.writes[w]) => Some(w),
            _ => None,
        });
        let mut rf = vec![0; r.n];
        let mut only_counted: Vec<(usize, Vec<usize>)> = Vec::new();
        for (i, s) in p.sources.iter().enumerate() {
            let k = r.ea + i as u64;
            match *s {
                Source::Past(w) => rf[i] = self.writes[w].id,
                Source::Future(v) => {
                    let cands: Vec<usize> = (0..self.writes.len())
                        .filter(|&wi| {
                            let w = &self.writes[wi];
                            w.id > p.event
                                && w.covers(k)
                                && w.byte(k) == v
                                && !w.pred.includes(Some(p.thread), p.po)
                                && !r.sync(w)
                        })
                        .collect();
                    match cands.iter().find(|&&w| !counted(&self.writes[w])) {
                        Some(&w) => rf[i] = self.writes[w].id,
                        None if cands.is_empty() => return None,
                        None => only_counted.push((i, cands)),
                    }
                }
            }
        }
        if let Some((_, first)) = only_counted.first() {
            let &w = first.iter().find(|w| {
                only_counted.iter().all(|(_, c)| c.contains(w))
                    && executed_counted.is_none_or(|e| e == **w)
            })?;
            for (i, _) in &only_counted {
                rf[*i] = self.writes[w].id;
            }
        }
        Some(rf)
    }

    /// A read of the length location by `thread`: `RD_ord len` (a bounds check unord, the
    /// others seq-cst), tear-free (the length is one value, docs/model.md).
    fn length_req(thread: ThreadId, ord: Ordering) -> ReadReq {
        ReadReq {
            thread,
            ord,
            ea: LENGTH_ADDRESS,
            n: LENGTH_WIDTH,
            tearfree: true,
        }
    }

    /// The allowed sources of read `r` of the length location by a thread whose
    /// hb-predecessors are `base`, latest first: each a write of the length (all of them
    /// seq-cst writes of the whole location, so C8 makes one write the source of every
    /// byte) and the read's view (joined with the source's when a seq-cst read
    /// synchronises with it, C10). The rules are those of data reads (`allowed_source`):
    /// a seq-cst read has only the latest write (C7(1)); a bounds check may read an older
    /// one unless a write of the length hb-between hides it (C6(3)). The latest is always
    /// allowed.
    fn length_options(&self, r: &ReadReq, base: &Clock) -> Vec<(usize, Clock)> {
        let mut options = Vec::new();
        for wi in (0..self.writes.len()).rev() {
            let w = &self.writes[wi];
            if w.ea != LENGTH_ADDRESS {
                continue;
            }
            let mut view = base.clone();
            if r.sync(w) {
                view.join(&w.view_after());
            }
            if self.allowed_source(r, &view, LENGTH_ADDRESS, wi) {
                options.push((wi, view));
            }
        }
        options
    }

    /// Append the event of read `r` of the length location taking its value from write
    /// `wi`, with view `view`.
    fn push_length_read(&mut self, r: &ReadReq, wi: usize, view: Clock) {
        let option = ReadOption {
            bytes: self.writes[wi].bytes.clone(),
            sources: vec![Source::Past(wi); LENGTH_WIDTH],
            view,
        };
        self.push_read(r, option, true);
    }

    /// A seq-cst read request for `width` bytes at `ea` (RMW, failed cmpxchg, wait).
    fn sc_read(thread: ThreadId, ea: u64, width: usize) -> ReadReq {
        ReadReq {
            thread,
            ord: Ordering::SeqCst,
            ea,
            n: width,
            tearfree: true,
        }
    }
}

impl RelaxedMemory {
    /// The zeros of a grow to `new` pages: `WR_unord data[l] 0^k` of `thread`, from the
    /// current length `l` (nothing for `k = 0`); the current length becomes `new` pages.
    fn write_zeros(&mut self, thread: ThreadId, new: u64) {
        let ea = self.len;
        let new_len = new << self.ty.page_size_log2;
        if new_len > ea {
            let zeros = vec![0u8; (new_len - ea) as usize];
            self.push_write(thread, Ordering::Unord, ea, zeros, false);
        }
        self.len = new_len;
    }

    /// Appends the event `WR_ord data[ea] b* [noTear]` of `thread` (no bounds check), with
    /// the thread's view as its predecessors.
    fn push_write(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        bytes: Vec<u8>,
        no_tear: bool,
    ) {
        let tearfree = ord == Ordering::SeqCst || (ord == Ordering::Unord && no_tear);
        let action = TraceAction::Write {
            ord,
            ea,
            bytes: bytes.clone(),
            no_tear,
        };
        let pred = self.view(thread);
        self.push_event(
            thread,
            pred,
            vec![action],
            None,
            Some((ord, ea, bytes, tearfree)),
        );
    }
}

/// The end address of an access of `n` bytes at `ea`; `u64::MAX` when it overflows (then
/// out of bounds of every memory).
fn end(ea: u64, n: usize) -> u64 {
    ea.saturating_add(n as u64)
}

impl SharedMemory for RelaxedMemory {
    fn box_clone(&self) -> Box<dyn SharedMemory> {
        Box::new(self.clone())
    }

    /// Everything that determines the future, up to renaming events: the length, every
    /// write (thread, ordering, range, bytes, tear-freedom, hb-predecessors) in log order,
    /// the threads' views, the wait queues and the suspension views.
    ///
    /// Clocks are hashed as the sets of *writes* they include (per thread, how many of its
    /// writes), not as event counts: every rule asks only whether a write happens before
    /// something, so events that write nothing (reads, fences, notifies, wakes) matter only
    /// through the views they leave. A spin loop that only reads or notifies therefore
    /// returns to the same state, and an explorer's state caching ends it, as with the
    /// sequentially consistent backend. (A loop that writes on every iteration grows the
    /// log for ever; the explorer's step bound ends it.) Pending reads (promises) count
    /// like writes in the clocks, since whether a later write is hb-after them decides
    /// whether their promises can be kept, and are hashed with their sources. The trace
    /// and the choice log are left out: they do not determine the future.
    /// The bytes of every write of the log, in log order: `hash_state` feeds each write's
    /// incremental hash instead.
    fn hash_contents(&self, mut h: &mut dyn Hasher) {
        for w in &self.writes {
            w.bytes.hash(&mut h);
        }
    }

    fn hash_state(&self, mut h: &mut dyn Hasher) {
        // Per thread, the program-order indices of its writes and pending reads, ascending.
        let mut write_po: BTreeMap<ThreadId, Vec<u32>> = BTreeMap::new();
        for w in &self.writes {
            if let Some(t) = w.thread {
                write_po.entry(t).or_default().push(w.po);
            }
        }
        for p in &self.pending {
            write_po.entry(p.thread).or_default().push(p.po);
        }
        for pos in write_po.values_mut() {
            pos.sort_unstable();
            pos.dedup();
        }
        let canon = |c: &Clock| -> Vec<(u32, usize)> {
            c.0.iter()
                .enumerate()
                .filter_map(|(t, &n)| {
                    let k = write_po
                        .get(&ThreadId(t as u32))
                        .map_or(0, |pos| pos.partition_point(|&p| p < n));
                    (k > 0).then_some((t as u32, k))
                })
                .collect()
        };
        self.len.hash(&mut h);
        self.writes.len().hash(&mut h);
        for w in &self.writes {
            let (len, content) = (w.bytes.len(), w.content);
            (
                w.thread,
                w.ord,
                w.ea,
                len,
                content,
                w.tearfree,
                canon(&w.pred),
            )
                .hash(&mut h);
        }
        for (t, v) in self.views.iter().enumerate() {
            let c = canon(v);
            if !c.is_empty() {
                (t, c).hash(&mut h);
            }
        }
        self.queues.hash_state(&mut h);
        for (ea, v) in &self.susp_views {
            let c = canon(v);
            if !c.is_empty() {
                (ea, c).hash(&mut h);
            }
        }
        self.pending.len().hash(&mut h);
        for p in &self.pending {
            let rank = write_po[&p.thread].partition_point(|&q| q < p.po);
            (p.thread, rank, p.req, &p.sources).hash(&mut h);
        }
    }

    /// Keep the promises of every pending read (see the module documentation): for each
    /// promised byte, find a write later in the log that writes that value there, is not
    /// hb-after the read and does not synchronise with it, such that C8 holds for the read.
    /// On success the trace's reads-from lists are completed; `false` if some promise
    /// cannot be kept (the run is not an execution of the model and has no outcome).
    ///
    /// With [`Promises`], a run whose promises are kept is an execution of the model, and
    /// the values its writes wrote are added to the promises' written set.
    fn fulfil_promises(&mut self) -> bool {
        let pending = std::mem::take(&mut self.pending);
        for p in &pending {
            match self.promise_sources(p) {
                Some(rf) => self.trace.events[p.event].reads_from = rf,
                None => return false,
            }
        }
        if let Some(p) = &self.promises {
            let mut written = p.written.lock().unwrap_or_else(|e| e.into_inner());
            for w in &self.writes[1..] {
                written.insert(w);
            }
        }
        true
    }

    /// The trace is always recorded (it is the log); this only makes
    /// [`SharedMemory::trace`] return it.
    fn enable_trace(&mut self) {
        self.tracing = true;
    }

    fn trace(&self) -> Option<&Trace> {
        self.tracing.then_some(&self.trace)
    }

    /// `FENCE`: recorded, in program order; no other effect (relaxed.rst gives it no
    /// meaning, MODEL.md §7.3 erratum 9).
    fn fence(&mut self, thread: ThreadId) {
        let pred = self.view(thread);
        self.push_event(thread, pred, vec![TraceAction::Fence], None, None);
    }

    fn ty(&self) -> MemType {
        MemType {
            limits: Limits {
                min: self.len >> self.ty.page_size_log2,
                max: self.ty.limits.max,
            },
            ..self.ty
        }
    }

    fn len_bytes(&self, _thread: ThreadId) -> u64 {
        self.len
    }

    /// Adds the allocation's `WR_seqcst len n` to the log (event 1); see the module
    /// documentation. Called before any other event.
    fn model_length(&mut self, grow_failure: Option<Arc<Mutex<ChoiceLog>>>) {
        debug_assert_eq!(self.trace.events.len(), 1, "model_length before any event");
        if self.length.is_some() {
            return;
        }
        let bytes = length_bytes(self.len);
        let id = self.trace.events.len();
        self.trace.push(
            None,
            vec![TraceAction::Write {
                ord: Ordering::SeqCst,
                ea: LENGTH_ADDRESS,
                bytes: bytes.clone(),
                no_tear: true,
            }],
            Vec::new(),
        );
        self.writes.push(Write {
            id,
            thread: None,
            po: 0,
            ord: Ordering::SeqCst,
            ea: LENGTH_ADDRESS,
            content: ContentHash::of(&bytes),
            bytes,
            tearfree: true,
            pred: Clock::default(),
        });
        self.length = Some(grow_failure);
    }

    /// `RD_unord len n`, a choice among the allowed writes of the length told apart by
    /// their verdict (the latest's first), then the trap if `end > n`.
    fn check_bounds(&mut self, thread: ThreadId, end: u64) -> Result<(), Trap> {
        let fits = |len: u64| {
            if end <= len {
                Ok(())
            } else {
                Err(Trap::OutOfBoundsMemoryAccess)
            }
        };
        if self.length.is_none() {
            return fits(self.len);
        }
        let r = Self::length_req(thread, Ordering::Unord);
        let options = self.length_options(&r, &self.view(thread));
        let verdict = |o: &(usize, Clock)| end <= le_to_u64(&self.writes[o.0].bytes);
        let mut distinct = vec![&options[0]];
        if let Some(other) = options.iter().find(|o| verdict(o) != verdict(&options[0])) {
            distinct.push(other);
        }
        let (wi, view) = distinct[self.choose(distinct.len())].clone();
        let len = le_to_u64(&self.writes[wi].bytes);
        self.push_length_read(&r, wi, view);
        fits(len)
    }

    /// `RD_seqcst len n`: the latest write of the length (C7(1)), synchronising with it.
    fn size(&mut self, thread: ThreadId) -> u64 {
        if self.length.is_none() {
            return self.len;
        }
        let r = Self::length_req(thread, Ordering::SeqCst);
        let mut options = self.length_options(&r, &self.view(thread));
        let (wi, view) = options.swap_remove(self.choose(options.len()));
        let len = le_to_u64(&self.writes[wi].bytes);
        self.push_length_read(&r, wi, view);
        len
    }

    /// `RD_ord data[ea] b* [noTear]`: `b*` is one of the allowed combinations of sources.
    fn read(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        out: &mut [u8],
        no_tear: bool,
    ) -> Result<(), Trap> {
        self.check_bounds(thread, end(ea, out.len()))?;
        let r = ReadReq {
            thread,
            ord,
            ea,
            n: out.len(),
            tearfree: ord == Ordering::SeqCst || (ord == Ordering::Unord && no_tear),
        };
        let opt = self.choose_read(&r, &self.view(thread));
        out.copy_from_slice(&opt.bytes);
        self.push_read(&r, opt, no_tear);
        Ok(())
    }

    /// `WR_ord data[ea] b* [noTear]`: appended with the thread's view as predecessors.
    fn write(
        &mut self,
        thread: ThreadId,
        ord: Ordering,
        ea: u64,
        bytes: &[u8],
        no_tear: bool,
    ) -> Result<(), Trap> {
        self.check_bounds(thread, end(ea, bytes.len()))?;
        self.push_write(thread, ord, ea, bytes.to_vec(), no_tear);
        Ok(())
    }

    /// `RMW data[ea] b_r* b_w*`: the read part is chosen like a seq-cst read of the same
    /// range; the write is appended in the same event. `modify` returning `None` makes the
    /// event a seq-cst read (failed cmpxchg).
    fn rmw(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        modify: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, Trap> {
        self.check_bounds(thread, end(ea, width))?;
        let r = Self::sc_read(thread, ea, width);
        let opt = self.choose_read(&r, &self.view(thread));
        let old = le_to_u64(&opt.bytes);
        match modify(old) {
            Some(new) => {
                let written = new.to_le_bytes()[..width].to_vec();
                let action = TraceAction::Rmw {
                    ea,
                    read: opt.bytes,
                    written: written.clone(),
                };
                self.push_event(
                    thread,
                    opt.view,
                    vec![action],
                    Some((&r, &opt.sources)),
                    Some((Ordering::SeqCst, ea, written, true)),
                );
            }
            None => self.push_read(&r, opt, false),
        }
        Ok(old)
    }

    /// `memory.grow` (instructions.rst *memory.grow*): the new pages' zeros are one unord
    /// write of `thread` (`WR_unord data[l] 0^k`). With the length location modelled, the
    /// grow first reads the length as a seq-cst read does (the latest write, synchronising
    /// with it); it fails beyond the maximum, or by choice (option 1) when
    /// [`SharedMemory::model_length`] allows it, as an `RD_seqcst len l`; otherwise the
    /// zeros are followed by `RMW len l (l+k)`, a seq-cst write of the length. Without it,
    /// the new length is visible to every thread at once and a grow fails only beyond the
    /// maximum, as [`crate::memory::ScMemory`]'s.
    fn grow(&mut self, thread: ThreadId, delta: u64) -> Option<u64> {
        let Some(grow_failure) = self.length.clone() else {
            let old = self.len >> self.ty.page_size_log2;
            let new = grown_pages(&self.ty, old, delta)?;
            self.write_zeros(thread, new);
            return Some(old);
        };
        let r = Self::length_req(thread, Ordering::SeqCst);
        let mut options = self.length_options(&r, &self.view(thread));
        let (wi, view) = options.swap_remove(self.choose(options.len()));
        let old_len = le_to_u64(&self.writes[wi].bytes);
        let old = old_len >> self.ty.page_size_log2;
        let fails_by_choice = |log: &Arc<Mutex<ChoiceLog>>| {
            log.lock().unwrap_or_else(|e| e.into_inner()).choose(2) == 1
        };
        let new = grown_pages(&self.ty, old, delta)
            .filter(|_| !grow_failure.as_ref().is_some_and(fails_by_choice));
        let Some(new) = new else {
            self.push_length_read(&r, wi, view);
            return None;
        };
        debug_assert_eq!(
            old_len, self.len,
            "a seq-cst read of the length reads the latest"
        );
        self.write_zeros(thread, new);
        let written = length_bytes(self.len);
        let action = TraceAction::Rmw {
            ea: LENGTH_ADDRESS,
            read: self.writes[wi].bytes.clone(),
            written: written.clone(),
        };
        // The RMW is po-after the zeros, and reads from (synchronises with) `wi`.
        let mut pred = self.view(thread);
        pred.join(&view);
        let sources = vec![Source::Past(wi); LENGTH_WIDTH];
        self.push_event(
            thread,
            pred,
            vec![action],
            Some((&r, &sources)),
            Some((Ordering::SeqCst, LENGTH_ADDRESS, written, true)),
        );
        Some(old)
    }

    /// The read-and-enqueue step of `memory.atomic.wait`: one event `RD_seqcst` (+ `WAIT`
    /// if the value read equals `expected`). A suspending wait is a suspension event, so
    /// its read already happens after the previous suspension events on `ea` (C9(a));
    /// a wait that reads another value is a plain seq-cst read.
    fn wait(
        &mut self,
        thread: ThreadId,
        ea: u64,
        width: usize,
        expected: u64,
        timeout: i64,
    ) -> Result<WaitOutcome, Trap> {
        self.check_bounds(thread, end(ea, width))?;
        let r = Self::sc_read(thread, ea, width);
        let suspending: Vec<ReadOption> = self
            .read_options(&r, &self.susp_pred(thread, ea))
            .into_iter()
            .filter(|o| le_to_u64(&o.bytes) == expected)
            .collect();
        let returning: Vec<ReadOption> = self
            .read_options(&r, &self.view(thread))
            .into_iter()
            .filter(|o| le_to_u64(&o.bytes) != expected)
            .collect();
        // Option 0 stays the sequentially consistent read.
        let sc_value = le_to_u64(
            &self
                .latest_sources(&r)
                .iter()
                .enumerate()
                .map(|(i, &w)| self.writes[w].byte(ea + i as u64))
                .collect::<Vec<_>>(),
        );
        let sc_suspends = sc_value == expected;
        let mut options: Vec<(bool, ReadOption)> = Vec::new();
        let tag = |s: bool| move |o: ReadOption| (s, o);
        if sc_suspends {
            options.extend(suspending.into_iter().map(tag(true)));
            options.extend(returning.into_iter().map(tag(false)));
        } else {
            options.extend(returning.into_iter().map(tag(false)));
            options.extend(suspending.into_iter().map(tag(true)));
        }
        let i = self.choose(options.len());
        let (suspends, opt) = options.swap_remove(i);
        let mut actions = vec![TraceAction::Read {
            ord: Ordering::SeqCst,
            ea,
            bytes: opt.bytes,
            no_tear: false,
        }];
        if suspends {
            actions.push(TraceAction::Wait { ea, timeout });
        }
        let after = self.push_event(thread, opt.view, actions, Some((&r, &opt.sources)), None);
        Ok(if suspends {
            self.susp_views.insert(ea, after);
            self.queues.enqueue(ea, thread);
            WaitOutcome::Suspended
        } else {
            WaitOutcome::NotEqual
        })
    }

    /// `NOTIFY data[ea] j k`, then the `j` WOKEN events of the `min(k, waiters)` oldest
    /// waiters in the same step, each hb-after the previous suspension events on `ea` and
    /// so after the notifier's earlier events (C9).
    fn notify(&mut self, thread: ThreadId, ea: u64, count: u32) -> Result<Notified, Trap> {
        self.check_bounds(thread, end(ea, 4))?;
        let woken = self.queues.dequeue(ea, count);
        let action = TraceAction::Notify {
            ea,
            woken: woken.len() as u32,
            max: count,
        };
        let pred = self.susp_pred(thread, ea);
        let after = self.push_event(thread, pred, vec![action], None, None);
        self.susp_views.insert(ea, after);
        for &w in &woken {
            let pred = self.susp_pred(w, ea);
            let after = self.push_event(w, pred, vec![TraceAction::Woken { ea }], None, None);
            self.susp_views.insert(ea, after);
        }
        Ok(Notified::resume(woken))
    }

    /// `TIMEOUT data[ea]`: `thread` leaves the queue of `ea` (nothing happens if it is not
    /// waiting there).
    fn cancel_wait(&mut self, thread: ThreadId, ea: u64) {
        if !self.queues.remove(ea, thread) {
            return;
        }
        let pred = self.susp_pred(thread, ea);
        let after = self.push_event(thread, pred, vec![TraceAction::Timeout { ea }], None, None);
        self.susp_views.insert(ea, after);
    }

    /// Everything `from` did so far happens before everything `to` does from now on.
    fn join_view(&mut self, to: ThreadId, from: ThreadId) {
        let f = self.view(from);
        let mut v = self.view(to);
        v.join(&f);
        self.set_view(to, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::PAGE_SIZE;
    use std::collections::hash_map::DefaultHasher;

    const T0: ThreadId = ThreadId(0);
    const T1: ThreadId = ThreadId(1);

    /// A fresh, empty choice log.
    fn choice_log() -> Arc<Mutex<ChoiceLog>> {
        Arc::new(Mutex::new(ChoiceLog::default()))
    }

    fn memory(choices: &Arc<Mutex<ChoiceLog>>) -> RelaxedMemory {
        let ty = MemType::new(
            Limits {
                min: 1,
                max: Some(2),
            },
            true,
        );
        RelaxedMemory::new(ty, vec![0; PAGE_SIZE as usize], choices.clone())
    }

    fn hash(m: &RelaxedMemory) -> u64 {
        let mut h = DefaultHasher::new();
        m.hash_state(&mut h);
        h.finish()
    }

    /// All values a read of `n` bytes at `ea` by `t` can return, option 0 first.
    fn values(m: &RelaxedMemory, t: ThreadId, ord: Ordering, ea: u64, n: usize) -> Vec<u64> {
        let mut out = Vec::new();
        let mut prefix = Some(Vec::new());
        while let Some(p) = prefix {
            *m.choices.lock().unwrap() = ChoiceLog::replaying(p);
            let mut c = m.clone();
            let mut b = vec![0; n];
            c.read(t, ord, ea, &mut b, ord == Ordering::SeqCst || n <= 4)
                .unwrap();
            out.push(le_to_u64(&b));
            prefix = m.choices.lock().unwrap().next_prefix();
        }
        out
    }

    /// A value domain in which thread `t` wrote `value` (4 bytes at 0, plain or seq-cst),
    /// collected as an exploration collects it: by a run that kept its promises.
    fn domain_written_by(t: ThreadId, ord: Ordering, value: u8) -> ValueDomain {
        let choices = choice_log();
        let promises = Arc::new(Promises::new(ValueDomain::default()));
        let mut m = with_promises(&choices, &promises);
        m.write(t, ord, 0, &[value, 0, 0, 0], true).unwrap();
        assert!(m.fulfil_promises());
        promises.written()
    }

    fn with_promises(choices: &Arc<Mutex<ChoiceLog>>, promises: &Arc<Promises>) -> RelaxedMemory {
        let m = memory(choices);
        RelaxedMemory::with_promises(
            m.ty,
            m.writes[0].bytes.clone(),
            choices.clone(),
            promises.clone(),
        )
    }

    /// Read 4 bytes at 0 by `t`, taking option `option`.
    fn read_option(m: &mut RelaxedMemory, t: ThreadId, ord: Ordering, option: u32) -> u64 {
        *m.choices.lock().unwrap() = ChoiceLog::replaying(vec![option]);
        let mut b = [0; 4];
        m.read(t, ord, 0, &mut b, true).unwrap();
        le_to_u64(&b)
    }

    #[test]
    fn a_promised_read_is_kept_by_a_later_write_of_another_thread() {
        let domain = domain_written_by(T1, Ordering::Unord, 1);
        assert_eq!(domain.len(), 4, "one value at each of 4 bytes");
        let choices = choice_log();
        let promises = Arc::new(Promises::new(domain));
        let m = with_promises(&choices, &promises);
        // The init value, then the promised 1 (load buffering's read).
        assert_eq!(values(&m, T0, Ordering::Unord, 0, 4), vec![0, 1]);
        // T0 reads the promised 1 (traced), then T1 writes `byte` at 0, after joining T0's
        // view if `hb_after`.
        let read_then_write = |byte: u8, hb_after: bool| {
            let mut r = m.clone();
            r.enable_trace();
            assert_eq!(read_option(&mut r, T0, Ordering::Unord, 1), 1);
            if hb_after {
                r.join_view(T1, T0);
            }
            r.write(T1, Ordering::Unord, 0, &[byte, 0, 0, 0], true)
                .unwrap();
            r
        };
        let mut kept = read_then_write(1, false);
        assert!(kept.fulfil_promises());
        // The read (event 1) reads the promised byte from the write (event 2), the others
        // (0s, which the init write offers, so no promise is made for them) from event 0.
        assert_eq!(kept.trace().unwrap().events[1].reads_from, vec![2, 0, 0, 0]);
        // Nobody writes 1: the promise is broken.
        assert!(!read_then_write(2, false).fulfil_promises());
        // The write happens after the read (T1 joined T0's view): C6(1) breaks it.
        assert!(!read_then_write(1, true).fulfil_promises());
        // The pending read is part of the state.
        let mut pending = m.clone();
        read_option(&mut pending, T0, Ordering::Unord, 1);
        let mut seen = m.clone();
        read_option(&mut seen, T0, Ordering::Unord, 0);
        assert_ne!(hash(&pending), hash(&seen));
    }

    #[test]
    fn no_promise_to_the_writer_s_own_thread_or_to_a_synchronising_read() {
        let choices = choice_log();
        let plain = Arc::new(Promises::new(domain_written_by(T1, Ordering::Unord, 1)));
        // T1's own read cannot take a value T1 writes later (po ⊆ hb).
        assert_eq!(
            values(&with_promises(&choices, &plain), T1, Ordering::Unord, 0, 4),
            vec![0]
        );
        // A seq-cst read of the range a seq-cst write writes would synchronise with it, so
        // cannot read it before it happens (C6(2)); a plain read can.
        let sc = Arc::new(Promises::new(domain_written_by(T1, Ordering::SeqCst, 1)));
        let m = with_promises(&choices, &sc);
        assert_eq!(values(&m, T0, Ordering::SeqCst, 0, 4), vec![0]);
        assert_eq!(values(&m, T0, Ordering::Unord, 0, 4), vec![0, 1]);
    }

    #[test]
    fn option_zero_is_the_latest_write() {
        let mut m = memory(&choice_log());
        m.write(T0, Ordering::Unord, 0, &[1, 0, 0, 0], true)
            .unwrap();
        // A racing plain read: the write or the init value, the write first.
        assert_eq!(values(&m, T1, Ordering::Unord, 0, 4), vec![1, 0]);
        // The writer itself cannot read the init value (C6(3)).
        assert_eq!(values(&m, T0, Ordering::Unord, 0, 4), vec![1]);
        // A seq-cst read of a plain write: no synchronisation, both values.
        assert_eq!(values(&m, T1, Ordering::SeqCst, 0, 4), vec![1, 0]);
        // After a seq-cst write of the same range, a seq-cst read can no longer read init
        // (†: the write is hb-after init), but still the racing plain write (not hb-before
        // the read, so C7 does not apply).
        m.write(T0, Ordering::SeqCst, 0, &[2, 0, 0, 0], true)
            .unwrap();
        assert_eq!(values(&m, T1, Ordering::SeqCst, 0, 4), vec![2, 1]);
        // A plain aligned read: either write but not a mix of them (C8), or init.
        let v = values(&m, T1, Ordering::Unord, 0, 4);
        assert_eq!((v[0], v.len()), (2, 3));
        assert!(v.contains(&1) && v.contains(&0));
    }

    #[test]
    fn a_synchronising_read_joins_the_writer_s_view() {
        let mut m = memory(&choice_log());
        m.write(T0, Ordering::Unord, 0, &[42, 0, 0, 0], true)
            .unwrap();
        m.write(T0, Ordering::SeqCst, 4, &[1, 0, 0, 0], true)
            .unwrap();
        let mut flag = [0u8; 4];
        m.read(T1, Ordering::SeqCst, 4, &mut flag, true).unwrap();
        assert_eq!(flag, [1, 0, 0, 0]);
        assert_eq!(values(&m, T1, Ordering::Unord, 0, 4), vec![42]);
    }

    #[test]
    fn hash_covers_the_future_and_clone_is_independent() {
        let mut a = memory(&choice_log());
        let b = a.clone();
        assert_eq!(hash(&a), hash(&b));
        a.write(T0, Ordering::Unord, 0, &[1], false).unwrap();
        assert_ne!(hash(&a), hash(&b));
        let mut c = b.clone();
        c.write(T0, Ordering::Unord, 0, &[1], false).unwrap();
        assert_eq!(hash(&a), hash(&c));
        // The same write by another thread, or with another view, is another state.
        let mut d = b.clone();
        d.write(T1, Ordering::Unord, 0, &[1], false).unwrap();
        assert_ne!(hash(&a), hash(&d));
        let mut e = b.box_clone();
        e.join_view(T0, T1);
        assert_eq!(hash(&b), {
            let mut h = DefaultHasher::new();
            e.hash_state(&mut h);
            h.finish()
        });
        // Events that write nothing do not change the state (a notify loop repeats)...
        let before = hash(&a);
        a.fence(T0);
        assert_eq!(a.notify(T1, 0, 1).unwrap().resume, vec![]);
        let mut x = [0u8];
        a.read(T0, Ordering::Unord, 0, &mut x, true).unwrap();
        assert_eq!(hash(&a), before);
        // ... but a view that comes to include a write does.
        a.join_view(T1, T0);
        assert_ne!(hash(&a), before);
    }

    #[test]
    fn wait_notify_and_timeout() {
        let mut m = memory(&choice_log());
        m.enable_trace();
        m.write(T1, Ordering::Unord, 8, &[5], false).unwrap();
        assert_eq!(m.wait(T0, 0, 4, 1, -1).unwrap(), WaitOutcome::NotEqual);
        assert_eq!(m.wait(T0, 0, 4, 0, -1).unwrap(), WaitOutcome::Suspended);
        assert_eq!(m.notify(T1, 0, 1).unwrap().resume, vec![T0]);
        // The woken thread sees what the notifier did before notifying.
        assert_eq!(values(&m, T0, Ordering::Unord, 8, 1), vec![5]);
        assert_eq!(m.wait(T0, 0, 4, 0, 10).unwrap(), WaitOutcome::Suspended);
        m.cancel_wait(T0, 0);
        assert_eq!(m.notify(T1, 0, 1).unwrap().resume, vec![]);
        let kinds: Vec<_> = m.trace().unwrap().events[1..]
            .iter()
            .map(|e| e.actions.last().unwrap().clone())
            .collect();
        assert!(matches!(kinds[3], TraceAction::Notify { woken: 1, .. }));
        assert!(matches!(kinds[4], TraceAction::Woken { .. }));
        assert!(matches!(kinds[6], TraceAction::Timeout { .. }));
    }

    #[test]
    fn grow_writes_zeros_and_respects_the_maximum() {
        let mut m = memory(&choice_log());
        let mut b = [9u8; 4];
        assert_eq!(
            m.read(T0, Ordering::Unord, PAGE_SIZE, &mut b, true),
            Err(Trap::OutOfBoundsMemoryAccess)
        );
        assert_eq!(m.grow(T0, 1), Some(1));
        assert_eq!(m.grow(T0, 1), None);
        assert_eq!(m.len_bytes(T0), 2 * PAGE_SIZE);
        assert_eq!(m.ty().limits.min, 2);
        assert_eq!(values(&m, T1, Ordering::Unord, PAGE_SIZE, 4), vec![0]);
    }

    /// Whether a 4-byte plain read of `ea` by `t` is in bounds, for every choice of its
    /// bounds check, option 0 first.
    fn verdicts(m: &RelaxedMemory, t: ThreadId, ea: u64) -> Vec<bool> {
        let mut out = Vec::new();
        let mut prefix = Some(Vec::new());
        while let Some(p) = prefix {
            *m.choices.lock().unwrap() = ChoiceLog::replaying(p);
            let mut c = m.clone();
            out.push(c.read(t, Ordering::Unord, ea, &mut [0; 4], true).is_ok());
            prefix = m.choices.lock().unwrap().next_prefix();
        }
        out
    }

    /// The length location (relaxed.rst *Consistency*, note): after T0's grow, a bounds
    /// check of T1, which has not synchronised with it, may read the allocation's length
    /// (and trap) or the grow's, the latest first; T0, po-after its grow, and T1 once its
    /// `memory.size` (a seq-cst read) has read the grown length, only the grow's. The size
    /// read also publishes T0's earlier writes.
    #[test]
    fn a_bounds_check_reads_any_allowed_length_and_size_synchronises() {
        let mut m = memory(&choice_log());
        m.model_length(None);
        m.enable_trace();
        m.write(T0, Ordering::Unord, 0, &[42, 0, 0, 0], true)
            .unwrap();
        assert_eq!(m.grow(T0, 1), Some(1));
        assert_eq!(verdicts(&m, T1, PAGE_SIZE), vec![true, false]);
        assert_eq!(verdicts(&m, T0, PAGE_SIZE), vec![true]);
        assert_eq!(values(&m, T1, Ordering::Unord, 0, 4), vec![42, 0]);
        let mut synced = m.clone();
        assert_eq!(synced.size(T1), 2 * PAGE_SIZE);
        assert_eq!(verdicts(&synced, T1, PAGE_SIZE), vec![true]);
        assert_eq!(values(&synced, T1, Ordering::Unord, 0, 4), vec![42]);
        // The length's events: the allocation's write (event 1), T0's bounds check of its
        // store, the grow's zeros and RMW, T1's size read (from the RMW).
        let trace = synced.trace().unwrap();
        assert!(matches!(
            &trace.events[1].actions[0],
            TraceAction::Write {
                ord: Ordering::SeqCst,
                ea: LENGTH_ADDRESS,
                ..
            }
        ));
        let last = trace.events.last().unwrap();
        assert!(matches!(
            &last.actions[0],
            TraceAction::Read {
                ord: Ordering::SeqCst,
                ea: LENGTH_ADDRESS,
                ..
            }
        ));
        assert!(matches!(
            &trace.events[last.reads_from[0]].actions[0],
            TraceAction::Rmw {
                ea: LENGTH_ADDRESS,
                ..
            }
        ));
    }

    /// With `model_length(Some(log))` a grow that would fit may fail by choice (option 1),
    /// reading the length and leaving it; beyond the maximum it fails without a choice.
    #[test]
    fn a_grow_may_fail_by_choice() {
        let choices = choice_log();
        let mut m = memory(&choices);
        m.model_length(Some(choices.clone()));
        let mut results = Vec::new();
        let mut prefix = Some(Vec::new());
        while let Some(p) = prefix {
            *choices.lock().unwrap() = ChoiceLog::replaying(p);
            let mut c = m.clone();
            results.push((c.grow(T0, 1), c.len_bytes(T0) / PAGE_SIZE));
            prefix = choices.lock().unwrap().next_prefix();
        }
        assert_eq!(results, vec![(Some(1), 2), (None, 1)]);
        *choices.lock().unwrap() = ChoiceLog::default();
        assert_eq!(m.grow(T0, 2), None);
        assert_eq!(choices.lock().unwrap().taken().len(), 0);
    }
}
