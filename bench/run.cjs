#!/usr/bin/env node
// `npm run bench`: compiles bench/src (TypeScript, with the library's sources
// it imports) into a private directory with esbuild, then runs it with Node.
// Packages stay external, so @roamhq/wrtc, socket.io and rxjs load from
// node_modules as an app would load them.
//
//   npm run bench                    full run → bench/results/latest.json
//   npm run bench -- --quick         smoke run (< 1 min) → bench/results/quick.json
//   npm run bench -- --out FILE      write the JSON elsewhere
//   npm run bench -- --only join,server   run some sections (join, stun, mesh, server, relay, size)
//   npm run bench -- --profile       CPU profiles of the bench and of every server child → bench/profiles/
//   npm run bench -- --limits JSON   limits of the §1–3 server (investigation aid), e.g. '{"messageBurst":5000}'
'use strict';
const { buildSync } = require('esbuild');
const { spawn } = require('node:child_process');
const { mkdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const outdir = join(__dirname, '.build', `${process.pid}-${Date.now()}`);
const args = process.argv.slice(2);

mkdirSync(outdir, { recursive: true });
const cleanup = () => rmSync(outdir, { recursive: true, force: true });
try {
  buildSync({
    entryPoints: {
      main: join(__dirname, 'src', 'main.ts'),
      serverChild: join(__dirname, 'src', 'serverChild.ts'),
      peerChild: join(__dirname, 'src', 'peerChild.ts'),
      probeChild: join(__dirname, 'src', 'probeChild.ts'),
    },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
} catch (error) {
  cleanup();
  process.stderr.write(`bench: compile failed: ${error.message}\n`);
  process.exit(1);
}

const nodeArgs = ['--enable-source-maps', '--expose-gc'];
if (args.includes('--profile'))
  nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(__dirname, 'profiles')}`);
const child = spawn(process.execPath, [...nodeArgs, join(outdir, 'main.js'), ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, RXPEER_BENCH_ROOT: root, RXPEER_BENCH_BUILD: outdir },
});
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => {
  cleanup();
  process.exit(code ?? (signal === null ? 1 : 128));
});
