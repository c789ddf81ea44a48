/**
 * Shutdown support: every TCP connection of the HTTP server, upgraded
 * (WebSocket) ones included, so that `close()` can cut them all once its
 * grace period is over. Node's `closeAllConnections()` does not reach
 * upgraded connections, and a WebSocket client that stopped reading would
 * otherwise hold the shutdown for ws's 30 s closing handshake.
 */

import type { Server as HttpServer } from 'node:http';
import type { Socket as NetSocket } from 'node:net';

export class ConnectionTracker {
  private readonly sockets = new Set<NetSocket>();

  constructor(httpServer: HttpServer) {
    httpServer.on('connection', (socket: NetSocket) => {
      if (socket.destroyed) return;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Open TCP connections. */
  get size(): number {
    return this.sockets.size;
  }

  /** Destroys every open connection. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
