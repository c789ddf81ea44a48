#!/usr/bin/env node
// Builds the demo page served next to the signaling server (`npm start`,
// http://127.0.0.1:3010/): demo/src/main.ts bundled by esbuild, with rxpeer
// from src/, into demo/dist/app.js, plus demo/index.html and demo/style.css.
//
//   node scripts/build-demo.cjs [--out <dir>] [--minify]
//
// The browser specs call buildDemo({ outDir }) to build into a temporary
// directory of their own.
'use strict';
const { buildSync } = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const { join, relative, resolve } = require('node:path');

const root = join(__dirname, '..');
const demo = join(root, 'demo');
const STATIC_FILES = ['index.html', 'style.css'];

/** Builds the demo into `outDir` (default demo/dist). */
function buildDemo({ outDir = join(demo, 'dist'), minify = false, quiet = false } = {}) {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(demo, 'src', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const file of STATIC_FILES) copyFileSync(join(demo, file), join(outDir, file));
  if (!quiet) process.stdout.write(`rxpeer: demo built into ${relative(root, outDir) || '.'}\n`);
  return outDir;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const known = new Set(['--out', '--minify']);
  const unknown = args.filter((a, i) => !known.has(a) && !(at >= 0 && i === at + 1));
  if (unknown.length > 0 || (at >= 0 && args[at + 1] === undefined)) {
    process.stderr.write('usage: node scripts/build-demo.cjs [--out <dir>] [--minify]\n');
    process.exit(2);
  }
  try {
    buildDemo({
      outDir: at >= 0 ? resolve(args[at + 1]) : undefined,
      minify: args.includes('--minify'),
    });
  } catch {
    // esbuild has printed the errors.
    process.exit(1);
  }
}

module.exports = { buildDemo };
