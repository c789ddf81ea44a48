/**
 * The inbound byte budget (docs/admission.md): what one client address may
 * send the server, in bytes per second with a burst, counted before anything
 * is parsed.
 *
 * - WebSocket: every chunk the TCP socket delivers is counted as it arrives
 *   (before `ws` decodes a frame); once the address is in debt the WebSocket
 *   is paused (`ws.pause()` stops reading the TCP socket) until the debt is
 *   paid back. An over-budget sender then costs the server nothing: its bytes
 *   wait in the kernel and, once those buffers are full, in the sender.
 * - Long-polling: a POST of an address in debt is handed to engine.io only
 *   once the debt is paid back (its body waits in the kernel meanwhile); its
 *   `Content-Length` is charged when it is handed over.
 *
 * The budget may go below zero by what was already read (one TCP chunk per
 * WebSocket, one body per POST); the wait pays that back too, so the
 * sustained rate holds. A connection held back waits for the debt it saw when
 * it was held (and what its own packets added since), and is then read
 * without asking again: a connection that asked
 * again would find the debt a busier connection of the same address made in
 * the meantime, and could wait forever (a small POST behind a WebSocket flood).
 * Many connections of one address in debt thus take turns, and the address
 * as a whole still gets its rate plus one chunk per connection.
 */

import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { isHandshake } from './admission.js';
import type { Clock } from './rateLimit.js';

/** Timers the throttles use; injectable so specs run them in fake time. */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Balance {
  tokens: number;
  last: number;
}

/** Byte token buckets per address key that may run into debt. */
export class InboundByteBudget {
  private readonly balances = new Map<string, Balance>();
  private sweepAt = 1024;

  constructor(
    readonly bytesPerSecond: number,
    readonly burstBytes: number,
    private readonly clock: Clock,
  ) {}

  /** Counts `bytes` received from `key`; returns the ms until its balance is back to zero (0: go on). */
  spend(key: string, bytes: number): number {
    const balance = this.balance(key);
    balance.tokens -= bytes;
    return this.debtMs(balance);
  }

  /** The ms until `key`'s balance is back to zero; 0 when it is not in debt. */
  wait(key: string): number {
    const balance = this.balances.get(key);
    if (balance === undefined) return 0;
    this.refill(balance);
    return this.debtMs(balance);
  }

  /** Bytes `key` may still send at once (negative: its debt). */
  available(key: string): number {
    const balance = this.balances.get(key);
    if (balance === undefined) return this.burstBytes;
    this.refill(balance);
    return balance.tokens;
  }

  /** The budget's clock, ms. */
  now(): number {
    return this.clock();
  }

  /** Addresses remembered (those not back at a full burst). */
  get size(): number {
    return this.balances.size;
  }

  private debtMs(balance: Balance): number {
    if (balance.tokens >= 0) return 0;
    if (!(this.bytesPerSecond > 0)) return Number.POSITIVE_INFINITY;
    return Math.ceil((-balance.tokens / this.bytesPerSecond) * 1000);
  }

  private balance(key: string): Balance {
    let balance = this.balances.get(key);
    if (balance === undefined) {
      if (this.balances.size >= this.sweepAt) this.sweep();
      balance = { tokens: this.burstBytes, last: this.clock() };
      this.balances.set(key, balance);
    } else {
      this.refill(balance);
    }
    return balance;
  }

  private refill(balance: Balance): void {
    const now = this.clock();
    const elapsed = now - balance.last;
    balance.last = now;
    if (elapsed > 0)
      balance.tokens = Math.min(
        this.burstBytes,
        balance.tokens + (elapsed / 1000) * this.bytesPerSecond,
      );
  }

  /** Forgets every address back at a full burst. */
  private sweep(): void {
    for (const [key, balance] of this.balances) {
      this.refill(balance);
      if (balance.tokens >= this.burstBytes) this.balances.delete(key);
    }
    this.sweepAt = Math.max(1024, this.balances.size * 2);
  }
}

/** The parts of a `ws` WebSocket the throttle uses. */
export interface ThrottledWebSocket {
  pause(): void;
  resume(): void;
  /** The TCP socket under it (`ws` keeps it there). */
  readonly _socket?: {
    prependListener(event: 'data', listener: (chunk: Buffer) => void): unknown;
    off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  } | null;
}

export interface ThrottleEvents {
  /** The WebSocket (or POST) of `key` was held back for `ms`. */
  onHeld?: (key: string, ms: number) => void;
}

