/**
 * §4–6 on one set of sockets, server in a child process, clients here:
 *
 * 6a. memory of the idle server (after GC), then with N idle sockets connected;
 * 4.  `list hosts` latency with H hosts among the N sockets (sequential
 *     requests, each from another socket, so no request hits the per-socket
 *     rate limit);
 * 5.  groups of 8 (1 host + 7 members that sent `join` to the host id): one
 *     member leaves → `user disconnected` deliveries; then half of all
 *     sockets (every odd one) leave at once → time until every remaining
 *     socket received its notices;
 * 6b. everybody leaves → memory back to baseline?
 *
 * The same layout with a bare Socket.IO server gives the reference figure
 * for memory per idle socket.
 */
import { startServer, type ServerProcess } from './servers';
import { closeAll, connectMany, request, type ClientSocket } from './sockets';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { ProbeReply } from './probeChild';
import { sleep, summarize, until, within, type Summary } from './stats';
import type { GcPauses } from './serverChild';

export const GROUP = 8;

/** The bench's many clients share one address; per-address limits would count them as one (JSON: no Infinity). */
const ONE_ADDRESS_LOAD = {
  maxHostsPerAddress: 1e12,
  listBytesPerAddressRate: 1e12,
  listBytesPerAddressBurst: 1e12,
  joinRatePerAddress: 1e12,
  joinBurstPerAddress: 1e12,
  joinRatePerGroup: 1e12,
  joinBurstPerGroup: 1e12,
  maxGroupMembersPerAddress: 1e12,
  messageRatePerAddress: 1e12,
  messageBurstPerAddress: 1e12,
  inboundRatePerAddress: 1e12,
  inboundBurstPerAddress: 1e12,
  maxClientsPerAddress: 1e12,
  maxConnectionsPerAddress: 1e12,
  inboundBytesPerAddressRate: 1e12,
  inboundBytesPerAddressBurst: 1e12,
};

export interface LoadOptions {
  /** Load sockets, held by this process. */
  sockets: number;
  /** Probe sockets of §4, in a process of their own (they count towards the total). */
  probes: number;
  hosts: number;
  listSamples: number;
  profileDir?: string;
  log: (line: string) => void;
}

export interface LoadResult {
  sockets: number;
  probes: number;
  connectError?: string;
  connectSeconds: number;
  memory: { base: NodeJS.MemoryUsage; idle: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage };
  hosts: number;
  listHosts: Summary;
  listHostsSize: number;
  /** Samples over 5 ms, and GC pauses in the server and in this (the clients') process while sampling. */
  listHostsSlow: number;
  listHostsGc: {
    server: GcPauses;
    client: GcPauses;
    idleServer: GcPauses & { seconds: number };
    seconds: number;
  };
  oneLeave: { deliveries: number; serverCount: number; expected: number; ms: number };
  massLeave: {
    leaving: number;
    expected: number;
    received: number;
    serverCount: number;
    ms: number;
  };
}

const KiB = 1024;

async function drained(server: ServerProcess, sockets: number, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    const s = await server.stats();
    if (s.sockets <= sockets) return;
    if (performance.now() > deadline)
      throw new Error(`server still has ${s.sockets} sockets (want ≤ ${sockets})`);
    await sleep(50);
  }
}

