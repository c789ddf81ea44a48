/**
 * `list hosts` under the protocol limits (issue 13 case 3, issue 12 defect 3):
 * a lobby is never cut off and always gets the list; an answer is bounded
 * (at most `maxListedHosts` hosts; rxpeer pages with `{ offset }`); the bytes
 * of answers per address are budgeted; hosts held per address are capped.
 * The sockets here announce no capabilities, as Extreal clients, unless said.
 */

import { DEFAULT_LIMITS, InMemorySignalingState } from '../../src/server/index.js';
import { Harness, disconnected, emitAck, waitFor, type ClientSocket } from './helpers.js';

type ListAck = {
  status: number;
  hosts: { id: string; name: string }[];
  total?: number;
  next?: number;
  message?: string;
};

/** The defaults for every list/host limit (the harness lifts them otherwise). */
const LIST_DEFAULTS = {
  requestBurst: DEFAULT_LIMITS.requestBurst,
  requestRate: DEFAULT_LIMITS.requestRate,
  listBurst: DEFAULT_LIMITS.listBurst,
  listRate: DEFAULT_LIMITS.listRate,
  maxListedHosts: DEFAULT_LIMITS.maxListedHosts,
  listBytesPerAddressBurst: DEFAULT_LIMITS.listBytesPerAddressBurst,
  listBytesPerAddressRate: DEFAULT_LIMITS.listBytesPerAddressRate,
  maxHostsPerAddress: DEFAULT_LIMITS.maxHostsPerAddress,
};

