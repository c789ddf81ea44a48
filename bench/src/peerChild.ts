/**
 * One rxpeer peer in its own process (the mesh bench's "one process per
 * peer" layout, as peers are deployed). Driven over IPC:
 *
 *   { cmd: 'host', name, want }  → { host: id } once started; later { full: true }
 *   { cmd: 'join', hostId, want } → { full: true, cpuMs } once `peers$` shows `want` connected peers
 *                                   (cpuMs: this process's CPU time since the command)
 *   { cmd: 'stop' }               → { stopped: true } once disposed
 *
 * argv[2]: the signaling server URL.
 */
import { filter, firstValueFrom, map, take } from 'rxjs';
import { PeerClient } from '../../src/client/PeerClient';
import { createPeerConnection } from './engine';

type Command =
  | { cmd: 'host'; name: string; want: number }
  | { cmd: 'join'; hostId: string; want: number }
  | { cmd: 'stop' };
export type PeerChildReply =
  { host: string } | { full: true; cpuMs: number } | { stopped: true } | { error: string };

const url = process.argv[2] ?? '';
let client: PeerClient | undefined;
const send = (reply: PeerChildReply): void => void process.send?.(reply);
const fail = (error: unknown): void =>
  send({ error: error instanceof Error ? error.message : String(error) });

function watchFull(peer: PeerClient, want: number): void {
  const cpu0 = process.cpuUsage();
  void firstValueFrom(
    peer.peers$.pipe(
      map(
        (peers) =>
          peers.size === want &&
          [...peers.values()].every((p) => p.connectionState === 'connected'),
      ),
      filter(Boolean),
      take(1),
    ),
  ).then(
    () => {
      const cpu = process.cpuUsage(cpu0);
      send({ full: true, cpuMs: (cpu.user + cpu.system) / 1000 });
    },
    () => undefined,
  );
}

process.on('message', (command: Command) => {
  switch (command.cmd) {
    case 'host': {
      const peer = new PeerClient({ url }, { createPeerConnection });
      client = peer;
      watchFull(peer, command.want);
      const started = firstValueFrom(peer.started$);
      peer
        .startHost(command.name)
        .then(() => started)
        .then((id) => send({ host: id }), fail);
      break;
    }
    case 'join': {
      const peer = new PeerClient({ url }, { createPeerConnection });
      client = peer;
      watchFull(peer, command.want);
      peer.startClient(command.hostId).catch(fail);
      break;
    }
    case 'stop': {
      const peer = client;
      client = undefined;
      void (peer?.dispose() ?? Promise.resolve()).then(() => send({ stopped: true }), fail);
      break;
    }
    default:
      fail(`unknown command ${JSON.stringify(command)}`);
  }
});
process.on('disconnect', () => {
  void (client?.dispose() ?? Promise.resolve()).finally(() => process.exit(0));
});
send({ stopped: true });
