//! Chromium (V8) and Firefox (SpiderMonkey) as engines: Heddle serves a page, a Web Worker
//! script and the batch of tests on a loopback port (every response with the COOP/COEP
//! headers that make the page `crossOriginIsolated`, so it may share memory), launches the
//! browser headless on the page with a fresh profile, and collects the result objects the
//! page POSTs back (docs/xcheck.md, "The JavaScript harness"). The page and workers run the
//! same harness core as node and bun ([`super::js::CORE_JS`]).

use super::js::{check_name, histogram_from_result, Heartbeat, ProcessGroup, CORE_JS};
use crate::engine::{Engine, EngineFailure, Histogram, RunOptions};
use crate::litmus::LitmusTest;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PAGE_HTML: &str = include_str!("../../js/page.html");
const PAGE_JS: &str = include_str!("../../js/browser_page.js");
const WORKER_JS: &str = include_str!("../../js/browser_worker.js");

/// Time granted on top of [`RunOptions::timeout`] for the browser to start and load the page.
const BROWSER_START_GRACE: Duration = Duration::from_secs(30);

/// Which browser a [`BrowserEngine`] drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrowserKind {
    /// Chromium (V8), `chromium` or `chromium-browser`.
    Chromium,
    /// Firefox (SpiderMonkey), `firefox-esr` or `firefox`.
    Firefox,
}

/// A headless browser running the harness on Web Workers.
#[derive(Debug)]
pub struct BrowserEngine {
    kind: BrowserKind,
    path: Option<PathBuf>,
    launched: Mutex<Vec<Launch>>,
}

/// One browser launch: its process group id and its (since deleted) profile directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    /// Process group id (the browser's main process id).
    pub pgid: u32,
    /// The temporary profile directory.
    pub profile: PathBuf,
}

impl BrowserEngine {
    /// Chromium, from `path` (`--engine-path chromium=PATH`) or found on the `PATH`.
    pub fn chromium(path: Option<PathBuf>) -> BrowserEngine {
        BrowserEngine {
            kind: BrowserKind::Chromium,
            path,
            launched: Mutex::new(Vec::new()),
        }
    }

    /// Firefox, from `path` (`--engine-path firefox=PATH`) or found on the `PATH`.
    pub fn firefox(path: Option<PathBuf>) -> BrowserEngine {
        BrowserEngine {
            kind: BrowserKind::Firefox,
            path,
            launched: Mutex::new(Vec::new()),
        }
    }

    /// The browser this engine drives.
    pub fn kind(&self) -> BrowserKind {
        self.kind
    }

    /// Every browser launch of this engine so far (for checks that nothing was left behind).
    pub fn launches(&self) -> Vec<Launch> {
        self.launched.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The browser's executable: the explicit path, or the first candidate on the `PATH`.
    ///
    /// # Errors
    /// [`EngineFailure::Unavailable`] with an install hint when there is none.
    pub fn executable(&self) -> Result<PathBuf, EngineFailure> {
        let search = |names: &[&Path]| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            names
                .iter()
                .flat_map(|c| std::env::split_paths(&path).map(move |d| d.join(c)))
                .find(|p| p.is_file())
        };
        if let Some(p) = &self.path {
            // A bare name is looked up on the PATH.
            let found = if p.components().count() == 1 && !p.is_file() {
                search(&[p.as_path()])
            } else {
                Some(p.clone()).filter(|p| p.is_file())
            };
            return found
                .ok_or_else(|| self.unavailable(&format!("{} does not exist", p.display())));
        }
        let candidates: &[&Path] = match self.kind {
            BrowserKind::Chromium => &[Path::new("chromium"), Path::new("chromium-browser")],
            BrowserKind::Firefox => &[Path::new("firefox-esr"), Path::new("firefox")],
        };
        search(candidates).ok_or_else(|| self.unavailable("not found"))
    }

    fn unavailable(&self, why: &str) -> EngineFailure {
        EngineFailure::Unavailable(match self.kind {
            BrowserKind::Chromium => format!(
                "chromium: {why}; install it (Debian: `apt-get install chromium`), or pass \
                 --engine-path chromium=PATH"
            ),
            BrowserKind::Firefox => format!(
                "firefox: {why}; install it (Debian: `apt-get install firefox-esr`), or pass \
                 --engine-path firefox=PATH"
            ),
        })
    }

