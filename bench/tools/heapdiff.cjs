#!/usr/bin/env node
// Compares two V8 heap snapshots (e.g. bench/profiles/server-1-base and
// server-2-idle from `npm run bench -- --only server --profile`): self size
// and count per object kind, largest growth first; with `--per N`, also per
// one of N connected sockets.
//
//   node bench/tools/heapdiff.cjs A.heapsnapshot B.heapsnapshot [--per 10000] [--top 40]
'use strict';
const { readFileSync } = require('node:fs');

function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const {
    node_fields: fields,
    node_types: [types],
  } = snap.snapshot.meta;
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const { nodes, strings } = snap;
  const byKind = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    // Strings and code by type alone; objects and closures by constructor / function name.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    else if (type === 'code' || type === 'hidden' || type === 'array')
      name = name.length > 40 ? `${name.slice(0, 40)}…` : name;
    const key = `${type}:${name}`;
    const entry = byKind.get(key) ?? { count: 0, size: 0 };
    entry.count += 1;
    entry.size += nodes[i + iSize];
    byKind.set(key, entry);
  }
  return byKind;
}

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--') && !/^\d+$/.test(x));
const opt = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const per = opt('--per', 1);
const top = opt('--top', 40);
if (a === undefined || b === undefined) {
  process.stderr.write('usage: heapdiff.cjs A.heapsnapshot B.heapsnapshot [--per N] [--top 40]\n');
  process.exit(2);
}
const before = summarize(a);
const after = summarize(b);
const rows = [];
let total = 0;
for (const [key, v] of after) {
  const w = before.get(key) ?? { count: 0, size: 0 };
  const size = v.size - w.size;
  total += size;
  rows.push({ key, count: v.count - w.count, size });
}
for (const [key, w] of before)
  if (!after.has(key)) rows.push({ key, count: -w.count, size: -w.size });
rows.sort((x, y) => Math.abs(y.size) - Math.abs(x.size));
const unit = per === 1 ? 'bytes' : `bytes per 1/${per}`;
process.stdout.write(
  `total self-size growth: ${(total / 1024).toFixed(0)} KiB (${(total / per).toFixed(0)} ${unit})\n`,
);
process.stdout.write(`${'growth'.padStart(12)} ${'count'.padStart(10)}  kind (type:name)\n`);
for (const r of rows.slice(0, top)) {
  const size = per === 1 ? r.size : r.size / per;
  const count = per === 1 ? r.count : r.count / per;
  process.stdout.write(
    `${size.toFixed(per === 1 ? 0 : 1).padStart(12)} ${count.toFixed(per === 1 ? 0 : 2).padStart(10)}  ${r.key}\n`,
  );
}
