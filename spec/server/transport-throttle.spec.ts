/**
 * The inbound byte budget per client address (docs/admission.md): the
 * bucket itself and both throttles in fake time, then a real server whose
 * WebSocket reads are held to the rate and whose held POSTs still reach
 * engine.io whole.
 */

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  InboundByteBudget,
  throttlePollingPosts,
  throttleWebSocket,
  type Timers,
} from '../../src/server/inboundBytes.js';
import { resolveLimits } from '../../src/server/limits.js';
import { parseCli } from '../../src/server/config.js';
import { Harness, waitFor } from './helpers.js';
import { pollingGet, pollingHandshake, pollingPost, rawWebSocket } from './transport-helpers.js';

const KiB = 1024;

/** A clock and timers that move only when told to. */
class FakeTime implements Timers {
  now = 0;
  private pending: { at: number; callback: () => void; id: number }[] = [];
  private ids = 0;
  readonly clock = (): number => this.now;

  set(callback: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.pending.push({ at: this.now + ms, callback, id });
    return id;
  }

  clear(handle: unknown): void {
    this.pending = this.pending.filter((timer) => timer.id !== handle);
  }

  get timers(): number {
    return this.pending.length;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at);
      const next = this.pending[0];
      if (next === undefined || next.at > end) break;
      this.pending.shift();
      this.now = next.at;
      next.callback();
    }
    this.now = end;
  }
}

describe('InboundByteBudget', () => {
  it('lets a burst through, then runs into debt and says how long paying it back takes', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(100 * KiB, 200 * KiB, time.clock);
    expect(budget.spend('a', 150 * KiB)).toBe(0);
    expect(budget.spend('a', 50 * KiB)).toBe(0);
    expect(budget.available('a')).toBe(0);
    // 50 KiB into debt at 100 KiB/s: 500 ms.
    expect(budget.spend('a', 50 * KiB)).toBe(500);
    expect(budget.wait('a')).toBe(500);
    time.advance(200);
    expect(budget.wait('a')).toBe(300);
    time.advance(300);
    expect(budget.wait('a')).toBe(0);
    // Refills up to the burst, no further.
    time.advance(60_000);
    expect(budget.available('a')).toBe(200 * KiB);
  });

  it('keeps one balance per key', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(10 * KiB, 10 * KiB, time.clock);
    expect(budget.spend('a', 20 * KiB)).toBe(1000);
    expect(budget.wait('b')).toBe(0);
    expect(budget.spend('b', 10 * KiB)).toBe(0);
  });

  it('forgets keys back at a full burst once many are remembered', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(KiB, KiB, time.clock);
    for (let i = 0; i < 1024; i += 1) budget.spend(`k${i}`, 1);
    expect(budget.size).toBe(1024);
    time.advance(1_000);
    budget.spend('new', 1);
    expect(budget.size).toBe(1);
  });
});

/** A `ws` WebSocket as the throttle sees it: its TCP socket and pause/resume. */
function fakeWebSocket(): {
  ws: Parameters<typeof throttleWebSocket>[0];
  tcp: EventEmitter;
  paused: () => boolean;
  reads: number[];
} {
  const tcp = new EventEmitter();
  let paused = false;
  const reads: number[] = [];
  // What `ws` does with a chunk, after the throttle saw it.
  tcp.on('data', (chunk: Buffer) => reads.push(chunk.length));
  return {
    ws: {
      pause: () => (paused = true),
      resume: () => (paused = false),
      _socket: tcp,
    },
    tcp,
    paused: () => paused,
    reads,
  };
}

