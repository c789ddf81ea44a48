/**
 * CHECKLIST row 33: Redis down for 10 s under two nodes. Connected peers keep
 * working (data channels; relay between two sockets of one node), requests
 * that need Redis get 503 at once, nothing crashes, and when Redis comes back
 * (empty: no persistence) the nodes re-assert their sockets: the same hosts
 * are listed, none that left meanwhile, and groups work across nodes again.
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

const OUTAGE_MS = 10_000;

describe('Redis down for 10 s under two nodes', () => {
  let redis: RedisServer;
  let build: ReturnType<typeof buildNodeScript>;
  let a: SignalingNode;
  let b: SignalingNode;
  const sockets = new Sockets();
  const clients: PeerClient[] = [];

  beforeAll(async () => {
    build = buildNodeScript();
    redis = await RedisServer.start();
    [a, b] = await Promise.all([
      SignalingNode.start(build.script, 'A', redis.url),
      SignalingNode.start(build.script, 'B', redis.url),
    ]);
    resetTracking();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    sockets.closeAll();
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    build?.cleanup();
    expect(openPeerConnections()).toEqual([]);
    expect(codes).toEqual([0, 0]);
  });

  const peer = (url: string): { client: PeerClient; chat: Chat } => {
    const client = new PeerClient({ url }, { createPeerConnection });
    clients.push(client);
    return { client, chat: attachChat(client) };
  };

  async function join(
    url: string,
    hostId: string,
  ): Promise<{ client: PeerClient; chat: Chat; id: string }> {
    const member = peer(url);
    const started = next(member.client.started$, undefined, 15_000);
    await member.client.startClient(hostId);
    return { ...member, id: await started };
  }

  it('keeps serving connected peers, answers 503 to what needs Redis, and re-syncs when it returns', async () => {
    // A mesh: host and one member on A, one member on B.
    const host = peer(a.url);
    const hostStarted = next(host.client.started$, undefined, 10_000);
    await host.client.startHost('outage mesh');
    const hostId = await hostStarted;
    const m1 = await join(a.url, hostId);
    const m2 = await join(b.url, hostId);
    const mesh = [{ ...host, id: hostId }, m1, m2];
    for (const m of mesh) await m.chat.openTo(mesh.filter((o) => o.id !== m.id).map((o) => o.id));

    // Raw sockets: a group whose host is on A with a member on A and one on B;
    // a host on B that leaves during the outage; one that stays.
    const r1 = await sockets.connect(a.url);
    expect(await request(r1, 'create host', 'raw room')).toMatchObject({ status: 200 });
    const r2 = await sockets.connect(a.url);
    expect(await request(r2, 'message', { type: 'join', to: r1.id })).toMatchObject({
      status: 200,
    });
    const r5 = await sockets.connect(b.url);
    expect(await request(r5, 'message', { type: 'join', to: r1.id })).toMatchObject({
      status: 200,
    });
    const leaver = await sockets.connect(b.url);
    expect(await request(leaver, 'create host', 'leaves during the outage')).toMatchObject({
      status: 200,
    });
    const stayer = await sockets.connect(b.url);
    expect(await request(stayer, 'create host', 'stays on B')).toMatchObject({ status: 200 });
    const spare = await sockets.connect(a.url);
    const r1Id = r1.id!;
    const before = sortedHosts((await request<HostsAck>(spare, 'list hosts')).hosts);
    expect(before.map((h) => h.name).sort()).toEqual([
      'leaves during the outage',
      'outage mesh',
      'raw room',
      'stays on B',
    ]);

    // ---- Redis goes away.
    await redis.stop();
    const downAt = Date.now();

    // Requests that need Redis fail at once with 503. `list hosts` is answered
    // from the node's cache until its refresh window (250 ms) ends, then 503.
    const t0 = Date.now();
    let listed = await request<HostsAck>(spare, 'list hosts');
    while (listed.status === 200 && Date.now() - t0 < 1_000) {
      expect(sortedHosts(listed.hosts)).toEqual(before);
      await new Promise((resolve) => setTimeout(resolve, 50));
      listed = await request<HostsAck>(spare, 'list hosts');
    }
    const listTook = Date.now() - t0;
    expect(listed.status).toBe(503);
    expect(listed.hosts).toEqual([]);
    expect(listTook).toBeLessThan(2_500);
    const created = await request<{ status: number; message: string }>(
      spare,
      'create host',
      'new during the outage',
    );
    expect(created.status).toBe(503);
    expect(created.message).toMatch(/try again/);
    // /healthz tells.
    for (const node of [a, b]) {
      const health = await node.health();
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ ok: false, redis: { status: 'down' } });
    }
    // Relay between two sockets of node A still works; across nodes it fails cleanly.
    expect(await request(r2, 'message', { type: 'note', to: r1Id, me: 'same node' })).toMatchObject(
      { status: 200 },
    );
    await waitFor(
      () => sockets.of(r1).messages.some((m) => m.me === 'same node'),
      2_000,
      'the relayed message',
    );
    expect(
      await request(r5, 'message', { type: 'note', to: r1Id, me: 'across nodes' }),
    ).toMatchObject({ status: 503 });
    // Data channels do not need the server at all.
    host.chat.broadcast('during the outage');
    await m1.chat.receivedAtLeast(1, (m) => m.text === 'during the outage');
    await m2.chat.receivedAtLeast(1, (m) => m.text === 'during the outage');
    // A host leaves while Redis is away.
    leaver.disconnect();

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    expect(a.alive && b.alive).toBe(true);
    m2.chat.broadcast('still during the outage');
    await host.chat.receivedAtLeast(1, (m) => m.text === 'still during the outage');

    // ---- Redis comes back, empty.
    await redis.start();
    const upAt = Date.now();
    const expected = sortedHosts(before.filter((h) => h.name !== 'leaves during the outage'));
    let lists: HostsAck[] = [];
    await waitFor(
      async () => {
        lists = await Promise.all([
          request<HostsAck>(spare, 'list hosts'),
          request<HostsAck>(r5, 'list hosts'),
        ]);
        return lists.every(
          (l) =>
            l.status === 200 && JSON.stringify(sortedHosts(l.hosts)) === JSON.stringify(expected),
        );
      },
      10_000,
      'both nodes to list the same hosts as before, less the one that left',
      100,
    );
    process.stdout.write(
      `cluster outage: hosts re-listed ${Date.now() - upAt} ms after Redis returned\n`,
    );
    for (const node of [a, b]) {
      // `resyncing` lasts until its members' hosts are back (the other node may re-sync later).
      await waitFor(
        async () => {
          const { status, body } = await node.health();
          return status === 200 && (body.redis as { status?: string }).status === 'ready';
        },
        5_000,
        `${node.name} healthy again`,
      );
    }
    // Groups are back across nodes: the member on B reaches its host on A …
    await waitFor(
      async () =>
        (await request<{ status: number }>(r5, 'message', { type: 'note', to: r1Id, me: 'after' }))
          .status === 200,
      5_000,
      'relay across nodes again',
    );
    await waitFor(
      () => sockets.of(r1).messages.some((m) => m.me === 'after'),
      2_000,
      'the message across nodes',
    );
    // … and a newcomer on B meshes with everyone (call me / offers cross nodes through the restored groups).
    const m3 = await join(b.url, hostId);
    await m3.chat.openTo(mesh.map((m) => m.id));
    m3.chat.broadcast('hello after the outage');
    for (const m of mesh)
      await m.chat.receivedAtLeast(
        1,
        (r) => r.text === 'hello after the outage' && r.from === m3.id,
      );
    // The name that was refused during the outage can be created now.
    expect(await request(spare, 'create host', 'new during the outage')).toMatchObject({
      status: 200,
    });
    expect(a.alive && b.alive).toBe(true);
  });
});
