// A jest environment that fails a spec file which leaves a socket, server or
// timer behind: it counts the process's live libuv resources when the file
// starts, and again after every hook of the file has run (polling briefly,
// since closes complete asynchronously).
'use strict';
const { TestEnvironment } = require('jest-environment-node');

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
  }

  async setup() {
    await super.setup();
    this.baseline = census();
  }

  // After the file's last afterAll hook (jest-circus awaits this), before the
  // results are final: a leak becomes an error of the file.
  async handleTestEvent(event, state) {
    if (event.name !== 'run_finish') return;
    let grown = growth(this.baseline, census());
    const deadline = Date.now() + SETTLE_MS;
    while (grown.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      grown = growth(this.baseline, census());
    }
    if (grown.length > 0) {
      state.unhandledErrors.push(new Error(`${this.testPath} left open handles behind: ${grown.join(', ')}`));
    }
  }
}

module.exports = LeakCheckEnvironment;
