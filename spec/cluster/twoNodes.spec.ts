/**
 * Two signaling processes on one Redis (CHECKLIST row 14, two nodes): real
 * peers mesh across nodes, host names are claimed once cluster-wide, and
 * `list hosts` is the same on every node.
 */
import { PeerClient } from '../../src/client/PeerClient';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';
import { attachChat, type Chat } from '../helpers/chat';
import { next } from '../helpers/clientHarness';
import { RedisServer } from '../helpers/redis';
import {
  buildNodeScript,
  request,
  SignalingNode,
  Sockets,
  sortedHosts,
  waitFor,
  type HostsAck,
} from './nodes';

jest.setTimeout(60_000);

describe('two signaling nodes on one Redis', () => {
  let redis: RedisServer;
  let build: ReturnType<typeof buildNodeScript>;
  let a: SignalingNode;
  let b: SignalingNode;
  let sockets: Sockets;
  let clients: PeerClient[];

  beforeAll(async () => {
    build = buildNodeScript();
    redis = await RedisServer.start();
    [a, b] = await Promise.all([
      SignalingNode.start(build.script, 'A', redis.url),
      SignalingNode.start(build.script, 'B', redis.url),
    ]);
  });

  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    build?.cleanup();
    // A graceful SIGTERM: both exit 0.
    expect(codes).toEqual([0, 0]);
  });

  beforeEach(() => {
    sockets = new Sockets();
    clients = [];
    resetTracking();
  });

  afterEach(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    sockets.closeAll();
    expect(openPeerConnections()).toEqual([]);
  });

  const peer = (url: string): { client: PeerClient; chat: Chat } => {
    const client = new PeerClient({ url }, { createPeerConnection });
    clients.push(client);
    return { client, chat: attachChat(client) };
  };

  it('reports Redis in /healthz on both nodes', async () => {
    for (const node of [a, b]) {
      const { status, body } = await node.health();
      expect(status).toBe(200);
      expect(body).toMatchObject({ ok: true, redis: { backend: 'redis', status: 'ready' } });
    }
  });

  it('a host on node A and two clients on node B form a full mesh; data channel messages pass between every pair', async () => {
    const host = peer(a.url);
    const hostStarted = next(host.client.started$, undefined, 10_000);
    await host.client.startHost('cluster mesh');
    const hostId = await hostStarted;

    const members = [host];
    const ids = [hostId];
    for (let i = 0; i < 2; i += 1) {
      const member = peer(b.url);
      const started = next(member.client.started$, undefined, 15_000);
      await member.client.startClient(hostId);
      ids.push(await started);
      members.push(member);
    }
    for (const [i, m] of members.entries()) await m.chat.openTo(ids.filter((_, j) => j !== i));
    for (const [i, m] of members.entries()) {
      expect(m.chat.broadcast(`hello from ${ids[i]!}`).sort()).toEqual(
        ids.filter((_, j) => j !== i).sort(),
      );
    }
    for (const [i, m] of members.entries()) {
      await m.chat.receivedAtLeast(2);
      expect(m.chat.received.map((r) => r.text).sort()).toEqual(
        ids
          .filter((_, j) => j !== i)
          .map((id) => `hello from ${id}`)
          .sort(),
      );
    }

    // Relay rules hold across nodes: a stranger on B cannot message the host on A.
    const stranger = await sockets.connect(b.url);
    const refused = await request<{ status: number }>(stranger, 'message', {
      type: 'offer',
      to: hostId,
      sdp: 'x',
    });
    expect(refused.status).toBe(403);
    // (The members on B reached the host on A: that is how the mesh above formed.)
    const hostsOnB = await request<HostsAck>(stranger, 'list hosts');
    expect(hostsOnB.hosts).toContainEqual({ id: hostId, name: 'cluster mesh' });
  });

  it('two hosts racing for one name on different nodes: exactly one 200 and one 409, 50 times; list hosts agrees on both nodes', async () => {
    const onA = await Promise.all(Array.from({ length: 50 }, () => sockets.connect(a.url)));
    const onB = await Promise.all(Array.from({ length: 50 }, () => sockets.connect(b.url)));
    let winsA = 0;
    for (let i = 0; i < 50; i += 1) {
      const [ra, rb] = await Promise.all([
        request<{ status: number }>(onA[i]!, 'create host', `race ${i}`),
        request<{ status: number }>(onB[i]!, 'create host', `race ${i}`),
      ]);
      expect([ra.status, rb.status].sort()).toEqual([200, 409]);
      if (ra.status === 200) winsA += 1;
    }
    process.stdout.write(`cluster race: node A won ${winsA} of 50, node B ${50 - winsA}\n`);

    const [listA, listB] = await Promise.all([
      request<HostsAck>(onA[0]!, 'list hosts'),
      request<HostsAck>(onB[0]!, 'list hosts'),
    ]);
    expect(listA.status).toBe(200);
    expect(sortedHosts(listA.hosts)).toEqual(sortedHosts(listB.hosts));
    expect(
      listA.hosts
        .filter((h) => h.name.startsWith('race '))
        .map((h) => h.name)
        .sort(),
    ).toEqual(Array.from({ length: 50 }, (_, i) => `race ${i}`).sort());

    // The hosts leave the list on both nodes when their sockets go.
    sockets.closeAll();
    const probeA = await sockets.connect(a.url);
    const probeB = await sockets.connect(b.url);
    for (const probe of [probeA, probeB]) {
      await waitFor(
        async () =>
          (await request<HostsAck>(probe, 'list hosts')).hosts.every(
            (h) => !h.name.startsWith('race '),
          ),
        5_000,
        'the race hosts to leave the list',
      );
    }
  });
});
