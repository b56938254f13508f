// Browser page shim (core.js is prepended): fetches /tests.json, runs the tests one by one
// on Web Workers (/worker.js), POSTs each result object to /result as it finishes (and
// heartbeats to /progress meanwhile), then POSTs /done. A result with an empty name is an error of the whole session.
(async function () {
  const post = (path, obj) =>
    fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(obj) });
  // The worker script is fetched once and every worker starts from a blob: URL (which
  // inherits the page's cross-origin isolation): with one fetch per worker, a test with more
  // workers than the browser opens connections to one server (6) could wait for an idle
  // keep-alive connection to time out (Firefox: 115 s; docs/findings.md).
  const workerUrl = URL.createObjectURL(
    new Blob([await (await fetch("/worker.js")).text()], { type: "application/javascript" }));
  const env = {
    spawnWorker(data, onMessage, onError) {
      const w = new Worker(workerUrl);
      w.onmessage = (e) => onMessage(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        onError(e);
      };
      w.onmessageerror = (e) => onError(new Error("message error: " + e));
      w.postMessage(data);
      return { terminate: () => w.terminate() };
    },
    progress(obj) {
      post("/progress", obj).catch(() => {});
    },
  };
  try {
    if (!self.crossOriginIsolated) {
      await post("/result", {
        name: "",
        error: { kind: "harness", message: "the page is not crossOriginIsolated (COOP/COEP headers missing?): no shared memory" },
      });
    } else {
      const tests = await (await fetch("/tests.json")).json();
      for (const test of tests) {
        const r = await runTestReporting(test, env);
        await post("/result", r);
      }
    }
  } catch (e) {
    await post("/result", { name: "", error: { kind: "harness", message: String((e && e.stack) || e) } });
  }
  await post("/done", {});
})();
