#!/usr/bin/env node
// Bundles soak/soak.ts with esbuild and runs it with --expose-gc; passes arguments through.
// `node soak/run.cjs adversarial …` runs soak/adversarial.ts instead (issue 12's adversarial soak).
'use strict';
const { buildSync } = require('esbuild');
const { spawnSync } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const adversarial = process.argv[2] === 'adversarial';
const entry = adversarial ? 'adversarial' : 'soak';
const passed = process.argv.slice(adversarial ? 3 : 2);
const dir = mkdtempSync(join(tmpdir(), 'rxpeer-soak-'));
const out = join(dir, `${entry}.cjs`);
try {
  buildSync({
    entryPoints: [join(__dirname, `${entry}.ts`)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  const result = spawnSync(process.execPath, ['--expose-gc', out, ...passed], {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, NODE_PATH: join(root, 'node_modules'), RXPEER_ROOT: root },
  });
  if (result.signal) process.stderr.write(`rxpeer soak: the soak process died of ${result.signal}\n`);
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
