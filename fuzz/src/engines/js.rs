//! node (V8) and bun (JavaScriptCore) as engines: one generated `worker_threads` script
//! (the harness core `fuzz/js/core.js` and the shim `fuzz/js/node.js`, both built into the
//! binary) runs a batch of tests in one process and prints one result object per test and
//! line on stdout (docs/xcheck.md, "The JavaScript harness").
//!
//! Also the pieces the browser adapter shares: the harness sources, parsing a harness result
//! into a [`Histogram`], and `ProcessGroup` (a child process in its own process group,
//! killed with the whole group).

use crate::engine::{DiscardReason, Engine, EngineFailure, Histogram, RunOptions};
use crate::litmus::{parse_raw_result, LitmusTest, RawResult};
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The environment-neutral harness core (coordinator `runTest`, `workerMain`, the delay PRNG).
pub const CORE_JS: &str = include_str!("../../js/core.js");
/// The node / bun shim appended to [`CORE_JS`].
pub const NODE_JS: &str = include_str!("../../js/node.js");

/// Extra time granted on top of [`RunOptions::timeout`] for a process to start.
pub(crate) const START_GRACE: Duration = Duration::from_secs(10);

/// How long past the harness's hang bound Heddle waits for any output (heartbeats come
/// every second) before calling the engine's process hung: the harness's own watchdog and
/// backstop should have reported long before.
pub(crate) const BACKSTOP_GRACE: Duration = Duration::from_secs(5);

/// The Rust side's view of one running test of the JavaScript harness, from the
/// heartbeats it sends (`{"name", "progress": completed iterations, "bound_ms"}`, about
/// every second): a test whose process falls silent, or whose iterations stop completing,
/// for the harness's per-iteration hang bound plus [`BACKSTOP_GRACE`] is a hang. Nothing
/// bounds the test as a whole.
pub(crate) struct Heartbeat {
    /// The test's name (heartbeats of another test are ignored).
    name: String,
    /// The hang bound the harness last reported (the floor until then).
    bound: Duration,
    /// Extra time for the process or browser to start, until the first heartbeat.
    start: Duration,
    completed: Option<u64>,
    since: Instant,
}

impl Heartbeat {
    pub(crate) fn new(test: &LitmusTest, opts: &RunOptions, start: Duration) -> Heartbeat {
        Heartbeat {
            name: test.name.clone(),
            bound: opts.timeout,
            start,
            completed: None,
            since: Instant::now(),
        }
    }

    /// How long to wait for the next message.
    pub(crate) fn patience(&self) -> Duration {
        (self.bound + BACKSTOP_GRACE + self.start).saturating_sub(self.since.elapsed())
    }

    /// Whether `v` is a heartbeat; if it is one of this test's, notes it.
    pub(crate) fn beat(&mut self, v: &Json) -> bool {
        let Some(done) = v.get("progress").and_then(Json::as_u64) else {
            return false;
        };
        if v.get("name").and_then(Json::as_str) != Some(self.name.as_str()) {
            return true;
        }
        if let Some(ms) = v.get("bound_ms").and_then(Json::as_u64) {
            self.bound = Duration::from_millis(ms);
        }
        self.start = Duration::ZERO;
        if self.completed != Some(done) {
            self.completed = Some(done);
            self.since = Instant::now();
        }
        true
    }

    /// The hang to report when patience ran out.
    pub(crate) fn hang(&self) -> EngineFailure {
        let done = self.completed.map_or("no heartbeat".to_string(), |c| {
            format!("{c} iterations completed")
        });
        EngineFailure::Hang(format!(
            "no progress for {:.1} s ({done}; the harness's bound {:.1} s and {:.0} s more)",
            self.since.elapsed().as_secs_f64(),
            self.bound.as_secs_f64(),
            BACKSTOP_GRACE.as_secs_f64()
        ))
    }
}

/// The complete node / bun harness script: `node SCRIPT TESTS.json`, where `TESTS.json` is a
/// JSON array of [`LitmusTest::to_harness_json`] objects.
pub fn node_script() -> String {
    format!("{CORE_JS}\n{NODE_JS}")
}

/// Which JavaScript runtime a [`NodeEngine`] drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsRuntime {
    /// Node.js (V8).
    Node,
    /// bun (JavaScriptCore).
    Bun,
}

/// node or bun, run as a child process on a generated `worker_threads` script.
#[derive(Clone, Debug)]
pub struct NodeEngine {
    runtime: JsRuntime,
    path: Option<PathBuf>,
}

