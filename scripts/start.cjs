#!/usr/bin/env node
// `npm start`: installs the npm packages when needed, builds the signaling
// server and the demo page when they are stale (esbuild only, no type check),
// then runs the server with the demo as its static files. One line per step.
//
//   npm start [-- <rxpeer-signaling options>]     e.g. npm start -- --port 4000
'use strict';
const { join } = require('node:path');

const root = join(__dirname, '..');
const started = Date.now();
const say = (text) => process.stdout.write(`rxpeer: ${text}\n`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

say('checking npm packages…');
require('./ensure-deps.cjs');
say('checking the signaling server build…');
require('./ensure-build.cjs');
if (process.exitCode) process.exit(process.exitCode);
say('building the demo page (demo/dist)…');
require('./build-demo.cjs').buildDemo({ outDir: join(root, 'demo', 'dist'), quiet: true });
say(`ready after ${elapsed()}; starting the signaling server`);

const { main } = require(
  join(root, 'packages', 'rxpeer-signaling', 'dist', 'cjs', 'server', 'cli.js'),
);
const stdout = {
  write(text) {
    process.stdout.write(text);
    const listening = /listening on (\S+)/.exec(text);
    if (listening) {
      say(`demo page: ${listening[1]}/  (open it in two tabs, host in one, join from the other)`);
    }
    return true;
  },
};
main(['--static-dir', join(root, 'demo', 'dist'), ...process.argv.slice(2)], process.env, {
  stdout,
  stderr: process.stderr,
}).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should a stray handle linger, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error) => {
    process.stderr.write(`rxpeer: ${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
