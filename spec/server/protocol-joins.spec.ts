/**
 * Issue 12 defect 9: about 80 sockets that each send one `join` must not get
 * the honest host cut off. The host replies as the protocol asks (an `offer`
 * to the joiner, a `call me` to every member already there, and a few trickled
 * candidates as an rxpeer host would): K joins cost it K(K+1)/2 messages. The
 * server credits those replies, admits joins per group and per address, and
 * caps the group size. The clock is frozen (no refill) unless a test moves it.
 */

import { DEFAULT_LIMITS } from '../../src/server/index.js';
import { Harness, emitAck, waitFor, type ClientSocket } from './helpers.js';

const JOIN_DEFAULTS = {
  maxGroupSize: DEFAULT_LIMITS.maxGroupSize,
  joinBurstPerGroup: DEFAULT_LIMITS.joinBurstPerGroup,
  joinRatePerGroup: DEFAULT_LIMITS.joinRatePerGroup,
  joinBurstPerAddress: DEFAULT_LIMITS.joinBurstPerAddress,
  joinRatePerAddress: DEFAULT_LIMITS.joinRatePerAddress,
  maxGroupMembersPerAddress: DEFAULT_LIMITS.maxGroupMembersPerAddress,
  joinReplyCredit: DEFAULT_LIMITS.joinReplyCredit,
};

/** Makes `host` answer joins as an honest host does; returns how many joins it saw. */
function honestHost(host: ClientSocket): { joins: () => number } {
  const members: string[] = [];
  host.on('message', (m: { type: string; from: string }) => {
    if (m.type !== 'join') return;
    host.emit('message', { type: 'offer', to: m.from, sdp: 'v=0 (fake)' });
    for (let i = 0; i < 5; i += 1)
      host.emit('message', {
        type: 'candidate',
        to: m.from,
        candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0' },
      });
    for (const member of members) host.emit('message', { type: 'call me', to: member, me: m.from });
    members.push(m.from);
  });
  host.on('user disconnected', ({ id }: { id: string }) => {
    const at = members.indexOf(id);
    if (at >= 0) members.splice(at, 1);
  });
  return { joins: () => members.length };
}

