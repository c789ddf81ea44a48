/**
 * CHECKLIST rows 15–17: per-socket token buckets (`list hosts`: protocol-lists.spec.ts) (a fake clock, so nothing
 * here depends on timing), flooders cut off while others go on, the SDP cap
 * below `maxHttpBufferSize`.
 */

import { DEFAULT_LIMITS } from '../../src/server/index.js';
import { Harness, disconnected, emitAck, fakeSdp } from './helpers.js';

describe('rate limits and size caps', () => {
  let h: Harness;
  let now: number;

  beforeEach(() => {
    now = 1_000_000;
  });

  afterEach(async () => {
    await h.close();
  });

  const start = (limits: Record<string, number> = {}): Promise<Harness> =>
    Harness.start({
      clock: () => now,
      limits: {
        requestBurst: DEFAULT_LIMITS.requestBurst,
        requestRate: DEFAULT_LIMITS.requestRate,
        ...limits,
      },
    });

  it('rate-limits create host with 429 after the burst, refills with time, and cuts off a sustained flood', async () => {
    h = await start();
    const socket = await h.connect();
    const { requestBurst, maxStrikes } = h.server.limits;
    const first = await Promise.all(
      Array.from({ length: requestBurst + 3 }, () => h.createHost(socket, 'Mine')),
    );
    expect(first.filter((r) => r.status === 200)).toHaveLength(requestBurst);
    expect(first.slice(requestBurst)).toEqual(
      Array(3).fill({ status: 429, message: expect.any(String), reason: 'rate-limited' }),
    );

    now += 1_000; // one second: requestRate tokens come back
    const refilled = await Promise.all(
      Array.from({ length: DEFAULT_LIMITS.requestRate }, () => h.createHost(socket, 'Mine')),
    );
    expect(refilled.every((r) => r.status === 200)).toBe(true);

    const cut = disconnected(socket);
    for (let i = 0; i < maxStrikes; i += 1) socket.emit('create host', 'Mine', () => undefined);
    expect(await cut).toBe('io server disconnect');
    expect(h.server.stats().cutOff).toBe(1);
  });

  it('keeps list hosts out of the create host bucket', async () => {
    h = await start({ requestBurst: 2 });
    const socket = await h.connect();
    for (let i = 0; i < 10; i += 1) expect((await emitAck(socket, 'list hosts')).status).toBe(200);
    expect((await h.createHost(socket, 'A')).status).toBe(200);
    expect((await h.createHost(socket, 'A')).status).toBe(200);
    expect(await h.createHost(socket, 'A')).toEqual({
      status: 429,
      message: expect.any(String),
      reason: 'rate-limited',
    });
  });

  it('cuts off a message flooder while another group is not slowed', async () => {
    h = await start();
    const flooded = await h.group('Flooded', 1);
    const calm = await h.group('Calm', 1);
    const flooder = flooded.members[0]!;
    const cut = disconnected(flooder);
    const started = Date.now();
    for (let i = 0; i < 10_000; i += 1)
      flooder.emit('message', { type: 'offer', sdp: 'v=0', to: flooded.host.id });
    // Meanwhile the calm group talks, and hears back in well under a second.
    expect(
      await emitAck(calm.members[0]!, 'message', { type: 'offer', sdp: 'v=0', to: calm.host.id }),
    ).toEqual({ status: 200, message: 'Relayed.' });
    expect(await cut).toBe('io server disconnect');
    expect(Date.now() - started).toBeLessThan(5_000);
    await h.barrier(calm.host, flooded.host);
    expect(h.of(calm.host).messages.filter((m) => m.type === 'offer')).toHaveLength(1);
    // The host of the flooded group got at most one burst.
    const offers = h.of(flooded.host).messages.filter((m) => m.type === 'offer');
    expect(offers.length).toBeLessThanOrEqual(DEFAULT_LIMITS.messageBurst);
    const stats = h.server.stats();
    expect(stats.cutOff).toBe(1);
    expect(stats.dropped['rate-limited']).toBeGreaterThanOrEqual(DEFAULT_LIMITS.maxStrikes);
  });

  it('refills the message bucket with time: a client under the rate is never cut off', async () => {
    h = await start({ messageBurst: 10, messageRate: 10 });
    const { host, members } = await h.group('Room', 1);
    const member = members[0]!;
    for (let second = 0; second < 5; second += 1) {
      now += 1_000; // the join spent a token; each second gives 10 back
      const acks = await Promise.all(
        Array.from({ length: 10 }, () =>
          emitAck(member, 'message', { type: 'offer', sdp: 'v=0', to: host.id }),
        ),
      );
      expect(acks.every((a) => a.status === 200)).toBe(true);
    }
    expect(member.connected).toBe(true);
    expect(h.server.stats().dropped['rate-limited']).toBe(0);
  });

  it('drops an SDP over 64 KB with 413 and relays one just under it; the socket stays', async () => {
    h = await start();
    const { host, members } = await h.group('Room', 1);
    const member = members[0]!;
    expect(h.server.limits.maxSdpBytes).toBe(64 * 1024);
    expect(
      await emitAck(member, 'message', { type: 'offer', sdp: fakeSdp(100 * 1024), to: host.id }),
    ).toEqual({
      status: 413,
      message: expect.stringContaining('65536'),
      reason: 'sdp-too-large',
    });
    member.emit('message', { type: 'offer', sdp: fakeSdp(100 * 1024), to: host.id });
    member.emit('message', { type: 'offer', sdp: fakeSdp(64 * 1024), to: host.id });
    await h.barrier(member, host);
    const offers = h.of(host).messages.filter((m) => m.type === 'offer');
    expect(offers.map((m) => (m.sdp as string).length)).toEqual([64 * 1024]);
    expect(h.server.stats().dropped['sdp-too-large']).toBe(2);
    expect(member.connected).toBe(true);
  });

  it('closes only the socket that sends a 10 MB SDP (over maxHttpBufferSize)', async () => {
    h = await start();
    const { host, members } = await h.group('Room', 2);
    const [big, small] = [members[0]!, members[1]!];
    const closed = disconnected(big);
    big.emit('message', { type: 'offer', sdp: fakeSdp(10 * 1024 * 1024), to: host.id });
    expect(await closed).toMatch(/transport (close|error)/);
    small.emit('message', { type: 'offer', sdp: 'v=0', to: host.id });
    await h.barrier(small, host);
    expect(h.of(host).messages.filter((m) => m.type === 'offer')).toEqual([
      { type: 'offer', sdp: 'v=0', to: host.id, from: small.id },
    ]);
    expect(h.server.limits.maxHttpBufferSize).toBe(1_000_000);
  });
});
