/**
 * Drain behind a real load balancer (issue 18): Debian's HAProxy on loopback,
 * with the reference configuration of docs/operations.md, in front of two
 * signaling processes on one Redis. A mesh of 4 rxpeer peers (one on long-polling) spreads over
 * both nodes; node A gets SIGTERM. Expected: /readyz on A turns 503, every
 * client is on node B within a few seconds, no peer connection closes, the
 * host is listed again, a newcomer joins, A exits 0, and the balancer never
 * answered a 5xx.
 */
import { PeerClient } from '../../src/client/PeerClient';
import { attachChat, type Chat } from '../helpers/chat';
import { next } from '../helpers/clientHarness';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { HaProxy, referenceConfig } from '../helpers/haproxy';
import { RedisServer } from '../helpers/redis';
import { buildNodeScript, request, SignalingNode, Sockets, waitFor, type HostsAck } from './nodes';

jest.setTimeout(90_000);

const CHECK_MS = 200;
const DRAIN_FLAGS = ['--drain-move-after', String(CHECK_MS * 4), '--drain-timeout', '10000'];

interface Peer {
  client: PeerClient;
  chat: Chat;
  closed: string[];
}

const readyz = async (url: string): Promise<number> => {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 0;
  }
};

const socketsOn = async (node: SignalingNode): Promise<number> => {
  if (!node.alive) return 0;
  try {
    return Number((await node.health()).body.sockets);
  } catch {
    return 0;
  }
};

describe('drain behind HAProxy: two nodes on Redis', () => {
  let redis: RedisServer;
  let build: ReturnType<typeof buildNodeScript>;
  let a: SignalingNode;
  let b: SignalingNode;
  let proxy: HaProxy;
  const peers: Peer[] = [];
  const sockets = new Sockets();

  beforeAll(async () => {
    build = buildNodeScript();
    redis = await RedisServer.start();
    [a, b] = await Promise.all([
      SignalingNode.start(build.script, 'A', redis.url, DRAIN_FLAGS),
      SignalingNode.start(build.script, 'B', redis.url, DRAIN_FLAGS),
    ]);
    proxy = await HaProxy.start(
      [
        { name: 'a', address: new URL(a.url).host },
        { name: 'b', address: new URL(b.url).host },
      ],
      CHECK_MS,
    );
    resetTracking();
  });

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.client.dispose()));
    sockets.closeAll();
    await proxy?.stop();
    await Promise.all([a?.stop('SIGINT'), b?.stop('SIGINT')]);
    await redis?.stop();
    build?.cleanup();
    expect(openPeerConnections()).toEqual([]);
  });

  /**
   * A PeerClient through the balancer from its own loopback address (the
   * balancer keeps each address on one node); `polling` keeps it on HTTP
   * long-polling.
   */
  const peer = (transport: 'websocket' | 'polling' = 'websocket'): Peer => {
    const localAddress = `127.1.${peers.length}.1`;
    const client = new PeerClient(
      {
        url: proxy.url,
        socketOptions: {
          transports: [transport],
          // Node-only engine.io options (WebSocket and polling), outside socket.io-client's types.
          ...({ localAddress, agent: new Agent({ localAddress }) } as object),
          reconnectionDelay: 100,
          reconnectionDelayMax: 400,
        },
      },
      { createPeerConnection },
    );
    const p: Peer = { client, chat: attachChat(client), closed: [] };
    client.pcClose$.subscribe((id) => p.closed.push(id));
    peers.push(p);
    return p;
  };

  it('docs/operations.md shows the configuration this spec runs HAProxy with', () => {
    const page = readFileSync(join(__dirname, '../../docs/operations.md'), 'utf8');
    const production = referenceConfig({
      bind: '*:80',
      stats: '127.0.0.1:8404',
      backends: [
        { name: 'a', address: '10.0.0.11:3010' },
        { name: 'b', address: '10.0.0.12:3010' },
      ],
      checkMs: 1000,
    });
    expect(page).toContain(`\`\`\`text haproxy.cfg\n${production}\`\`\``);
  });

  it('moves every client of the draining node to the other one, keeping the mesh, with no 5xx from the balancer', async () => {
    await waitFor(
      async () => JSON.stringify(await proxy.serverStatus()) === '{"a":"UP","b":"UP"}',
      10_000,
      'both nodes UP in HAProxy',
    );

    // A mesh of 4 through the balancer (round robin: two sockets per node).
    const host = peer();
    const hostStarted = next(host.client.started$, undefined, 10_000);
    await host.client.startHost('drain room');
    let hostId = await hostStarted;
    const members: Peer[] = [];
    for (let i = 0; i < 3; i += 1) {
      // One member on long-polling: its requests must all reach its node.
      const member = peer(i === 1 ? 'polling' : 'websocket');
      const started = next(member.client.started$, undefined, 15_000);
      await member.client.startClient(hostId);
      await started;
      members.push(member);
    }
    const everyone = [host, ...members];
    const ids = (): string[] => everyone.map((p) => p.client.clientId ?? '');
    for (const p of everyone)
      await p.chat.openTo(
        ids().filter((id) => id !== p.client.clientId),
        15_000,
      );
    const [onA, onB] = [await socketsOn(a), await socketsOn(b)];
    expect(onA).toBeGreaterThan(0);
    expect(onB).toBeGreaterThan(0);
    expect(onA + onB).toBe(4);

    // Drain node A.
    const t0 = Date.now();
    const exited = a.stop('SIGTERM', 20_000);
    await waitFor(async () => (await readyz(a.url)) === 503, 2_000, '/readyz on A to turn 503');
    expect(await readyz(b.url)).toBe(200);
    const movedIn = await waitFor(
      async () => !a.alive && (await socketsOn(b)) === 4,
      15_000,
      'every client on node B and node A gone',
    );
    expect(await exited).toBe(0);
    expect(movedIn).toBeLessThan(10_000);

    // No peer connection dropped; everyone still talks to everyone.
    expect(everyone.map((p) => p.closed)).toEqual([[], [], [], []]);
    hostId = host.client.clientId ?? '';
    for (const [i, p] of everyone.entries())
      expect(p.chat.broadcast(`after drain ${i}`)).toHaveLength(3);
    for (const p of everyone)
      await p.chat.receivedAtLeast(3, (m) => m.text.startsWith('after drain'), 10_000);

    // The host is listed again (at its new id, on the surviving node).
    const lister = await sockets.connect(proxy.url);
    await waitFor(
      async () => {
        const listed = await request<HostsAck>(lister, 'list hosts');
        return listed.hosts.some((h) => h.name === 'drain room' && h.id === host.client.clientId);
      },
      10_000,
      'the host listed again',
    );

    // A newcomer joins through the balancer and meshes with all four.
    const newcomer = peer();
    const started = next(newcomer.client.started$, undefined, 15_000);
    await newcomer.client.startClient(host.client.clientId ?? hostId);
    await started;
    await newcomer.chat.openTo(ids(), 15_000);

    const counters = await proxy.frontendCounters();
    expect(counters['5xx']).toBe(0);
    expect(counters.total).toBeGreaterThan(0);
    process.stdout.write(
      `drain: clients on B and A exited ${movedIn} ms after SIGTERM (${Date.now() - t0} ms to here); balancer ${JSON.stringify(counters)}\n`,
    );
  });
});
