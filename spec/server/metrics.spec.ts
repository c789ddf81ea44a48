/**
 * Metrics (issue 18): a real Prometheus on loopback scrapes a running
 * server; after a scripted host / join / leave, queries through its HTTP API
 * return the expected values. Plus the exposition itself: names, off switch,
 * own port.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MESSAGE_DROP_REASONS, REQUEST_REJECTIONS } from '../../src/server';
import { Prometheus } from '../helpers/prometheus';
import { RedisServer } from '../helpers/redis';
import { waitFor } from '../cluster/nodes';
import { ACK_TIMEOUT_MS, Harness, type ClientSocket } from './helpers';

jest.setTimeout(60_000);

const emit = <T>(socket: ClientSocket, event: string, ...args: unknown[]): Promise<T> =>
  socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, ...args) as Promise<T>;

const text = async (url: string): Promise<{ status: number; body: string; type: string }> => {
  const res = await fetch(url);
  return {
    status: res.status,
    body: await res.text(),
    type: res.headers.get('content-type') ?? '',
  };
};

describe('metrics', () => {
  let harness: Harness | undefined;
  let prometheus: Prometheus | undefined;

  afterEach(async () => {
    await prometheus?.stop();
    prometheus = undefined;
    await harness?.close();
    harness = undefined;
  });

  it('a real Prometheus scrapes the server and its queries match a scripted host, join and leave', async () => {
    harness = await Harness.start();
    const server = harness.server;
    prometheus = await Prometheus.start([new URL(server.url).host]);
    const p = prometheus;
    await waitFor(
      async () => (await p.value('up{job="rxpeer"}')) === 1,
      15_000,
      'the first scrape',
    );

    // The script: a host, two members (each answered by the host), a refused name, one member leaves.
    const host = await harness.connect();
    expect(await emit(host, 'create host', 'metrics room')).toMatchObject({ status: 200 });
    const [m1, m2] = [await harness.connect(), await harness.connect()];
    for (const member of [m1, m2]) {
      expect(await emit(member, 'message', { type: 'join', to: host.id })).toMatchObject({
        status: 200,
      });
      expect(
        await emit(host, 'message', { type: 'offer', to: member.id, sdp: 'v=0' }),
      ).toMatchObject({
        status: 200,
      });
      expect(
        await emit(member, 'message', { type: 'answer', to: host.id, sdp: 'v=0' }),
      ).toMatchObject({
        status: 200,
      });
    }
    const squatter = await harness.connect();
    expect(await emit(squatter, 'create host', 'metrics room')).toMatchObject({ status: 409 });
    expect(
      await emit(squatter, 'message', { type: 'offer', to: host.id, sdp: 'v=0' }),
    ).toMatchObject({
      status: 403,
    });
    await harness.leave(m1);
    await harness.leave(squatter);
    await harness.barrier(host, m2);

    const expected: [string, number][] = [
      ['rxpeer_hosts_created_total', 1],
      ['rxpeer_hosts', 1],
      ['rxpeer_sockets', 2],
      ['rxpeer_connections_total', 4],
      ['rxpeer_joins_total', 2],
      ['rxpeer_messages_relayed_total{type="join"}', 2],
      ['rxpeer_messages_relayed_total{type="offer"}', 2],
      ['rxpeer_messages_relayed_total{type="answer"}', 2],
      ['rxpeer_messages_dropped_total{reason="not-in-group"}', 1],
      ['rxpeer_requests_refused_total{reason="name-taken"}', 1],
      ['rxpeer_leave_notices_total', 2],
      ['rxpeer_request_duration_seconds_count{request="join"}', 2],
      ['rxpeer_request_duration_seconds_count{request="create host"}', 2],
      ['rxpeer_group_members_bucket{le="1"}', 1],
      ['rxpeer_group_members_count', 1],
    ];
    const read = async (): Promise<[string, number | undefined][]> =>
      Promise.all(
        expected.map(async ([q]) => [q, await p.value(q)] as [string, number | undefined]),
      );
    await waitFor(
      async () => JSON.stringify(await read()) === JSON.stringify(expected),
      15_000,
      'Prometheus to hold the scripted values',
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\ngot ${JSON.stringify(await read())}`);
    });
    // Latencies are real numbers; the process's default metrics are there too.
    expect(await p.value('rxpeer_request_duration_seconds_sum{request="join"}')).toBeGreaterThan(0);
    expect(await p.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(await p.value('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('names every metric of the server rxpeer_…, and serves the Prometheus text format', async () => {
    harness = await Harness.start();
    const { status, body, type } = await text(`${harness.server.url}/metrics`);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    const names = [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!);
    const own = names.filter((n) => !n.startsWith('process_') && !n.startsWith('nodejs_'));
    expect(own.length).toBeGreaterThanOrEqual(15);
    expect(own.filter((n) => !n.startsWith('rxpeer_'))).toEqual([]);
    expect(names).toContain('process_cpu_user_seconds_total');
    // docs/operations.md names every metric and every reason label.
    const page = readFileSync(join(__dirname, '../../docs/operations.md'), 'utf8');
    for (const name of own) expect(page).toContain(`| \`${name}\``);
    for (const reason of [...MESSAGE_DROP_REASONS, ...REQUEST_REJECTIONS])
      expect(page).toContain(`\`${reason}\``);
    expect(harness.server.metricsUrl).toBe(`${harness.server.url}/metrics`);
  });

  it('metrics: false serves no /metrics; { port } serves them on their own port only', async () => {
    harness = await Harness.start({ metrics: false });
    expect((await text(`${harness.server.url}/metrics`)).status).toBe(404);
    expect(harness.server.metricsUrl).toBeUndefined();
    await harness.close();

    harness = await Harness.start({ metrics: { port: 0, defaultMetrics: false } });
    const own = harness.server.metricsUrl!;
    expect(own).not.toContain(harness.server.url);
    expect((await text(`${harness.server.url}/metrics`)).status).toBe(404);
    const scraped = await text(own);
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('rxpeer_sockets 0');
    expect(scraped.body).not.toContain('process_cpu');
  });

  it('a relayed message type outside the protocol is counted as "other" (no label per attacker string)', async () => {
    harness = await Harness.start();
    const { host, members } = await harness.group('labels', 1);
    for (const type of ['x-1', 'x-2', 'x-3'])
      expect(await emit(members[0]!, 'message', { type, to: host.id })).toMatchObject({
        status: 200,
      });
    const { body } = await text(`${harness.server.url}/metrics`);
    expect(body).toContain('rxpeer_messages_relayed_total{type="other"} 3');
    expect(body).not.toContain('x-1');
  });

  it('with Redis: times each state operation and counts the ones that fail while Redis is away', async () => {
    const redis = await RedisServer.start();
    try {
      harness = await Harness.start({ redis: { url: redis.url, timeoutMs: 300 } });
      const host = await harness.connect();
      expect(await emit(host, 'create host', 'on redis')).toMatchObject({ status: 200 });
      let { body } = await text(`${harness.server.url}/metrics`);
      expect(body).toMatch(
        /^rxpeer_redis_operation_duration_seconds_count\{operation="claimHost"\} 1$/m,
      );
      expect(body).toContain(
        'rxpeer_redis_errors_total{operation="claimHost",kind="unavailable"} 0',
      );
      await redis.stop();
      expect(await emit(host, 'list hosts')).toMatchObject({ status: 503 });
      ({ body } = await text(`${harness.server.url}/metrics`));
      expect(body).toContain(
        'rxpeer_redis_errors_total{operation="listHosts",kind="unavailable"} 1',
      );
      await harness.close();
      harness = undefined;
    } finally {
      await redis.stop();
    }
  });
});
