/**
 * Fuzz finding F2: ten sockets of one address join an honest host and flood
 * it with offers; each one cut off reconnects, joins again and floods again.
 * The `message` budget holds per address (a reconnect does not refill it),
 * and what one address relays into one socket is bounded, so the host gets
 * at most `inboundBurstPerAddress` of it and an honest joiner from another
 * address still reaches the host. The clock is frozen: no refill.
 */

import { DEFAULT_LIMITS } from '../../src/server/index.js';
import { Harness, disconnected, emitAck, waitFor, type ClientSocket } from './helpers.js';

const FLOOD_DEFAULTS = {
  messageRate: DEFAULT_LIMITS.messageRate,
  messageBurst: DEFAULT_LIMITS.messageBurst,
  maxStrikes: DEFAULT_LIMITS.maxStrikes,
  messageRatePerAddress: DEFAULT_LIMITS.messageRatePerAddress,
  messageBurstPerAddress: DEFAULT_LIMITS.messageBurstPerAddress,
  inboundRatePerAddress: DEFAULT_LIMITS.inboundRatePerAddress,
  inboundBurstPerAddress: DEFAULT_LIMITS.inboundBurstPerAddress,
};

describe('floods into one honest host from one address', () => {
  let h: Harness;
  const now = 1_000_000;

  afterEach(async () => {
    await h.close();
  });

  it('bounds what reaches the host, across reconnects, and lets an honest joiner through', async () => {
    h = await Harness.start({ clock: () => now, limits: FLOOD_DEFAULTS });
    const host = await h.connect({ localAddress: '127.0.0.3' });
    expect((await h.createHost(host, 'Victim')).status).toBe(200);
    const sdp = `v=0\r\n${'a'.repeat(1_000)}`;
    const attackerIds = new Set<string>();
    let cutOffs = 0;
    for (let round = 0; round < 3; round += 1) {
      const attackers: ClientSocket[] = await Promise.all(
        Array.from({ length: 10 }, () => h.connect()),
      );
      for (const a of attackers) {
        attackerIds.add(a.id as string);
        // After round 1 the address's budget is spent: reconnecting does not refill it.
        const joined = await emitAck(a, 'message', { type: 'join', to: host.id });
        expect(joined.status).toBe(round === 0 ? 200 : 429);
      }
      const gone = attackers.map((a) => disconnected(a));
      for (let i = 0; i < 3_000; i += 1)
        for (const a of attackers) a.emit('message', { type: 'offer', to: host.id, sdp });
      await Promise.all(gone);
      cutOffs += attackers.length;
    }
    expect(h.server.stats().cutOff).toBe(cutOffs);
    await waitFor(async () => (await h.server.state.groupMembers(host.id as string)).length === 1);
    await h.barrier(host);
    const flooded = h
      .of(host)
      .messages.filter((m) => m.type === 'offer' && attackerIds.has(m.from as string));
    expect(flooded.length).toBeLessThanOrEqual(DEFAULT_LIMITS.inboundBurstPerAddress);
    // Rounds 2 and 3 got nothing past the address budget (spent in round 1): cut off on strikes alone.
    expect(h.server.stats().dropped['rate-limited']).toBeGreaterThanOrEqual(
      20 * DEFAULT_LIMITS.maxStrikes,
    );

    // An honest joiner from another address reaches the host at once.
    const honest = await h.connect({ localAddress: '127.0.0.2' });
    expect(await emitAck(honest, 'message', { type: 'join', to: host.id })).toEqual({
      status: 200,
      message: 'Relayed.',
    });
    expect(await emitAck(honest, 'message', { type: 'offer', to: host.id, sdp: 'v=0' })).toEqual({
      status: 200,
      message: 'Relayed.',
    });
    expect(host.connected).toBe(true);
  });

  it('drops relays over the per-target bound with 429 (target-busy), without striking the sender', async () => {
    h = await Harness.start({
      clock: () => now,
      limits: { ...FLOOD_DEFAULTS, inboundBurstPerAddress: 5 },
    });
    const host = await h.connect({ localAddress: '127.0.0.3' });
    expect((await h.createHost(host, 'Busy')).status).toBe(200);
    const member = await h.connect();
    expect((await emitAck(member, 'message', { type: 'join', to: host.id })).status).toBe(200);
    const acks = await Promise.all(
      Array.from({ length: 8 }, () =>
        emitAck(member, 'message', { type: 'offer', to: host.id, sdp: 'v=0' }),
      ),
    );
    expect(acks.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(h.server.stats().dropped['target-busy']).toBe(3);
    expect(member.connected).toBe(true);
  });
});
