/**
 * The frame of every adversarial spec: a server in a child process, warmed
 * up by honest traffic; a baseline of its heap and of honest join times on
 * the idle server; after the attack, the checks the issue asks for:
 * the process is alive and logged nothing alarming, its sockets are back,
 * an honest host/join/relay works within its usual time, and the heap is
 * back within 10 % of the baseline.
 */
import type { Input } from './frames';
import {
  describeSession,
  minimize,
  sendSession,
  type FuzzOutcome,
  type Transport,
} from './fuzzRunner';
import { HonestHost, honestRound, joinTimes, type Timings } from './honest';
import {
  startServerProcess,
  type ChildMemory,
  type ServerProcess,
  type StartOptions,
} from './serverProcess';

/** Heap (JS objects, after GC) may end at most this much above the baseline. */
export const HEAP_TOLERANCE = 0.1;
/**
 * An honest join may take at most twice its idle median, plus this much for
 * the noise of a shared machine (the attack's own client runs on the same
 * cores as the server).
 */
export const JOIN_SLACK_MS = 100;
/** The longest an honest step may take before it counts as failed. */
export const HONEST_TIMEOUT_MS = 5_000;
/** The longest state left by an attack may live by design before the heap must be back (see recoveryFailures). */
export const SETTLE_MS = 46_000;

export interface Arena {
  readonly server: ServerProcess;
  /** The long-lived honest host, named {@link HOST_NAME}. */
  readonly host: HonestHost;
  readonly baseline: ChildMemory;
  /** Honest joins into `host` on the idle server. */
  readonly idle: Timings;
}

export const HOST_NAME = 'honest host';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `/healthz` reports at most `max` sockets; resolves with the last count. */
export async function socketsAtMost(
  server: ServerProcess,
  max: number,
  timeoutMs = 15_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = Number.NaN;
  for (;;) {
    if (server.exit !== undefined) return last;
    try {
      last = Number((await server.health()).body.sockets);
    } catch {
      // an attack may still be draining; try again
    }
    if (last <= max || Date.now() > deadline) return last;
    await sleep(100);
  }
}

