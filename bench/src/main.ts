/**
 * rxpeer's benchmark (issue 6). Run it with `npm run bench` (see bench/run.cjs).
 * Prints a table — machine first — and writes the same figures as JSON.
 * Targets are reported against, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { SignalingLimits } from '../../src/server';
import { startServer } from './servers';
import { joinLatency, vanillaStunJoin } from './join';
import { meshLatency, meshLatencyProcesses, type MeshSamples } from './mesh';
import { bareMemory, perSocketKiB, serverLoad, GROUP } from './serverLoad';
import { relayThroughput, medianOf } from './relay';
import { clientSize } from './size';
import { transfer } from './transfer';
import { opsCost, opsMedian, OPS_SETTINGS } from './ops';
import { createSignalingServer } from '../../src/server';
import { fromSummary, single, table, type Row } from './report';
import { summarize, median } from './stats';

const SECTIONS = ['join', 'stun', 'mesh', 'server', 'relay', 'transfer', 'size', 'ops'] as const;
type Section = (typeof SECTIONS)[number];

interface Settings {
  joinRuns: number;
  joinWarmup: number;
  stunVanillaRuns: number;
  vanillaIceTimeout: number;
  meshSizes: number[];
  meshRuns: number;
  meshWarmup: number;
  meshLimitMs: number;
  sockets: number;
  hosts: number;
  listSamples: number;
  /** Sockets of the §4 probe process (part of `sockets`). */
  probes: number;
  relayTrials: number;
  relayMessages: number;
  relayWindow: number;
  /** Rounds of the §9 data-transfer variants (interleaved). */
  transferTrials: number;
  opsTrials: number;
  opsConnections: number;
  opsMessages: number;
}

const FULL: Settings = {
  joinRuns: 30,
  joinWarmup: 3,
  stunVanillaRuns: 5,
  vanillaIceTimeout: 5000,
  meshSizes: [2, 4, 8],
  meshRuns: 20,
  meshWarmup: 1,
  meshLimitMs: 15_000,
  sockets: 10_000,
  hosts: 1_000,
  listSamples: 2_000,
  probes: 100,
  relayTrials: 10,
  relayMessages: 20_000,
  relayWindow: 256,
  transferTrials: 7,
  opsTrials: 5,
  opsConnections: 500,
  opsMessages: 10_000,
};

const QUICK: Settings = {
  joinRuns: 3,
  joinWarmup: 1,
  stunVanillaRuns: 1,
  vanillaIceTimeout: 500,
  meshSizes: [2, 4, 8],
  meshRuns: 1,
  meshWarmup: 0,
  meshLimitMs: 8_000,
  sockets: 500,
  hosts: 50,
  listSamples: 100,
  probes: 20,
  relayTrials: 1,
  relayMessages: 1_000,
  relayWindow: 256,
  transferTrials: 1,
  opsTrials: 1,
  opsConnections: 100,
  opsMessages: 1_000,
};

function parseArgs(argv: readonly string[]): {
  quick: boolean;
  out?: string;
  only: Set<Section>;
  profile: boolean;
  limits?: Partial<SignalingLimits>;
} {
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const outAt = argv.indexOf('--out');
  const onlyAt = argv.indexOf('--only');
  const only = new Set<Section>(SECTIONS);
  if (onlyAt >= 0) {
    only.clear();
    for (const name of (argv[onlyAt + 1] ?? '').split(',')) {
      if (!(SECTIONS as readonly string[]).includes(name))
        throw new Error(`--only: unknown section "${name}" (${SECTIONS.join(', ')})`);
      only.add(name as Section);
    }
  }
  const out = outAt >= 0 ? argv[outAt + 1] : undefined;
  // Investigation aid: limits for the server of §1–3, e.g. --limits '{"messageBurst":5000}'.
  const limitsAt = argv.indexOf('--limits');
  const limits =
    limitsAt >= 0
      ? (JSON.parse(argv[limitsAt + 1] ?? '{}') as Partial<SignalingLimits>)
      : undefined;
  return {
    quick,
    only,
    profile,
    ...(out === undefined ? {} : { out }),
    ...(limits === undefined ? {} : { limits }),
  };
}

