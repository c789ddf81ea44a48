#!/usr/bin/env node
// Runs before `npm start` (and the bin's specs): builds the signaling server's
// JavaScript (packages/rxpeer-signaling/dist, esbuild, about a second) when it is
// missing or older than any file under src/, so that the bin always runs what
// src/ says. Declarations and browser bundles are left to `npm run build`.
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const target = join(root, 'packages', 'rxpeer-signaling', 'dist', 'cjs', 'server', 'cli.js');

const newest = (dir) => {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.isFile()) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
};

const stale = !existsSync(target) || statSync(target).mtimeMs < newest(join(root, 'src'));
if (stale) {
  process.stdout.write('rxpeer: building the signaling server (esbuild)…\n');
  // esbuild does not type-check: `npm run typecheck` does.
  const { main } = require('./build.cjs');
  process.exitCode = main(['signaling', '--js-only', '--quiet']);
}
