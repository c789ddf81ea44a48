/**
 * Raw engine.io v4 clients that send exactly the bytes they are given:
 * long-polling over `node:http` (packets batched in one POST, separated by
 * the record separator \x1e) and WebSocket over `ws` (one packet per frame,
 * many frames in one TCP write). Plus encoders for Socket.IO v5 packets.
 * No validation, no reconnection, no automatic anything unless asked.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

export const SEPARATOR = '\x1e';

/**
 * The loopback address hostile clients connect from. Honest clients (socket.io-client)
 * connect from 127.0.0.1; attackers from another address of 127.0.0.0/8, so that a
 * server's per-address limits can tell them apart, as they would on a real network.
 */
let localAddress: string | undefined;

/** Makes every raw client of this process connect from `address` (e.g. `127.0.0.2`). */
export function useLocalAddress(address: string | undefined): void {
  localAddress = address;
}

/** The address of {@link useLocalAddress}, or `RXPEER_ATTACKER_ADDRESS`. */
export const attackerAddress = (): string | undefined =>
  localAddress ?? process.env.RXPEER_ATTACKER_ADDRESS;

export interface Handshake {
  sid: string;
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

// ---- Socket.IO v5 packet encoders (the engine.io `4` message prefix included) ----

const nspPrefix = (nsp: string): string => (nsp === '/' ? '' : `${nsp},`);

/** `40`: CONNECT to `nsp` with an optional auth payload. */
export const connectPacket = (nsp = '/', auth?: unknown): string =>
  `40${nspPrefix(nsp)}${auth === undefined ? '' : JSON.stringify(auth)}`;

/** `42`: EVENT `[name, ...args]` with an optional ack id. */
export const eventPacket = (args: readonly unknown[], ack?: number, nsp = '/'): string =>
  `42${nspPrefix(nsp)}${ack === undefined ? '' : String(ack)}${JSON.stringify(args)}`;

/** `41`: DISCONNECT from `nsp`. */
export const disconnectPacket = (nsp = '/'): string => `41${nspPrefix(nsp)}`;

/** A `message` event of the protocol, as a raw packet. */
export const messagePacket = (payload: unknown, ack?: number): string =>
  eventPacket(['message', payload], ack);

// ---- long-polling ----

/** A keep-alive agent for the polling clients of one test; `destroy()` it after. */
export const createAgent = (maxSockets = 32): Agent => new Agent({ keepAlive: true, maxSockets });

export function httpRequest(
  port: number,
  path: string,
  options: {
    method?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    agent?: Agent | false;
    timeoutMs?: number;
  } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        ...(options.agent === undefined || options.agent === false
          ? attackerAddress() === undefined
            ? {}
            : { localAddress: attackerAddress() }
          : {}),
        headers: {
          ...(options.body === undefined
            ? {}
            : {
                'Content-Type': 'text/plain;charset=UTF-8',
                'Content-Length': Buffer.byteLength(options.body),
              }),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${options.method ?? 'GET'} ${path.slice(0, 80)} timed out`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function parseOpen(text: string): Handshake {
  if (!text.startsWith('0'))
    throw new Error(`expected an engine.io open packet, got ${JSON.stringify(text.slice(0, 200))}`);
  return JSON.parse(text.slice(1)) as Handshake;
}

export class PollingClient {
  private constructor(
    readonly port: number,
    readonly handshake: Handshake,
    private readonly agent: Agent | false,
  ) {}

  /** The engine.io handshake (GET); throws with the HTTP status when refused. */
  static async open(
    port: number,
    agent: Agent | false = false,
    headers: Record<string, string> = {},
  ): Promise<PollingClient> {
    const answer = await httpRequest(port, '/socket.io/?EIO=4&transport=polling', {
      agent,
      headers,
    });
    if (answer.status !== 200) throw new HandshakeRefused(answer.status, answer.body);
    return new PollingClient(port, parseOpen(answer.body.split(SEPARATOR)[0] ?? ''), agent);
  }

  get sid(): string {
    return this.handshake.sid;
  }

  private path(): string {
    return `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(this.sid)}`;
  }

  /** POSTs `packets` in one body, joined with \x1e. */
  post(packets: readonly string[]): Promise<HttpAnswer> {
    return httpRequest(this.port, this.path(), {
      method: 'POST',
      body: packets.join(SEPARATOR),
      agent: this.agent,
    });
  }

  /** POSTs a raw body. */
  postRaw(body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return httpRequest(this.port, this.path(), {
      method: 'POST',
      body,
      agent: this.agent,
      headers,
    });
  }

  /** One GET; the server holds it until it has something to send (or the ping). */
  async get(timeoutMs = 30_000): Promise<string[]> {
    const answer = await httpRequest(this.port, this.path(), { agent: this.agent, timeoutMs });
    if (answer.status !== 200)
      throw new Error(`GET answered ${answer.status}: ${answer.body.slice(0, 200)}`);
    return answer.body.split(SEPARATOR);
  }

  /** Sends the engine.io close packet; never throws. */
  async close(): Promise<void> {
    await this.post(['1']).catch(() => undefined);
  }
}

export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused with HTTP ${status}: ${body.slice(0, 200)}`);
    this.name = 'HandshakeRefused';
  }
}