describe('list hosts: a lobby is always answered, answers are bounded', () => {
  let h: Harness;
  let now: number;
  let state: InMemorySignalingState | undefined;

  beforeEach(() => {
    now = 1_000_000;
    state = undefined;
  });

  afterEach(async () => {
    await h.close();
    await state?.close();
  });

  const start = async (limits: Record<string, number> = {}): Promise<Harness> => {
    h = await Harness.start({
      clock: () => now,
      ...(state === undefined ? {} : { state }),
      limits: { ...LIST_DEFAULTS, ...limits },
    });
    return h;
  };
  const extreal = (): Promise<ClientSocket> => h.connect({ auth: {} });
  const list = (socket: ClientSocket, ...args: unknown[]): Promise<ListAck> =>
    emitAck<ListAck>(socket, 'list hosts', ...args);

  it('answers 100 back-to-back list hosts from one socket with the list, with the default limits', async () => {
    await start();
    const host = await extreal();
    expect((await h.createHost(host, 'Lobby')).status).toBe(200);
    const lobby = await extreal();
    const answers = await Promise.all(Array.from({ length: 100 }, () => list(lobby)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.every((a) => a.hosts.length === 1 && a.hosts[0]!.name === 'Lobby')).toBe(true);
    expect(lobby.connected).toBe(true);
  });

  it('answers a lobby refreshing 10 times a second for a minute, and a user hammering Refresh', async () => {
    await start();
    const lobby = await extreal();
    for (let i = 0; i < 600; i += 1) {
      now += 100;
      expect((await list(lobby)).status).toBe(200);
    }
    // Hammering: 50 clicks within a second, on top.
    const hammered = await Promise.all(Array.from({ length: 50 }, () => list(lobby)));
    expect(hammered.every((a) => a.status === 200)).toBe(true);
  });

  it('limits a flood far beyond interactive use with 429, and never disconnects for it', async () => {
    await start();
    const flooder = await extreal();
    const answers = await Promise.all(Array.from({ length: 2_000 }, () => list(flooder)));
    const ok = answers.filter((a) => a.status === 200).length;
    expect(ok).toBe(DEFAULT_LIMITS.listBurst);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(2_000 - ok);
    expect(answers.find((a) => a.status === 429)).toMatchObject({
      hosts: [],
      reason: 'list-limited',
    });
    // Not cut off: the bucket refills and the list comes back.
    expect(flooder.connected).toBe(true);
    expect(h.server.stats().cutOff).toBe(0);
    now += 1_000;
    expect((await list(flooder)).status).toBe(200);
    // Fire-and-forget floods (acks unread) do not cut it off either.
    const cut = disconnected(flooder);
    let wasCut = false;
    void cut.then(() => (wasCut = true));
    for (let i = 0; i < 5_000; i += 1) flooder.emit('list hosts', () => undefined);
    expect((await list(flooder)).status).toBe(429); // after the flood: all handled, bucket empty
    now += 1_000;
    expect((await list(flooder)).status).toBe(200);
    expect(wasCut).toBe(false);
  });

  it('lists at most maxListedHosts hosts per answer; rxpeer pages the rest with { offset }', async () => {
    await start({ maxListedHosts: 5 });
    const hosts = await h.connectMany(12);
    for (const [i, socket] of hosts.entries())
      expect((await h.createHost(socket, `Room ${i}`)).status).toBe(200);
    const lobby = await extreal();
    const first = await list(lobby);
    expect(first).toMatchObject({ status: 200, total: 12, next: 5 });
    expect(first.hosts.map((x) => x.name)).toEqual([
      'Room 0',
      'Room 1',
      'Room 2',
      'Room 3',
      'Room 4',
    ]);
    const second = await list(lobby, { offset: first.next });
    expect(second).toMatchObject({ status: 200, total: 12, next: 10 });
    const third = await list(lobby, { offset: second.next });
    expect(third.hosts.map((x) => x.name)).toEqual(['Room 10', 'Room 11']);
    expect(third.next).toBeUndefined();
    expect((await list(lobby, { offset: 99 })).hosts).toEqual([]);
    // A short list is answered exactly as the reference server does.
    await h.close();
    await start({ maxListedHosts: 500 });
    expect(await list(await extreal())).toEqual({ status: 200, hosts: [] });
  });

  it('bounds the answer at 10,000 hosts of 64 astral code points (defect 3: ≈ 3 MB per answer before)', async () => {
    state = new InMemorySignalingState();
    const name = (i: number): string => `${String(i).padStart(5, '0')}${'𝒜'.repeat(59)}`;
    for (let i = 0; i < 10_000; i += 1) await state.claimHost(`fake-${i}`, name(i));
    await start();
    const lobby = await extreal();
    const answer = await list(lobby);
    expect(answer.status).toBe(200);
    expect(answer.hosts).toHaveLength(DEFAULT_LIMITS.maxListedHosts);
    expect(answer.total).toBe(10_000);
    expect(Buffer.byteLength(JSON.stringify(answer))).toBeLessThan(200 * 1024);
  });

  it('budgets the bytes of list answers per address: many sockets of one address share it', async () => {
    state = new InMemorySignalingState();
    for (let i = 0; i < 200; i += 1) await state.claimHost(`fake-${i}`, `${i} ${'𝒜'.repeat(60)}`);
    await start({ listBytesPerAddressBurst: 512 * 1024, listBytesPerAddressRate: 64 * 1024 });
    const sockets = await Promise.all(Array.from({ length: 20 }, () => extreal()));
    const answers = (
      await Promise.all(sockets.map((s) => Promise.all(Array.from({ length: 10 }, () => list(s)))))
    ).flat();
    const served = answers.filter((a) => a.status === 200);
    const bytes = served.reduce((sum, a) => sum + Buffer.byteLength(JSON.stringify(a.hosts)), 0);
    expect(bytes).toBeLessThanOrEqual(512 * 1024);
    expect(served.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 429).length).toBe(answers.length - served.length);
    expect(sockets.every((s) => s.connected)).toBe(true);
    now += 1_000;
    expect((await list(sockets[0]!)).status).toBe(200);
  });

  it('caps the hosts one address holds (maxHostsPerAddress); a host that leaves frees its slot', async () => {
    await start();
    const max = DEFAULT_LIMITS.maxHostsPerAddress;
    const hosts = await h.connectMany(max + 1);
    for (let i = 0; i < max; i += 1)
      expect((await h.createHost(hosts[i]!, `Squat ${i}`)).status).toBe(200);
    expect(await h.createHost(hosts[max]!, 'One too many')).toMatchObject({
      status: 403,
      reason: 'address-quota',
    });
    await h.leave(hosts[0]!);
    expect((await h.createHost(hosts[max]!, 'One too many')).status).toBe(200);
  });

  it('frees the host slot of a socket that disconnects while its claim is still running', async () => {
    let release: () => void = () => undefined;
    const paused = new Promise<void>((resolve) => (release = resolve));
    class SlowState extends InMemorySignalingState {
      override async claimHost(socketId: string, name: string, key?: string) {
        await paused;
        return super.claimHost(socketId, name, key);
      }
    }
    state = new SlowState();
    await start({ maxHostsPerAddress: 1 });
    const first = await h.connect();
    first.emit('create host', 'Slow', () => undefined);
    await waitFor(() => h.server.io.of('/').sockets.size === 1);
    first.disconnect();
    await waitFor(() => h.server.io.of('/').sockets.size === 0);
    release();
    await waitFor(async () => (await h.server.state.size()).hosts === 0);
    const second = await h.connect();
    expect((await h.createHost(second, 'Next')).status).toBe(200);
  });
});
