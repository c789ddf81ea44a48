#!/usr/bin/env node
// Builds dist/: CommonJS (dist/cjs), ES modules (dist/esm) and declarations
// (dist/types), each from src/ with the one tsconfig.build.json.
'use strict';
const { execFileSync } = require('node:child_process');
const { rmSync, mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const run = (...args) =>
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...args], { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'dist'), { recursive: true, force: true });
run('--module', 'commonjs', '--moduleResolution', 'node10', '--outDir', 'dist/cjs', '--declaration', 'false');
run('--module', 'es2022', '--moduleResolution', 'bundler', '--outDir', 'dist/esm', '--declaration', 'false');
run('--emitDeclarationOnly', '--outDir', 'dist/types');
for (const [dir, type] of [['cjs', 'commonjs'], ['esm', 'module']]) {
  mkdirSync(join(root, 'dist', dir), { recursive: true });
  writeFileSync(join(root, 'dist', dir, 'package.json'), `${JSON.stringify({ type })}\n`);
}
// Browser bundles (dist/browser), built from the same sources.
require('./bundle-browser.cjs');