    /// The command line that opens `url` headless with the profile `profile`.
    fn command(&self, exe: &Path, profile: &Path, url: &str) -> Command {
        let mut cmd = Command::new(exe);
        match self.kind {
            BrowserKind::Chromium => {
                cmd.args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ])
                .arg(format!("--user-data-dir={}", profile.display()));
            }
            BrowserKind::Firefox => {
                cmd.args(["--headless", "--no-remote", "--profile"])
                    .arg(profile);
            }
        }
        cmd.arg(url);
        cmd
    }

    /// Runs `tests` in one browser session, reporting each as it finishes; returns how many
    /// were reported (at least one, unless `tests` is empty). Stops after the first test
    /// during which the browser died, hung or broke the protocol.
    fn session(
        &self,
        exe: &Path,
        tests: &[LitmusTest],
        opts: &RunOptions,
        done: &mut dyn FnMut(usize, Result<Histogram, EngineFailure>),
    ) -> usize {
        let harness = |e: String| Err(EngineFailure::Harness(e));
        let json = Json::Array(tests.iter().map(|t| t.to_harness_json(opts)).collect());
        let (server, rx) = match Server::start(json.to_string()) {
            Ok(s) => s,
            Err(e) => {
                done(0, harness(format!("cannot serve the page: {e}")));
                return 1;
            }
        };
        let profile = match tempfile::Builder::new()
            .prefix(&format!("heddle-{}-", self.name()))
            .tempdir()
        {
            Ok(d) => d,
            Err(e) => {
                done(0, harness(format!("temp profile dir: {e}")));
                return 1;
            }
        };
        if self.kind == BrowserKind::Firefox {
            // Quieter first start; failure to write it is harmless.
            let _ = std::fs::write(profile.path().join("user.js"), FIREFOX_PREFS);
        }
        let url = format!("http://127.0.0.1:{}/", server.port);
        let mut proc = match ProcessGroup::spawn(self.command(exe, profile.path(), &url), false) {
            Ok(p) => p,
            Err(e) => {
                done(0, Err(self.unavailable(&format!("cannot start: {e}"))));
                return 1;
            }
        };
        if let Ok(mut l) = self.launched.lock() {
            l.push(Launch {
                pgid: proc.pgid(),
                profile: profile.path().to_path_buf(),
            });
        }
        let mut reported = 0;
        for (i, test) in tests.iter().enumerate() {
            let start = if i == 0 {
                BROWSER_START_GRACE
            } else {
                Duration::ZERO
            };
            let mut heartbeat = Heartbeat::new(test, opts, start);
            let message = loop {
                match next_message(&rx, &mut proc, heartbeat.patience()) {
                    Message::Progress(body) => {
                        // A heartbeat of this test (anything else there is ignored).
                        if let Ok(v) = serde_json::from_str::<Json>(&body) {
                            heartbeat.beat(&v);
                        }
                    }
                    m => break m,
                }
            };
            match message {
                Message::Result(body) => {
                    let v = match serde_json::from_str::<Json>(&body) {
                        Ok(v) => v,
                        Err(e) => {
                            done(i, harness(format!("bad result POSTed by the page: {e}")));
                            reported = i + 1;
                            break;
                        }
                    };
                    if v.get("name").and_then(Json::as_str) == Some("") {
                        // An error of the whole session (e.g. not crossOriginIsolated).
                        let f = histogram_from_result(test, &v).err().unwrap_or_else(|| {
                            EngineFailure::Harness("session error without a message".into())
                        });
                        for j in i..tests.len() {
                            done(j, Err(f.clone()));
                        }
                        reported = tests.len();
                        break;
                    }
                    match check_name(test, v) {
                        Ok(v) => done(i, histogram_from_result(test, &v)),
                        Err(e) => {
                            done(i, harness(format!("protocol error: {e}")));
                            reported = i + 1;
                            break;
                        }
                    }
                    reported = i + 1;
                }
                Message::Done => {
                    done(
                        i,
                        Err(EngineFailure::Crash(
                            "the page finished before this test's result".into(),
                        )),
                    );
                    reported = i + 1;
                    break;
                }
                Message::Exited(status) => {
                    let tail = proc.finish();
                    done(
                        i,
                        Err(EngineFailure::Crash(format!(
                            "{} exited ({status}) during the test{tail}",
                            self.name()
                        ))),
                    );
                    reported = i + 1;
                    break;
                }
                // (A heartbeat never gets here: the loop above consumes them.)
                Message::Timeout | Message::Progress(_) => {
                    done(i, Err(heartbeat.hang()));
                    reported = i + 1;
                    break;
                }
            }
        }
        proc.finish();
        drop(server);
        // `profile` is deleted here, after the browser is gone.
        reported
    }
}

const FIREFOX_PREFS: &str = r#"user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.enabled", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
"#;

impl Engine for BrowserEngine {
    fn name(&self) -> &str {
        match self.kind {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
        }
    }

