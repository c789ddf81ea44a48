/**
 * What the server sends on its own: relayed messages and `user disconnected`.
 * In a cluster, a socket of this node gets its emit directly (that works
 * while Redis is down); others go through the adapter.
 */

import type { Logger as PinoLogger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type {
  ClientToServerEvents,
  RelayedMessage,
  ServerToClientEvents,
} from '../protocol/wire.js';
import type { Departure } from './state.js';
import type { StatsCounter } from './stats.js';

type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface Notifier {
  /** Delivers a relayed message to one socket. */
  deliver(to: string, message: RelayedMessage): void;
  /** Tells `receivers` that `id` left. */
  notifyLeave(receivers: readonly string[], id: string): void;
  /** Tells the group of a socket that left. */
  announce(id: string, departure: Departure, log: PinoLogger): void;
}

export function createNotifier(
  server: Server<ClientToServerEvents, ServerToClientEvents>,
  clustered: boolean,
  counters: StatsCounter,
): Notifier {
  const localSocket = (id: string): ServerSocket | undefined =>
    clustered ? server.of('/').sockets.get(id) : undefined;

  const notifyLeave = (receivers: readonly string[], id: string): void => {
    if (receivers.length === 0) return;
    if (!clustered) {
      server.to([...receivers]).emit('user disconnected', { id });
    } else {
      const remote: string[] = [];
      for (const receiver of receivers) {
        const local = localSocket(receiver);
        if (local === undefined) remote.push(receiver);
        else local.emit('user disconnected', { id });
      }
      if (remote.length > 0) server.to(remote).emit('user disconnected', { id });
    }
    counters.userDisconnectedSent += receivers.length;
  };

  return {
    deliver(to, message) {
      const target = localSocket(to);
      if (target === undefined) server.to(to).emit('message', message);
      else target.emit('message', message);
      counters.relayed += 1;
    },
    notifyLeave,
    announce(id, departure, log) {
      switch (departure.kind) {
        case 'host':
          log.info(
            { name: departure.name, members: departure.members.length },
            'host left; its members stay a group until the last leaves',
          );
          notifyLeave(departure.members, id);
          break;
        case 'member':
          notifyLeave(departure.remaining, id);
          break;
        case 'none':
          break;
        default: {
          const unreachable: never = departure;
          throw new Error(`unknown departure ${JSON.stringify(unreachable)}`);
        }
      }
    },
  };
}
