// node / bun shim: `node harness.js TESTS.json` runs each test of the JSON array and prints
// one result object per line on stdout (core.js is prepended to this file).
(function () {
  const wt = require("worker_threads");
  // A full garbage collection of this isolate (core.js, poolReader): bun's, or V8's `gc`
  // exposed at run time; undefined if neither is there.
  const collect = (() => {
    if (typeof Bun !== "undefined") return () => Bun.gc(true);
    try {
      require("v8").setFlagsFromString("--expose-gc");
      return require("vm").runInNewContext("gc");
    } catch (e) {
      return undefined;
    }
  })();
  if (!wt.isMainThread) {
    // Later messages (pools of fresh memories) are taken synchronously by `receive`.
    const receive = () => {
      const r = wt.receiveMessageOnPort(wt.parentPort);
      return r === undefined ? undefined : r.message;
    };
    wt.parentPort.once("message", (data) => workerMain(data, (m) => wt.parentPort.postMessage(m), receive, collect));
    return;
  }
  const env = {
    // Workers take pools of fresh memories as they come (core.js, "Fresh memories").
    feedsPools: true,
    collect,
    spawnWorker(data, onMessage, onError) {
      const w = new wt.Worker(__filename);
      w.on("message", onMessage);
      w.on("error", onError);
      w.postMessage(data);
      return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
    },
    progress(obj) {
      process.stdout.write(JSON.stringify(obj) + "\n");
    },
  };
  const write = (obj) => new Promise((res) => process.stdout.write(JSON.stringify(obj) + "\n", res));
  (async () => {
    const fs = require("fs");
    let tests;
    try {
      tests = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    } catch (e) {
      await write({ name: "", error: { kind: "harness", message: "cannot read the tests: " + e } });
      process.exit(2);
    }
    for (const test of tests) {
      const r = await runTestReporting(test, env);
      await write(r);
    }
    process.exit(0);
  })();
})();
