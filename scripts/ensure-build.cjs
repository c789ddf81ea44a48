#!/usr/bin/env node
// Runs before `npm start`: builds dist/ (scripts/build.cjs) when the compiled
// signaling server is missing or older than any file under src/, so that the
// bin always runs what src/ says.
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const target = join(root, 'dist', 'cjs', 'server', 'cli.js');

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
  process.stdout.write('rxpeer: building dist/ (npm run build)…\n');
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.cjs')], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch (error) {
    // tsc still emits JavaScript when other parts of src/ have type errors;
    // the server can run from that, so only a missing entry point is fatal.
    if (!existsSync(target)) {
      process.stderr.write('rxpeer: the build failed and dist/cjs/server/cli.js is missing\n');
      process.exit(1);
    }
    process.stderr.write(
      'rxpeer: the build reported errors (see above); starting from the files it emitted\n',
    );
  }
}
