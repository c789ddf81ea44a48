/**
 * A signaling server in its own process, driven over IPC by the bench: the
 * rxpeer server (`createSignalingServer`) or a bare Socket.IO relay of a few
 * lines, so both are measured with the same process layout. Started with
 * `--expose-gc`, it answers `memory` with `process.memoryUsage()` taken after
 * full garbage collections.
 *
 * argv[2]: JSON {@link ChildOptions}.
 */
import { createServer } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { createSignalingServer, type SignalingLimits } from '../../src/server';

export interface ChildOptions {
  kind: 'rxpeer' | 'bare';
  limits?: Partial<SignalingLimits>;
  /** §9: metrics on or off, token verification with this HMAC secret. Default: the server's defaults. */
  ops?: { metrics?: boolean; jwtSecret?: string };
}

export type ChildRequest =
  | { id: number; cmd: 'memory' | 'stats' | 'cpu' | 'gc' | 'close' }
  | { id: number; cmd: 'snapshot'; path: string };

/** Garbage-collection pauses since the last `gc` request. */
export interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
}
export type ChildReply = { id: number; result?: unknown; error?: string };
export type ChildReady = { ready: true; url: string };

export interface ChildStats {
  sockets: number;
  userDisconnectedSent?: number;
  relayed?: number;
  /** `message`s dropped by the per-socket rate limit. */
  rateLimited?: number;
  /** Sockets disconnected for repeated violations. */
  cutOff?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start the child with --expose-gc');
  // Twice: weak references and finalizers freed in the first pass are collected in the second.
  gc();
  gc();
}

let pauses: GcPauses = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    pauses.count += 1;
    pauses.totalMs += entry.duration;
    pauses.maxMs = Math.max(pauses.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

async function main(): Promise<void> {
  let url: string;
  let stats: () => ChildStats;
  let close: () => Promise<void>;

  if (options.kind === 'rxpeer') {
    const server = await createSignalingServer({
      port: 0,
      host: '127.0.0.1',
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.ops?.metrics === undefined ? {} : { metrics: options.ops.metrics }),
      ...(options.ops?.jwtSecret === undefined
        ? {}
        : { auth: { jwtSecret: options.ops.jwtSecret } }),
    });
    url = server.url;
    stats = () => {
      const s = server.stats();
      return {
        sockets: s.sockets,
        userDisconnectedSent: s.userDisconnectedSent,
        relayed: s.relayed,
        rateLimited: s.dropped['rate-limited'],
        cutOff: s.cutOff,
      };
    };
    close = () => server.close();
  } else {
    // The bare relay: what a minimal Socket.IO signaling server does, nothing more.
    const http = createServer();
    const io = new Server(http, { serveClient: false });
    io.on('connection', (socket) => {
      socket.on('message', (m: { to: string }) =>
        io.to(m.to).emit('message', { ...m, from: socket.id }),
      );
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    stats = () => ({ sockets: io.of('/').sockets.size });
    close = () => new Promise<void>((resolve) => void io.close(() => resolve()));
  }

  process.on('message', (raw: ChildRequest) => {
    const reply = (result: unknown): void =>
      void process.send?.({ id: raw.id, result } satisfies ChildReply);
    switch (raw.cmd) {
      case 'memory':
        collect();
        reply(process.memoryUsage());
        break;
      case 'stats':
        reply(stats());
        break;
      case 'cpu':
        reply(process.cpuUsage());
        break;
      case 'gc':
        reply(pauses);
        pauses = { count: 0, totalMs: 0, maxMs: 0 };
        break;
      case 'snapshot':
        collect();
        reply(writeHeapSnapshot(raw.path));
        break;
      case 'close':
        void close().then(() => {
          reply(true);
          process.disconnect?.();
          // Profiles (--cpu-prof) are written on a normal exit.
          setTimeout(() => process.exit(0), 50).unref();
        });
        break;
      default:
        void process.send?.({
          id: (raw as ChildRequest).id,
          error: 'unknown command',
        } satisfies ChildReply);
    }
  });
  process.on('disconnect', () => setTimeout(() => process.exit(0), 200).unref());
  process.send?.({ ready: true, url } satisfies ChildReady);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `server child failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
