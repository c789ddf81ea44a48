/**
 * Issue 12, defects 12 and 13 (CHECKLIST rows 48–49): graceful shutdown
 * with a WebSocket client that stopped reading, and slowloris requests
 * (headers or a body dribbled) closed at the documented timeouts.
 */

import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import { Harness, disconnected } from './helpers.js';
import { pollingHandshake, rawWebSocket, tcpClosed } from './transport-helpers.js';

/** Writes `chunks` one by one every `everyMs` until the socket closes; resolves with the ms it lived. */
function dribble(port: number, head: string, chunk: string, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: NetSocket = netConnect(port, '127.0.0.1', () => socket.write(head));
    socket.on('error', () => undefined);
    socket.resume();
    const timer = setInterval(() => {
      if (socket.writable) socket.write(chunk);
    }, everyMs);
    // Whatever happens, never outlive the spec.
    const limit = setTimeout(() => socket.destroy(), 8_000);
    socket.once('close', () => {
      clearInterval(timer);
      clearTimeout(limit);
      resolve(Date.now() - started);
    });
  });
}

describe('lifecycle and slow clients', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('closes within shutdownGraceMs although a WebSocket client stopped reading', async () => {
    h = await Harness.start({ limits: { shutdownGraceMs: 1_000 } });
    const honest = await h.connect();
    const stuck = await rawWebSocket(h.server.url);
    stuck.send('40');
    stuck.stopReading();
    const started = Date.now();
    const gone = disconnected(honest);
    await h.server.close();
    const took = Date.now() - started;
    expect(await gone).toBe('transport close');
    expect(took).toBeLessThan(2_500);
    // The server dropped the connection (a paused socket reports it once it reads again).
    stuck.socket.resume();
    await tcpClosed(stuck.socket);
  });

  it('closes a connection that dribbles its headers at headersTimeoutMs', async () => {
    h = await Harness.start({ limits: { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 } });
    const lived = await dribble(h.server.port, 'GET /healthz HTTP/1.1\r\n', 'X-A: b\r\n', 100);
    expect(lived).toBeGreaterThanOrEqual(900);
    expect(lived).toBeLessThan(2_000);
  });

  it('closes a connection that dribbles its body at requestTimeoutMs', async () => {
    h = await Harness.start({ limits: { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 } });
    const sid = await pollingHandshake(h.server.url);
    const head =
      `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n` +
      'Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n';
    const lived = await dribble(h.server.port, head, 'a', 100);
    expect(lived).toBeGreaterThanOrEqual(1_900);
    expect(lived).toBeLessThan(3_000);
  });
});
