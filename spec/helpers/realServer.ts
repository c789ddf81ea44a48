/**
 * The end-to-end fixture: rxpeer's signaling server on loopback, started
 * before each test, and PeerClients on the real engine, disposed after it;
 * then no peer connection may be left open.
 */
import { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { next } from './clientHarness';
import { createPeerConnection, openPeerConnections, resetTracking } from './engine';

export interface RealServer {
  readonly server: SignalingServer;
  /** A PeerClient on the real engine (at the server unless `url` says otherwise), disposed after the test. */
  client(config?: Partial<PeerClientConfig>, url?: string): PeerClient;
  /** A started host: its client and id. */
  startHost(name: string, client?: PeerClient): Promise<{ client: PeerClient; id: string }>;
  /** A client that joined `hostId` and started: its client and id. */
  join(hostId: string, client?: PeerClient): Promise<{ client: PeerClient; id: string }>;
  /** Runs after the test, before the clients are disposed. */
  onCleanup(cleanup: () => void | Promise<void>): void;
}

/** Call inside a `describe`: registers the fixture's beforeEach/afterEach. */
export function useRealServer(): RealServer {
  let server: SignalingServer | undefined;
  const clients: PeerClient[] = [];
  const cleanups: (() => void | Promise<void>)[] = [];

  beforeEach(async () => {
    resetTracking();
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server?.close();
    // Closing is synchronous in the engine; nothing may stay open.
    expect(openPeerConnections()).toEqual([]);
  });

  const fixture: RealServer = {
    get server(): SignalingServer {
      if (server === undefined) throw new Error('the server starts in beforeEach');
      return server;
    },
    client(config = {}, url) {
      const client = new PeerClient({ url: url ?? fixture.server.url, ...config }, { createPeerConnection });
      clients.push(client);
      return client;
    },
    async startHost(name, client = fixture.client()) {
      const started = next(client.started$, undefined, 10_000);
      await client.startHost(name);
      return { client, id: await started };
    },
    async join(hostId, client = fixture.client()) {
      const started = next(client.started$, undefined, 15_000);
      await client.startClient(hostId);
      return { client, id: await started };
    },
    onCleanup(cleanup) {
      cleanups.push(cleanup);
    },
  };
  return fixture;
}
