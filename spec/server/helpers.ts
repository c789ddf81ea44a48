/**
 * Helpers for the signaling server specs: a real server on 127.0.0.1 (port 0)
 * and socket.io-client sockets, all closed by `harness.close()`.
 *
 * Ordering trick used throughout ({@link Harness.barrier}): the server handles
 * each socket's events in order, and one socket's packets arrive in order.
 * After sender A's `list hosts` ack, the server has handled everything A sent
 * before; a `list hosts` round trip of B afterwards then returns only after
 * anything the server emitted to B meanwhile. So "B received nothing" can be
 * asserted without sleeping.
 */

import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerOptions,
} from '../../src/server/index.js';

export type { ClientSocket };

export const ACK_TIMEOUT_MS = 3_000;

/**
 * Every spec socket comes from 127.0.0.1, and barriers are `list hosts`: the
 * harness lifts the request and per-address limits so that only specs of
 * those limits (which pass their own) meet them.
 */
export const ROOMY_LIMITS = {
  requestBurst: 10_000,
  requestRate: 10_000,
  listBurst: 100_000,
  listRate: 100_000,
  listBytesPerAddressBurst: 1e12,
  listBytesPerAddressRate: 1e12,
  maxHostsPerAddress: 1e9,
  joinBurstPerAddress: 1e9,
  joinRatePerAddress: 1e9,
  joinBurstPerGroup: 1e9,
  joinRatePerGroup: 1e9,
  maxGroupMembersPerAddress: 1e9,
  messageBurstPerAddress: 1e9,
  messageRatePerAddress: 1e9,
  inboundBurstPerAddress: 1e9,
  inboundRatePerAddress: 1e9,
  // Every spec socket comes from 127.0.0.1.
  maxClientsPerAddress: Infinity,
  maxConnectionsPerAddress: Infinity,
} as const;

export interface Received {
  messages: Record<string, unknown>[];
  leaves: string[];
}

export class Harness {
  readonly sockets: ClientSocket[] = [];
  private readonly received = new Map<ClientSocket, Received>();

  private constructor(readonly server: SignalingServer) {}

  /**
   * Starts a server on a free loopback port. The request limits are raised so
   * that barriers never hit them, and the per-address ones lifted (every spec
   * socket comes from 127.0.0.1); specs of the limits pass their own.
   */
  static async start(options: SignalingServerOptions = {}): Promise<Harness> {
    const server = await createSignalingServer({
      port: 0,
      host: '127.0.0.1',
      ...options,
      limits: { ...ROOMY_LIMITS, ...options.limits },
    });
    return new Harness(server);
  }

  /**
   * Connects a socket (WebSocket only, no reconnection) and records what it
   * receives. It announces the `status` capability as rxpeer clients do
   * (exact statuses); pass `{ auth: {} }` for an Extreal-like socket.
   */
  async connect(options: Record<string, unknown> = {}): Promise<ClientSocket> {
    const socket = ioClient(this.server.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
      auth: { caps: ['status'] },
      ...options,
    });
    this.sockets.push(socket);
    const record: Received = { messages: [], leaves: [] };
    this.received.set(socket, record);
    socket.on('message', (message: Record<string, unknown>) => record.messages.push(message));
    socket.on('user disconnected', (payload: { id: string }) => record.leaves.push(payload.id));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error: Error) => reject(error));
    });
    return socket;
  }

  async connectMany(count: number): Promise<ClientSocket[]> {
    const sockets: ClientSocket[] = [];
    // In batches, to keep the loopback handshake queue short.
    for (let i = 0; i < count; i += 50) {
      sockets.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, count - i) }, () => this.connect()),
        )),
      );
    }
    return sockets;
  }

  of(socket: ClientSocket): Received {
    const record = this.received.get(socket);
    if (record === undefined) throw new Error('socket not made by this harness');
    return record;
  }

  /** Creates a host; returns the ack. */
  createHost(socket: ClientSocket, name: unknown): Promise<{ status: number; message: string }> {
    return emitAck(socket, 'create host', name);
  }

  async listHosts(socket: ClientSocket): Promise<{ id: string; name: string }[]> {
    const response = await emitAck<{ status: number; hosts: { id: string; name: string }[] }>(
      socket,
      'list hosts',
    );
    expect(response.status).toBe(200);
    return response.hosts;
  }

  /** See the file comment: after this, each socket has received everything the server sent it before. */
  async barrier(...sockets: ClientSocket[]): Promise<void> {
    for (const socket of sockets) await emitAck(socket, 'list hosts');
  }

  /** A host with `members` joined members (each `join` relayed and seen by the host). */
  async group(
    name: string,
    members: number,
  ): Promise<{ host: ClientSocket; members: ClientSocket[] }> {
    const host = await this.connect();
    expect((await this.createHost(host, name)).status).toBe(200);
    const joined = await Promise.all(Array.from({ length: members }, () => this.connect()));
    for (const member of joined) member.emit('message', { type: 'join', to: host.id });
    await this.barrier(...joined, host);
    return { host, members: joined };
  }

  /** Disconnects `socket` and waits until the server has forgotten it. */
  async leave(socket: ClientSocket): Promise<void> {
    const id = socket.id;
    socket.disconnect();
    await waitFor(
      async () =>
        !(await this.server.state.groupOf(id ?? '')) &&
        !this.server.io.of('/').sockets.has(id ?? ''),
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.disconnect();
    await this.server.close();
  }
}

/** Emits with an ack; rejects after {@link ACK_TIMEOUT_MS}. */
export function emitAck<T = { status: number; message: string }>(
  socket: ClientSocket,
  event: string,
  ...args: unknown[]
): Promise<T> {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, ...args) as Promise<T>;
}

/** Polls `predicate` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves with the reason once `socket` is disconnected. */
export function disconnected(socket: ClientSocket): Promise<string> {
  if (socket.disconnected && !socket.active) return Promise.resolve('already disconnected');
  return new Promise((resolve) => socket.once('disconnect', (reason: string) => resolve(reason)));
}

/** An SDP-looking string of `bytes` bytes. */
export function fakeSdp(bytes: number): string {
  const head = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
  return head + 'a'.repeat(Math.max(0, bytes - head.length));
}
