/** Starts ./attackerChild in its own process and drives one attack in it. */
import { fork } from 'node:child_process';
import type { AttackContext } from './attacks';
import type { AttackerReply, AttackerRequest } from './attackerChild';
import { buildChild, childEnv } from './serverProcess';

export interface AttackerProcess {
  /** What the attack counted when it had started. */
  readonly observedAtStart: Record<string, number>;
  /** Stops the attack (every connection closed) and the process; resolves with its counters. */
  stop(): Promise<Record<string, number>>;
}

export async function startAttacker(
  id: string,
  ctx: Omit<AttackContext, 'agent'>,
): Promise<AttackerProcess> {
  const child = fork(buildChild('attackerChild'), [], {
    execArgv: ['--enable-source-maps', '--max-old-space-size=1024'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Attackers connect from 127.0.0.2, honest clients from 127.0.0.1 (see rawClients.useLocalAddress).
    env: {
      ...childEnv(),
      RXPEER_ATTACKER_ADDRESS: process.env.RXPEER_ATTACKER_ADDRESS ?? '127.0.0.2',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = (timeoutMs: number): Promise<AttackerReply> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`attacker "${id}" did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('message', (m: AttackerReply) => {
        clearTimeout(timer);
        resolve(m);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`attacker "${id}" exited`));
      });
    });
  const kill = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited;
  };
  const started = next(120_000);
  child.send({ cmd: 'start', id, ...ctx } satisfies AttackerRequest);
  let first: AttackerReply;
  try {
    first = await started;
  } catch (error) {
    await kill();
    throw error;
  }
  if ('error' in first) {
    await kill();
    throw new Error(`attack "${id}" failed to start: ${first.error}`);
  }
  return {
    observedAtStart: first.observed,
    async stop() {
      const stopped = next(60_000);
      child.send({ cmd: 'stop' } satisfies AttackerRequest);
      try {
        const answer = await stopped;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) await kill();
        return 'observed' in answer ? answer.observed : {};
      } catch {
        await kill();
        return {};
      }
    },
  };
}
