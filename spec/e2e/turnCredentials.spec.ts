/**
 * TURN credentials from the signaling server (issue 18), against a real
 * coturn started with `--use-auth-secret --static-auth-secret` on loopback
 * and the real engine: relay-only rxpeer peers connect through the relay
 * with server-issued credentials; coturn refuses expired and forged ones.
 */
import { io, type Socket } from 'socket.io-client';
import { PeerClient } from '../../src/client/PeerClient';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { mintTurnCredential } from '../../src/server/turnCredentials';
import { next } from '../helpers/clientHarness';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';
import { startTurn, type Turn } from '../helpers/turn';

jest.setTimeout(60_000);

const SECRET = 'turn-shared-secret-for-the-spec';

/** Relay candidates gathered by a relay-only peer connection with these ICE servers. */
async function relayCandidates(iceServers: RTCIceServer[]): Promise<string[]> {
  const pc = createPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
  const found: string[] = [];
  try {
    pc.createDataChannel('probe');
    const done = new Promise<void>((resolve) => {
      pc.addEventListener('icecandidate', (e) => {
        const candidate = (e as RTCPeerConnectionIceEvent).candidate;
        if (candidate === null) resolve();
        else if (/ typ relay /.test(candidate.candidate)) found.push(candidate.candidate);
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 8_000)))]);
    clearTimeout(timer);
  } finally {
    pc.close();
  }
  return found;
}

describe('TURN credentials from the signaling server, with coturn (use-auth-secret)', () => {
  let turn: Turn;
  let server: SignalingServer;
  const clients: PeerClient[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    turn = await startTurn({ authSecret: SECRET });
  });
  afterAll(async () => {
    await turn.stop();
  });
  beforeEach(async () => {
    resetTracking();
    server = await createSignalingServer({
      port: 0,
      host: '127.0.0.1',
      turn: { secret: SECRET, urls: [turn.url], ttl: 3600 },
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    for (const s of sockets.splice(0)) s.disconnect();
    await server.close();
    expect(openPeerConnections()).toEqual([]);
  });

  /** A relay-only PeerClient: it has no ICE server of its own, only what the server hands out. */
  const relayOnly = (): { client: PeerClient; pcs: RTCPeerConnection[] } => {
    const pcs: RTCPeerConnection[] = [];
    const client = new PeerClient(
      { url: server.url, pcConfig: { iceTransportPolicy: 'relay' } },
      {
        createPeerConnection: (config) => {
          const pc = createPeerConnection(config);
          pcs.push(pc);
          return pc;
        },
      },
    );
    clients.push(client);
    return { client, pcs };
  };

  it('sends each socket ICE servers in the coturn form, and renews them on request', async () => {
    const socket = io(server.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    const pushed = await new Promise<Record<string, unknown>>((resolve) =>
      socket.once('ice servers', resolve),
    );
    const [entry] = pushed.iceServers as { urls: string[]; username: string; credential: string }[];
    const [expiry, identity] = entry!.username.split(':');
    expect(identity).toBe(socket.id);
    expect(Number(expiry) * 1000).toBe(pushed.expiresAt);
    expect(Math.abs(Number(expiry) - (Date.now() / 1000 + 3600))).toBeLessThan(5);
    expect(entry).toEqual({
      urls: [turn.url],
      ...mintTurnCredential(SECRET, socket.id!, Number(expiry)),
    });
    const renewed = (await socket.timeout(3000).emitWithAck('ice servers')) as Record<
      string,
      unknown
    >;
    expect(renewed).toMatchObject({ status: 200, ttl: 3600 });
    await socket.timeout(3000).emitWithAck('ice servers');
    expect(await socket.timeout(3000).emitWithAck('ice servers')).toMatchObject({ status: 429 });
    expect(server.stats().unknownEvents).toBe(0);
  });

  it('two relay-only rxpeer peers connect through coturn with the server-issued credentials (selected pair: relay)', async () => {
    const host = relayOnly();
    const hostStarted = next(host.client.started$, undefined, 10_000);
    await host.client.startHost('relay room');
    const hostId = await hostStarted;
    const joiner = relayOnly();
    const started = next(joiner.client.started$, undefined, 20_000);
    await joiner.client.startClient(hostId);
    await started;
    const stats = [...(await joiner.pcs[0]!.getStats()).values()] as Record<string, unknown>[];
    const pair =
      stats.find(
        (s) => s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated === true,
      ) ?? stats.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded');
    expect(pair).toBeDefined();
    const local = stats.find((s) => s.id === pair!.localCandidateId);
    const remote = stats.find((s) => s.id === pair!.remoteCandidateId);
    expect(local?.candidateType).toBe('relay');
    expect(remote?.candidateType).toBe('relay');
  });

  it('coturn refuses an expired credential and a forged one, and accepts a fresh one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = mintTurnCredential(SECRET, 'alice', now + 600);
    const expired = mintTurnCredential(SECRET, 'alice', now - 60);
    const forged = mintTurnCredential('not the secret', 'alice', now + 600);
    const server = (c: { username: string; credential: string }): RTCIceServer[] => [
      { urls: turn.url, ...c },
    ];
    expect((await relayCandidates(server(fresh))).length).toBeGreaterThan(0);
    expect(await relayCandidates(server(expired))).toEqual([]);
    expect(await relayCandidates(server(forged))).toEqual([]);
  });
});
