/**
 * Watches every engine.io connection from the moment engine.io accepts it:
 *
 * - the bytes queued for sending to it (engine.io's write buffer plus what
 *   its WebSocket has not handed to the kernel yet). Above `queueDropBytes`
 *   (soft), events the server pushes to it (relayed messages, leave notices)
 *   are dropped and counted, so a slow but honest reader is not closed for
 *   what others send it; above `maxQueuedBytes` (hard), or still above the
 *   soft cap `slowReaderTimeoutMs` after it got there, the client is not
 *   reading and the connection is cut;
 * - a connection that has not joined the namespace `connectTimeoutMs` after
 *   its handshake is cut at once (engine.io would otherwise keep a polling
 *   one until its ping timeout or a 30 s close timer);
 * - the engine.io clients each address holds.
 *
 * "Cut" ({@link forceClose}) frees the slot now and drops the TCP connection
 * of a WebSocket, instead of an orderly close that waits for a client that
 * does not read.
 */

import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { AddressCounter } from './admission.js';

/** The parts of an engine.io `Socket` the guards use. */
export interface EngineConnection extends EventEmitter {
  readonly id: string;
  readonly request: IncomingMessage;
  readonly readyState: string;
  remoteAddress: string;
  write(data: unknown, options?: unknown, callback?: unknown): unknown;
  readonly transport: {
    readonly name: string;
    /** The polling transport's pending orderly close, if any. */
    readonly shouldClose?: (() => void) | null;
    /** The `ws` WebSocket of the websocket transport. */
    readonly socket?: { readonly bufferedAmount?: number; terminate?: () => void };
  };
  close(discard?: boolean): unknown;
}

/** Why the server cut a connection. */
export type CutReason =
  'queue-full' | 'slow-reader' | 'connect-timeout' | 'packet-refused' | 'shutdown';

export const CUT_REASONS: readonly CutReason[] = [
  'queue-full',
  'slow-reader',
  'connect-timeout',
  'packet-refused',
  'shutdown',
];

/** Closes `connection` now: its slot is freed at once, a WebSocket's TCP connection dropped. */
export function forceClose(connection: EngineConnection): void {
  if (connection.readyState === 'closed') return;
  const transport = connection.transport;
  const ws = transport.name === 'websocket' ? transport.socket : undefined;
  connection.close(true);
  // An orderly close already under way (a polling transport waiting for the
  // client's next poll, for up to 30 s) ignores a second close: finish it now.
  if (connection.readyState !== 'closed' && typeof transport.shouldClose === 'function')
    transport.shouldClose();
  ws?.terminate?.();
}

const packetBytes = (packet: { data?: unknown }): number => {
  const data = packet.data;
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 1;
};

export interface EngineGuardOptions {
  maxQueuedBytes: number;
  queueDropBytes: number;
  slowReaderTimeoutMs: number;
  now: () => number;
  connectTimeoutMs: number;
  /** `true` once a Socket.IO socket was admitted on the connection. */
  joined: (connection: EngineConnection) => boolean;
  /** The address the connection counts against. */
  address: (connection: EngineConnection) => string;
  onCut: (connection: EngineConnection, reason: CutReason, detail: string) => void;
  /** An event for a connection over the soft cap was dropped. */
  onDropped: (connection: EngineConnection) => void;
}

/** A Socket.IO EVENT packet ("2…"): something the server pushes, not an answer. */
const isPushedEvent = (data: unknown): boolean =>
  typeof data === 'string' && data.charCodeAt(0) === 50;

export class EngineGuard {
  /** engine.io clients per address. */
  readonly clients = new AddressCounter();
  private readonly options: EngineGuardOptions;

  constructor(options: EngineGuardOptions) {
    this.options = options;
  }

  /** Cuts `connection` for `reason`. */
  cut(connection: EngineConnection, reason: CutReason, detail: string): void {
    if (connection.readyState === 'closed') return;
    this.options.onCut(connection, reason, detail);
    forceClose(connection);
  }

  /** Call from the engine's `connection` event. */
  watch(connection: EngineConnection): void {
    const { maxQueuedBytes, queueDropBytes, slowReaderTimeoutMs, connectTimeoutMs, now } =
      this.options;
    const address = this.options.address(connection);
    this.clients.add(address);

    let queued = 0;
    /** When the queue was first seen over the soft cap; reset once an event fits again. */
    let overSince: number | undefined;
    const total = (): number => queued + (connection.transport.socket?.bufferedAmount ?? 0);
    const onPacketCreate = (packet: { data?: unknown }): void => {
      queued += packetBytes(packet);
      if (total() > maxQueuedBytes) this.cut(connection, 'queue-full', `${total()} bytes queued`);
    };
    // Events pushed to a connection over the soft cap are dropped before they queue.
    const write = connection.write.bind(connection);
    Object.defineProperty(connection, 'write', {
      configurable: true,
      writable: true,
      value: (data: unknown, options?: unknown, callback?: unknown): unknown => {
        if (isPushedEvent(data) && total() > queueDropBytes) {
          const at = now();
          overSince ??= at;
          this.options.onDropped(connection);
          if (at - overSince >= slowReaderTimeoutMs)
            this.cut(
              connection,
              'slow-reader',
              `over ${queueDropBytes} bytes queued since ${at - overSince} ms`,
            );
          return connection;
        }
        if (isPushedEvent(data)) overSince = undefined;
        return write(data, options, callback);
      },
    });
    // A flush hands the whole write buffer to the transport.
    const onFlush = (): void => {
      queued = 0;
    };
    const reaper = setTimeout(() => {
      if (!this.options.joined(connection))
        this.cut(connection, 'connect-timeout', 'no namespace joined');
    }, connectTimeoutMs);
    reaper.unref();

    connection.on('packetCreate', onPacketCreate);
    connection.on('flush', onFlush);
    connection.once('close', () => {
      // A polling transport closed while no poll is pending would wait up to
      // 30 s for one to carry the close packet: nobody needs that packet now.
      const pending = connection.transport.shouldClose;
      if (typeof pending === 'function') pending();
      clearTimeout(reaper);
      connection.off('packetCreate', onPacketCreate);
      connection.off('flush', onFlush);
      this.clients.remove(address);
    });
  }
}
