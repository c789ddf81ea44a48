/**
 * Honest users over socket.io-client, doing what the Extreal clients do on
 * the wire (PROTOCOL.md §2–4): a host that answers every `join` with an
 * `offer` and a `call me` to each member it has, and a joiner that connects,
 * lists the hosts, joins, answers the offer and waits for `done`. The time a
 * join takes is what the adversarial specs compare against an idle server.
 */
import { io as ioClient, type Socket } from 'socket.io-client';

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' + 'a=x\r\n'.repeat(200);

interface Relayed {
  type: string;
  from: string;
  to?: string;
  me?: string | null;
  sdp?: string | null;
}

function connect(url: string, timeoutMs: number): Promise<Socket> {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error: Error) => {
      socket.disconnect();
      reject(new Error(`honest connect failed: ${error.message}`));
    });
  });
}

function ack<T>(socket: Socket, timeoutMs: number, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(timeoutMs).emitWithAck(event, ...args) as Promise<T>;
}

export class HonestHost {
  /** Members that joined and have not left. */
  readonly members = new Set<string>();
  /** Members sent an offer whose answer has not come yet (a real client sends `done` only to those). */
  private readonly offered = new Set<string>();
  /** Why the server disconnected it, if it did. */
  disconnectReason: string | undefined;
  joinsSeen = 0;

  private constructor(
    readonly socket: Socket,
    readonly name: string,
  ) {
    socket.on('message', (m: Relayed) => {
      if (m.type === 'join') {
        this.joinsSeen += 1;
        if (this.members.has(m.from)) return;
        socket.emit('message', { type: 'offer', to: m.from, sdp: SDP });
        this.offered.add(m.from);
        for (const member of this.members)
          socket.emit('message', { type: 'call me', to: member, me: m.from });
        this.members.add(m.from);
      } else if (m.type === 'answer' && this.offered.delete(m.from)) {
        socket.emit('message', { type: 'done', to: m.from });
      }
    });
    socket.on('user disconnected', (m: { id: string }) => {
      this.members.delete(m.id);
      this.offered.delete(m.id);
    });
    socket.on('disconnect', (reason: string) => {
      this.disconnectReason ??= reason;
    });
  }

  get id(): string {
    return this.socket.id ?? '';
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  static async start(url: string, name: string, timeoutMs = 5_000): Promise<HonestHost> {
    const socket = await connect(url, timeoutMs);
    const answer = await ack<{ status: number; message: string }>(
      socket,
      timeoutMs,
      'create host',
      name,
    ).catch((error: unknown) => {
      socket.disconnect();
      throw error;
    });
    if (answer.status !== 200) {
      socket.disconnect();
      throw new Error(`honest create host answered ${answer.status}: ${answer.message}`);
    }
    return new HonestHost(socket, name);
  }

  close(): void {
    this.socket.disconnect();
  }
}

/**
 * One honest join of the host named `hostName`: connect, `list hosts`,
 * `join`, answer the offer, wait for `done`, leave. Resolves with the
 * milliseconds it took; rejects when a step fails or `timeoutMs` passes.
 */
export async function honestJoin(
  url: string,
  hostName: string,
  timeoutMs = 5_000,
): Promise<number> {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  const left = (): number => Math.max(1, deadline - performance.now());
  const socket = await connect(url, timeoutMs);
  try {
    const list = await ack<{ status: number; hosts?: { id: string; name: string }[] }>(
      socket,
      left(),
      'list hosts',
    );
    const host = list.hosts?.find((h) => h.name === hostName);
    if (host === undefined)
      throw new Error(`honest list hosts (status ${list.status}) does not show "${hostName}"`);
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`honest join: no done within ${timeoutMs} ms`)),
        left(),
      );
      socket.on('message', (m: Relayed) => {
        if (m.from !== host.id) return;
        if (m.type === 'offer') socket.emit('message', { type: 'answer', to: host.id, sdp: SDP });
        else if (m.type === 'done') {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.once('disconnect', (reason: string) => {
        clearTimeout(timer);
        reject(new Error(`honest joiner disconnected: ${reason}`));
      });
    });
    socket.emit('message', { type: 'join', to: host.id });
    await done;
    return performance.now() - t0;
  } finally {
    socket.disconnect();
  }
}

/** A fresh host, one join into it, both gone after: the milliseconds of host start and join. */
export async function honestRound(
  url: string,
  name: string,
  timeoutMs = 5_000,
): Promise<{ hostMs: number; joinMs: number }> {
  const t0 = performance.now();
  const host = await HonestHost.start(url, name, timeoutMs);
  const hostMs = performance.now() - t0;
  try {
    const joinMs = await honestJoin(url, name, timeoutMs);
    if (!host.connected)
      throw new Error(`the honest host was disconnected: ${host.disconnectReason ?? '?'}`);
    return { hostMs, joinMs };
  } finally {
    host.close();
  }
}

export interface Timings {
  samples: number[];
  failures: string[];
  median: number;
  p95: number;
}

export function summarize(samples: number[], failures: string[] = []): Timings {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { samples, failures, median: at(0.5), p95: at(0.95) };
}

/** `n` honest joins into `hostName`, one after another. */
export async function joinTimes(
  url: string,
  hostName: string,
  n: number,
  timeoutMs = 5_000,
): Promise<Timings> {
  const samples: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      samples.push(await honestJoin(url, hostName, timeoutMs));
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  return summarize(samples, failures);
}
