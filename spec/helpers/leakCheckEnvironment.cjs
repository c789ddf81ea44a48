// The jest environment of every spec file. Like 'node', plus two things:
//
// 1. It fails a spec file that leaves a socket, server, child process or timer
//    behind: it counts the process's live libuv resources when the file
//    starts, and again after every hook of the file has run (polling briefly,
//    since closes complete asynchronously).
//
// 2. It hands spec files one copy of the native WebRTC engine
//    (@roamhq/wrtc), loaded once per process outside the files' sandboxes.
//    Loaded inside a sandbox (jest's per-file module registry), the addon is
//    bound to that file's context; when the context goes away, the engine's
//    native finalizers crash the worker (SIGSEGV). Node's teardown at exit
//    can crash it the same way, so a worker leaves through process.exit()
//    once its event loop has drained (every result has been sent by then).
'use strict';
const { TestEnvironment } = require('jest-environment-node');

let engine;
const loadEngine = () => {
  if (engine === undefined) {
    engine = require('@roamhq/wrtc');
    process.once('beforeExit', (code) => process.exit(code));
  }
  return engine;
};

const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'PipeWrap', 'Timeout', 'ProcessWrap']);
const SETTLE_MS = 2000;

function census() {
  const counts = {};
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED.has(type)) counts[type] = (counts[type] || 0) + 1;
  }
  return counts;
}

function growth(before, after) {
  return Object.entries(after)
    .filter(([type, n]) => n > (before[type] || 0))
    .map(([type, n]) => `${type} ${before[type] || 0}→${n}`);
}

class LeakCheckEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    // A file may name resource types it knowingly leaves to a library, with the
    // reason, in its docblock: `@leakAllow Timeout — why`.
    const allow = context.docblockPragmas && context.docblockPragmas.leakAllow;
    this.allowed = new Set((Array.isArray(allow) ? allow : allow ? [allow] : []).map((a) => String(a).split(/\s/)[0]));
    Object.defineProperty(this.global, '__rxpeerWrtc', { get: loadEngine, configurable: true });
  }

  async setup() {
    await super.setup();
    this.baseline = census();
  }

  // After the file's last afterAll hook (jest-circus awaits this), before the
  // results are final: a leak becomes an error of the file.
  async handleTestEvent(event, state) {
    if (event.name !== 'run_finish') return;
    const grownNow = () => growth(this.baseline, census()).filter((g) => !this.allowed.has(g.split(' ')[0]));
    let grown = grownNow();
    const deadline = Date.now() + SETTLE_MS;
    while (grown.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      grown = grownNow();
    }
    if (grown.length > 0) {
      state.unhandledErrors.push(new Error(`${this.testPath} left open handles behind: ${grown.join(', ')}`));
    }
  }
}

module.exports = LeakCheckEnvironment;