function shell(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const KiB = 1024;

async function main(): Promise<void> {
  const root = process.env.RXPEER_BENCH_ROOT ?? process.cwd();
  const args = parseArgs(process.argv.slice(2));
  const s = args.quick ? QUICK : FULL;
  const profileDir = args.profile ? join(root, 'bench', 'profiles') : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const fdLimit = Number(shell('sh', ['-c', 'ulimit -n']));
  const meta = {
    date: new Date().toISOString(),
    mode: args.quick ? 'quick' : 'full',
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    os: `${process.platform} ${release()}`,
    fdLimit: Number.isFinite(fdLimit) ? fdLimit : null,
    commit: shell('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    /** Uncommitted changes under src/ when the bench ran (the figures are of the working tree). */
    srcDirty: shell('git', ['-C', root, 'status', '--porcelain', '--', 'src']) !== '',
    engine: '@roamhq/wrtc',
    settings: s,
    ...(args.limits === undefined ? {} : { serverLimits: args.limits }),
  };
  log(
    `rxpeer bench (${meta.mode}): ${meta.cores} cores (${meta.cpu}), Node ${meta.node}, ${meta.os}, ulimit -n ${String(meta.fdLimit)}`,
  );
  const started = performance.now();
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const section = async (
    name: Section,
    title: string,
    body: () => Promise<void>,
  ): Promise<void> => {
    if (!args.only.has(name)) return;
    const t = performance.now();
    log(`${title} …`);
    await body();
    log(`  ${((performance.now() - t) / 1000).toFixed(1)} s`);
  };

  // §1–3 share one rxpeer server in a child process (the clients and the engine are here).
  let oneJoin = Number.NaN;
  if (args.only.has('join') || args.only.has('stun') || args.only.has('mesh')) {
    const server = await startServer(
      { kind: 'rxpeer', ...(args.limits === undefined ? {} : { limits: args.limits }) },
      profileDir,
    );
    try {
      let trickleSamples: number[] = [];
      await section(
        'join',
        '§1 join latency (and §2 trickle with unreachable STUN), interleaved',
        async () => {
          const j = await joinLatency(server.url, s.joinRuns, s.joinWarmup, log);
          raw.join = j;
          const rt = summarize(j.rxpeerTrickle);
          const rw = summarize(j.rxpeerTrickleWarm);
          const rv = summarize(j.rxpeerVanilla);
          const bt = summarize(j.bareTrickle);
          const bv = summarize(j.bareVanilla);
          const st = summarize(j.rxpeerTrickleStun);
          trickleSamples = j.rxpeerTrickle;
          oneJoin = rt.median;
          rows.push(
            fromSummary(
              'join.rxpeer.trickle',
              '1',
              'join rxpeer↔rxpeer, trickle (default)',
              'ms',
              rt,
              { op: '<=', limit: 30, text: '≤ 30 ms' },
            ),
            fromSummary(
              'join.rxpeer.trickleWarm',
              '1',
              'join, trickle, socket already connected (listHosts first)',
              'ms',
              rw,
            ),
            fromSummary(
              'join.rxpeer.vanilla',
              '1',
              'join rxpeer, vanilla (`trickle: false` joiner)',
              'ms',
              rv,
            ),
            fromSummary(
              'join.floor.trickle',
              '1',
              'floor: bare RTCPeerConnections, trickle',
              'ms',
              bt,
            ),
            fromSummary(
              'join.floor.vanilla',
              '1',
              'floor: bare RTCPeerConnections, vanilla',
              'ms',
              bv,
            ),
            single(
              'join.ratio.trickle',
              '1',
              'rxpeer trickle ÷ trickle floor',
              '×',
              rt.median / bt.median,
              { op: '<=', limit: 1.3, text: '≤ 1.3×' },
            ),
            single(
              'join.ratio.vanilla',
              '1',
              'rxpeer vanilla ÷ vanilla floor',
              '×',
              rv.median / bv.median,
              { op: '<=', limit: 1.3, text: '≤ 1.3×' },
            ),
            single(
              'join.ratio.trickleWarm',
              '1',
              'rxpeer trickle, socket connected ÷ trickle floor',
              '×',
              rw.median / bt.median,
            ),
            single(
              'join.ratio.trickleVsVanillaFloor',
              '1',
              'rxpeer trickle ÷ vanilla floor',
              '×',
              rt.median / bv.median,
            ),
            fromSummary('stun.rxpeer.trickle', '2', 'join, unreachable STUN, trickle', 'ms', st),
            single(
              'stun.ratio.trickle',
              '2',
              'trickle: unreachable STUN ÷ no STUN',
              '×',
              st.median / rt.median,
              { op: '<=', limit: 1.2, text: '≤ 1.2× (unchanged)' },
            ),
          );
          if (j.failures > 0)
            rows.push(
              single('join.failures', '1', 'failed join runs (all variants)', '', j.failures, {
                op: '==',
                limit: 0,
                text: '0',
              }),
            );
        },
      );
      await section(
        'stun',
        `§2 vanilla join with unreachable STUN (vanillaIceTimeout ${s.vanillaIceTimeout} ms)`,
        async () => {
          const v = await vanillaStunJoin(server.url, s.stunVanillaRuns, s.vanillaIceTimeout, log);
          raw.stunVanilla = v;
          const vs = summarize(v);
          rows.push(
            fromSummary(
              'stun.rxpeer.vanilla',
              '2',
              `join, unreachable STUN, vanilla (timeout ${s.vanillaIceTimeout} ms)`,
              'ms',
              vs,
              undefined,
              'median',
              "gathering never completes: the offer leaves at the vanilla-ICE timeout (the answer's gathering ends at once on this engine)",
            ),
          );
          const st = rows.find((r) => r.id === 'stun.rxpeer.trickle');
          if (st !== undefined)
            rows.push(
              single(
                'stun.ratio.vanillaVsTrickle',
                '2',
                'unreachable STUN: vanilla ÷ trickle',
                '×',
                vs.median / st.median,
              ),
            );
        },
      );
      await section('mesh', '§3 full mesh', async () => {
        const relayed = async (): Promise<number> => (await server.stats()).relayed ?? 0;
        const m = await meshLatency(
          server.url,
          relayed,
          s.meshSizes,
          s.meshRuns,
          s.meshWarmup,
          s.meshLimitMs,
          log,
        );
        const mp = await meshLatencyProcesses(
          server.url,
          relayed,
          s.meshSizes,
          s.meshRuns,
          s.meshWarmup,
          s.meshLimitMs,
          log,
        );
        raw.mesh = { oneProcess: Object.fromEntries(m), processPerPeer: Object.fromEntries(mp) };
        // The ratio needs one join of this run; measure it here when §1 was skipped.
        if (trickleSamples.length === 0) {
          const j = await joinLatency(server.url, Math.max(3, Math.min(10, s.joinRuns)), 1, log);
          oneJoin = median(j.rxpeerTrickle);
        }
        const failedNote = (r: MeshSamples): string | undefined =>
          r.failures === 0
            ? undefined
            : `${r.failures} run(s) never reached a full mesh within ${s.meshLimitMs} ms${r.gaveUp ? '; gave up' : ''}`;
        for (const [n, r] of m) {
          rows.push(
            fromSummary(
              `mesh.${n}`,
              '3',
              `mesh of ${n}, one process: every pair connected`,
              'ms',
              summarize(r.times),
              undefined,
              'median',
              failedNote(r),
            ),
          );
        }
        for (const [n, r] of m) {
          rows.push(
            single(
              `mesh.ratio.${n}`,
              '3',
              `mesh of ${n}, one process ÷ one join (§1)`,
              '×',
              median(r.times) / oneJoin,
              n === 8 ? { op: '<=', limit: 3, text: '≤ 3×' } : undefined,
            ),
          );
        }
        for (const [n, r] of m)
          rows.push(
            single(
              `mesh.messages.${n}`,
              '3',
              `mesh of ${n}, one process: signaling messages relayed`,
              '',
              median(r.messages ?? []),
            ),
          );
        const pairOf = median(mp.get(2)?.times ?? []);
        for (const [n, r] of mp) {
          rows.push(
            fromSummary(
              `mesh.proc.${n}`,
              '3',
              `mesh of ${n}, a process per peer: every pair connected`,
              'ms',
              summarize(r.times),
              undefined,
              'median',
              failedNote(r),
            ),
          );
        }
        for (const [n, r] of mp) {
          if (n === 2) continue;
          rows.push(
            single(
              `mesh.proc.ratio.${n}`,
              '3',
              `mesh of ${n}, a process per peer ÷ mesh of 2 (one join)`,
              '×',
              median(r.times) / pairOf,
              n === 8 ? { op: '<=', limit: 3, text: '≤ 3×' } : undefined,
            ),
          );
        }
        for (const [n, r] of mp) {
          rows.push(
            single(
              `mesh.proc.cpu.${n}`,
              '3',
              `mesh of ${n}, a process per peer: CPU of all peers ÷ ${meta.cores} cores`,
              'ms',
              median(r.cpuMs ?? []) / meta.cores,
            ),
          );
        }
        for (const [n, r] of mp)
          rows.push(
            single(
              `mesh.proc.messages.${n}`,
              '3',
              `mesh of ${n}, a process per peer: signaling messages relayed`,
              '',
              median(r.messages ?? []),
            ),
          );
        const all = [...m.values(), ...mp.values()];
        const failures = all.reduce((a, r) => a + r.failures, 0);
        rows.push(
          single('mesh.failures', '3', 'mesh runs that never fully connected', '', failures, {
            op: '==',
            limit: 0,
            text: '0',
          }),
        );
        const st = await server.stats();
        rows.push(
          single(
            'mesh.rateLimited',
            '1–3',
            'signaling messages the server dropped by its rate limit (§1–3)',
            '',
            st.rateLimited ?? 0,
            { op: '==', limit: 0, text: '0' },
          ),
          single(
            'mesh.cutOff',
            '1–3',
            'peers the server cut off for it (§1–3)',
            '',
            st.cutOff ?? 0,
            { op: '==', limit: 0, text: '0' },
          ),
        );
      });
    } finally {
      await server.close();
    }
  }

  await section('server', `§4–6 server with ${s.sockets} sockets`, async () => {
    let sockets = s.sockets;
    if (Number.isFinite(fdLimit) && fdLimit < sockets + 256) {
      sockets = Math.max(GROUP, fdLimit - 256);
      log(`  ulimit -n is ${fdLimit}: measuring ${sockets} sockets instead of ${s.sockets}`);
    }
    const probes = s.probes;
    const r = await serverLoad({
      sockets: sockets - probes,
      probes,
      hosts: s.hosts,
      listSamples: s.listSamples,
      log,
      ...(profileDir === undefined ? {} : { profileDir }),
    });
    const bare = await bareMemory(r.sockets, log);
    raw.server = { ...r, bare };
    const heap = perSocketKiB(r.memory.base, r.memory.idle, 'heapUsed', r.sockets);
    const rss = perSocketKiB(r.memory.base, r.memory.idle, 'rss', r.sockets);
    const bareHeap = perSocketKiB(bare.base, bare.idle, 'heapUsed', bare.sockets);
    const bareRss = perSocketKiB(bare.base, bare.idle, 'rss', bare.sockets);
    const g = r.listHostsGc;
    const gcNote =
      `${r.listHostsSlow} of ${r.listHosts.n} over 5 ms; GC pauses while sampling (${g.seconds.toFixed(1)} s): server ${g.server.count} (max ${g.server.maxMs.toFixed(1)} ms), ` +
      `probe ${g.client.count} (max ${g.client.maxMs.toFixed(1)} ms); idle server: ${g.idleServer.count} in ${g.idleServer.seconds.toFixed(1)} s`;
    const note =
      r.sockets + r.probes < sockets
        ? `only ${r.sockets + r.probes} sockets connected: ${r.connectError ?? 'fd limit'}; ${gcNote}`
        : gcNote;
    rows.push(
      fromSummary(
        'server.listHosts',
        '4',
        `list hosts, ${r.sockets + r.probes} sockets / ${r.hosts} hosts`,
        'ms',
        r.listHosts,
        { op: '<', limit: 5, text: 'p99 < 5 ms' },
        'p99',
        note,
      ),
      single(
        'server.oneLeave',
        '5',
        `one leave (groups of ${GROUP}): user disconnected deliveries`,
        '',
        r.oneLeave.deliveries,
        { op: '==', limit: r.oneLeave.expected, text: `= ${r.oneLeave.expected} (group − 1)` },
      ),
      single(
        'server.oneLeave.ms',
        '5',
        'one leave: all its notices delivered',
        'ms',
        r.oneLeave.ms,
      ),
      single(
        'server.massLeave.ms',
        '5',
        `mass leave of ${r.massLeave.leaving} (half) at once: all notices delivered`,
        'ms',
        r.massLeave.ms,
      ),
      single(
        'server.massLeave.deliveries',
        '5',
        'mass leave: notices to the sockets that stayed',
        '',
        r.massLeave.received,
        { op: '==', limit: r.massLeave.expected, text: `= ${r.massLeave.expected} (group-local)` },
      ),
      single('server.memory.heap', '6', 'server heap per idle socket (after GC)', 'KiB', heap, {
        op: '<=',
        limit: 12,
        text: '≤ 12 KiB',
      }),
      single('server.memory.rss', '6', 'server RSS per idle socket', 'KiB', rss),
      single(
        'server.memory.bareHeap',
        '6',
        'bare Socket.IO heap per idle socket (reference)',
        'KiB',
        bareHeap,
      ),
      single(
        'server.memory.bareRss',
        '6',
        'bare Socket.IO RSS per idle socket (reference)',
        'KiB',
        bareRss,
      ),
      single(
        'server.memory.heapAfter',
        '6',
        'heap after all left − baseline',
        'KiB',
        (r.memory.after.heapUsed - r.memory.base.heapUsed) / KiB,
      ),
      single(
        'server.memory.returned',
        '6',
        'share of the heap growth returned after all left',
        '%',
        (100 * (r.memory.idle.heapUsed - r.memory.after.heapUsed)) /
          (r.memory.idle.heapUsed - r.memory.base.heapUsed),
        { op: '>=', limit: 98, text: '≥ 98 % (baseline)' },
      ),
      single(
        'server.memory.bareHeapAfter',
        '6',
        'bare Socket.IO: heap after all left − baseline (reference)',
        'KiB',
        (bare.after.heapUsed - bare.base.heapUsed) / KiB,
      ),
      single(
        'server.memory.rssAfter',
        '6',
        'RSS after all left − baseline',
        'KiB',
        (r.memory.after.rss - r.memory.base.rss) / KiB,
      ),
    );
  });

  await section(
    'relay',
    `§7 relay throughput (1 KiB messages, ${s.relayTrials} trials × ${s.relayMessages})`,
    async () => {
      const r = await relayThroughput(s.relayTrials, s.relayMessages, s.relayWindow, profileDir);
      raw.relay = r;
      const rx = summarize(r.rxpeer.map((t) => t.perSecond));
      const bare = summarize(r.bare.map((t) => t.perSecond));
      rows.push(
        fromSummary('relay.rxpeer', '7', 'relay via rxpeer server', 'msg/s', rx),
        fromSummary('relay.bare', '7', 'relay via bare Socket.IO', 'msg/s', bare),
        single(
          'relay.ratio',
          '7',
          'rxpeer ÷ bare Socket.IO throughput',
          '×',
          rx.median / bare.median,
          { op: '>=', limit: 0.9, text: '≥ 0.9×' },
        ),
        single(
          'relay.cpu.rxpeer',
          '7',
          'server CPU per relayed message, rxpeer',
          'µs',
          medianOf(r.rxpeer, 'serverCpuUs'),
        ),
        single(
          'relay.cpu.bare',
          '7',
          'server CPU per relayed message, bare',
          'µs',
          medianOf(r.bare, 'serverCpuUs'),
        ),
        single(
          'relay.cpu.ratio',
          '7',
          'server CPU per message: bare ÷ rxpeer',
          '×',
          medianOf(r.bare, 'serverCpuUs') / medianOf(r.rxpeer, 'serverCpuUs'),
        ),
      );
    },
  );

  await section('transfer', `§9 data transfer Node↔Node (${s.transferTrials} trials)`, async () => {
    const server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
    try {
      const t = await transfer(server.url, s.transferTrials, log);
      raw.transfer = t;
      const mbps = (x: { mbps: number }[]) => summarize(x.map((v) => v.mbps));
      rows.push(
        fromSummary('transfer.20MiB.rxpeer', '9', '20 MiB as one message, client.channel', 'MB/s', mbps(t.rxpeer20)),
        fromSummary('transfer.20MiB.bare', '9', '20 MiB, bare RTCDataChannel (256 KiB messages)', 'MB/s', mbps(t.bare20)),
        fromSummary('transfer.50MiB.rxpeer', '9', '50 MiB in 800 awaited sends, client.channel', 'MB/s', mbps(t.rxpeer50)),
        fromSummary('transfer.50MiB.bare', '9', '50 MiB, bare RTCDataChannel', 'MB/s', mbps(t.bare50)),
        single(
          'transfer.50MiB.mem.rxpeer',
          '9',
          'arrayBuffers growth during 50 MiB, client.channel',
          'MiB',
          median(t.rxpeer50.map((v) => v.memory.arrayBuffersMiB)),
          { op: '<=', limit: 4, text: '≤ 4 MiB' },
        ),
        single('transfer.50MiB.rss.rxpeer', '9', 'RSS growth during 50 MiB, client.channel', 'MiB', median(t.rxpeer50.map((v) => v.memory.rssMiB))),
        single('transfer.50MiB.rss.bare', '9', 'RSS growth during 50 MiB, bare', 'MiB', median(t.bare50.map((v) => v.memory.rssMiB))),
      );
    } finally {
      await server.close();
    }
  });

  await section('size', '§8 client size', async () => {
    const z = clientSize(root);
    raw.size = z;
    const k = (bytes: number): number => bytes / KiB;
    rows.push(
      single(
        'size.full.min',
        '8',
        'rxpeer ESM bundle, all in (rxpeer + rxjs + socket.io-client), min',
        'KiB',
        k(z.full.min),
      ),
      single('size.full.gzip', '8', 'rxpeer ESM bundle, all in, min + gzip', 'KiB', k(z.full.gzip)),
      single('size.lean.min', '8', 'rxpeer alone (`.lean`), min', 'KiB', k(z.lean.min)),
      single('size.lean.gzip', '8', 'rxpeer alone (`.lean`), min + gzip', 'KiB', k(z.lean.gzip)),
      single(
        'size.rxjs.min',
        '8',
        'rxjs part (what rxpeer pulls in), min',
        'KiB',
        k(z.withRxjs.min - z.lean.min),
      ),
      single(
        'size.rxjs.gzip',
        '8',
        'rxjs part, min + gzip',
        'KiB',
        k(z.withRxjs.gzip - z.lean.gzip),
      ),
      single(
        'size.socketio.min',
        '8',
        'socket.io-client part, min',
        'KiB',
        k(z.withSocketIo.min - z.lean.min),
      ),
      single(
        'size.socketio.gzip',
        '8',
        'socket.io-client part, min + gzip',
        'KiB',
        k(z.withSocketIo.gzip - z.lean.gzip),
      ),
      single(
        'size.bridge.gzip',
        '8',
        'Unity bridge IIFE (all in), min + gzip',
        'KiB',
        k(z.bridgeIife.gzip),
      ),
    );
  });

  await section(
    'ops',
    `§10 cost of tokens and metrics (${s.opsTrials} trials × ${s.opsConnections} connections, ${s.opsMessages} messages)`,
    async () => {
      const r = await opsCost(s.opsTrials, s.opsConnections, s.opsMessages, s.relayWindow);
      raw.ops = r;
      const names = {
        off: 'tokens off, metrics off',
        token: 'tokens (HS256) on, metrics off',
        metrics: 'tokens off, metrics on',
        both: 'tokens on, metrics on',
      } as const;
      for (const setting of OPS_SETTINGS) {
        rows.push(
          single(
            `ops.connect.${setting}`,
            '10',
            `server CPU per connection, ${names[setting]}`,
            'µs',
            opsMedian(r.trials[setting], 'connectCpuUs'),
          ),
          single(
            `ops.relay.${setting}`,
            '10',
            `server CPU per relayed message, ${names[setting]}`,
            'µs',
            opsMedian(r.trials[setting], 'relayCpuUs'),
          ),
        );
      }
      for (const setting of ['metrics', 'both'] as const) {
        const scrapes = r.scrapeMs[setting] ?? [];
        if (scrapes.length > 0)
          rows.push(
            single(
              `ops.scrape.${setting}`,
              '10',
              `one /metrics scrape with ${s.opsConnections} sockets, ${names[setting]}`,
              'ms',
              median(scrapes),
            ),
          );
      }
    },
  );

  const seconds = (performance.now() - started) / 1000;
  const header = `rxpeer bench, ${meta.mode} run, ${meta.date}\nmachine: ${meta.cores} cores (${meta.cpu}), ${meta.memoryGiB} GiB, Node ${meta.node}, ${meta.os}; engine ${meta.engine}; commit ${meta.commit}${meta.srcDirty ? ' (+ uncommitted src changes)' : ''}; ${seconds.toFixed(0)} s`;
  process.stdout.write(`\n${header}\n\n${table(rows)}\n`);
  const missed = rows.filter((r) => r.met === false);
  process.stdout.write(
    missed.length === 0
      ? '\nevery target met\n'
      : `\ntargets missed: ${missed.map((r) => r.id).join(', ')}\n`,
  );

  const out = resolve(
    args.out ?? join(root, 'bench', 'results', args.quick ? 'quick.json' : 'latest.json'),
  );
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ meta: { ...meta, seconds }, rows, raw }, null, 2)}\n`);
  renameSync(tmp, out);
  log(`written ${out}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
