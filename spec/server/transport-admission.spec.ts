/**
 * Admission (issue 12, defect 15 and "What to build"): who may open a
 * session, with which status a refused one is answered (polling and
 * WebSocket alike), per-address limits, trusted proxies, and the memory
 * guard. CHECKLIST rows 19, 20, 38.
 */

import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import { Harness, waitFor } from './helpers.js';
import { pollingHandshake, raw, rawWebSocket, tcpClosed } from './transport-helpers.js';

const POLLING = '/socket.io/?EIO=4&transport=polling';

describe('admission of new sessions', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('answers 403 to a WebSocket or polling handshake from a disallowed Origin', async () => {
    h = await Harness.start({ cors: { origin: 'http://good.example' } });
    const ws = await rawWebSocket(h.server.url, { Origin: 'http://evil.example' });
    expect(ws.status).toBe('HTTP/1.1 403 Forbidden');
    await ws.closed;
    const polling = await raw(h.server.url, POLLING, {
      headers: { Origin: 'http://evil.example' },
    });
    expect(polling.status).toBe(403);
    const good = await rawWebSocket(h.server.url, { Origin: 'http://good.example' });
    expect(good.status).toBe('HTTP/1.1 101 Switching Protocols');
    good.socket.destroy();
    expect(h.server.stats().transport.refusedHandshakes.origin).toBe(2);
  });

  it('answers 429 past maxClientsPerAddress, polling and WebSocket, and admits again when one leaves', async () => {
    h = await Harness.start({ limits: { maxClientsPerAddress: 3 } });
    const sockets = await Promise.all([h.connect(), h.connect(), h.connect()]);
    expect((await raw(h.server.url, POLLING)).status).toBe(429);
    const ws = await rawWebSocket(h.server.url);
    expect(ws.status).toBe('HTTP/1.1 429 Too Many Requests');
    await ws.closed;
    await h.leave(sockets[0]!);
    await waitFor(() => h!.server.io.engine.clientsCount === 2);
    await expect(h.connect()).resolves.toBeDefined();
    expect(h.server.stats().transport.refusedHandshakes['per-address']).toBe(2);
  });

  it('ignores X-Forwarded-For unless trustProxy says how many proxies are in front', async () => {
    h = await Harness.start({ limits: { maxClientsPerAddress: 1 } });
    await pollingHandshake(h.server.url, { 'X-Forwarded-For': '203.0.113.1' });
    const spoofed = await raw(h.server.url, POLLING, {
      headers: { 'X-Forwarded-For': '203.0.113.2' },
    });
    expect(spoofed.status).toBe(429);
    await h.close();

    h = await Harness.start({ limits: { maxClientsPerAddress: 1 }, trustProxy: 1 });
    // The proxy appends the address it saw: the rightmost entry counts.
    await pollingHandshake(h.server.url, { 'X-Forwarded-For': '198.51.100.7, 203.0.113.1' });
    await pollingHandshake(h.server.url, { 'X-Forwarded-For': '198.51.100.7, 203.0.113.2' });
    const again = await raw(h.server.url, POLLING, {
      headers: { 'X-Forwarded-For': '10.0.0.1, 203.0.113.2' },
    });
    expect(again.status).toBe(429);
    const socket = await h.connect({ extraHeaders: { 'X-Forwarded-For': '203.0.113.9' } });
    expect(h.server.io.of('/').sockets.get(socket.id!)?.handshake.address).toBe('203.0.113.9');
  });

  it('closes TCP connections past maxConnectionsPerAddress at once', async () => {
    h = await Harness.start({ limits: { maxConnectionsPerAddress: 4 } });
    const port = h.server.port;
    const open = (): Promise<NetSocket> =>
      new Promise((resolve) => {
        const socket = netConnect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
      });
    const held = await Promise.all(Array.from({ length: 4 }, open));
    const extra = await open();
    await tcpClosed(extra);
    expect(h.server.stats().transport.refusedConnections).toBe(1);
    for (const socket of held) socket.destroy();
    await Promise.all(held.map(tcpClosed));
    // Room again once the server has seen them go.
    await waitFor(() =>
      raw(h!.server.url, '/healthz').then(
        (response) => response.status === 200,
        () => false,
      ),
    );
  });

  it('refuses new work with 503 while the heap is above maxHeapRatio, and /healthz tells', async () => {
    let used = 100;
    h = await Harness.start({
      limits: { maxHeapRatio: 0.5 },
      heapProbe: () => ({ used, limit: 1_000 }),
    });
    const before = await h.connect();
    used = 600;
    const health = await raw(h.server.url, '/healthz');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({
      ok: false,
      sockets: 1,
      memory: { heapUsed: 600, heapLimit: 1_000, overloaded: true },
    });
    expect((await raw(h.server.url, POLLING)).status).toBe(503);
    const ws = await rawWebSocket(h.server.url);
    expect(ws.status).toBe('HTTP/1.1 503 Service Unavailable');
    await ws.closed;
    expect((await raw(h.server.url, '/anything')).status).toBe(503);
    // Clients already connected keep working.
    expect(await h.listHosts(before)).toEqual([]);
    used = 300;
    expect((await raw(h.server.url, '/healthz')).status).toBe(200);
    await expect(h.connect()).resolves.toBeDefined();
    expect(h.server.stats().transport.refusedHandshakes.overloaded).toBe(2);
  });
});
