// Web Worker shim (core.js is prepended): the first message is the worker's data.
self.onmessage = (e) => {
  self.onmessage = null;
  workerMain(e.data, (m) => self.postMessage(m));
};
