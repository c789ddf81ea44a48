/**
 * Issue 17 measurement: a host in this process and a member in a network
 * namespace of its own (spec/helpers/netns.ts); the link is cut for each
 * length given, `runs` times, and for each run: did the pair recover on the
 * same connection, how long after the link returned did messages flow again,
 * how many restarts; at the end of each series, how many messages sent on the
 * reliable channel never arrived.
 *
 * Run: `npm run soak:heal` (20 runs of 3 s and of 10 s cuts) or
 * `npm run soak:heal -- --runs 5 --cuts 3000,10000,30000 --json`.
 * Needs root (network namespaces) and runs inside the test namespace.
 */
import wrtc from '@roamhq/wrtc';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { PeerClient } from '../src/client/PeerClient';
import { createLogger, type LogFields } from '../src/logger';
import { createSignalingServer, type SignalingServer } from '../src/server';
import {
  buildPeerScript,
  createNetnsLink,
  cutOnce,
  lostMessages,
  startHealPair,
  type CutResult,
  type HealPair,
  type NetnsLink,
} from '../spec/helpers/netns';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    cuts: { type: 'string', default: '3000,10000' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const cuts = String(values.cuts)
  .split(',')
  .map((c) => Number(c.trim()));
if (!Number.isInteger(runs) || runs < 1 || cuts.some((c) => !Number.isFinite(c) || c <= 0)) {
  process.stderr.write('usage: heal [--runs N] [--cuts ms,ms,…] [--json]\n');
  process.exit(2);
}

const quantile = (sorted: number[], q: number): number | undefined =>
  sorted.length === 0
    ? undefined
    : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/** Why the host closed pairs (its info log's `user disconnecting` lines), for the runs that did not heal. */
const closeReasons: string[] = [];
/** The host's info log of the current run, printed when a run does not heal (HEAL_LOG=1). */
const runLog: string[] = [];
const hostLogger = createLogger('host', 'info', (_level, ns, message, fields?: LogFields) => {
  if (message === 'user disconnecting') closeReasons.push(String(fields?.reason));
  runLog.push(
    `${new Date().toISOString().slice(11, 23)} ${ns} ${message} ${JSON.stringify(fields ?? {})}`,
  );
});

interface Rig {
  link: NetnsLink;
  server: SignalingServer;
  host: PeerClient;
  pair: HealPair;
}

async function rig(script: string): Promise<Rig> {
  const link = createNetnsLink();
  const server = await createSignalingServer({ port: 0, host: link.nearAddress });
  const url = `http://${link.nearAddress}:${String(server.port)}`;
  const host = new PeerClient(
    { url, logger: hostLogger },
    { createPeerConnection: (c) => new wrtc.RTCPeerConnection(c) as unknown as RTCPeerConnection },
  );
  const pair = await startHealPair(link, script, url, host);
  return { link, server, host, pair };
}

async function unrig(r: Rig): Promise<void> {
  await r.pair.peer.quit();
  await r.host.dispose();
  r.server.httpServer.closeAllConnections();
  await r.server.close();
  r.link.close();
}

interface Series {
  cutMs: number;
  runs: number;
  sameConnection: number;
  recovered: number;
  recoveryMedianMs?: number;
  recoveryP95Ms?: number;
  recoveryMaxMs?: number;
  restarts: number[];
  sent: number;
  lost: number;
  results: CutResult[];
}

async function series(script: string, cutMs: number): Promise<Series> {
  const results: CutResult[] = [];
  let sent = 0;
  let lost = 0;
  let r = await rig(script);
  try {
    for (let i = 0; i < runs; i += 1) {
      closeReasons.length = 0;
      runLog.length = 0;
      let result: CutResult;
      try {
        result = await cutOnce(r.pair, r.link, cutMs, 90_000);
      } catch (error) {
        // Messages never flowed again (or not before the cut): a failed run, counted as such.
        process.stderr.write(
          `cut ${cutMs} ms run ${i + 1}: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        result = {
          cutMs,
          sameConnection: false,
          hostPhases: [],
          peerPhases: [],
          restarts: 0,
          hostSawLeave: true,
          peerSawLeave: true,
        };
      }
      results.push(result);
      process.stderr.write(
        `cut ${cutMs} ms run ${i + 1}/${runs}: ${result.sameConnection ? 'same connection' : 'NEW connection or leave'}, ` +
          `back after ${result.recoveredMs ?? '∞'} ms, restarts ${result.restarts}, host ${result.hostPhases.join('→')}` +
          (closeReasons.length > 0 ? `, host closed: ${closeReasons.join('; ')}` : '') +
          '\n',
      );
      if (!result.sameConnection && process.env.HEAL_LOG === '1')
        process.stderr.write(`${runLog.join('\n')}\n`);
      if (!result.sameConnection) {
        // The member came back under another id, or not at all: count this pair's losses, start over.
        const tally = await lostMessages(r.pair).catch(() => ({ sent: 0, lost: 0 }));
        sent += tally.sent;
        lost += tally.lost;
        await unrig(r);
        r = await rig(script);
      }
    }
    const tally = await lostMessages(r.pair);
    sent += tally.sent;
    lost += tally.lost;
  } finally {
    await unrig(r);
  }
  const times = results
    .flatMap((x) => (x.recoveredMs === undefined ? [] : [x.recoveredMs]))
    .sort((a, b) => a - b);
  return {
    cutMs,
    runs,
    sameConnection: results.filter((x) => x.sameConnection).length,
    recovered: times.length,
    ...(times.length === 0
      ? {}
      : {
          recoveryMedianMs: quantile(times, 0.5),
          recoveryP95Ms: quantile(times, 0.95),
          recoveryMaxMs: times.at(-1),
        }),
    restarts: results.map((x) => x.restarts),
    sent,
    lost,
    results,
  };
}

async function main(): Promise<void> {
  const build = buildPeerScript();
  const started = Date.now();
  const report: Series[] = [];
  try {
    for (const cut of cuts) report.push(await series(build.script, cut));
  } finally {
    build.remove();
  }
  const load = execFileSync('uptime', { encoding: 'utf8' }).trim();
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ load, seconds: Math.round((Date.now() - started) / 1000), series: report }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(`\nheal soak (${runs} runs per cut; ${load})\n`);
  process.stdout.write(
    '| cut | same connection | recovered | median | p95 | max | restarts (per run) | sent | lost |\n|---|---|---|---|---|---|---|---|---|\n',
  );
  for (const s of report) {
    process.stdout.write(
      `| ${s.cutMs / 1000} s | ${s.sameConnection}/${s.runs} | ${s.recovered}/${s.runs} | ${s.recoveryMedianMs ?? '–'} ms | ${s.recoveryP95Ms ?? '–'} ms | ${s.recoveryMaxMs ?? '–'} ms | ${s.restarts.join(' ')} | ${s.sent} | ${s.lost} |\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `heal soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