describe('throttleWebSocket', () => {
  it('pauses the WebSocket once its address is in debt and resumes it when the debt is paid', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(64 * KiB, 64 * KiB, time.clock);
    const fake = fakeWebSocket();
    const throttled = throttleWebSocket(fake.ws, 'a', budget, time);
    fake.tcp.emit('data', Buffer.alloc(64 * KiB));
    expect(fake.paused()).toBe(false);
    fake.tcp.emit('data', Buffer.alloc(32 * KiB));
    // The chunk already read still goes to ws; reading stops after it.
    expect(fake.reads).toEqual([64 * KiB, 32 * KiB]);
    expect(fake.paused()).toBe(true);
    time.advance(499);
    expect(fake.paused()).toBe(true);
    time.advance(1);
    expect(fake.paused()).toBe(false);
    throttled.stop();
    expect(fake.tcp.listenerCount('data')).toBe(1);
  });

  it('holds a sustained sender to the rate: bytes read never exceed burst + rate × time + one chunk', () => {
    const time = new FakeTime();
    const rate = 100 * KiB;
    const burst = 200 * KiB;
    const budget = new InboundByteBudget(rate, burst, time.clock);
    const fake = fakeWebSocket();
    const throttled = throttleWebSocket(fake.ws, 'a', budget, time);
    let read = 0;
    // A sender that always has data: each ms the socket is readable it delivers a 16 KiB chunk.
    for (let ms = 0; ms < 10_000; ms += 1) {
      if (!fake.paused()) {
        fake.tcp.emit('data', Buffer.alloc(16 * KiB));
        read += 16 * KiB;
      }
      time.advance(1);
    }
    throttled.stop();
    expect(read).toBeLessThanOrEqual(burst + rate * 10 + 16 * KiB);
    expect(read).toBeGreaterThan(burst + rate * 9);
  });

  it('lets every connection of an address take its turn (none starves behind a busier one)', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(100 * KiB, 100 * KiB, time.clock);
    const busy = fakeWebSocket();
    const quiet = fakeWebSocket();
    const throttles = [
      throttleWebSocket(busy.ws, 'a', budget, time),
      throttleWebSocket(quiet.ws, 'a', budget, time),
    ];
    let quietReads = 0;
    for (let ms = 0; ms < 5_000; ms += 1) {
      if (!busy.paused()) busy.tcp.emit('data', Buffer.alloc(64 * KiB));
      if (ms % 100 === 0 && !quiet.paused()) {
        quiet.tcp.emit('data', Buffer.alloc(100));
        quietReads += 1;
      }
      time.advance(1);
    }
    for (const throttle of throttles) throttle.stop();
    expect(quietReads).toBeGreaterThanOrEqual(5);
  });

  it("pauses on a charge (a packet's fixed cost) as on bytes read", () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(KiB, KiB, time.clock);
    const fake = fakeWebSocket();
    const throttled = throttleWebSocket(fake.ws, 'a', budget, time);
    throttled.charge(KiB);
    expect(fake.paused()).toBe(false);
    throttled.charge(KiB);
    expect(fake.paused()).toBe(true);
    time.advance(1_000);
    expect(fake.paused()).toBe(false);
    // The packets of the chunk that ran into debt are charged after the pause began.
    throttled.charge(2 * KiB);
    throttled.charge(2 * KiB);
    time.advance(2_000);
    expect(fake.paused()).toBe(true);
    time.advance(2_000);
    expect(fake.paused()).toBe(false);
    throttled.stop();
  });

  it('does nothing after it was stopped (a closed connection)', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(KiB * 16, KiB * 64, time.clock);
    const fake = fakeWebSocket();
    const throttled = throttleWebSocket(fake.ws, 'a', budget, time);
    fake.tcp.emit('data', Buffer.alloc(128 * KiB));
    expect(fake.paused()).toBe(true);
    throttled.stop();
    expect(time.timers).toBe(0);
    fake.tcp.emit('data', Buffer.alloc(128 * KiB));
    expect(budget.wait('a')).toBe(4_000);
  });
});

describe('throttlePollingPosts', () => {
  const request = (method: string, url: string, headers: Record<string, string> = {}) =>
    ({ method, url, headers, destroyed: false }) as unknown as IncomingMessage;
  const response = () => ({ writableEnded: false, destroyed: false }) as unknown as ServerResponse;

  it('charges a POST its Content-Length and holds the next one of that address until the debt is paid', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(100 * KiB, 100 * KiB, time.clock);
    const handed: string[] = [];
    const listener = throttlePollingPosts((req) => handed.push(req.headers['x-n'] as string), {
      prefix: '/socket.io/',
      key: () => 'a',
      budget,
      maxBodyBytes: 1_000_000,
      timers: time,
    });
    const post = (n: string, length: number) =>
      listener(
        request('POST', '/socket.io/?EIO=4&transport=polling&sid=x', {
          'content-length': String(length),
          'x-n': n,
        }),
        response(),
      );
    post('1', 150 * KiB);
    expect(handed).toEqual(['1']);
    post('2', 10);
    expect(handed).toEqual(['1']);
    time.advance(499);
    expect(handed).toEqual(['1']);
    time.advance(1);
    expect(handed).toEqual(['1', '2']);
  });

  it('charges a body without Content-Length the largest one engine.io accepts', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(100 * KiB, 100 * KiB, time.clock);
    const listener = throttlePollingPosts(() => undefined, {
      prefix: '/socket.io/',
      key: () => 'a',
      budget,
      maxBodyBytes: 200 * KiB,
      timers: time,
    });
    listener(request('POST', '/socket.io/?EIO=4&transport=polling&sid=x'), response());
    expect(budget.available('a')).toBe(-100 * KiB);
  });

  it('passes GETs, handshakes and other paths straight on, and drops a held POST whose client left', () => {
    const time = new FakeTime();
    const budget = new InboundByteBudget(KiB * 16, KiB * 64, time.clock);
    budget.spend('a', 128 * KiB);
    const handed: string[] = [];
    const listener = throttlePollingPosts((req) => handed.push(`${req.method} ${req.url}`), {
      prefix: '/socket.io/',
      key: () => 'a',
      budget,
      maxBodyBytes: 1_000_000,
      timers: time,
    });
    listener(request('GET', '/socket.io/?EIO=4&transport=polling&sid=x'), response());
    listener(request('POST', '/socket.io/?EIO=4&transport=polling'), response());
    listener(request('POST', '/other'), response());
    expect(handed).toHaveLength(3);
    const gone = request('POST', '/socket.io/?EIO=4&transport=polling&sid=x', {
      'content-length': '2',
    });
    listener(gone, response());
    (gone as { destroyed: boolean }).destroyed = true;
    time.advance(10_000);
    expect(handed).toHaveLength(3);
  });
});

