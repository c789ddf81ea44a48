/**
 * §3: full mesh. A host is started (not timed), then N−1 clients call
 * `startClient()` together; the time runs until every member's `peers$` —
 * the host's included — shows N−1 peers with connectionState `connected`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { combineLatest, filter, firstValueFrom, map, take } from 'rxjs';
import { PeerClient } from '../../src/client/PeerClient';
import type { PeerState } from '../../src/client/types';
import { createPeerConnection, openPeerConnections } from './engine';
import { startHost } from './join';
import type { PeerChildReply } from './peerChild';
import { sleep, within } from './stats';

const fullyConnected = (peers: ReadonlyMap<string, PeerState>, want: number): boolean =>
  peers.size === want && [...peers.values()].every((p) => p.connectionState === 'connected');

export async function meshRun(
  url: string,
  n: number,
  name: string,
  limitMs: number,
): Promise<number> {
  const host = await startHost(url, name);
  const clients = Array.from(
    { length: n - 1 },
    () => new PeerClient({ url }, { createPeerConnection }),
  );
  try {
    const all = [host.client, ...clients];
    const done = firstValueFrom(
      combineLatest(
        all.map((c) => c.peers$.pipe(map((peers) => fullyConnected(peers, n - 1)))),
      ).pipe(
        filter((oks) => oks.every(Boolean)),
        take(1),
      ),
    );
    const t0 = performance.now();
    await Promise.all(clients.map((c) => c.startClient(host.id)));
    await within(done, limitMs, `mesh of ${n}`);
    return performance.now() - t0;
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await host.dispose();
  }
}

export interface MeshSamples {
  /** ms per completed run. */
  times: number[];
  /** One process per peer: CPU ms of all peer processes together until each was fully connected, per run. */
  cpuMs?: number[];
  /** Signaling messages the server relayed per run. */
  messages?: number[];
  /** Runs that did not reach a full mesh within the limit. */
  failures: number;
  /** True when the size was given up after failing `giveUpAfter` times without a single success. */
  gaveUp: boolean;
}

