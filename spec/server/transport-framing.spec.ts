/**
 * Issue 12, defects 1, 2, 5, 6 and 7 (CHECKLIST rows 35–39): hostile
 * Socket.IO / engine.io framing, over WebSocket and polling. Each packet that
 * breaks the framing rules is refused before Socket.IO dispatches it and its
 * connection is cut; the process stays up and other clients keep working.
 */

import { Harness, waitFor } from './helpers.js';
import {
  closed,
  joinNamespace,
  openEngine,
  pollingGet,
  pollingHandshake,
  pollingPost,
  raw,
  rawWebSocket,
  wsFrame,
} from './transport-helpers.js';

/** Names an event emitter or Socket.IO uses itself. */
const RESERVED = [
  'error',
  'disconnecting',
  'disconnect',
  'newListener',
  'removeListener',
  'connect',
  'connect_error',
  'connection',
];

describe('Socket.IO framing from hostile clients', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const refusedTotal = (): number =>
    Object.values(h!.server.stats().transport.refusedPackets).reduce((a, b) => a + b, 0);

  /** The server still answers an honest client. */
  const alive = async (): Promise<void> => {
    const probe = await h!.connect();
    expect(await h!.listHosts(probe)).toEqual(expect.any(Array));
    probe.disconnect();
  };

  it.each(RESERVED.flatMap((name) => [[`42["${name}"]`], [`42["${name}",null]`]]))(
    'refuses %s over WebSocket before dispatch; the process stays up',
    async (frame) => {
      h = await Harness.start();
      const engine = await openEngine(h.server.url);
      await joinNamespace(engine);
      const gone = closed(engine);
      // engine.write() adds engine.io's message type ("4") itself.
      engine.write(frame.slice(1));
      await gone;
      expect(refusedTotal()).toBe(1);
      // Cut by the guard itself (it knew the connection), not left to Socket.IO.
      expect(h.server.stats().transport.cut['packet-refused']).toBe(1);
      await alive();
    },
  );

  it('refuses every reserved name, and a number as a name, in one polling POST each', async () => {
    h = await Harness.start();
    const frames = [...RESERVED.map((name) => `42["${name}"]`), '42[1]', '42[null]'];
    for (const frame of frames) {
      const sid = await pollingHandshake(h.server.url);
      await pollingPost(h.server.url, sid, ['40', frame]);
      const engine = h.server.io.engine as unknown as { clients: Record<string, unknown> };
      await waitFor(() => engine.clients[sid] === undefined);
    }
    expect(refusedTotal()).toBe(frames.length);
    expect(h.server.stats().sockets).toBe(0);
    await alive();
  });

  it('refuses an event with 70,000 arguments (WebSocket and polling) before dispatch', async () => {
    h = await Harness.start();
    const bystander = await h.connect();
    for (const name of ['message', 'anything']) {
      const frame = `42["${name}"${',0'.repeat(70_000)}]`;
      const engine = await openEngine(h.server.url);
      await joinNamespace(engine);
      const gone = closed(engine);
      engine.write(frame.slice(1));
      await gone;
      const sid = await pollingHandshake(h.server.url);
      await pollingPost(h.server.url, sid, ['40', frame]);
    }
    await waitFor(() => h!.server.stats().transport.refusedPackets['too-many-args'] === 4);
    expect(bystander.connected).toBe(true);
    await alive();
  });

  it('lets an event with maxEventArgs arguments through, and refuses one more', async () => {
    h = await Harness.start({ limits: { maxEventArgs: 3 } });
    const engine = await openEngine(h.server.url);
    await joinNamespace(engine);
    engine.write('2["unknown",1,2,3]');
    // An ack round trip on the same connection: everything before it was handled.
    const answered = new Promise<string>((resolve) =>
      engine.on('message', (data: unknown) => {
        if (typeof data === 'string' && data.startsWith('37')) resolve(data);
      }),
    );
    engine.write('27["list hosts"]');
    expect(await answered).toContain('"status":200');
    expect(refusedTotal()).toBe(0);
    const gone = closed(engine);
    engine.write('2["unknown",1,2,3,4]');
    await gone;
    expect(h.server.stats().transport.refusedPackets['too-many-args']).toBe(1);
  });

  it('refuses a binary packet announcing more attachments than maxEventArgs', async () => {
    h = await Harness.start({ limits: { maxEventArgs: 3 } });
    const engine = await openEngine(h.server.url);
    await joinNamespace(engine);
    const gone = closed(engine);
    engine.write('54-["message",{"_placeholder":true,"num":0}]');
    await gone;
    expect(h.server.stats().transport.refusedPackets.malformed).toBe(1);
    await alive();
  });

  it('opens one socket per engine.io connection: 2,000 CONNECTs in one polling POST', async () => {
    h = await Harness.start({ limits: { maxClients: 10 } });
    const sid = await pollingHandshake(h.server.url);
    await pollingPost(
      h.server.url,
      sid,
      Array.from({ length: 2_000 }, () => '40'),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.server.io.of('/').sockets.size).toBeLessThanOrEqual(1);
    await waitFor(() => h!.server.io.engine.clientsCount === 0);
    expect(h.server.io.of('/').sockets.size).toBe(0);
    expect(h.server.stats().transport.refusedPackets['extra-connect']).toBe(1);
  });

  it('opens one socket per engine.io connection: 2,000 CONNECTs in one WebSocket write', async () => {
    h = await Harness.start({ limits: { maxClients: 10 } });
    const ws = await rawWebSocket(h.server.url);
    expect(ws.status).toBe('HTTP/1.1 101 Switching Protocols');
    ws.socket.write(Buffer.concat(Array.from({ length: 2_000 }, () => wsFrame('40'))));
    await ws.closed;
    expect(h.server.io.of('/').sockets.size).toBe(0);
    expect(h.server.stats().transport.refusedPackets['extra-connect']).toBe(1);
    await alive();
  });

  it('frees the slot of a bare polling handshake at connectTimeoutMs; /healthz counts clients', async () => {
    h = await Harness.start({ limits: { connectTimeoutMs: 500 } });
    await Promise.all(Array.from({ length: 20 }, () => pollingHandshake(h!.server.url)));
    const health = JSON.parse((await raw(h.server.url, '/healthz')).body) as {
      clients: number;
      sockets: number;
    };
    expect([health.clients, health.sockets]).toEqual([20, 0]);
    const started = Date.now();
    await waitFor(() => h!.server.io.engine.clientsCount === 0, 3_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(h.server.stats().transport.cut['connect-timeout']).toBe(20);
    expect((await h.server.health()).clients).toBe(0);
  });

  const QUEUE_LIMITS = {
    maxQueuedBytes: 512 * 1024,
    queueDropBytes: 128 * 1024,
    slowReaderTimeoutMs: 500,
    messageRate: 100_000,
    messageBurst: 100_000,
  };
  const queueCuts = (): number =>
    h!.server.stats().transport.cut['queue-full'] + h!.server.stats().transport.cut['slow-reader'];

  it('drops events to a WebSocket client over queueDropBytes, and cuts it when it stays there', async () => {
    h = await Harness.start({ limits: QUEUE_LIMITS });
    const sender = await h.connect();
    const victim = await rawWebSocket(h.server.url);
    victim.send('40');
    // A Socket.IO client waits for the CONNECT answer before it emits.
    await waitFor(() => victim.received().includes('40{'));
    victim.send('420["create host","Victim"]');
    await waitFor(async () => (await h!.listHosts(sender)).length === 1);
    const hostId = (await h.listHosts(sender))[0]!.id;
    victim.stopReading();
    sender.emit('message', { type: 'join', to: hostId });
    const sdp = 'v=0\r\n' + 'a'.repeat(60_000);
    let sent = 0;
    while (h.server.io.of('/').sockets.has(hostId)) {
      // 48 MB at most: far beyond the loopback's kernel buffers.
      if (sent >= 800) throw new Error(`not cut after ${sent} offers of 60 kB`);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          sender.timeout(3_000).emitWithAck('message', { type: 'offer', to: hostId, sdp }),
        ),
      );
      sent += 20;
    }
    expect(queueCuts()).toBe(1);
    expect(h.server.stats().transport.droppedEvents).toBeGreaterThan(0);
    await waitFor(() => h!.server.io.engine.clientsCount === 1);
    victim.socket.destroy();
    expect(sender.connected).toBe(true);
  });

  it('drops events to a polling client that stops polling, and cuts it when it stays over', async () => {
    h = await Harness.start({ limits: QUEUE_LIMITS });
    const sender = await h.connect();
    const sid = await pollingHandshake(h.server.url);
    await pollingPost(h.server.url, sid, ['40']);
    expect((await pollingGet(h.server.url, sid)).body).toMatch(/^40\{/);
    await pollingPost(h.server.url, sid, ['420["create host","Poller"]']);
    await waitFor(async () => (await h!.listHosts(sender)).length === 1);
    // Take what is queued (the ack), then never poll again.
    await pollingGet(h.server.url, sid);
    const hostId = (await h.listHosts(sender))[0]!.id;
    sender.emit('message', { type: 'join', to: hostId });
    const sdp = 'v=0\r\n' + 'a'.repeat(30_000);
    const started = Date.now();
    while (h.server.io.of('/').sockets.has(hostId)) {
      if (Date.now() - started > 5_000) throw new Error('not cut within 5 s');
      await sender.timeout(3_000).emitWithAck('message', { type: 'offer', to: hostId, sdp });
    }
    expect(queueCuts()).toBe(1);
    expect(h.server.stats().transport.droppedEvents).toBeGreaterThan(0);
  });
});
