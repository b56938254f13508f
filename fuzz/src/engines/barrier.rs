//! Where the threads of an in-process harness meet: the one home of the barrier of the
//! wasmtime harness ([`super::wasmtime`]) and of the heddle-native harness
//! ([`super::native`]). Threads spin, then sleep ([`Parking`]); a barrier can be aborted,
//! so that a thread that fails before it arrives (or before it spawns a thread that would
//! arrive) does not leave the others waiting forever.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Where threads that waited too long to keep spinning sleep until something changes. Every
/// change a waiter may be waiting for (a barrier released, a spawn or done flag set, an
/// abort) calls [`Parking::wake`].
pub(crate) struct Parking {
    mutex: Mutex<()>,
    changed: Condvar,
    sleepers: AtomicUsize,
    /// Spin rounds before sleeping: many when every worker has a core, few otherwise.
    spins: u32,
}

impl Parking {
    pub(crate) fn new(workers: usize) -> Parking {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Parking {
            mutex: Mutex::new(()),
            changed: Condvar::new(),
            sleepers: AtomicUsize::new(0),
            spins: if workers <= cores { 50_000 } else { 500 },
        }
    }

    /// Spins, then sleeps, until `ready()`. A sleeper re-checks at least every millisecond.
    pub(crate) fn wait_until(&self, ready: impl Fn() -> bool) {
        for _ in 0..self.spins {
            if ready() {
                return;
            }
            std::hint::spin_loop();
        }
        let mut guard = self.mutex.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, SeqCst);
        while !ready() {
            guard = self
                .changed
                .wait_timeout(guard, Duration::from_millis(1))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        self.sleepers.fetch_sub(1, SeqCst);
    }

    /// Wakes every sleeper (call after the change, which must be a `SeqCst` store).
    pub(crate) fn wake(&self) {
        if self.sleepers.load(SeqCst) > 0 {
            let _guard = self.mutex.lock().unwrap_or_else(|e| e.into_inner());
            self.changed.notify_all();
        }
    }
}

/// A generation barrier; the last thread to arrive runs `last` before releasing the others.
pub(crate) struct Barrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicU64,
}

impl Barrier {
    pub(crate) fn new(n: usize) -> Barrier {
        Barrier {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn arrive(&self, parking: &Parking, abort: &AtomicBool, last: impl FnOnce()) {
        let g = self.generation.load(SeqCst);
        if self.count.fetch_add(1, SeqCst) + 1 == self.n {
            last();
            self.count.store(0, SeqCst);
            self.generation.store(g + 1, SeqCst);
            parking.wake();
        } else {
            parking.wait_until(|| self.generation.load(SeqCst) != g || abort.load(SeqCst));
        }
    }
}

/// A one-use barrier for `n` threads with its own [`Parking`] and abort flag: the start
/// barrier of the heddle-native harness.
pub(crate) struct AbortableBarrier {
    barrier: Barrier,
    parking: Parking,
    aborted: AtomicBool,
}

impl AbortableBarrier {
    pub(crate) fn new(n: usize) -> AbortableBarrier {
        AbortableBarrier {
            barrier: Barrier::new(n),
            parking: Parking::new(n),
            aborted: AtomicBool::new(false),
        }
    }

    /// Wait until all `n` threads have arrived (`true`) or the barrier is aborted
    /// (`false`, at once if it already was).
    pub(crate) fn wait(&self) -> bool {
        if !self.is_aborted() {
            self.barrier.arrive(&self.parking, &self.aborted, || {});
        }
        !self.is_aborted()
    }

    /// Release every thread waiting now or later, with `wait` returning `false`.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, SeqCst);
        self.parking.wake();
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::AbortableBarrier;

    #[test]
    fn all_threads_pass_together() {
        let b = AbortableBarrier::new(3);
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..3).map(|_| s.spawn(|| b.wait())).collect();
            assert!(hs.into_iter().all(|h| h.join().unwrap()));
        });
    }

    /// One of two threads never arrives (its spawner failed): aborting releases the other.
    #[test]
    fn abort_releases_a_waiter() {
        let b = AbortableBarrier::new(2);
        std::thread::scope(|s| {
            let h = s.spawn(|| b.wait());
            std::thread::sleep(std::time::Duration::from_millis(20));
            b.abort();
            assert!(!h.join().unwrap());
        });
        assert!(!b.wait(), "an aborted barrier stays open");
    }

    /// The heddle-native harness: `main` fails (an invoke of a missing export) after
    /// spawning T0 and before spawning T1, which would meet T0 at the start barrier. The
    /// run must end with that failure, not leave T0 waiting forever inside the scope.
    #[test]
    fn native_harness_does_not_hang_when_main_fails_before_a_spawn() {
        use crate::engine::{Engine, RunOptions};
        use crate::litmus::{LitmusTest, Step};
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../model/tests/litmus/SB_sc.wast"
        ))
        .expect("catalogue file");
        let mut test = LitmusTest::from_wast("SB_sc", &source).expect("parses");
        let main = &mut test.threads[0].steps;
        let first_spawn = main
            .iter()
            .position(|s| matches!(s, Step::Spawn(_)))
            .expect("main spawns");
        assert!(
            matches!(main.get(first_spawn + 1), Some(Step::Spawn(_))),
            "{main:?}"
        );
        main.insert(
            first_spawn + 1,
            Step::Invoke {
                instance: 99,
                export: "missing".into(),
                args: Vec::new(),
                results: Vec::new(),
            },
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let opts = RunOptions {
                iterations: 1,
                ..RunOptions::default()
            };
            let _ = tx.send(crate::engines::native::NativeEngine::new().run(&test, &opts));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the harness hung");
        assert!(r.is_err(), "{r:?}");
    }
}