describe('inbound byte limits', () => {
  it('are in the limits with bounds, and have CLI flags', () => {
    expect(resolveLimits().inboundBytesPerAddressRate).toBe(4 * 1024 * KiB);
    expect(resolveLimits().inboundBytesPerAddressBurst).toBe(16 * 1024 * KiB);
    expect(resolveLimits().inboundBytesPerPacket).toBe(KiB);
    expect(() => resolveLimits({ inboundBytesPerAddressRate: 1 })).toThrow(
      /inboundBytesPerAddressRate/,
    );
    const parsed = parseCli(
      ['--inbound-bytes-per-address-rate', '65536', '--inbound-bytes-per-address-burst', '131072'],
      {},
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      options: {
        limits: { inboundBytesPerAddressRate: 65536, inboundBytesPerAddressBurst: 131072 },
      },
    });
  });
});

describe('inbound byte budget on a real server', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const RATE = 128 * KiB;
  const BURST = 64 * KiB;

  it('reads a WebSocket that sends faster than the rate no faster than the rate', async () => {
    h = await Harness.start({
      limits: { inboundBytesPerAddressRate: RATE, inboundBytesPerAddressBurst: BURST },
    });
    let packets = 0;
    h.server.io.engine.on('connection', (connection: EventEmitter) => {
      connection.on('packet', (packet: { type: string }) => {
        if (packet.type === 'noop') packets += 1;
      });
    });
    const ws = await rawWebSocket(h.server.url);
    expect(ws.status).toBe('HTTP/1.1 101 Switching Protocols');
    const frames = 16;
    const frame = `6${'x'.repeat(32 * KiB)}`;
    const started = performance.now();
    for (let i = 0; i < frames; i += 1) ws.send(frame);
    await waitFor(() => packets === frames, 15_000);
    const elapsed = performance.now() - started;
    // All of it minus the burst and the one TCP chunk (≤ 64 KiB) read into debt, at the rate.
    const least = ((frames * frame.length - BURST - 64 * KiB) / RATE) * 1000;
    expect(elapsed).toBeGreaterThanOrEqual(least);
    expect(h.server.stats().transport.throttled).toBeGreaterThan(0);
    ws.socket.destroy();
    await ws.closed;
  });

  it('holds a flood of tiny packets to a packet rate (each costs inboundBytesPerPacket)', async () => {
    h = await Harness.start({
      limits: {
        inboundBytesPerAddressRate: RATE,
        inboundBytesPerAddressBurst: BURST,
        inboundBytesPerPacket: 4 * KiB,
      },
    });
    let packets = 0;
    h.server.io.engine.on('connection', (connection: EventEmitter) => {
      connection.on('packet', (packet: { type: string }) => {
        if (packet.type === 'noop') packets += 1;
      });
    });
    const ws = await rawWebSocket(h.server.url);
    const batches = 8;
    const perBatch = 10;
    const started = performance.now();
    // Batch by batch (each its own TCP chunk), as a sender that keeps at it.
    for (let b = 1; b <= batches; b += 1) {
      for (let i = 0; i < perBatch; i += 1) ws.send('6');
      await waitFor(() => packets === b * perBatch, 15_000);
    }
    const elapsed = performance.now() - started;
    // 80 packets × 4 KiB at 128 KiB/s after the 64 KiB burst, less the last
    // batch (charged once read): ≥ 1.6 s. Their bytes alone would take none.
    const least = ((batches * perBatch * 4 * KiB - BURST - perBatch * 4 * KiB) / RATE) * 1000;
    expect(elapsed).toBeGreaterThanOrEqual(least);
    expect(h.server.stats().transport.throttled).toBeGreaterThan(0);
    ws.socket.destroy();
    await ws.closed;
  });

  it('holds a polling POST of an address in debt, then hands it to engine.io whole', async () => {
    h = await Harness.start({
      limits: { inboundBytesPerAddressRate: RATE, inboundBytesPerAddressBurst: BURST },
    });
    const ws = await rawWebSocket(h.server.url);
    const frame = `6${'x'.repeat(32 * KiB)}`;
    for (let i = 0; i < 8; i += 1) ws.send(frame);
    await waitFor(() => h!.server.stats().transport.throttled > 0, 5_000);
    const sid = await pollingHandshake(h.server.url);
    const held = h.server.stats().transport.throttled;
    const posted = await pollingPost(h.server.url, sid, ['40']);
    expect(posted.status).toBe(200);
    expect(h.server.stats().transport.throttled).toBeGreaterThan(held);
    const answer = await pollingGet(h.server.url, sid);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^40\{"sid":/);
    ws.socket.destroy();
    await ws.closed;
  });
});
