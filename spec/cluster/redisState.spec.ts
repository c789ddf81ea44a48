/**
 * The Redis backend of SignalingState against a real redis-server: the
 * contract every backend keeps, then what only a shared backend must do
 * (two nodes, a dead node reaped, Redis lost and back).
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import {
  RedisSignalingState,
  StateUnavailableError,
  type ClaimResult,
  type Departure,
  type RedisScriptClient,
  type RedisStateOptions,
} from '../../src/server/index.js';
import { RedisServer } from '../helpers/redis.js';
import { describeSignalingState } from '../server/stateContract.js';

jest.setTimeout(30_000);

let redis: RedisServer;
const opened: RedisSignalingState[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await redis.stop();
});

async function connect(disableOfflineQueue = true) {
  const client = createClient({
    url: redis.url,
    disableOfflineQueue,
    socket: { connectTimeout: 1_000, reconnectStrategy: (n: number) => Math.min(50 * 2 ** n, 500) },
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function makeState(options: RedisStateOptions = {}): Promise<RedisSignalingState> {
  const client = await connect();
  const state = new RedisSignalingState(client as unknown as RedisScriptClient, {
    prefix: `t:${randomUUID()}:`,
    ownsClient: true,
    ...options,
  });
  await state.start();
  opened.push(state);
  return state;
}

describeSignalingState('RedisSignalingState', () => makeState());

describe('RedisSignalingState across nodes', () => {
  const waitFor = async (
    cond: () => boolean | Promise<boolean>,
    ms: number,
    what: string,
  ): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('gives exactly one claim when two nodes race for a name, 50 times', async () => {
    const prefix = `t:${randomUUID()}:`;
    const a = await makeState({ prefix, nodeId: 'A' });
    const b = await makeState({ prefix, nodeId: 'B' });
    let winsA = 0;
    for (let i = 0; i < 50; i += 1) {
      // Both are sent before either answers; which one goes out first alternates.
      const claims =
        i % 2 === 0
          ? [a.claimHost(`a${i}`, `race ${i}`), b.claimHost(`b${i}`, `race ${i}`)]
          : [b.claimHost(`b${i}`, `race ${i}`), a.claimHost(`a${i}`, `race ${i}`)].reverse();
      const [ra, rb] = (await Promise.all(claims)) as [ClaimResult, ClaimResult];
      expect([ra.kind, rb.kind].sort()).toEqual(['claimed', 'taken']);
      if (ra.kind === 'claimed') winsA += 1;
    }
    expect((await a.listHosts()).length).toBe(50);
    expect(await a.listHosts()).toEqual(await b.listHosts());
    // Both nodes won some.
    expect(winsA).toBeGreaterThan(0);
    expect(winsA).toBeLessThan(50);
  });

  it('lets a member on one node join a host on another; both see one group', async () => {
    const prefix = `t:${randomUUID()}:`;
    const a = await makeState({ prefix, nodeId: 'A' });
    const b = await makeState({ prefix, nodeId: 'B' });
    await a.claimHost('h', 'Room');
    expect(await b.joinGroup('m', 'h')).toEqual({ kind: 'joined' });
    expect(await a.groupMembers('h')).toEqual(['h', 'm']);
    expect(await b.groupOf('h')).toBe('h');
    expect(await a.groupOf('m')).toBe('h');
    expect(await a.removeSocket('h')).toEqual({ kind: 'host', name: 'Room', members: ['m'] });
    // The member stays in the group its host left (issue 13 case 1), seen from both nodes.
    expect(await b.groupOf('m')).toBe('h');
    expect(await b.joinGroup('m2', 'h')).toEqual({ kind: 'not-a-host' });
  });

  it('reaps the sockets of a node whose heartbeat stopped, and tells who was in their groups', async () => {
    const prefix = `t:${randomUUID()}:`;
    const timing = { heartbeatMs: 100, nodeTtlMs: 300 };
    const alive = await makeState({ prefix, nodeId: 'alive', ...timing });
    const departed: [string, Departure][] = [];
    alive.setListener({ departed: (id, d) => departed.push([id, d]), lost: () => undefined });
    const doomedClient = await connect();
    const doomed = new RedisSignalingState(doomedClient as unknown as RedisScriptClient, {
      prefix,
      nodeId: 'doomed',
      ...timing,
    });
    await doomed.start();
    await doomed.claimHost('dh', 'Doomed');
    await alive.joinGroup('am', 'dh');
    await alive.claimHost('ah', 'Alive');
    await doomed.joinGroup('dm', 'ah');
    // The node dies without leaving: its connection is cut and its timer with it.
    doomedClient.destroy();
    const t0 = Date.now();
    await waitFor(
      async () => (await alive.listHosts()).length === 1,
      3_000,
      'the dead host to be reaped',
    );
    const took = Date.now() - t0;
    expect(took).toBeLessThanOrEqual(timing.nodeTtlMs + timing.heartbeatMs + 200);
    expect(await alive.listHosts()).toEqual([{ id: 'ah', name: 'Alive' }]);
    expect(await alive.groupMembers('ah')).toEqual(['ah']);
    // Its member stays in the group its host left (issue 13 case 1).
    expect(await alive.groupOf('am')).toBe('dh');
    expect(departed).toEqual(
      expect.arrayContaining([
        ['dh', { kind: 'host', name: 'Doomed', members: ['am'] }],
        ['dm', { kind: 'member', hostId: 'ah', remaining: ['ah'] }],
      ]),
    );
    await doomed.close();
  });

  it('fails fast with StateUnavailableError while Redis is away, relays locally from its mirror, and re-asserts its sockets when Redis comes back empty', async () => {
    const prefix = `t:${randomUUID()}:`;
    // The TTL is also how long a member waits for its host's node to re-sync.
    const timing = { heartbeatMs: 100, nodeTtlMs: 2_000, timeoutMs: 500 };
    const a = await makeState({ prefix, nodeId: 'A', ...timing });
    const b = await makeState({ prefix, nodeId: 'B', ...timing });
    const lostA: string[] = [];
    const departedB: [string, Departure][] = [];
    a.setListener({ departed: () => undefined, lost: (id) => lostA.push(id) });
    b.setListener({ departed: (id, d) => departedB.push([id, d]), lost: () => undefined });
    await a.claimHost('ha', 'On A');
    await a.joinGroup('ma', 'ha');
    await b.joinGroup('mb', 'ha');
    await b.claimHost('hb', 'On B');
    await b.joinGroup('gone-member', 'hb');
    await a.claimHost('gone-host', 'Leaves during the outage');
    await b.joinGroup('orphan', 'gone-host');

    await redis.stop();
    const t0 = Date.now();
    await expect(a.listHosts()).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(a.claimHost('x', 'New')).rejects.toBeInstanceOf(StateUnavailableError);
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Two sockets of node A: their group is still known there.
    expect(await a.groupOf('ma')).toBe('ha');
    expect(await a.groupOf('ha')).toBe('ha');
    await expect(a.groupOf('mb')).rejects.toBeInstanceOf(StateUnavailableError);
    expect(a.status().status).toBe('down');
    // Sockets leave while Redis is away.
    await expect(b.removeSocket('gone-member')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(a.removeSocket('gone-host')).rejects.toBeInstanceOf(StateUnavailableError);

    await redis.start();
    await waitFor(
      () => a.status().status === 'ready' && b.status().status === 'ready',
      5_000,
      'both nodes to re-sync',
    );
    expect((await a.listHosts()).sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'ha', name: 'On A' },
      { id: 'hb', name: 'On B' },
    ]);
    expect(await b.groupMembers('ha')).toEqual(expect.arrayContaining(['ha', 'ma', 'mb']));
    expect(await b.groupMembers('hb')).toEqual(['hb']);
    expect(await a.groupOf('mb')).toBe('ha');
    expect(await b.groupOf('orphan')).toBeUndefined();
    // The member of the host that left while Redis was away hears that it left.
    expect(departedB).toContainEqual([
      'gone-host',
      { kind: 'host', name: '', members: ['orphan'] },
    ]);
    expect(lostA).toEqual([]);
    expect(await a.size()).toEqual({ hosts: 2, groups: 2, members: 2 });
  });

  it('reports a host whose name another socket took while Redis had lost it (the server then disconnects it)', async () => {
    const prefix = `t:${randomUUID()}:`;
    const a = await makeState({ prefix, nodeId: 'A', heartbeatMs: 1_000, nodeTtlMs: 3_000 });
    const b = await makeState({ prefix, nodeId: 'B', heartbeatMs: 1_000, nodeTtlMs: 3_000 });
    const lost: [string, string][] = [];
    a.setListener({ departed: () => undefined, lost: (id, name) => lost.push([id, name]) });
    await a.claimHost('ha', 'Contested');
    const admin = await connect();
    // Redis loses everything (as a restart without persistence does) …
    await admin.flushAll();
    // … and another node's socket claims the name before A re-asserts it.
    expect(await b.claimHost('hb', 'Contested')).toEqual({ kind: 'claimed', name: 'Contested' });
    await waitFor(() => lost.length > 0, 3_000, 'A to find its name taken');
    expect(lost).toEqual([['ha', 'Contested']]);
    expect(await a.listHosts()).toEqual([{ id: 'hb', name: 'Contested' }]);
    admin.destroy();
  });

  it('answers 503 when Redis is too slow, yet keeps what Redis did once it answers', async () => {
    const prefix = `t:${randomUUID()}:`;
    const a = await makeState({ prefix, nodeId: 'A', timeoutMs: 200 });
    const admin = await connect();
    await admin.sendCommand(['CLIENT', 'PAUSE', '600', 'ALL']);
    const t0 = Date.now();
    await expect(a.claimHost('h', 'Slow')).rejects.toBeInstanceOf(StateUnavailableError);
    expect(Date.now() - t0).toBeLessThan(500);
    // Once Redis runs the script, the host exists; a repeat by the same socket is idempotent.
    await waitFor(
      async () => (await a.lookupHost('Slow').catch(() => undefined)) === 'h',
      3_000,
      'the late claim',
    );
    expect(await a.claimHost('h', 'Slow')).toEqual({ kind: 'already-yours', name: 'Slow' });
    expect(await a.removeSocket('h')).toEqual({ kind: 'host', name: 'Slow', members: [] });
    admin.destroy();
  });
});
