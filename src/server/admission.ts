/**
 * Admission: who may open a connection, decided before engine.io or Socket.IO
 * spend anything on it.
 *
 * - {@link clientAddress}: the address limits are counted by (the TCP peer,
 *   or the `X-Forwarded-For` entry a trusted proxy added).
 * - {@link AddressCounter}: how many of something each address holds.
 * - {@link installHandshakeGate}: answers refused engine.io handshakes with
 *   the right status (403, 429, 503) for polling and WebSocket alike; engine.io
 *   itself can only answer 403 to polling and 400 to WebSocket.
 * - {@link limitConnectionsPerAddress}: closes TCP connections past the
 *   per-address cap at once.
 */

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { isIP, type Socket as NetSocket } from 'node:net';
import type { Duplex } from 'node:stream';

/** A refused handshake: the HTTP status and a short reason. */
export interface Refusal {
  status: 403 | 429 | 503;
  message: string;
}

/**
 * The address of the client behind `req`. With `trustProxy` = n > 0, the
 * n-th `X-Forwarded-For` entry from the right (the address the outermost of
 * the n trusted proxies saw); the TCP peer when the header is missing, too
 * short or not an IP address. Without `trustProxy` the header is ignored:
 * anyone can write it.
 */
export function clientAddress(
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  trustProxy: number,
): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (raw === undefined) return peer;
  const entries = raw.split(',').map((entry) => entry.trim());
  const candidate = entries[entries.length - trustProxy] ?? entries[0];
  return candidate !== undefined && isIP(candidate) !== 0 ? candidate : peer;
}

/** Counts per address; an address at zero takes no memory. */
export class AddressCounter {
  private readonly counts = new Map<string, number>();

  get(address: string): number {
    return this.counts.get(address) ?? 0;
  }

  add(address: string): void {
    this.counts.set(address, this.get(address) + 1);
  }

  remove(address: string): void {
    const count = this.get(address) - 1;
    if (count > 0) this.counts.set(address, count);
    else this.counts.delete(address);
  }

  /** Addresses holding at least one. */
  get size(): number {
    return this.counts.size;
  }
}

/** `true` for a request that opens a new engine.io session (no `sid`). */
export function isHandshake(req: IncomingMessage): boolean {
  const query = (req.url ?? '').split('?', 2)[1] ?? '';
  return !new URLSearchParams(query).has('sid');
}

const REASONS: Readonly<Record<Refusal['status'], string>> = {
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  socket.on('error', () => undefined);
  if (socket.writable) {
    const body = JSON.stringify({ message: refusal.message });
    socket.write(
      `HTTP/1.1 ${refusal.status} ${REASONS[refusal.status]}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        (refusal.status === 503 ? 'Retry-After: 5\r\n' : '') +
        `\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Puts `check` in front of engine.io on `httpServer`: a new engine.io session
 * (a polling GET or a WebSocket upgrade without `sid`, under `path`) that
 * `check` refuses is answered with its status and never reaches engine.io.
 * Must run after Socket.IO attached to the server (it wraps engine.io's
 * listeners).
 */
export function installHandshakeGate(
  httpServer: HttpServer,
  path: string,
  check: (req: IncomingMessage) => Refusal | undefined,
): void {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  const gated = (req: IncomingMessage): Refusal | undefined =>
    (req.url ?? '').startsWith(prefix) && isHandshake(req) ? check(req) : undefined;

  const requestListeners = httpServer.listeners('request') as ((...args: unknown[]) => void)[];
  httpServer.removeAllListeners('request');
  httpServer.on('request', (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const refusal = gated(req);
    if (refusal === undefined) {
      for (const listener of requestListeners) listener.call(httpServer, req, res);
      return;
    }
    const body = JSON.stringify({ message: refusal.message });
    res.writeHead(refusal.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...(refusal.status === 503 ? { 'Retry-After': '5' } : {}),
    });
    res.end(body);
  });

  const upgradeListeners = httpServer.listeners('upgrade') as ((...args: unknown[]) => void)[];
  httpServer.removeAllListeners('upgrade');
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = gated(req);
    if (refusal === undefined) {
      for (const listener of upgradeListeners) listener.call(httpServer, req, socket, head);
      return;
    }
    refuseUpgrade(socket, refusal);
  });
}

/**
 * Closes a new TCP connection at once when its address already holds `max`.
 * Returns the counter (for `/healthz` and specs).
 */
export function limitConnectionsPerAddress(
  httpServer: HttpServer,
  max: () => number,
  onRefused: (address: string) => void,
): AddressCounter {
  const counter = new AddressCounter();
  httpServer.on('connection', (socket: NetSocket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    if (counter.get(address) >= max()) {
      onRefused(address);
      socket.destroy();
      return;
    }
    counter.add(address);
    socket.once('close', () => counter.remove(address));
  });
  return counter;
}
