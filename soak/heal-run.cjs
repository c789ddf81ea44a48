#!/usr/bin/env node
// Bundles soak/heal.ts with esbuild and runs it (inside the test namespace: `npm run soak:heal`,
// i.e. `node scripts/netns.cjs node soak/heal-run.cjs [--runs 20] [--cuts 3000,10000] [--json]`).
'use strict';
const { buildSync } = require('esbuild');
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'rxpeer-heal-soak-'));
const out = join(dir, 'heal.cjs');
try {
  buildSync({
    entryPoints: [join(__dirname, 'heal.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  const result = spawnSync(process.execPath, [out, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_PATH: join(root, 'node_modules'), RXPEER_ROOT: root },
  });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
