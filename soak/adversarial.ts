/**
 * The adversarial soak (issue 12), two modes:
 *
 *   npm run soak:adversarial -- [--inputs 1000000] [--seed N|random] [--json]
 *     The frame-level fuzzer of spec/adversarial for a long run, both
 *     transports in turns. A crash does not end the run: it is narrowed to
 *     the input that causes it, recorded once per distinct stack, and the
 *     server is restarted. At the end, the recovery checks of the specs run
 *     on the last server (alive, sockets back, honest join in time, heap
 *     within 10 % of its baseline).
 *
 *     --skip-known leaves out inputs of crashes already filed (events named
 *     `error`, argument lists over 10,000) to look past them.
 *
 *   npm run soak:adversarial -- --measure [--joins 20] [--out FILE] [--only id,id]
 *     Honest join time (median, p95) during each attack against the same
 *     join on the idle server, and the server's heap at the end of each
 *     attack; written as JSON to FILE (default soak/results/adversarial.json).
 *
 * Both print one JSON line last with --json; the exit code is 0 only when
 * nothing failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  closeArena,
  crashReport,
  openArena,
  recoveryFailures,
  type Arena,
} from '../spec/adversarial/arena';
import { FLOODS, attackById } from '../spec/adversarial/attacks';
import { isKnownCrash, type Input } from '../spec/adversarial/frames';
import { runFuzz, type Transport } from '../spec/adversarial/fuzzRunner';
import { createAgent, useLocalAddress } from '../spec/adversarial/rawClients';
import { runAttack, summaryLine, type AttackResult } from '../spec/adversarial/scenario';
import { cleanupBuild } from '../spec/adversarial/serverProcess';

const { values } = parseArgs({
  options: {
    measure: { type: 'boolean', default: false },
    inputs: { type: 'string', default: '1000000' },
    chunk: { type: 'string', default: '20000' },
    seed: { type: 'string', default: 'random' },
    joins: { type: 'string', default: '20' },
    only: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    'skip-known': { type: 'boolean', default: false },
  },
});

const root = process.env.RXPEER_ROOT ?? process.cwd();
const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Every attack measured, by id (see spec/adversarial/attacks.ts). */
const MEASURED = [
  ...FLOODS.map((a) => a.id),
  'many-sockets',
  'bare:1000',
  'connects:5:2000',
  'sink:websocket:2',
  'sink:polling:2',
  'sink:slow-websocket:2',
  'list-non-readers:1000:20',
  'join-flood:120',
  'squat:1000',
];

function signature(stderr: string): string {
  const lines = stderr.split('\n');
  const error =
    lines.find((l) => /^\w*(Error|Exception)\b.*:/.test(l.trim())) ??
    lines.find((l) => l.trim() !== '') ??
    '(no stderr)';
  const at = lines.find((l) => l.trim().startsWith('at ')) ?? '';
  return `${error.trim()} ${at.trim()}`.slice(0, 300);
}

async function fuzz(): Promise<{ ok: boolean; summary: Record<string, unknown> }> {
  const total = Number(values.inputs);
  const chunk = Number(values.chunk);
  const seed =
    values.seed === 'random' ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed) >>> 0;
  log(`adversarial fuzz: seed ${seed}, ${total} inputs, chunks of ${chunk}`);
  // The fuzzer connects from 127.0.0.3; the honest checks from 127.0.0.1.
  useLocalAddress('127.0.0.3');
  const crashes = new Map<string, { count: number; report: string }>();
  let arena: Arena = await openArena();
  const agent = createAgent(8);
  let sent = 0;
  let restarts = 0;
  const started = Date.now();
  try {
    for (let c = 0; sent < total; c++) {
      const transport: Transport = c % 2 === 0 ? 'polling' : 'websocket';
      const chunkSeed = (seed + c * 0x9e3779b9) >>> 0;
      const outcome = await runFuzz(arena.server, {
        seed: chunkSeed,
        total: Math.min(chunk, total - sent),
        perSession: 40,
        transport,
        concurrency: 4,
        ids: [arena.host.id],
        agent,
        ...(values['skip-known'] ? { keep: (input: Input) => !isKnownCrash(input) } : {}),
      });
      sent += outcome.sent;
      if (arena.server.exit !== undefined || arena.server.stderr().trim() !== '') {
        const sig = signature(arena.server.stderr());
        const known = crashes.get(sig);
        if (known === undefined) {
          const report = await crashReport(transport, chunkSeed, outcome, arena.server);
          crashes.set(sig, { count: 1, report });
          log(`NEW CRASH ${sig}\n${report}`);
        } else known.count += 1;
        await closeArena(arena);
        arena = await openArena();
        restarts += 1;
        // The chunk's remaining sessions are skipped; the next chunk has another seed.
        sent += 1;
      }
      log(
        `  ${sent}/${total} inputs, ${restarts} restarts, ${crashes.size} distinct crashes, ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
    }
    const recovery = await recoveryFailures(arena);
    const summary = {
      seed,
      inputs: sent,
      seconds: Math.round((Date.now() - started) / 1000),
      restarts,
      crashes: [...crashes].map(([sig, c]) => ({
        signature: sig,
        count: c.count,
        report: c.report,
      })),
      recovery: recovery.failures,
      heapBaselineMiB: recovery.heapBefore / 2 ** 20,
      heapAfterMiB: recovery.heapAfter / 2 ** 20,
    };
    return { ok: crashes.size === 0 && recovery.failures.length === 0, summary };
  } finally {
    agent.destroy();
    await closeArena(arena);
  }
}

async function measure(): Promise<{ ok: boolean; summary: Record<string, unknown> }> {
  const ids = values.only === undefined ? MEASURED : values.only.split(',');
  const joins = Number(values.joins);
  const results: (AttackResult & { id: string })[] = [];
  for (const id of ids) {
    const attack = attackById(id);
    const arena = await openArena({ idleJoins: joins });
    try {
      const result = await runAttack(arena, attack, joins);
      results.push({ id, ...result });
      log(summaryLine(result));
      for (const f of result.failures) log(`    FAILED: ${f.split('\n')[0]}`);
    } finally {
      await closeArena(arena);
    }
  }
  const rows = results.map((r) => ({
    id: r.id,
    attack: r.name,
    idleJoinMs: { median: r.idle.median, p95: r.idle.p95 },
    duringJoinMs: {
      median: r.during.median,
      p95: r.during.p95,
      failed: r.during.failures.length,
      of: r.during.failures.length + r.during.samples.length,
    },
    heapBaselineMiB: r.baselineMiB,
    heapAtEndOfAttackMiB: r.heapAtEndMiB,
    rssAtEndOfAttackMiB: r.rssAtEndMiB,
    heapAfterRecoveryMiB: r.recovery.heapAfter / 2 ** 20,
    observed: r.observed,
    failures: r.failures.map((f) => f.split('\n')[0]),
  }));
  const out = values.out ?? join(root, 'soak', 'results', 'adversarial.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), joinsPerPhase: joins, results: rows }, null, 2)}\n`,
  );
  log(`written to ${out}`);
  return { ok: rows.every((r) => r.failures.length === 0), summary: { out, results: rows } };
}

(values.measure ? measure() : fuzz())
  .then(({ ok, summary }) => {
    cleanupBuild();
    if (values.json) process.stdout.write(`${JSON.stringify({ ok, ...summary })}\n`);
    else log(JSON.stringify({ ok, ...summary }, null, 2));
    process.exitCode = ok ? 0 : 1;
  })
  .catch((error: unknown) => {
    cleanupBuild();
    log(
      `adversarial soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 2;
  });
