/**
 * The `redis` option and `--redis` flag: parsing, a clear failure when Redis
 * cannot be reached, and two in-process servers on one Redis that close
 * without leaving a connection or timer behind.
 */
import {
  createSignalingServer,
  InMemorySignalingState,
  parseCli,
  SignalingConfigError,
  type SignalingServer,
} from '../../src/server/index.js';
import { freePort, RedisServer } from '../helpers/redis';
import { request, Sockets, type HostsAck } from './nodes';

jest.setTimeout(30_000);

describe('the redis option', () => {
  it('is read from --redis and REDIS_URL (the flag wins); a URL that is not redis:// is refused', () => {
    expect(parseCli(['--redis', 'redis://127.0.0.1:6379'], {})).toEqual({
      kind: 'run',
      options: { redis: 'redis://127.0.0.1:6379' },
    });
    expect(parseCli([], { REDIS_URL: 'redis://10.0.0.1:6379/2' })).toMatchObject({
      options: { redis: 'redis://10.0.0.1:6379/2' },
    });
    expect(parseCli(['--redis', 'rediss://a:6380'], { REDIS_URL: 'redis://b:6379' })).toMatchObject(
      { options: { redis: 'rediss://a:6380' } },
    );
    expect(parseCli([], { REDIS_URL: '' })).toEqual({ kind: 'run', options: {} });
    expect(parseCli(['--redis', 'http://x'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('--redis must be a redis:// or rediss:// URL') as unknown,
    });
  });

  it('fails to start, clearly and soon, when Redis cannot be reached', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(
      createSignalingServer({
        port: 0,
        redis: { url: `redis://:secret@127.0.0.1:${port}`, connectTimeoutMs: 500 },
      }),
    ).rejects.toThrow(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('cannot be combined with state or adapter', async () => {
    await expect(
      createSignalingServer({
        port: 0,
        redis: 'redis://127.0.0.1:1',
        state: new InMemorySignalingState(),
      }),
    ).rejects.toThrow(SignalingConfigError);
  });

  describe('two servers in one process on one Redis', () => {
    let redis: RedisServer;
    let servers: SignalingServer[];
    const sockets = new Sockets();

    beforeAll(async () => {
      redis = await RedisServer.start();
      servers = await Promise.all([
        createSignalingServer({ port: 0, redis: redis.url }),
        createSignalingServer({ port: 0, redis: { url: redis.url } }),
      ]);
    });

    afterAll(async () => {
      sockets.closeAll();
      await Promise.all(servers.map((s) => s.close()));
      await redis.stop();
    });

    it('relays between their sockets, lists the same hosts, and forget them on close', async () => {
      const [one, two] = servers as [SignalingServer, SignalingServer];
      const host = await sockets.connect(one.url);
      expect(await request(host, 'create host', 'in process')).toMatchObject({ status: 200 });
      const member = await sockets.connect(two.url);
      expect(await request(member, 'message', { type: 'join', to: host.id })).toMatchObject({
        status: 200,
      });
      const hostId = host.id!;
      await new Promise<void>((resolve) => {
        const check = (): void =>
          sockets.of(host).messages.some((m) => m.type === 'join' && m.from === member.id)
            ? resolve()
            : void setTimeout(check, 20);
        check();
      });
      const fromTwo = await request<HostsAck>(member, 'list hosts');
      expect(fromTwo.hosts).toEqual([{ id: hostId, name: 'in process' }]);
      expect(await one.health()).toMatchObject({ ok: true, hosts: 1, redis: { status: 'ready' } });
      expect(one.stats().relayed + two.stats().relayed).toBe(1);
    });
  });
});
