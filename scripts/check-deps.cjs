#!/usr/bin/env node
// Dependency floors for the signaling stack, then `npm audit --audit-level=high`.
// Fails on a floor breach or on audit findings; an audit endpoint that cannot
// be reached (some registries do not serve it) is reported and not counted.
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const FLOORS = { 'socket.io-parser': '4.2.7', ws: '8.21.0' };
const root = join(__dirname, '..');

const cmp = (a, b) => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

let failed = false;
const ls = spawnSync('npm', ['ls', '--all', '--json', ...Object.keys(FLOORS)], { cwd: root, encoding: 'utf8' });
const found = [];
const walk = (deps) => {
  for (const [name, info] of Object.entries(deps ?? {})) {
    if (name in FLOORS && info.version) found.push([name, info.version]);
    walk(info.dependencies);
  }
};
walk(JSON.parse(ls.stdout || '{}').dependencies);
for (const [name, version] of found) {
  const ok = cmp(version, FLOORS[name]) >= 0;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}@${version} (floor ${FLOORS[name]})\n`);
  if (!ok) failed = true;
}

const audit = spawnSync('npm', ['audit', '--audit-level=high', '--json'], { cwd: root, encoding: 'utf8' });
let report;
try {
  report = JSON.parse(audit.stdout);
} catch {
  report = undefined;
}
if (report && report.metadata && report.metadata.vulnerabilities) {
  const v = report.metadata.vulnerabilities;
  process.stdout.write(`npm audit: high ${v.high}, critical ${v.critical}\n`);
  if (v.high + v.critical > 0) failed = true;
} else {
  process.stdout.write('npm audit: the registry did not serve the audit endpoint; skipped\n');
}
process.exit(failed ? 1 : 0);
