/** Counters of the transport and admission layer; `server.stats().transport`. */

import type { CutReason } from './engineGuard.js';
import { CUT_REASONS } from './engineGuard.js';
import { PACKET_REFUSALS, type PacketRefusal } from './packetGuard.js';

/** Why a new engine.io session was refused. */
export type HandshakeRefusal =
  /** 403: `Origin` not in `cors.origin`. */
  | 'origin'
  /** 403: `maxClients` reached. */
  | 'full'
  /** 429: the address holds `maxClientsPerAddress`. */
  | 'per-address'
  /** 503: the memory guard is refusing new work. */
  | 'overloaded'
  /** 503: the server is shutting down. */
  | 'closing';

export const HANDSHAKE_REFUSALS: readonly HandshakeRefusal[] = [
  'origin',
  'full',
  'per-address',
  'overloaded',
  'closing',
];

export interface TransportStats {
  /** engine.io clients connected now (with or without a Socket.IO socket). */
  clients: number;
  /** Packets refused before dispatch, by reason (each closed its connection). */
  refusedPackets: Record<PacketRefusal, number>;
  /** Connections the server cut, by reason. */
  cut: Record<CutReason, number>;
  /** New engine.io sessions refused, by reason. */
  refusedHandshakes: Record<HandshakeRefusal, number>;
  /** Events (relayed messages, leave notices) dropped because their connection was over `queueDropBytes`. */
  droppedEvents: number;
  /** TCP connections closed at once because their address held `maxConnectionsPerAddress`. */
  refusedConnections: number;
  /** Namespace connections refused by the memory guard. */
  refusedSockets: number;
  /** Times a WebSocket was paused or a polling POST held back by the inbound byte budget. */
  throttled: number;
}

const zeroed = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

/** @internal */
export class TransportCounter {
  readonly refusedPackets = zeroed(PACKET_REFUSALS);
  readonly cut = zeroed(CUT_REASONS);
  readonly refusedHandshakes = zeroed(HANDSHAKE_REFUSALS);
  droppedEvents = 0;
  refusedConnections = 0;
  refusedSockets = 0;
  throttled = 0;

  snapshot(clients: number): TransportStats {
    return {
      clients,
      refusedPackets: { ...this.refusedPackets },
      cut: { ...this.cut },
      refusedHandshakes: { ...this.refusedHandshakes },
      droppedEvents: this.droppedEvents,
      refusedConnections: this.refusedConnections,
      refusedSockets: this.refusedSockets,
      throttled: this.throttled,
    };
  }
}