/** The throttle of one WebSocket; see {@link throttleWebSocket}. */
export interface WebSocketThrottle {
  /** Charges `bytes` more to the key (a packet's fixed cost) and pauses the WebSocket if in debt. */
  charge(bytes: number): void;
  /** Stops counting and releases the timer (call on close). */
  stop(): void;
}

/**
 * Counts the bytes `ws` receives against `key` and pauses it while the key
 * is in debt.
 */
export function throttleWebSocket(
  ws: ThrottledWebSocket,
  key: string,
  budget: InboundByteBudget,
  timers: Timers = systemTimers,
  events: ThrottleEvents = {},
): WebSocketThrottle {
  const tcp = ws._socket;
  if (tcp === undefined || tcp === null)
    return { charge: (bytes) => void budget.spend(key, bytes), stop: () => undefined };
  let timer: unknown;
  let stopped = false;
  /** When the debt this connection saw is paid; a charge while held pushes it out. */
  let until = 0;
  const hold = (ms: number): void => {
    if (stopped) return;
    until = Math.max(until, budget.now() + ms);
    if (timer !== undefined) return;
    events.onHeld?.(key, ms);
    ws.pause();
    timer = timers.set(release, ms);
  };
  const release = (): void => {
    timer = undefined;
    if (stopped) return;
    // Packets of the last chunk read may have added debt after the pause.
    const left = until - budget.now();
    if (left > 0) timer = timers.set(release, Math.ceil(left));
    else ws.resume();
  };
  const charge = (bytes: number): void => {
    const ms = budget.spend(key, bytes);
    if (ms > 0) hold(ms);
  };
  const onData = (chunk: Buffer): void => charge(chunk.length);
  tcp.prependListener('data', onData);
  return {
    charge,
    stop() {
      stopped = true;
      if (timer !== undefined) timers.clear(timer);
      timer = undefined;
      tcp.off('data', onData);
    },
  };
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Wraps `next` (engine.io's request handling): a POST to an existing
 * engine.io session under `prefix` waits while its address is in debt, then
 * is charged its `Content-Length` (at most `maxBodyBytes`; that much when it
 * has none) and handed on.
 */
export function throttlePollingPosts(
  next: RequestListener,
  options: {
    prefix: string;
    key: (req: IncomingMessage) => string;
    budget: InboundByteBudget;
    maxBodyBytes: number;
    timers?: Timers;
    events?: ThrottleEvents;
  },
): RequestListener {
  const { prefix, key: keyOf, budget, maxBodyBytes } = options;
  const timers = options.timers ?? systemTimers;
  const events = options.events ?? {};
  const dispatch = (req: IncomingMessage, res: ServerResponse, key: string): void => {
    // Charged before a byte of the body is read. Listening to the body here
    // would start it flowing before engine.io listens (it does so a tick
    // later) and lose it; the HTTP parser enforces `Content-Length`, so it is
    // what the body costs. A body without one (chunked) is charged the most
    // engine.io accepts.
    const length = Number(req.headers['content-length']);
    budget.spend(
      key,
      Number.isFinite(length) && length >= 0 ? Math.min(length, maxBodyBytes) : maxBodyBytes,
    );
    next(req, res);
  };
  const held = (req: IncomingMessage, res: ServerResponse, key: string): void => {
    if (req.destroyed || res.writableEnded || res.destroyed) return;
    dispatch(req, res, key);
  };
  return (req, res) => {
    if (req.method !== 'POST' || !(req.url ?? '').startsWith(prefix) || isHandshake(req)) {
      next(req, res);
      return;
    }
    const key = keyOf(req);
    const ms = budget.wait(key);
    if (ms <= 0) {
      dispatch(req, res, key);
      return;
    }
    events.onHeld?.(key, ms);
    timers.set(() => held(req, res, key), ms);
  };
}

/**
 * Puts {@link throttlePollingPosts} in front of the server's current
 * `request` listeners (after Socket.IO and the handshake gate attached).
 */
export function installPollingThrottle(
  httpServer: HttpServer,
  options: Omit<Parameters<typeof throttlePollingPosts>[1], 'prefix'> & { path: string },
): void {
  const prefix = options.path.endsWith('/') ? options.path : `${options.path}/`;
  const listeners = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  const next: RequestListener = (req, res) => {
    for (const listener of listeners) listener.call(httpServer, req, res);
  };
  httpServer.on('request', throttlePollingPosts(next, { ...options, prefix }));
}
