/**
 * The signaling server under attack, in a process of its own: the CLI's
 * `main()` with the flags in argv, exactly as `rxpeer-signaling` runs it, so
 * a crash is an exit of this process (observed by the parent), not of jest.
 *
 * Started with `--expose-gc` by {@link ./serverProcess}. Over IPC it answers
 * `memory` with the heap after full garbage collections, and tells the
 * parent its URL once it listens. Nothing here catches errors: an uncaught
 * exception or unhandled rejection must end the process, as in production.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { main } from '../../src/server/cli';

export interface ChildMemory {
  /** `process.memoryUsage()` after GC. */
  usage: NodeJS.MemoryUsage;
  /**
   * Bytes held by JavaScript values (objects, closures, arrays, strings,
   * numbers …), from a heap snapshot: V8's own structures (compiled code and
   * its metadata, feedback vectors, hidden internals), which grow while the
   * JIT warms up to new input, are left out.
   */
  objects: number;
  /** Every V8 heap space but code space, after GC. */
  heapSpaces: number;
}

export type ChildRequest =
  { id: number; cmd: 'memory' } | { id: number; cmd: 'snapshot'; path: string };
export type ChildMessage =
  { ready: true; url: string } | { id: number; result: ChildMemory } | { id: number; file: string };

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start the server child with --expose-gc');
  gc();
  gc();
}

const JS_TYPES = new Set([
  'object',
  'closure',
  'array',
  'string',
  'concatenated string',
  'sliced string',
  'regexp',
  'number',
  'heap number',
  'bigint',
  'symbol',
  'object shape',
]);

/** Sums the self sizes of JavaScript values in a heap snapshot (which collects garbage first). */
function objectBytes(): number {
  const file = writeHeapSnapshot(
    join(tmpdir(), `rxpeer-adversarial-${process.pid}-${Date.now()}.heapsnapshot`),
  );
  try {
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
    };
    const {
      node_fields: fields,
      node_types: [types],
    } = snapshot.snapshot.meta;
    const width = fields.length;
    const typeAt = fields.indexOf('type');
    const sizeAt = fields.indexOf('self_size');
    let total = 0;
    for (let i = 0; i < snapshot.nodes.length; i += width) {
      if (JS_TYPES.has(types[snapshot.nodes[i + typeAt]!]!)) total += snapshot.nodes[i + sizeAt]!;
    }
    return total;
  } finally {
    rmSync(file, { force: true });
  }
}

function memory(): ChildMemory {
  const objects = objectBytes();
  collect();
  const heapSpaces = getHeapSpaceStatistics()
    .filter((space) => !space.space_name.startsWith('code'))
    .reduce((sum, space) => sum + space.space_used_size, 0);
  return { usage: process.memoryUsage(), objects, heapSpaces };
}

process.on('message', (request: ChildRequest) => {
  if (request.cmd === 'memory') {
    process.send?.({ id: request.id, result: memory() } satisfies ChildMessage);
  } else {
    collect();
    process.send?.({
      id: request.id,
      file: writeHeapSnapshot(request.path),
    } satisfies ChildMessage);
  }
});
// The IPC channel keeps the process alive; the parent ends it with SIGTERM.
let finished = false;
// Once a SIGTERM came, the CLI shuts down (it listens with `once`); this listener keeps
// any further SIGTERM from killing the process mid-shutdown by the default action, so
// the spec sees the CLI's own exit code.
let terminating = false;
process.on('SIGTERM', () => {
  terminating = true;
});
process.on('disconnect', () => {
  if (!finished && !terminating) process.kill(process.pid, 'SIGTERM');
});

let announced = false;
const stdout = {
  write(text: string): boolean {
    const match = /listening on (\S+)/.exec(text);
    if (!announced && match !== null) {
      announced = true;
      process.send?.({ ready: true, url: match[1]! } satisfies ChildMessage);
    }
    return process.stdout.write(text);
  },
  // The CLI guards its output streams against EPIPE through their 'error' event.
  on(event: 'error', listener: (error: Error) => void): void {
    process.stdout.on(event, listener);
  },
};

// With --enable-source-maps, Node turns this bundle's inline source map into a
// SourceMap object (≈ 14,500 small arrays, ≈ 1.5 MiB) the first time it formats
// a stack through it, and keeps it for the life of the process. Any error whose
// `stack` is read does that (engine.io reads it when a write to a socket that is
// already half closed fails, as when many sockets of one group leave at once).
// Pay that fixed cost now, so the baseline holds it and no attack is charged for
// it; a real leak still shows as growth over the baseline.
void new Error('parse the source map before the baseline').stack;

void main(process.argv.slice(2), process.env, { stdout, stderr: process.stderr }).then((code) => {
  finished = true;
  process.exitCode = code;
  process.disconnect?.();
  // As bin/rxpeer-signaling.cjs: should a stray handle linger, do not hang.
  setTimeout(() => process.exit(code), 2000).unref();
});