// ---- WebSocket ----

export interface WsOptions {
  /** Answer the server's pings (`2` → `3`). Default true. */
  autoPong?: boolean;
  headers?: Record<string, string>;
  /** Keep every text frame received (default: count them and keep the last 100). */
  keepAll?: boolean;
}

export class RawWebSocket {
  /** Text frames received (the last 100 unless `keepAll`). */
  readonly received: string[] = [];
  receivedCount = 0;
  receivedBytes = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters = new Set<(text: string) => void>();
  private blindPongs: NodeJS.Timeout | undefined;
  private isClosed = false;

  private constructor(
    readonly ws: WebSocket,
    readonly handshake: Handshake,
    options: WsOptions,
  ) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => {
        this.isClosed = true;
        if (this.blindPongs !== undefined) clearInterval(this.blindPongs);
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString();
      this.receivedCount += 1;
      this.receivedBytes += text.length;
      if (options.autoPong !== false && text === '2') ws.send('3');
      this.received.push(text);
      if (!options.keepAll && this.received.length > 100) this.received.shift();
      for (const waiter of [...this.waiters]) waiter(text);
    });
  }

  static open(port: number, options: WsOptions = {}): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const address = attackerAddress();
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
        headers: options.headers,
        handshakeTimeout: 10_000,
        ...(address === undefined ? {} : { localAddress: address }),
      });
      ws.on('error', (error) => {
        reject(error);
      });
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new HandshakeRefused(res.statusCode ?? 0, ''));
      });
      ws.once('message', (data: WebSocket.RawData) => {
        try {
          resolve(new RawWebSocket(ws, parseOpen(data.toString()), options));
        } catch (error) {
          ws.terminate();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  get isOpen(): boolean {
    return !this.isClosed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends each item as one frame (text or binary), all in one TCP write. */
  send(frames: readonly (string | Buffer)[]): void {
    if (!this.isOpen) return;
    const socket = (this.ws as unknown as { _socket?: import('node:net').Socket })._socket;
    socket?.cork();
    for (const frame of frames) this.ws.send(frame, { binary: typeof frame !== 'string' });
    if (socket !== undefined) process.nextTick(() => socket.uncork());
  }

  /** Resolves with the first text frame (from now on) that `predicate` accepts; rejects on close or timeout. */
  next(predicate: (text: string) => boolean, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new Error('the WebSocket is closed'));
        return;
      }
      const done = (): void => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
      };
      const waiter = (text: string): void => {
        if (!predicate(text)) return;
        done();
        resolve(text);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
      void this.closed.then(() => {
        if (!this.waiters.has(waiter)) return;
        done();
        reject(new Error('the WebSocket closed'));
      });
    });
  }

  /**
   * Stops reading from the TCP socket (the server's writes pile up) while a
   * timer keeps answering the heartbeat blindly, as an attacker would.
   */
  stopReading(): void {
    const socket = (this.ws as unknown as { _socket?: import('node:net').Socket })._socket;
    socket?.pause();
    const every = Math.max(
      200,
      Math.min(this.handshake.pingInterval, this.handshake.pingTimeout) / 2,
    );
    this.blindPongs ??= setInterval(() => {
      if (this.isOpen) this.ws.send('3');
    }, every);
  }

  /** Reads in short bursts (10 ms every 500 ms): a slow reader rather than a dead one. */
  readSlowly(): void {
    const socket = (this.ws as unknown as { _socket?: import('node:net').Socket })._socket;
    socket?.pause();
    this.blindPongs ??= setInterval(() => {
      if (!this.isOpen) return;
      socket?.resume();
      setTimeout(() => socket?.pause(), 10).unref();
    }, 500);
  }

  /** Closes at once (TCP destroyed); resolves when closed. */
  async terminate(): Promise<void> {
    if (this.blindPongs !== undefined) clearInterval(this.blindPongs);
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    await this.closed;
  }
}