/** Runs the §4 probe in its own process (see probeChild.ts). */
async function runProbe(
  url: string,
  sockets: number,
  samples: number,
): Promise<{ latencies: number[]; hosts: number; gc: GcPauses }> {
  const dir = process.env.RXPEER_BENCH_BUILD;
  if (dir === undefined) throw new Error('run the bench through bench/run.cjs (npm run bench)');
  const child = fork(join(dir, 'probeChild.js'), [url, String(sockets)], {
    execArgv: ['--enable-source-maps'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (): Promise<ProbeReply> =>
    within(
      new Promise<ProbeReply>((resolve, reject) => {
        child.once('message', (reply: ProbeReply) => resolve(reply));
        child.once('exit', (code) => reject(new Error(`probe exited with ${String(code)}`)));
      }),
      120_000,
      'list hosts probe',
    );
  try {
    const ready = await next();
    if ('error' in ready) throw new Error(`probe: ${ready.error}`);
    child.send({ samples });
    const result = await next();
    if ('error' in result) throw new Error(`probe: ${result.error}`);
    if (!('latencies' in result)) throw new Error('probe: unexpected reply');
    return result;
  } finally {
    child.disconnect();
    await new Promise<void>((resolve) =>
      child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
  }
}

/**
 * One small round of everything the load does (connect, create host, list,
 * join, leave) before the baseline is taken, so that the baseline already
 * holds the code V8 compiles on first use and "back to baseline" measures
 * what the sockets left behind, not one-time compilation.
 */
async function warmUp(server: ServerProcess, signaling: boolean): Promise<void> {
  const { sockets } = await connectMany(server.url, 2 * GROUP * 8);
  try {
    if (signaling) {
      for (let g = 0; g < sockets.length / GROUP; g += 1) {
        const host = sockets[g * GROUP]!;
        await request(host, 'create host', `warm-${g}`);
        for (let k = 1; k < GROUP; k += 1)
          sockets[g * GROUP + k]?.emit('message', { type: 'join', to: host.id });
      }
      for (const socket of sockets.slice(0, 20)) await request(socket, 'list hosts');
    }
  } finally {
    closeAll(sockets);
  }
  await drained(server, 0, 10_000);
  await sleep(500);
}

export async function serverLoad(opts: LoadOptions): Promise<LoadResult> {
  const { log } = opts;
  // Every bench socket comes from 127.0.0.1: lift the per-address protocol limits (docs/limits.md).
  const server = await startServer({ kind: 'rxpeer', limits: ONE_ADDRESS_LOAD }, opts.profileDir);
  let sockets: ClientSocket[] = [];
  try {
    await warmUp(server, true);
    const base = await server.memory();
    const snapshot = async (name: string): Promise<void> => {
      if (opts.profileDir !== undefined)
        log(
          `  heap snapshot ${await server.snapshot(join(opts.profileDir, `server-${name}.heapsnapshot`))}`,
        );
    };
    await snapshot('1-base');

    const t0 = performance.now();
    const connected = await connectMany(server.url, opts.sockets);
    sockets = connected.sockets;
    const connectSeconds = (performance.now() - t0) / 1000;
    const n = sockets.length;
    if (connected.error !== undefined)
      log(`  connected ${n} of ${opts.sockets} sockets; stopped at: ${connected.error}`);
    log(`  ${n} sockets connected in ${connectSeconds.toFixed(1)} s`);
    await drained(server, n, 5_000);
    await sleep(500);
    const idle = await server.memory();
    await snapshot('2-idle');

    // Counters on the client side: `user disconnected` deliveries per socket, joins seen by hosts.
    const staysFlag = new Uint8Array(n);
    let delivered = 0;
    let deliveredToStaying = 0;
    let joinsSeen = 0;
    sockets.forEach((socket, i) => {
      socket.on('user disconnected', () => {
        delivered += 1;
        if (staysFlag[i] === 1) deliveredToStaying += 1;
      });
      socket.on('message', (m: { type?: string }) => {
        if (m?.type === 'join') joinsSeen += 1;
      });
    });
    const groups = Math.ceil(n / GROUP);
    const hostIndex = (g: number): number => g * GROUP;

    // §4: H hosts, then `list hosts` one request at a time.
    const hosts = Math.min(opts.hosts, groups);
    const create = async (from: number, to: number): Promise<void> => {
      for (let g = from; g < to; g += 100) {
        const acks = await Promise.all(
          Array.from({ length: Math.min(100, to - g) }, (_, k) =>
            request<{ status: number }>(
              sockets[hostIndex(g + k)]!,
              'create host',
              `bench-${g + k}`,
            ),
          ),
        );
        const bad = acks.find((a) => a.status !== 200);
        if (bad !== undefined) throw new Error(`create host answered ${bad.status}`);
      }
    };
    await create(0, hosts);
    // GC of the server with its sockets idle, for comparison with the GC while sampling.
    await server.gc();
    const idleWindow = performance.now();
    await sleep(2_000);
    const idleGc = { ...(await server.gc()), seconds: (performance.now() - idleWindow) / 1000 };
    const probeStart = performance.now();
    const probe = await runProbe(server.url, opts.probes, opts.listSamples);
    const latencies = probe.latencies;
    const listHostsSize = probe.hosts;
    const listHostsGc = {
      server: await server.gc(),
      client: probe.gc,
      idleServer: idleGc,
      seconds: (performance.now() - probeStart) / 1000,
    };
    if (listHostsSize !== hosts)
      log(`  warning: list hosts returned ${listHostsSize} hosts, expected ${hosts}`);

    // §5: the other groups get their host; every member joins its host.
    await create(hosts, groups);
    const members = n - groups;
    for (let i = 0; i < n; i += 1) {
      if (i % GROUP === 0) continue;
      sockets[i]!.emit('message', { type: 'join', to: sockets[i - (i % GROUP)]!.id });
    }
    await until(() => joinsSeen >= members, `${members} joins to reach their hosts`, 60_000, 10);

    const total = (): number => delivered;
    // One member leaves (socket 1: a member of group 0, which is full when n ≥ 8).
    const leaver = 1;
    const groupSize = Math.min(GROUP, n);
    const expectedOne = groupSize - 1;
    let before = total();
    let serverBefore = (await server.stats()).userDisconnectedSent ?? 0;
    let s = performance.now();
    sockets[leaver]!.close();
    await until(() => total() - before >= expectedOne, 'the one leave to be delivered', 10_000, 1);
    const oneMs = performance.now() - s;
    await sleep(300); // anything beyond the group would have arrived by now
    await drained(server, n - 1, 5_000);
    const oneLeave = {
      deliveries: total() - before,
      serverCount: ((await server.stats()).userDisconnectedSent ?? 0) - serverBefore,
      expected: expectedOne,
      ms: oneMs,
    };

    // Mass leave: every odd socket that is still there.
    const leaving = new Set<number>();
    for (let i = 1; i < n; i += 2) if (i !== leaver) leaving.add(i);
    let expected = 0;
    const staying: number[] = [];
    for (let g = 0; g < groups; g += 1) {
      const ids = Array.from(
        { length: Math.min(GROUP, n - g * GROUP) },
        (_, k) => g * GROUP + k,
      ).filter((i) => i !== leaver);
      const out = ids.filter((i) => leaving.has(i)).length;
      const stay = ids.filter((i) => !leaving.has(i));
      staying.push(...stay);
      expected += out * stay.length;
    }
    for (const i of staying) staysFlag[i] = 1;
    const toStaying = (): number => deliveredToStaying;
    before = toStaying();
    serverBefore = (await server.stats()).userDisconnectedSent ?? 0;
    s = performance.now();
    for (const i of leaving) sockets[i]!.close();
    await until(
      () => toStaying() - before >= expected,
      `${expected} notices of the mass leave`,
      120_000,
      2,
    );
    const massMs = performance.now() - s;
    await drained(server, staying.length, 60_000);
    await sleep(300);
    const massLeave = {
      leaving: leaving.size,
      expected,
      received: toStaying() - before,
      serverCount: ((await server.stats()).userDisconnectedSent ?? 0) - serverBefore,
      ms: massMs,
    };

    // §6b: everybody leaves.
    closeAll(sockets);
    sockets = [];
    await drained(server, 0, 60_000);
    await sleep(1_000);
    const after = await server.memory();
    await snapshot('3-after');
    return {
      sockets: n,
      probes: opts.probes,
      ...(connected.error === undefined ? {} : { connectError: connected.error }),
      connectSeconds,
      memory: { base, idle, after },
      hosts,
      listHosts: summarize(latencies),
      listHostsSize,
      listHostsSlow: latencies.filter((ms) => ms > 5).length,
      listHostsGc,
      oneLeave,
      massLeave,
    };
  } finally {
    closeAll(sockets);
    await server.close();
  }
}

/** Memory per idle socket on a bare Socket.IO server, same layout (the reference for §6). */
export async function bareMemory(
  count: number,
  log: (line: string) => void,
): Promise<{
  sockets: number;
  base: NodeJS.MemoryUsage;
  idle: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
}> {
  const server = await startServer({ kind: 'bare' });
  let sockets: ClientSocket[] = [];
  try {
    await warmUp(server, false);
    const base = await server.memory();
    const connected = await connectMany(server.url, count);
    sockets = connected.sockets;
    if (connected.error !== undefined)
      log(`  bare: connected ${sockets.length} of ${count}; stopped at: ${connected.error}`);
    await drained(server, sockets.length, 5_000);
    await sleep(500);
    const idle = await server.memory();
    closeAll(sockets);
    const n = sockets.length;
    sockets = [];
    await drained(server, 0, 60_000);
    await sleep(1_000);
    const after = await server.memory();
    return { sockets: n, base, idle, after };
  } finally {
    closeAll(sockets);
    await server.close();
  }
}

export const perSocketKiB = (
  from: NodeJS.MemoryUsage,
  to: NodeJS.MemoryUsage,
  key: 'heapUsed' | 'rss',
  n: number,
): number => (to[key] - from[key]) / KiB / n;
