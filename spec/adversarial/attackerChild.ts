/**
 * An attacker in a process of its own, so that its event loop and its
 * sockets never slow the honest client that measures join times. Driven
 * over IPC by ./attackerProcess: `start` (attack id and context), `stop`.
 */
import { attackById, type RunningAttack } from './attacks';
import { createAgent } from './rawClients';

export type AttackerRequest =
  { cmd: 'start'; id: string; port: number; hostId: string; hostName: string } | { cmd: 'stop' };
export type AttackerReply =
  | { started: true; observed: Record<string, number> }
  | { stopped: true; observed: Record<string, number> }
  | { error: string };

const agent = createAgent(64);
let running: RunningAttack | undefined;

const reply = (message: AttackerReply): void => void process.send?.(message);

process.on('message', (request: AttackerRequest) => {
  if (request.cmd === 'start') {
    attackById(request.id)
      .start({ port: request.port, hostId: request.hostId, hostName: request.hostName, agent })
      .then((r) => {
        running = r;
        reply({ started: true, observed: { ...r.observed } });
      })
      .catch((error: unknown) =>
        reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
    return;
  }
  void (running?.stop() ?? Promise.resolve()).then(() => {
    agent.destroy();
    reply({ stopped: true, observed: { ...(running?.observed ?? {}) } });
    process.disconnect?.();
  });
});
process.on('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
