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
import { getHeapSpaceStatistics } from 'node:v8';
import { main } from '../../src/server/cli';

export interface ChildMemory {
  /** `process.memoryUsage()` after GC. */
  usage: NodeJS.MemoryUsage;
  /** Bytes used by JS objects: every V8 heap space but compiled code (which grows while the JIT warms up). */
  objects: number;
}

export type ChildRequest = { id: number; cmd: 'memory' };
export type ChildMessage = { ready: true; url: string } | { id: number; result: ChildMemory };

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start the server child with --expose-gc');
  gc();
  gc();
}

function memory(): ChildMemory {
  collect();
  const objects = getHeapSpaceStatistics()
    .filter((space) => !space.space_name.startsWith('code'))
    .reduce((sum, space) => sum + space.space_used_size, 0);
  return { usage: process.memoryUsage(), objects };
}

process.on('message', (request: ChildRequest) => {
  if (request.cmd === 'memory')
    process.send?.({ id: request.id, result: memory() } satisfies ChildMessage);
});
// The IPC channel keeps the process alive; the parent ends it with SIGTERM.
let finished = false;
process.on('disconnect', () => {
  if (!finished) process.kill(process.pid, 'SIGTERM');
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
};

void main(process.argv.slice(2), process.env, { stdout, stderr: process.stderr }).then((code) => {
  finished = true;
  process.exitCode = code;
  process.disconnect?.();
  // As bin/rxpeer-signaling.cjs: should a stray handle linger, do not hang.
  setTimeout(() => process.exit(code), 2000).unref();
});
