/**
 * Issue 13 #4: `bye` reaches every peer on stop(). A Node Socket.IO server
 * drops packets that arrive in the same batch as the client's disconnect, so
 * stop() waits for the server to acknowledge its byes (bounded by
 * requestTimeout) before it closes the socket.
 */
import { Subject } from 'rxjs';
import { io } from 'socket.io-client';
import { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';
import type { SignalingSocket } from '../../src/streams/signaling';
import { next } from '../helpers/clientHarness';
import { createPeerConnection } from '../helpers/engine';
import { useRealServer } from '../helpers/realServer';

jest.setTimeout(60_000);

describe('stop() delivers its byes (real server, real engine)', () => {
  const real = useRealServer();

  /** A PeerClient whose signaling socket the spec can listen to. */
  function make(config: Partial<PeerClientConfig> = {}): { client: PeerClient; byesFrom: string[]; bye$: Subject<string> } {
    const byesFrom: string[] = [];
    const bye$ = new Subject<string>();
    const client = new PeerClient(
      { url: real.server.url, ...config },
      {
        createPeerConnection,
        createSocket: (url, options) => {
          const socket = io(url, options);
          socket.on('message', (m: { type?: unknown; from?: unknown }) => {
            if (m.type !== 'bye') return;
            byesFrom.push(String(m.from));
            bye$.next(String(m.from));
          });
          return socket as unknown as SignalingSocket;
        },
      },
    );
    real.onCleanup(() => client.dispose());
    return { client, byesFrom, bye$ };
  }

  it('a mesh of 4: one member stops, and the 3 others each get its bye over signaling', async () => {
    const host = make();
    const { id: hostId } = await real.startHost('byes', host.client);
    const members = [make(), make(), make()];
    const ids: string[] = [];
    for (const m of members) ids.push((await real.join(hostId, m.client)).id);
    const everyone = [host, ...members];
    for (const p of everyone) {
      await next(p.client.peers$, (m) => m.size === 3 && [...m.values()].every((s) => s.connectionState === 'connected'), 15_000);
    }
    const relayedBefore = real.server.stats().relayed;
    const leaver = members[0]!;
    const others = [host, members[1]!, members[2]!];
    const gone = others.map((p) => next(p.client.peers$, (m) => !m.has(ids[0]!), 10_000));
    // Not just the leave notice or the closed channel: the byes themselves come through.
    const byes = others.map((p) => next(p.bye$, (from) => from === ids[0], 5000).catch(() => 'no bye'));
    await leaver.client.stop();
    await Promise.all(gone);
    await Promise.all(byes);
    expect(others.map((p) => p.byesFrom.filter((from) => from === ids[0]))).toEqual([[ids[0]], [ids[0]], [ids[0]]]);
    expect(real.server.stats().relayed - relayedBefore).toBeGreaterThanOrEqual(3);
    expect(leaver.client.isRunning).toBe(false);
  });
});
