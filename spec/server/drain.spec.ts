/**
 * Readiness and drain on one real server (issue 18); the load-balancer
 * scenario is spec/cluster/drain.spec.ts.
 */
import { EventEmitter } from 'node:events';
import { io } from 'socket.io-client';
import { drainOnSignal } from '../../src/server/drain';
import { Harness } from './helpers';

const readyz = async (url: string): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: await res.json() };
};

describe('readiness and drain', () => {
  let harness: Harness;

  afterEach(async () => {
    await harness.close();
  });

  it('/readyz is 200 while serving; /healthz stays liveness', async () => {
    harness = await Harness.start();
    expect(await readyz(harness.server.url)).toEqual({
      status: 200,
      body: { ready: true, phase: 'serving', state: true, sockets: 0 },
    });
    const post = await fetch(`${harness.server.url}/readyz`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('drain(): /readyz 503 at once, new handshakes refused, clients moved (transport close), then closed', async () => {
    harness = await Harness.start({ drain: { moveAfterMs: 300, timeoutMs: 5_000 } });
    const socket = await harness.connect();
    const gone = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const drained = harness.server.drain();
    expect(await readyz(harness.server.url)).toEqual({
      status: 503,
      body: { ready: false, phase: 'draining', state: true, sockets: 1 },
    });
    const late = io(harness.server.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const refused = await new Promise<Error>((resolve) => late.once('connect_error', resolve));
    late.disconnect();
    expect(refused.message).toBe('websocket error');
    // Told to move: a transport close, which socket.io-client answers by reconnecting.
    expect(await gone).toBe('transport close');
    await drained;
    expect(harness.server.httpServer.listening).toBe(false);
  });

  it('a host moved by the drain leaves the state quietly: its members hear no "user disconnected"', async () => {
    harness = await Harness.start({ drain: { moveAfterMs: 0, timeoutMs: 5_000 } });
    const { host, members } = await harness.group('quiet', 2);
    const left = Promise.all(
      [host, ...members].map((s) => new Promise((r) => s.once('disconnect', r))),
    );
    await harness.server.drain();
    await left;
    expect(harness.of(members[0]!).leaves).toEqual([]);
    expect(harness.of(members[1]!).leaves).toEqual([]);
  });

  it('closes at the drain timeout when a socket stays', async () => {
    harness = await Harness.start({ drain: { moveAfterMs: 0, timeoutMs: 200 } });
    const socket = await harness.connect();
    // A socket that does not leave when told to move: its first transport close is ignored.
    const conn = harness.server.io.of('/').sockets.get(socket.id ?? '')!.conn;
    const close = conn.close.bind(conn);
    let told = false;
    conn.close = (...args: Parameters<typeof conn.close>) => {
      if (!told) {
        told = true;
        return conn;
      }
      return close(...args);
    };
    const t0 = Date.now();
    await harness.server.drain();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(harness.server.httpServer.listening).toBe(false);
  });

  it('a second SIGTERM closes at once', async () => {
    harness = await Harness.start({ drain: { moveAfterMs: 60_000 } });
    const signals = new EventEmitter();
    const done = drainOnSignal(harness.server, signals as never);
    expect((await readyz(harness.server.url)).status).toBe(503);
    signals.emit('SIGTERM');
    await done;
    expect(harness.server.httpServer.listening).toBe(false);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });
});
