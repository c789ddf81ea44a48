/** Many socket.io-client sockets against one server, WebSocket only, each bounded in time. */
import { io, type Socket } from 'socket.io-client';
import { within } from './stats';

export type ClientSocket = Socket;

export function connect(url: string, timeoutMs = 20_000): Promise<ClientSocket> {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: timeoutMs,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error: Error) => {
      socket.close();
      reject(error);
    });
  });
}

/**
 * Connects up to `count` sockets, `batch` handshakes at a time. Stops at the
 * first batch with a failure and returns what connected (the caller reports
 * the largest count that worked).
 */
export async function connectMany(
  url: string,
  count: number,
  batch = 100,
): Promise<{ sockets: ClientSocket[]; error?: string }> {
  const sockets: ClientSocket[] = [];
  for (let i = 0; i < count; i += batch) {
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(batch, count - i) }, () => connect(url)),
    );
    for (const r of results) if (r.status === 'fulfilled') sockets.push(r.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined)
      return {
        sockets,
        error: failed.reason instanceof Error ? failed.reason.message : String(failed.reason),
      };
  }
  return { sockets };
}

/** Emits with an acknowledgement, bounded in time. */
export function request<T>(socket: ClientSocket, event: string, ...args: unknown[]): Promise<T> {
  return within(
    new Promise<T>((resolve) => socket.emit(event, ...args, resolve)),
    10_000,
    `ack of ${event}`,
  );
}

export function closeAll(sockets: readonly ClientSocket[]): void {
  for (const s of sockets) s.close();
}
