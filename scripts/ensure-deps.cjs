#!/usr/bin/env node
// Runs before `npm start` and `npm test`: installs the npm packages when
// node_modules is missing or older than the lock file, so that a fresh clone
// needs nothing but the README's command. `--ignore-scripts` skips this
// package's own `prepare` (the full build of both packages): `npm start` builds
// only what it needs, `npm test` builds nothing.
'use strict';
const { existsSync, statSync } = require('node:fs');
const { execSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  process.stdout.write(
    'rxpeer: installing npm packages (npm ci, about a minute on a fresh clone)…\n',
  );
  execSync('npm ci --no-audit --no-fund --ignore-scripts --loglevel=error', {
    cwd: root,
    stdio: 'inherit',
  });
}