    fn version(&self) -> Result<String, EngineFailure> {
        let exe = self.executable()?;
        let out = Command::new(&exe)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| self.unavailable(&format!("cannot start {}: {e}", exe.display())))?;
        if !out.status.success() {
            return Err(self.unavailable(&format!("`--version` failed: {}", out.status)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn run(&self, test: &LitmusTest, opts: &RunOptions) -> Result<Histogram, EngineFailure> {
        crate::engine::run_as_batch(self, test, opts)
    }

    /// One browser launch for the whole batch; when the browser dies, hangs or breaks the
    /// protocol on a test, that test gets the failure and the rest go on in a fresh launch.
    fn run_batch(
        &self,
        tests: &[LitmusTest],
        opts: &RunOptions,
        done: &mut dyn FnMut(usize, Result<Histogram, EngineFailure>),
    ) {
        let exe = match self.executable() {
            Ok(e) => e,
            Err(f) => {
                for i in 0..tests.len() {
                    done(i, Err(f.clone()));
                }
                return;
            }
        };
        let mut next = 0;
        while next < tests.len() {
            let base = next;
            let n = self.session(&exe, &tests[base..], opts, &mut |i, r| done(base + i, r));
            next += n.max(1);
        }
    }
}

/// What the session loop waits for.
enum Message {
    /// A result object POSTed to `/result` (the raw body).
    Result(String),
    /// A heartbeat POSTed to `/progress` (the raw body).
    Progress(String),
    /// The page POSTed `/done`.
    Done,
    /// The browser's main process exited.
    Exited(String),
    /// Nothing within the bound.
    Timeout,
}

fn next_message(rx: &Receiver<Message>, proc: &mut ProcessGroup, bound: Duration) -> Message {
    let end = Instant::now() + bound;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Message::Timeout;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(m) => return m,
            Err(RecvTimeoutError::Timeout) => {
                if let Some(s) = proc.wait_exit(Duration::ZERO) {
                    return Message::Exited(s.to_string());
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Message::Exited("server stopped".into()),
        }
    }
}

/// The loopback HTTP server of one session (tiny_http on 127.0.0.1, a free port), stopped
/// on drop.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `/` (the page), `/page.js`, `/worker.js` and `/tests.json` (`tests`), and
    /// forwards the bodies POSTed to `/result` and `/done` to the returned channel.
    fn start(tests: String) -> Result<(Server, Receiver<Message>), String> {
        let http = tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = http
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("no IP address")?;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let files = Files {
            page_js: format!("{CORE_JS}\n{PAGE_JS}"),
            worker_js: format!("{CORE_JS}\n{WORKER_JS}"),
            tests,
        };
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match http.recv_timeout(Duration::from_millis(100)) {
                    Ok(Some(req)) => handle(req, &files, &tx),
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        });
        Ok((
            Server {
                port,
                stop,
                thread: Some(thread),
            },
            rx,
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Files {
    page_js: String,
    worker_js: String,
    tests: String,
}

fn header(name: &str, value: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// Answers one request; every response carries COOP/COEP (and CORP) headers.
fn handle(mut req: tiny_http::Request, files: &Files, tx: &Sender<Message>) {
    use tiny_http::Method;
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let (status, body, ctype): (u16, Vec<u8>, &str) = match (req.method(), path.as_str()) {
        (Method::Get, "/") => (200, PAGE_HTML.into(), "text/html; charset=utf-8"),
        (Method::Get, "/page.js") => (200, files.page_js.clone().into(), "application/javascript"),
        (Method::Get, "/worker.js") => (
            200,
            files.worker_js.clone().into(),
            "application/javascript",
        ),
        (Method::Get, "/tests.json") => (200, files.tests.clone().into(), "application/json"),
        (Method::Post, "/result") | (Method::Post, "/done") | (Method::Post, "/progress") => {
            let mut body = String::new();
            let msg = match req.as_reader().read_to_string(&mut body) {
                Ok(_) if path == "/done" => Message::Done,
                Ok(_) if path == "/progress" => Message::Progress(body),
                Ok(_) => Message::Result(body),
                Err(e) => Message::Result(format!("unreadable body: {e}")),
            };
            let _ = tx.send(msg);
            (204, Vec::new(), "text/plain")
        }
        _ => (404, b"not found".to_vec(), "text/plain"),
    };
    let headers = [
        header("Content-Type", ctype),
        header("Cross-Origin-Opener-Policy", "same-origin"),
        header("Cross-Origin-Embedder-Policy", "require-corp"),
        header("Cross-Origin-Resource-Policy", "same-origin"),
        header("Cache-Control", "no-store"),
    ];
    let mut resp = tiny_http::Response::from_data(body).with_status_code(status);
    for h in headers.into_iter().flatten() {
        resp.add_header(h);
    }
    let _ = req.respond(resp);
}