impl NodeEngine {
    /// node, from `path` (`--engine-path node=PATH`) or `node` on the `PATH`.
    pub fn node(path: Option<PathBuf>) -> NodeEngine {
        NodeEngine {
            runtime: JsRuntime::Node,
            path,
        }
    }

    /// bun, from `path` (`--engine-path bun=PATH`) or `bun` on the `PATH`.
    pub fn bun(path: Option<PathBuf>) -> NodeEngine {
        NodeEngine {
            runtime: JsRuntime::Bun,
            path,
        }
    }

    /// The runtime this engine drives.
    pub fn runtime(&self) -> JsRuntime {
        self.runtime
    }

    fn program(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from(self.name()))
    }

    fn unavailable(&self, why: &str) -> EngineFailure {
        EngineFailure::Unavailable(match self.runtime {
            JsRuntime::Node => {
                format!("node: {why}; install Node.js, or pass --engine-path node=PATH")
            }
            JsRuntime::Bun => format!(
                "bun: {why}; install it with `npm install -g bun`, or pass --engine-path bun=PATH"
            ),
        })
    }

    /// Runs `args` on the engine's binary and returns its trimmed stdout.
    fn query(&self, args: &[&str]) -> Result<String, EngineFailure> {
        let out = Command::new(self.program())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_error(&e))?;
        if !out.status.success() {
            return Err(self.unavailable(&format!("`{}` failed: {}", args.join(" "), out.status)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn spawn_error(&self, e: &std::io::Error) -> EngineFailure {
        if e.kind() == std::io::ErrorKind::NotFound {
            self.unavailable("not found")
        } else {
            self.unavailable(&format!("cannot start {}: {e}", self.program().display()))
        }
    }

    /// Runs `tests` in one process, reporting each as it finishes; returns how many were
    /// reported (at least one, unless `tests` is empty). Stops after the first test whose
    /// process died or hung.
    fn session(
        &self,
        tests: &[LitmusTest],
        opts: &RunOptions,
        done: &mut dyn FnMut(usize, Result<Histogram, EngineFailure>),
    ) -> usize {
        let dir = match tempfile::Builder::new()
            .prefix(&format!("heddle-{}-", self.name()))
            .tempdir()
        {
            Ok(d) => d,
            Err(e) => {
                done(0, Err(EngineFailure::Harness(format!("temp dir: {e}"))));
                return 1;
            }
        };
        let script = dir.path().join("harness.js");
        let input = dir.path().join("tests.json");
        let json = Json::Array(tests.iter().map(|t| t.to_harness_json(opts)).collect());
        if let Err(e) = std::fs::write(&script, node_script())
            .and_then(|()| std::fs::write(&input, json.to_string()))
        {
            done(
                0,
                Err(EngineFailure::Harness(format!("writing the harness: {e}"))),
            );
            return 1;
        }
        let mut cmd = Command::new(self.program());
        cmd.arg(&script).arg(&input).current_dir(dir.path());
        let mut proc = match ProcessGroup::spawn(cmd, true) {
            Ok(p) => p,
            Err(e) => {
                let f = self.spawn_error(&e);
                for i in 0..tests.len() {
                    done(i, Err(f.clone()));
                }
                return tests.len();
            }
        };
        let lines = proc.stdout_lines();
        for (i, test) in tests.iter().enumerate() {
            let start = if i == 0 { START_GRACE } else { Duration::ZERO };
            let mut heartbeat = Heartbeat::new(test, opts, start);
            let line = loop {
                match lines.recv_timeout(heartbeat.patience()) {
                    Ok(line) => match serde_json::from_str::<Json>(&line) {
                        Ok(v) if heartbeat.beat(&v) => {}
                        _ => break Ok(line),
                    },
                    Err(e) => break Err(e),
                }
            };
            match line {
                Ok(line) => {
                    let r = serde_json::from_str::<Json>(&line)
                        .map_err(|e| format!("{e}"))
                        .and_then(|v| check_name(test, v));
                    match r {
                        Ok(v) => done(i, histogram_from_result(test, &v)),
                        Err(e) => {
                            let tail = proc.finish();
                            done(
                                i,
                                Err(EngineFailure::Crash(format!(
                                    "garbage output ({e}): {}{tail}",
                                    truncate(&line, 200)
                                ))),
                            );
                            return i + 1;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    proc.finish();
                    done(i, Err(heartbeat.hang()));
                    return i + 1;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = proc.wait_exit(Duration::from_secs(5));
                    let tail = proc.finish();
                    done(
                        i,
                        Err(EngineFailure::Crash(format!(
                            "{} exited ({}) before the test finished{tail}",
                            self.name(),
                            status.map_or("killed".into(), |s| s.to_string())
                        ))),
                    );
                    return i + 1;
                }
            }
        }
        proc.finish();
        tests.len()
    }
}

impl Engine for NodeEngine {
    fn name(&self) -> &str {
        match self.runtime {
            JsRuntime::Node => "node",
            JsRuntime::Bun => "bun",
        }
    }

    fn version(&self) -> Result<String, EngineFailure> {
        match self.runtime {
            JsRuntime::Node => {
                let v = self.query(&["--version"])?;
                let v8 = self.query(&["-p", "process.versions.v8"])?;
                Ok(format!("node {v} (V8 {v8})"))
            }
            JsRuntime::Bun => {
                let v = self.query(&["--version"])?;
                Ok(format!("bun {v} (JavaScriptCore)"))
            }
        }
    }

    fn run(&self, test: &LitmusTest, opts: &RunOptions) -> Result<Histogram, EngineFailure> {
        crate::engine::run_as_batch(self, test, opts)
    }

    /// One process for the whole batch; when it dies or hangs on a test, that test gets the
    /// failure and the rest go on in a fresh process.
    fn run_batch(
        &self,
        tests: &[LitmusTest],
        opts: &RunOptions,
        done: &mut dyn FnMut(usize, Result<Histogram, EngineFailure>),
    ) {
        let mut next = 0;
        while next < tests.len() {
            let base = next;
            let n = self.session(&tests[base..], opts, &mut |i, r| done(base + i, r));
            next += n.max(1);
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Checks that a result object is for `test`.
pub(crate) fn check_name(test: &LitmusTest, v: Json) -> Result<Json, String> {
    match v.get("name").and_then(Json::as_str) {
        Some(n) if n == test.name => Ok(v),
        Some(n) => Err(format!("result for {n:?}, expected {:?}", test.name)),
        None => Err("result without a name".into()),
    }
}

/// Turns one harness result object (`{"name", "histogram": [{"results", "count"}],
/// "iterations", "discarded", "discard_reasons": {KEY: N}, "seconds"}` or `{"name",
/// "error": {"kind", "message"}}`) into a histogram of `test`'s outcomes.
///
/// # Errors
/// The reported failure (`"compile"`, `"crash"`, `"hang"`, `"harness"` kinds), or
/// [`EngineFailure::Harness`] when the object does not have this shape, its counts do not add
/// up to `iterations - discarded` or its discard reasons to `discarded`, a discard reason is
/// unknown, or a result list does not fit the test.
pub fn histogram_from_result(test: &LitmusTest, v: &Json) -> Result<Histogram, EngineFailure> {
    let bad = |what: &str| EngineFailure::Harness(format!("bad harness result: {what}"));
    if let Some(err) = v.get("error") {
        let msg = err
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or("(no message)")
            .to_string();
        return Err(match err.get("kind").and_then(Json::as_str) {
            Some("compile") => EngineFailure::Compile(msg),
            Some("crash") => EngineFailure::Crash(msg),
            Some("hang") => EngineFailure::Hang(msg),
            _ => EngineFailure::Harness(msg),
        });
    }
    let u64_field = |k: &str| v.get(k).and_then(Json::as_u64).ok_or_else(|| bad(k));
    let mut h = Histogram {
        iterations: u64_field("iterations")?,
        seconds: v
            .get("seconds")
            .and_then(Json::as_f64)
            .ok_or_else(|| bad("seconds"))?,
        ..Histogram::default()
    };
    let reasons = v
        .get("discard_reasons")
        .and_then(Json::as_object)
        .ok_or_else(|| bad("discard_reasons"))?;
    for (key, n) in reasons {
        let reason = DiscardReason::from_key(key)
            .ok_or_else(|| bad(&format!("unknown discard reason {key:?}")))?;
        h.discard(reason, n.as_u64().ok_or_else(|| bad("discard_reasons"))?);
    }
    if u64_field("discarded")? != h.discarded {
        return Err(bad(&format!(
            "\"discarded\" is {}, the reasons add up to {}",
            u64_field("discarded")?,
            h.discarded
        )));
    }
    let entries = v
        .get("histogram")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("histogram"))?;
    let mut total = 0u64;
    for e in entries {
        let count = e
            .get("count")
            .and_then(Json::as_u64)
            .ok_or_else(|| bad("count"))?;
        let threads = e
            .get("results")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("results"))?;
        if threads.len() != test.threads.len() {
            return Err(bad(&format!(
                "{} result lists for {} threads",
                threads.len(),
                test.threads.len()
            )));
        }
        let raw = threads
            .iter()
            .map(|r| {
                r.as_array()
                    .ok_or_else(|| bad("a thread's results are not a list"))?
                    .iter()
                    .map(|x| parse_raw_result(x).map_err(|e| bad(&e)))
                    .collect::<Result<Vec<RawResult>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        h.add(test.assemble(&raw), count);
        total = total.saturating_add(count);
    }
    if total.checked_add(h.discarded) != Some(h.iterations) {
        return Err(bad(&format!(
            "counts add up to {total} with {} discarded, for {} iterations",
            h.discarded, h.iterations
        )));
    }
    Ok(h)
}

/// A child process in its own process group, killed with its whole group (`SIGTERM`, then
/// `SIGKILL`) by [`ProcessGroup::finish`] or on drop. Its stderr is collected (the last
/// 4 KiB are kept).
pub(crate) struct ProcessGroup {
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    finished: bool,
}

impl ProcessGroup {
    /// Spawns `cmd` with stdin closed, stdout piped (if `capture_stdout`; read it with
    /// [`ProcessGroup::stdout_lines`]) or discarded, and stderr piped, in a new process group.
    pub(crate) fn spawn(mut cmd: Command, capture_stdout: bool) -> std::io::Result<ProcessGroup> {
        let stdout = if capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.extend_from_slice(&buf[..n]);
                        let excess = s.len().saturating_sub(4096);
                        s.drain(..excess);
                    }
                }
            });
        }
        Ok(ProcessGroup {
            child,
            stderr,
            finished: false,
        })
    }

    /// The process id, which is also its process group id.
    pub(crate) fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// A channel of stdout's lines (it disconnects at end of file). Call once.
    pub(crate) fn stdout_lines(&mut self) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel();
        if let Some(out) = self.child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(l) = line else { break };
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
        }
        rx
    }

    /// Waits up to `bound` for the process to exit; `None` if it has not.
    pub(crate) fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + bound;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
                _ => return None,
            }
        }
    }

    /// Kills the process group and reaps the process; returns stderr's tail as
    /// `"; stderr: …"` (empty if there was none).
    pub(crate) fn finish(&mut self) -> String {
        if !self.finished {
            self.finished = true;
            kill_group(self.pgid(), "TERM");
            if self.wait_exit(Duration::from_millis(500)).is_none() {
                kill_group(self.pgid(), "KILL");
            } else {
                // The leader is gone; end any process it left behind in its group.
                kill_group(self.pgid(), "KILL");
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // Give the stderr reader a moment to drain the pipe.
        std::thread::sleep(Duration::from_millis(20));
        let tail = self
            .stderr
            .lock()
            .map(|s| String::from_utf8_lossy(&s).trim().to_string())
            .unwrap_or_default();
        if tail.is_empty() {
            String::new()
        } else {
            format!("; stderr: {}", truncate_tail(&tail, 1500))
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if !self.finished {
            self.finish();
        }
    }
}

fn truncate_tail(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    if count <= n {
        return s;
    }
    let skip = count - n;
    s.char_indices().nth(skip).map_or(s, |(i, _)| &s[i..])
}

/// Sends `SIGsig` to every process of group `pgid` (with the system's `kill`, so that no
/// unsafe code is needed); errors (no such group) are ignored.
pub(crate) fn kill_group(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether any process of group `pgid` is still alive (reads `/proc`).
pub fn group_alive(pgid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let stat = e.path().join("stat");
        std::fs::read_to_string(Path::new(&stat))
            .ok()
            .and_then(|s| {
                // pid (comm) state ppid pgrp ...: comm may contain spaces; split after ')'.
                let rest = &s[s.rfind(')')? + 1..];
                let mut f = rest.split_whitespace();
                let state = f.next()?;
                let pgrp: u32 = f.nth(1)?.parse().ok()?;
                Some(pgrp == pgid && state != "Z")
            })
            .unwrap_or(false)
    })
}
