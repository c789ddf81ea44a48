#!/usr/bin/env node
// Browser bundles with esbuild: the client and the Unity WebGL bridge, each as
// an IIFE (a <script> tag in a Unity WebGL template) and as minified ESM.
// Prints each bundle's size, minified and gzipped.
'use strict';
const { buildSync } = require('esbuild');
const { gzipSync } = require('node:zlib');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, 'dist', 'browser');
const bundles = [
  { entry: 'src/index.ts', name: 'rxpeer', globalName: 'rxpeer' },
  { entry: 'src/bridge/index.ts', name: 'rxpeer-bridge', globalName: 'rxpeerBridge' },
];

function build({ entry, name, globalName }, format, external = []) {
  const file = join(out, `${name}.${format === 'iife' ? 'iife' : 'esm'}${external.length ? '.lean' : ''}.js`);
  buildSync({
    entryPoints: [join(root, entry)],
    outfile: file,
    bundle: true,
    minify: true,
    // No source maps: with their sources (rxjs, socket.io-client) they would triple the package.
    sourcemap: false,
    format,
    globalName: format === 'iife' ? globalName : undefined,
    platform: 'browser',
    target: ['es2020'],
    external,
    logLevel: 'warning',
  });
  const bytes = readFileSync(file);
  return { file, min: bytes.length, gzip: gzipSync(bytes).length };
}

const results = [];
for (const bundle of bundles) {
  results.push(build(bundle, 'iife'));
  results.push(build(bundle, 'esm'));
  // rxpeer's own code alone, with rxjs and socket.io-client left to the app.
  results.push(build(bundle, 'esm', ['rxjs', 'socket.io-client']));
}
if (require.main === module) {
  for (const r of results) {
    process.stdout.write(`${r.file.replace(`${root}/`, '')}: ${(r.min / 1024).toFixed(1)} KiB min, ${(r.gzip / 1024).toFixed(1)} KiB gzip\n`);
  }
}
module.exports = { results };
