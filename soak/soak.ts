/**
 * Soak: join/leave cycles of a client against a host, on the real server and
 * a real engine, in this process. After a warm-up, a baseline is taken (after
 * GC); after the cycles, peer connections, sockets, handles and timers must be
 * back to it and the heap within 5 %.
 *
 * Run: `npm run soak` (1,000 cycles) or `npm run soak -- --cycles 50 --json`.
 * Needs `node --expose-gc` (the npm script passes it).
 */
import wrtc from '@roamhq/wrtc';
import { parseArgs } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { PeerClient } from '../src/client/PeerClient';
import { createSignalingServer } from '../src/server';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '30' },
    json: { type: 'boolean', default: false },
  },
});
const cycles = Number(values.cycles);
const warmup = Number(values.warmup);

/** Peer connections not closed yet; closed ones are let go, so the soak itself holds nothing. */
const live = new Set<RTCPeerConnection>();
const isClosed = (pc: RTCPeerConnection): boolean => pc.connectionState === 'closed' || pc.signalingState === 'closed';
const createPeerConnection = (config: RTCConfiguration): RTCPeerConnection => {
  for (const pc of live) if (isClosed(pc)) live.delete(pc);
  const pc = new wrtc.RTCPeerConnection(config) as unknown as RTCPeerConnection;
  live.add(pc);
  return pc;
};
const openPcs = (): number => {
  for (const pc of live) if (isClosed(pc)) live.delete(pc);
  return live.size;
};

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('soak: run with node --expose-gc\n');
  process.exit(2);
}

/**
 * Bytes held by JavaScript objects (objects, closures, arrays, strings …),
 * from a heap snapshot, which collects garbage first. V8's own structures
 * (compiled code, its metadata, hidden internals) are left out: they keep
 * growing while the JIT warms up, and are not something a library leaks.
 */
function objectBytes(dir: string): number {
  const file = writeHeapSnapshot(join(dir, `soak-${Date.now()}.heapsnapshot`));
  try {
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
    };
    const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
    const width = fields.length;
    const typeAt = fields.indexOf('type');
    const sizeAt = fields.indexOf('self_size');
    const counted = new Set(['object', 'closure', 'array', 'string', 'concatenated string', 'sliced string', 'number', 'regexp', 'symbol', 'bigint']);
    let bytes = 0;
    for (let i = 0; i < snapshot.nodes.length; i += width) {
      if (counted.has(types[snapshot.nodes[i + typeAt]!]!)) bytes += snapshot.nodes[i + sizeAt]!;
    }
    return bytes;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Lets pending closes finish and collects; returns the bytes JavaScript objects hold. */
async function settle(dir: string): Promise<number> {
  for (let i = 0; i < 5; i += 1) {
    await new Promise((r) => setTimeout(r, 30));
    gc!();
  }
  return objectBytes(dir);
}

/** Counts of live libuv resources by type (sockets, timers …); a passing `setImmediate` is not one. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) if (type !== 'Immediate') counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

async function main(): Promise<void> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  const host = new PeerClient({ url: server.url }, { createPeerConnection });
  const hostStarted = firstValueFrom(host.started$);
  await host.startHost('soak');
  const hostId = await hostStarted;

  const cycle = async (): Promise<void> => {
    const client = new PeerClient({ url: server.url }, { createPeerConnection });
    const started = firstValueFrom(client.started$.pipe(timeout(15_000)));
    await client.startClient(hostId);
    await started;
    await client.dispose();
    await firstValueFrom(host.peers$.pipe(filter((p) => p.size === 0), timeout(5_000)));
  };

  for (let i = 0; i < warmup; i += 1) await cycle();
  const snapshots = mkdtempSync(join(tmpdir(), 'rxpeer-soak-heap-'));
  const baseHeap = await settle(snapshots);
  const base = {
    heap: baseHeap,
    resources: resources(),
    server: await server.health(),
  };
  const t0 = Date.now();
  for (let i = 0; i < cycles; i += 1) await cycle();
  const elapsed = Date.now() - t0;
  const afterHeap = await settle(snapshots);
  rmSync(snapshots, { recursive: true, force: true });
  const after = {
    heap: afterHeap,
    resources: resources(),
    server: await server.health(),
  };

  const heapRatio = after.heap / base.heap;
  const resourceGrowth = Object.entries(after.resources)
    .filter(([type, n]) => n > (base.resources[type] ?? 0))
    .map(([type, n]) => `${type} ${base.resources[type] ?? 0}→${n}`);
  const checks = {
    'open peer connections': { value: openPcs(), ok: openPcs() === 0 },
    'host peers': { value: (await firstValueFrom(host.peers$)).size, ok: (await firstValueFrom(host.peers$)).size === 0 },
    'server sockets': { value: `${base.server.sockets}→${after.server.sockets}`, ok: after.server.sockets === base.server.sockets },
    'server hosts': { value: `${base.server.hosts}→${after.server.hosts}`, ok: after.server.hosts === base.server.hosts },
    'handles and timers': { value: resourceGrowth.length === 0 ? 'unchanged' : resourceGrowth.join(', '), ok: resourceGrowth.length === 0 },
    'JS objects on the heap after GC': {
      value: `${(base.heap / 1048576).toFixed(2)}→${(after.heap / 1048576).toFixed(2)} MiB (${((heapRatio - 1) * 100).toFixed(1)} %)`,
      ok: heapRatio <= 1.05,
    },
  };
  const ok = Object.values(checks).every((c) => c.ok);
  const result = { cycles, warmup, elapsedMs: elapsed, perCycleMs: elapsed / cycles, ok, checks };

  await host.dispose();
  await server.close();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`soak: ${cycles} join/leave cycles in ${(elapsed / 1000).toFixed(1)} s (${result.perCycleMs.toFixed(1)} ms each)\n`);
    for (const [name, c] of Object.entries(checks)) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${name}: ${String(c.value)}\n`);
  }
  // Leave through exit(): @roamhq/wrtc can crash in its native finalizers at process teardown.
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
