/**
 * A Socket.IO parser whose decoder refuses, before Socket.IO dispatches
 * anything, the packets no rxpeer client sends and that hurt the server:
 *
 * - an event named like something an event emitter or Socket.IO emits itself
 *   (`error`, `disconnect`, `newListener` …), or not named by a string;
 * - an event or acknowledgement with more than `maxEventArgs` arguments
 *   (Socket.IO spreads them onto the stack: about 70,000 overflow it);
 * - a second CONNECT on one engine.io connection (Socket.IO would open one
 *   more socket per CONNECT, past `maxClients`);
 * - a binary packet with more attachments than `maxEventArgs` (the standard
 *   decoder would keep up to 10 buffers of `maxHttpBufferSize` each);
 * - anything the standard decoder cannot parse.
 *
 * The rule holds for every event name and every framing (polling payloads
 * and WebSocket frames both end up in the decoder). A refused packet is never
 * dispatched: the decoder reports it and stops decoding that connection, and
 * the server closes the connection.
 *
 * The decoder is handed its engine.io connection when Socket.IO creates it
 * (see {@link PacketGuard.beforeClient}); Socket.IO gives it no other way.
 */

import { EventEmitter } from 'node:events';
import { Decoder, Encoder, PacketType, type Packet } from 'socket.io-parser';

/** Why a packet was refused. */
export type PacketRefusal =
  /** The standard decoder could not parse it. */
  | 'malformed'
  /** An event whose name is not a string, or is one an emitter or Socket.IO uses itself. */
  | 'reserved-event'
  /** More than `maxEventArgs` arguments. */
  | 'too-many-args'
  /** A CONNECT after the first one on the same connection. */
  | 'extra-connect';

export const PACKET_REFUSALS: readonly PacketRefusal[] = [
  'malformed',
  'reserved-event',
  'too-many-args',
  'extra-connect',
];

/**
 * Event names a client must never send: those Node's `EventEmitter` and
 * Socket.IO's server socket emit themselves, and those the client library
 * reserves. A client event of such a name would reach the server's own
 * listeners of it with arguments of the client's choosing.
 */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set([
  'error',
  'connect',
  'connect_error',
  'connection',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/** The engine.io connection as far as the guard needs it. */
export interface GuardedConnection {
  readonly id: string;
}

export interface PacketGuardOptions<C extends GuardedConnection> {
  maxEventArgs: number;
  /** Called once per refused packet; the decoder decodes nothing more for that connection. */
  onRefused: (reason: PacketRefusal, detail: string, connection: C | undefined) => void;
}

/** Why the event packet `packet` must not be dispatched, or `undefined`. */
function checkEvent(packet: Packet, maxEventArgs: number): [PacketRefusal, string] | undefined {
  const data: unknown = packet.data;
  if (!Array.isArray(data)) return ['malformed', 'event without an argument list'];
  const name: unknown = data[0];
  if (typeof name !== 'string') return ['reserved-event', 'event name is not a string'];
  if (RESERVED_EVENT_NAMES.has(name)) return ['reserved-event', `reserved event name "${name}"`];
  if (data.length - 1 > maxEventArgs)
    return ['too-many-args', `${data.length - 1} arguments (at most ${maxEventArgs})`];
  return undefined;
}

/**
 * The guard of one server: its `parser` goes into the Socket.IO options, and
 * {@link beforeClient} must run, for every engine.io connection, just before
 * Socket.IO creates its client for it (a prepended engine `connection` listener).
 */
export class PacketGuard<C extends GuardedConnection> {
  private handoff: C | undefined;
  /** The Socket.IO `parser` option. */
  readonly parser: { Encoder: typeof Encoder; Decoder: new () => EventEmitter };

  constructor(options: PacketGuardOptions<C>) {
    const { maxEventArgs, onRefused } = options;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const guard = this;

    class GuardedDecoder extends EventEmitter {
      private readonly inner = new Decoder({ maxAttachments: maxEventArgs });
      private readonly connection: C | undefined = guard.takeHandoff();
      private connects = 0;
      private refused = false;

      constructor() {
        super();
        this.inner.on('decoded', (packet: Packet) => this.decoded(packet));
      }

      /** Socket.IO's client calls this with each engine.io message. */
      add(data: unknown): void {
        if (this.refused) return;
        try {
          this.inner.add(data);
        } catch (error) {
          this.refuse('malformed', error instanceof Error ? error.message : String(error));
        }
      }

      destroy(): void {
        this.inner.destroy();
        this.removeAllListeners();
      }

      private decoded(packet: Packet): void {
        let refusal: [PacketRefusal, string] | undefined;
        switch (packet.type) {
          case PacketType.CONNECT:
            this.connects += 1;
            if (this.connects > 1) refusal = ['extra-connect', 'one namespace per connection'];
            break;
          case PacketType.EVENT:
            refusal = checkEvent(packet, maxEventArgs);
            break;
          case PacketType.ACK:
            if (!Array.isArray(packet.data) || packet.data.length > maxEventArgs)
              refusal = ['too-many-args', 'acknowledgement with too many arguments'];
            break;
          case PacketType.DISCONNECT:
            break;
          case PacketType.CONNECT_ERROR:
          case PacketType.BINARY_EVENT:
          case PacketType.BINARY_ACK:
            refusal = ['malformed', `packet type ${packet.type} from a client`];
            break;
          default:
            refusal = ['malformed', 'unknown packet type'];
        }
        if (refusal !== undefined) {
          this.refuse(...refusal);
          return;
        }
        this.emit('decoded', packet);
      }

      private refuse(reason: PacketRefusal, detail: string): void {
        this.refused = true;
        onRefused(reason, detail, this.connection);
        if (this.connection === undefined) {
          // Not bound to a connection (Socket.IO internals changed): Socket.IO
          // closes the connection on a decoder error itself.
          throw new Error(`packet refused: ${detail}`);
        }
      }
    }

    this.parser = { Encoder, Decoder: GuardedDecoder };
  }

  /** Names the connection the next decoder belongs to. */
  beforeClient(connection: C): void {
    this.handoff = connection;
  }

  /** Clears the handoff once Socket.IO's client exists. */
  afterClient(): void {
    this.handoff = undefined;
  }

  private takeHandoff(): C | undefined {
    const connection = this.handoff;
    this.handoff = undefined;
    return connection;
  }
}