describe('joins: the honest host is never cut off', () => {
  let h: Harness;
  let now: number;

  beforeEach(() => {
    now = 1_000_000;
  });

  afterEach(async () => {
    await h.close();
  });

  const start = async (limits: Record<string, number> = {}): Promise<Harness> => {
    h = await Harness.start({ clock: () => now, limits: { ...JOIN_DEFAULTS, ...limits } });
    return h;
  };

  /** Waits until the server has handled everything the host sent in reply. */
  const settle = async (
    host: ClientSocket,
    attackers: ClientSocket[],
    joins: () => number,
    expected: number,
  ): Promise<void> => {
    await h.barrier(...attackers);
    await waitFor(() => joins() >= expected);
    await h.barrier(host);
  };

  it('80 sockets of one address sending one join each, with the default limits: host stays, one address gets 16 members in, an honest joiner gets in', async () => {
    await start();
    const host = await h.connect({ auth: {} });
    expect((await h.createHost(host, 'Honest')).status).toBe(200);
    const replies = honestHost(host);
    const attackers = await h.connectMany(80);
    const acks = await Promise.all(
      attackers.map((a) => emitAck(a, 'message', { type: 'join', to: host.id })),
    );
    const admitted = acks.filter((a) => a.status === 200).length;
    expect(admitted).toBe(DEFAULT_LIMITS.maxGroupMembersPerAddress);
    expect(acks.filter((a) => a.status === 429)).toHaveLength(80 - admitted);
    await settle(host, attackers, replies.joins, admitted);
    expect(host.connected).toBe(true);
    expect(h.server.stats().cutOff).toBe(0);
    expect(h.server.stats().dropped['rate-limited']).toBe(0);

    // An honest joiner from another address gets in once the group's bucket refills.
    now += 1_000;
    const honest = await h.connect({ auth: {}, localAddress: '127.0.0.2' });
    expect(await emitAck(honest, 'message', { type: 'join', to: host.id })).toEqual({
      status: 200,
      message: 'Relayed.',
    });
    await settle(host, [honest], replies.joins, admitted + 1);
    await h.barrier(honest);
    expect(h.of(honest).messages.map((m) => m.type)).toEqual([
      'offer',
      'candidate',
      'candidate',
      'candidate',
      'candidate',
      'candidate',
    ]);
    expect(host.connected).toBe(true);
  });

  it('credits the host for its replies: 80 admitted joins (K(K−1)/2 = 3,160 call me) never cut it off, with no refill at all', async () => {
    await start({
      joinBurstPerAddress: 1_000,
      joinBurstPerGroup: 1_000,
      maxGroupMembersPerAddress: 1_000,
      maxGroupSize: 100,
    });
    const host = await h.connect({ auth: {} });
    expect((await h.createHost(host, 'Honest')).status).toBe(200);
    const replies = honestHost(host);
    const attackers = await h.connectMany(80);
    for (const a of attackers) a.emit('message', { type: 'join', to: host.id });
    await settle(host, attackers, replies.joins, 80);
    expect(host.connected).toBe(true);
    const stats = h.server.stats();
    expect(stats.cutOff).toBe(0);
    expect(stats.dropped['rate-limited']).toBe(0);
    // Every reply went out: 80 offers, 400 candidates, 3,160 call me.
    expect(stats.relayed).toBe(80 + 80 + 400 + (80 * 79) / 2);
  });

  it('caps the group at maxGroupSize sockets (403 group-full), and admits again when one leaves', async () => {
    await start({ maxGroupSize: 4 });
    const host = await h.connect();
    expect((await h.createHost(host, 'Small')).status).toBe(200);
    const joiners = await h.connectMany(4);
    const acks = [];
    for (const j of joiners) acks.push(await emitAck(j, 'message', { type: 'join', to: host.id }));
    expect(acks.map((a) => a.status)).toEqual([200, 200, 200, 403]);
    expect(acks[3]!.message).toContain('full');
    await h.leave(joiners[0]!);
    expect((await emitAck(joiners[3]!, 'message', { type: 'join', to: host.id })).status).toBe(200);
  });

  it('admits joins from one address at joinRatePerAddress, across groups', async () => {
    await start({ joinBurstPerAddress: 3, joinRatePerAddress: 1 });
    const hosts = await Promise.all(
      Array.from({ length: 4 }, (_, i) => h.connect({ localAddress: `127.0.2.${i + 1}` })),
    );
    for (const [i, host] of hosts.entries())
      expect((await h.createHost(host, `G${i}`)).status).toBe(200);
    const sprayer = await h.connect();
    const acks = [];
    for (const host of hosts)
      acks.push(await emitAck(sprayer, 'message', { type: 'join', to: host.id }));
    expect(acks.map((a) => a.status)).toEqual([200, 200, 200, 429]);
  });

  it('admits joins into one group at joinRatePerGroup, whatever the number of addresses', async () => {
    await start({ joinBurstPerGroup: 4, joinRatePerGroup: 2 });
    const host = await h.connect();
    expect((await h.createHost(host, 'Busy')).status).toBe(200);
    const joiners = await Promise.all(
      Array.from({ length: 6 }, (_, i) => h.connect({ localAddress: `127.0.1.${i + 1}` })),
    );
    const first = await Promise.all(
      joiners.map((j) => emitAck(j, 'message', { type: 'join', to: host.id })),
    );
    expect(first.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429]);
    now += 1_000;
    const later = await Promise.all(
      joiners.slice(4).map((j) => emitAck(j, 'message', { type: 'join', to: host.id })),
    );
    expect(later.map((a) => a.status)).toEqual([200, 200]);
  });
});
