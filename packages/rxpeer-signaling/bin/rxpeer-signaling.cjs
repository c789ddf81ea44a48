#!/usr/bin/env node
// rxpeer-signaling: runs the compiled signaling server (dist/cjs/server/cli.js).
// `npm start` builds dist first when it is missing or older than src.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// A reader that has gone (EPIPE: `rxpeer-signaling | head -1`, a restarted log
// shipper) must not take the server down; what cannot be written is dropped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const { version } = require(join(__dirname, '..', 'package.json'));
const entry = join(__dirname, '..', 'dist', 'cjs', 'server', 'cli.js');
if (!existsSync(entry)) {
  process.stderr.write(
    `rxpeer-signaling: ${entry} is missing; run "npm run build" (or "npm start") first.\n`,
  );
  process.exit(1);
}

require(entry)
  .main(process.argv.slice(2), process.env, undefined, undefined, version)
  .then(
    (code) => {
      process.exitCode = code;
      // Everything is closed by now; should a stray handle linger, do not hang.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (error) => {
      process.stderr.write(
        `rxpeer-signaling: ${error && error.stack ? error.stack : String(error)}\n`,
      );
      process.exit(1);
    },
  );
