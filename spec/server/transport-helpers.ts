/**
 * Raw clients for the transport specs: HTTP requests sent as given, engine.io
 * polling sessions, and a hand-rolled WebSocket client whose reading the spec
 * controls (it can stop reading, as a hostile client does).
 */

import { request } from 'node:http';
import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import { Manager } from 'socket.io-client';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const portOf = (url: string): number => Number(new URL(url).port);

/** A raw HTTP request: the path is sent exactly as given. */
export function raw(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: portOf(url),
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a polling session; returns its sid. */
export async function pollingHandshake(
  url: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await raw(url, '/socket.io/?EIO=4&transport=polling', { headers });
  if (response.status !== 200) throw new Error(`handshake answered ${response.status}`);
  return (JSON.parse(response.body.slice(1)) as { sid: string }).sid;
}

/** POSTs engine.io packets (each already prefixed with its engine.io type) in one payload. */
export function pollingPost(url: string, sid: string, packets: string[]): Promise<RawResponse> {
  return raw(url, `/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    body: packets.join('\x1e'),
  });
}

/** GETs what the server has queued for a polling session. */
export function pollingGet(url: string, sid: string): Promise<RawResponse> {
  return raw(url, `/socket.io/?EIO=4&transport=polling&sid=${sid}`);
}

/** An engine.io connection (socket.io-client's, WebSocket) that joins no namespace by itself. */
export async function openEngine(url: string): Promise<Manager['engine']> {
  const manager = new Manager(url, {
    transports: ['websocket'],
    reconnection: false,
    autoConnect: false,
  });
  await new Promise<void>((resolve, reject) =>
    manager.open((error?: Error) => (error === undefined ? resolve() : reject(error))),
  );
  return manager.engine;
}

/** Joins the main namespace on `engine` and waits for the server's CONNECT answer. */
export async function joinNamespace(engine: Manager['engine']): Promise<void> {
  const joined = new Promise<void>((resolve) => {
    const onMessage = (data: unknown): void => {
      if (typeof data === 'string' && data.startsWith('0')) {
        engine.off('message', onMessage);
        resolve();
      }
    };
    engine.on('message', onMessage);
  });
  // engine.write() adds engine.io's message type ("4") itself: "0" is Socket.IO's CONNECT.
  engine.write('0');
  await joined;
}

export const closed = (engine: Manager['engine']): Promise<void> =>
  new Promise((resolve) => engine.once('close', () => resolve()));

/** A masked WebSocket text frame, as a client must send it. */
export function wsFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x81, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x81;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i += 1) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

export interface RawWebSocket {
  socket: NetSocket;
  /** The HTTP status line of the upgrade answer. */
  status: string;
  /** Everything received so far (the upgrade answer included). */
  received: () => string;
  send(text: string): void;
  /** Stops reading: the server's writes pile up. */
  stopReading(): void;
  closed: Promise<void>;
}

/**
 * A WebSocket client over a bare TCP socket. Resolves once the server has
 * answered the upgrade (with 101 or an error status).
 */
export function rawWebSocket(
  url: string,
  headers: Record<string, string> = {},
  path = '/socket.io/?EIO=4&transport=websocket',
): Promise<RawWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(portOf(url), '127.0.0.1');
    let received = '';
    let answered = false;
    const closedPromise = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!answered && received.includes('\r\n')) {
        answered = true;
        resolve({
          socket,
          status: received.slice(0, received.indexOf('\r\n')),
          received: () => received,
          send: (text) => socket.write(wsFrame(text)),
          stopReading: () => socket.pause(),
          closed: closedPromise,
        });
      }
    });
    socket.once('close', () => {
      if (!answered) reject(new Error(`closed before an answer; got ${JSON.stringify(received)}`));
    });
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  });
}

/** Resolves once `socket` (a bare TCP socket) is closed. */
export function tcpClosed(socket: NetSocket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
