#!/usr/bin/env node
// Bundles soak/soak.ts with esbuild and runs it with --expose-gc; passes arguments through.
'use strict';
const { buildSync } = require('esbuild');
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'rxpeer-soak-'));
const out = join(dir, 'soak.cjs');
try {
  buildSync({
    entryPoints: [join(__dirname, 'soak.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  const result = spawnSync(process.execPath, ['--expose-gc', out, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
  });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