export async function openArena(
  options: StartOptions & { idleJoins?: number } = {},
): Promise<Arena> {
  const server = await startServerProcess(options);
  try {
    // Warm-up: every honest code path runs a few times before the baseline.
    for (let i = 0; i < 5; i++) await honestRound(server.url, `warm-up ${i}`, HONEST_TIMEOUT_MS);
    const host = await HonestHost.start(server.url, HOST_NAME, HONEST_TIMEOUT_MS);
    await joinTimes(server.url, HOST_NAME, 3, HONEST_TIMEOUT_MS);
    const idle = await joinTimes(server.url, HOST_NAME, options.idleJoins ?? 10, HONEST_TIMEOUT_MS);
    if (idle.failures.length > 0)
      throw new Error(`honest joins fail on the idle server: ${idle.failures.join('; ')}`);
    await socketsAtMost(server, 1);
    const baseline = await server.memory();
    return { server, host, baseline, idle };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export async function closeArena(arena: Arena | undefined): Promise<void> {
  if (arena === undefined) return;
  arena.host.close();
  await arena.server.stop();
}

/** The most an honest join may take under or after an attack. */
export const joinBudget = (idle: Timings): number =>
  Math.max(2 * idle.median, idle.median + JOIN_SLACK_MS);

/** Honest joins while an attack runs: all succeed, median within the budget. */
export function duringAttackFailures(arena: Arena, during: Timings): string[] {
  const failures: string[] = [];
  if (during.failures.length > 0)
    failures.push(
      `honest joins failed during the attack: ${during.failures.slice(0, 3).join('; ')} (${during.failures.length} of ${during.failures.length + during.samples.length})`,
    );
  const budget = joinBudget(arena.idle);
  if (during.samples.length > 0 && during.median > budget)
    failures.push(
      `honest join median ${during.median.toFixed(1)} ms during the attack > budget ${budget.toFixed(1)} ms (idle median ${arena.idle.median.toFixed(1)} ms)`,
    );
  if (!arena.host.connected)
    failures.push(
      `the honest host was disconnected during the attack: ${arena.host.disconnectReason ?? '?'}`,
    );
  return failures;
}

export interface Recovery {
  failures: string[];
  heapBefore: number;
  heapAfter: number;
  joinMs: number[];
}

/**
 * The checks after an attack (its sockets closed). Returns every failure as
 * a sentence; a spec asserts the list is empty.
 */
export async function recoveryFailures(arena: Arena): Promise<Recovery> {
  const { server } = arena;
  const failures: string[] = [];
  const result: Recovery = {
    failures,
    heapBefore: arena.baseline.objects,
    heapAfter: Number.NaN,
    joinMs: [],
  };
  const finish = (): Recovery => {
    failures.push(...server.problems());
    return result;
  };
  if (server.exit !== undefined) return finish();

  const expected = arena.host.connected ? 1 : 0;
  const left = await socketsAtMost(server, expected);
  if (!(left <= expected))
    failures.push(
      `the server still holds ${left} sockets 15 s after the attack ended (expected ${expected})`,
    );
  if (server.exit !== undefined) return finish();

  const budget = joinBudget(arena.idle);
  // A fresh host and a join into it; then joins into the long-lived host if it survived.
  try {
    const round = await honestRound(server.url, 'after the attack', HONEST_TIMEOUT_MS);
    result.joinMs.push(round.joinMs);
  } catch (error) {
    failures.push(
      `an honest host/join after the attack failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (arena.host.connected) {
    const after = await joinTimes(server.url, HOST_NAME, 5, HONEST_TIMEOUT_MS);
    result.joinMs.push(...after.samples);
    if (after.failures.length > 0)
      failures.push(`honest joins after the attack failed: ${after.failures.join('; ')}`);
    if (after.samples.length > 0 && after.median > budget)
      failures.push(
        `honest join median ${after.median.toFixed(1)} ms after the attack > budget ${budget.toFixed(1)} ms`,
      );
  } else {
    failures.push(`the honest host was disconnected: ${arena.host.disconnectReason ?? '?'}`);
  }

  await socketsAtMost(server, arena.host.connected ? 1 : 0);
  if (server.exit !== undefined) return finish();
  // Time-bounded state is not a leak: engine.io keeps a polling transport closed without a pending GET
  // for up to 30 s (its closeTimeout), and a bare handshake lives connectTimeout (10 s) before that.
  // Measure again until those have passed (46 s, past pingInterval + pingTimeout too).
  const limit = arena.baseline.objects * (1 + HEAP_TOLERANCE);
  const settled = Date.now() + SETTLE_MS;
  try {
    for (;;) {
      const after = await server.memory();
      result.heapAfter = after.objects;
      if (after.objects <= limit || Date.now() > settled) break;
      await sleep(Math.min(8_000, Math.max(100, settled - Date.now() + 100)));
    }
    if (result.heapAfter > limit)
      failures.push(
        `heap after GC ${(result.heapAfter / 2 ** 20).toFixed(2)} MiB > baseline ${(arena.baseline.objects / 2 ** 20).toFixed(2)} MiB + ${HEAP_TOLERANCE * 100} % (${SETTLE_MS / 1000} s after the attack)`,
      );
  } catch (error) {
    failures.push(
      `could not read the heap: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return finish();
}

const firstLines = (text: string, n = 12): string => text.split('\n').slice(0, n).join('\n');

/**
 * Replays `inputs` as one session on a fresh server; true when it died (or
 * wrote to stderr). Used to narrow a crash down to the input that causes it.
 */
export async function reproduces(
  transport: Transport,
  inputs: Input[],
  flags: readonly string[] = [],
): Promise<boolean> {
  const server = await startServerProcess({ flags });
  try {
    await sendSession(transport, server.port, { first: 0, inputs }).catch(() => undefined);
    await Promise.race([server.exited, sleep(1_000)]);
    return server.exit !== undefined || server.stderr().trim() !== '';
  } finally {
    await server.stop();
  }
}

/** A report of a crash for fuzz-findings.md: seed, the narrowed input, the server's stderr. */
export async function crashReport(
  transport: Transport,
  seed: number,
  outcome: FuzzOutcome,
  server: ServerProcess,
): Promise<string> {
  const lines = [
    `transport ${transport}, seed ${seed}: the server died (${JSON.stringify(server.exit)}) after ${outcome.sent} inputs`,
  ];
  lines.push(`stderr:\n${firstLines(server.stderr())}`);
  for (const suspect of outcome.suspects) {
    if (!(await reproduces(transport, suspect.inputs))) continue;
    const narrowed = await minimize(suspect.inputs, (inputs) => reproduces(transport, inputs));
    lines.push(
      `session from input #${suspect.first}, narrowed to ${narrowed.length} input(s):\n${describeSession(narrowed)}`,
    );
    return lines.join('\n');
  }
  lines.push(
    `not reproduced by replaying one session alone; sessions in flight:\n${outcome.suspects.map((s) => describeSession(s.inputs, 120)).join('\n---\n')}`,
  );
  return lines.join('\n');
}
