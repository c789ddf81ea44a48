/** Starts {@link ./serverChild} processes and talks to them over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type {
  ChildOptions,
  ChildReady,
  ChildReply,
  ChildRequest,
  ChildStats,
  GcPauses,
} from './serverChild';
import { within } from './stats';

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  memory(): Promise<NodeJS.MemoryUsage>;
  stats(): Promise<ChildStats>;
  cpu(): Promise<NodeJS.CpuUsage>;
  /** GC pauses since the previous call. */
  gc(): Promise<GcPauses>;
  /** Writes a heap snapshot (after GC) to `path`. */
  snapshot(path: string): Promise<string>;
  close(): Promise<void>;
}

const buildDir = (): string => {
  const dir = process.env.RXPEER_BENCH_BUILD;
  if (dir === undefined) throw new Error('run the bench through bench/run.cjs (npm run bench)');
  return dir;
};

export async function startServer(
  options: ChildOptions,
  profileDir?: string,
): Promise<ServerProcess> {
  const execArgv = ['--enable-source-maps', '--expose-gc'];
  if (profileDir !== undefined) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child: ChildProcess = fork(join(buildDir(), 'serverChild.js'), [JSON.stringify(options)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  child.on('exit', () => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error('server child exited'));
    pending.clear();
  });
  const url = await within(
    new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`server child exited with ${String(code)} before it was ready`)),
      );
      child.on('message', (message: ChildReady | ChildReply) => {
        if ('ready' in message) {
          resolve(message.url);
          return;
        }
        const waiter = pending.get(message.id);
        if (waiter === undefined) return;
        pending.delete(message.id);
        if (message.error !== undefined) waiter.reject(new Error(message.error));
        else waiter.resolve(message.result);
      });
    }),
    20_000,
    'server child start',
  );
  const ask = <T>(cmd: ChildRequest['cmd'], ms = 30_000, extra: object = {}): Promise<T> => {
    if (exited) return Promise.reject(new Error('server child exited'));
    const id = nextId++;
    const answer = new Promise<T>((resolve, reject) =>
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject }),
    );
    child.send({ id, cmd, ...extra });
    return within(answer, ms, `server child ${cmd}`);
  };
  return {
    url,
    pid: child.pid ?? -1,
    memory: () => ask<NodeJS.MemoryUsage>('memory'),
    stats: () => ask<ChildStats>('stats'),
    cpu: () => ask<NodeJS.CpuUsage>('cpu'),
    gc: () => ask<GcPauses>('gc'),
    snapshot: (path: string) => ask<string>('snapshot', 300_000, { path }),
    async close() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await ask<boolean>('close', 15_000);
        await within(gone, 5_000, 'server child exit');
      } catch {
        if (!exited) child.kill('SIGKILL');
      }
    },
  };
}