export async function meshLatency(
  url: string,
  relayed: () => Promise<number>,
  sizes: readonly number[],
  runs: number,
  warmup: number,
  limitMs: number,
  log: (line: string) => void,
  giveUpAfter = 3,
): Promise<Map<number, MeshSamples>> {
  const samples = new Map<number, MeshSamples>(
    sizes.map((n) => [n, { times: [], messages: [], failures: 0, gaveUp: false }]),
  );
  let serial = 0;
  for (let round = 0; round < warmup + runs; round += 1) {
    for (const n of sizes) {
      const s = samples.get(n)!;
      if (s.gaveUp) continue;
      serial += 1;
      try {
        const before = await relayed();
        const ms = await meshRun(url, n, `bench-mesh-${serial}`, limitMs);
        if (round >= warmup) {
          s.times.push(ms);
          s.messages!.push((await relayed()) - before);
        }
      } catch (error) {
        s.failures += 1;
        log(
          `  mesh of ${n}, run ${round} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (s.times.length === 0 && s.failures >= giveUpAfter) {
          s.gaveUp = true;
          log(`  mesh of ${n}: gave up after ${s.failures} failures without a success`);
        }
      }
      // Let the server drop the stopped sockets before the next group forms.
      await sleep(20);
    }
  }
  const open = openPeerConnections();
  if (open > 0) log(`  warning: ${open} peer connections still open after the mesh runs`);
  return samples;
}

// ---------------------------------------------------------------------------
// The same mesh with one process per peer.

interface PeerProcess {
  child: ChildProcess;
  next(
    predicate: (reply: PeerChildReply) => boolean,
    ms: number,
    what: string,
  ): Promise<PeerChildReply>;
  /** Forgets queued replies that match. */
  drop(predicate: (reply: PeerChildReply) => boolean): void;
}

function forkPeer(url: string): Promise<PeerProcess> {
  const dir = process.env.RXPEER_BENCH_BUILD;
  if (dir === undefined) throw new Error('run the bench through bench/run.cjs (npm run bench)');
  const child = fork(join(dir, 'peerChild.js'), [url], {
    execArgv: ['--enable-source-maps'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: PeerChildReply[] = [];
  const waiters: {
    predicate: (r: PeerChildReply) => boolean;
    resolve: (r: PeerChildReply) => void;
  }[] = [];
  child.on('message', (reply: PeerChildReply) => {
    if ('error' in reply) process.stderr.write(`  peer ${String(child.pid)}: ${reply.error}\n`);
    const at = waiters.findIndex((w) => w.predicate(reply));
    if (at >= 0) waiters.splice(at, 1)[0]!.resolve(reply);
    else inbox.push(reply);
  });
  const next = (
    predicate: (r: PeerChildReply) => boolean,
    ms: number,
    what: string,
  ): Promise<PeerChildReply> => {
    const at = inbox.findIndex(predicate);
    if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0]!);
    const waiter = { predicate, resolve: (_: PeerChildReply): void => undefined };
    const answer = new Promise<PeerChildReply>((resolve) => {
      waiter.resolve = resolve;
      waiters.push(waiter);
    });
    return within(answer, ms, what).finally(() => {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
    });
  };
  const drop = (predicate: (r: PeerChildReply) => boolean): void => {
    for (let i = inbox.length - 1; i >= 0; i -= 1) if (predicate(inbox[i]!)) inbox.splice(i, 1);
  };
  const peer = { child, next, drop };
  return next((r) => 'stopped' in r, 20_000, 'peer process start').then(() => peer);
}

const isFull = (r: PeerChildReply): boolean => 'full' in r;

/** One run: every process gets a fresh PeerClient; the time runs from the `join` commands to the last "full". */
async function meshRunProcesses(
  peers: readonly PeerProcess[],
  name: string,
  limitMs: number,
): Promise<{ ms: number; cpuMs: number }> {
  const n = peers.length;
  const [host, ...clients] = peers;
  try {
    host!.child.send({ cmd: 'host', name, want: n - 1 });
    const reply = await host!.next((r) => 'host' in r, 10_000, 'host start');
    const hostId = (reply as { host: string }).host;
    const t0 = performance.now();
    for (const c of clients) c.child.send({ cmd: 'join', hostId, want: n - 1 });
    const full = await within(
      Promise.all(peers.map((p) => p.next(isFull, limitMs + 1_000, 'full mesh'))),
      limitMs,
      `mesh of ${n} (processes)`,
    );
    const ms = performance.now() - t0;
    return { ms, cpuMs: full.reduce((a, r) => a + ('cpuMs' in r ? r.cpuMs : 0), 0) };
  } finally {
    for (const p of peers) p.child.send({ cmd: 'stop' });
    await Promise.all(
      peers.map((p) => p.next((r) => 'stopped' in r, 15_000, 'peer stop').catch(() => undefined)),
    );
    // A "full" that came after the deadline must not count for the next run.
    for (const p of peers) p.drop(isFull);
  }
}

/** Mesh latency with one process per peer; the processes are made once per size. */
export async function meshLatencyProcesses(
  url: string,
  relayed: () => Promise<number>,
  sizes: readonly number[],
  runs: number,
  warmup: number,
  limitMs: number,
  log: (line: string) => void,
  giveUpAfter = 3,
): Promise<Map<number, MeshSamples>> {
  const samples = new Map<number, MeshSamples>();
  for (const n of sizes) {
    const s: MeshSamples = { times: [], cpuMs: [], messages: [], failures: 0, gaveUp: false };
    samples.set(n, s);
    const peers = await Promise.all(Array.from({ length: n }, () => forkPeer(url)));
    try {
      for (let round = 0; round < warmup + runs && !s.gaveUp; round += 1) {
        try {
          const before = await relayed();
          const { ms, cpuMs } = await meshRunProcesses(peers, `bench-pmesh-${n}-${round}`, limitMs);
          if (round >= warmup) {
            s.times.push(ms);
            s.cpuMs!.push(cpuMs);
            s.messages!.push((await relayed()) - before);
          }
        } catch (error) {
          s.failures += 1;
          log(
            `  mesh of ${n} (processes), run ${round} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
          if (s.times.length === 0 && s.failures >= giveUpAfter) s.gaveUp = true;
        }
        await sleep(20);
      }
    } finally {
      for (const p of peers) p.child.disconnect();
      await Promise.all(
        peers.map(
          (p) =>
            new Promise<void>((resolve) =>
              p.child.exitCode !== null ? resolve() : p.child.once('exit', () => resolve()),
            ),
        ),
      );
    }
  }
  return samples;
}
