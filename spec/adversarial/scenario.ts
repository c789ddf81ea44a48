/**
 * Runs one {@link Attack} against an {@link Arena}: honest joins while it
 * runs, the server's heap at its end, then the recovery checks.
 */
import {
  duringAttackFailures,
  HONEST_TIMEOUT_MS,
  HOST_NAME,
  recoveryFailures,
  type Arena,
  type Recovery,
} from './arena';
import type { Attack } from './attacks';
import { joinTimes, type Timings } from './honest';
import { startAttacker } from './attackerProcess';

export interface AttackResult {
  name: string;
  idle: Timings;
  during: Timings;
  /** Heap (objects after GC) at the end of the attack, before its sockets closed, MiB; NaN if unreadable. */
  heapAtEndMiB: number;
  rssAtEndMiB: number;
  baselineMiB: number;
  observed: Record<string, number>;
  recovery: Recovery;
  /** Every failed check, as sentences. */
  failures: string[];
}

const MiB = 2 ** 20;

export async function runAttack(arena: Arena, attack: Attack, joins = 5): Promise<AttackResult> {
  const failures: string[] = [];
  let during: Timings = { samples: [], failures: [], median: Number.NaN, p95: Number.NaN };
  let heapAtEndMiB = Number.NaN;
  let rssAtEndMiB = Number.NaN;
  let observed: Record<string, number> = {};
  {
    const running = await startAttacker(attack.id, {
      port: arena.server.port,
      hostId: arena.host.id,
      hostName: HOST_NAME,
    });
    observed = running.observedAtStart;
    try {
      during = await joinTimes(arena.server.url, HOST_NAME, joins, HONEST_TIMEOUT_MS);
      failures.push(...duringAttackFailures(arena, during));
      if (arena.server.exit === undefined) {
        const memory = await arena.server.memory().catch(() => undefined);
        if (memory !== undefined) {
          heapAtEndMiB = memory.objects / MiB;
          rssAtEndMiB = memory.usage.rss / MiB;
          const growth = heapAtEndMiB - arena.baseline.objects / MiB;
          if (growth > attack.heapGrowthMiB)
            failures.push(
              `the heap grew by ${growth.toFixed(1)} MiB during the attack (bound ${attack.heapGrowthMiB} MiB)`,
            );
        }
      }
    } finally {
      observed = await running.stop();
    }
  }
  const recovery = await recoveryFailures(arena);
  failures.push(...recovery.failures);
  return {
    name: attack.name,
    idle: arena.idle,
    during,
    heapAtEndMiB,
    rssAtEndMiB,
    baselineMiB: arena.baseline.objects / MiB,
    observed,
    recovery,
    failures: [...new Set(failures)],
  };
}

/** One line about a result, for the log. */
export function summaryLine(r: AttackResult): string {
  const ms = (t: Timings): string =>
    `${t.median.toFixed(1)}/${t.p95.toFixed(1)} ms${t.failures.length > 0 ? ` (${t.failures.length} failed)` : ''}`;
  return `${r.name}: join idle ${ms(r.idle)}, during ${ms(r.during)}; heap ${r.baselineMiB.toFixed(1)} → ${r.heapAtEndMiB.toFixed(1)} MiB at end (rss ${r.rssAtEndMiB.toFixed(0)}), after ${(r.recovery.heapAfter / 2 ** 20).toFixed(1)} MiB; ${JSON.stringify(r.observed)}`;
}
