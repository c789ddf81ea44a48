/**
 * The signaling server restarts in the middle of a session. Expected: the
 * peer connections stay up; every peer sees `disconnected$`, socket.io
 * reconnects with backoff and `reconnected$` fires; the host claims its name
 * again; peers re-learn each other's new ids over rxpeer's control channel,
 * so later joins and leaves reach everyone; no phantom or duplicate peers.
 */
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { PeerClient } from '../../src/client/PeerClient';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';
import { attachChat, type Chat } from '../helpers/chat';
import { collect, next } from '../helpers/clientHarness';

jest.setTimeout(60_000);

describe('a signaling server restart mid-session', () => {
  let server: SignalingServer;
  const clients: PeerClient[] = [];

  beforeEach(() => resetTracking());

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await server.close();
    expect(openPeerConnections()).toEqual([]);
  });

  const make = (url: string): { client: PeerClient; chat: Chat } => {
    const client = new PeerClient(
      { url, socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 500 } },
      { createPeerConnection },
    );
    clients.push(client);
    return { client, chat: attachChat(client) };
  };

  it('keeps the mesh, re-registers the host, and lets a newcomer reach every member', async () => {
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
    const { port, url } = server;
    const host = make(url);
    const hs = next(host.client.started$);
    await host.client.startHost('restart');
    const hostId = await hs;
    const members = [make(url), make(url)];
    const ids: string[] = [];
    for (const m of members) {
      const started = next(m.client.started$, undefined, 15_000);
      await m.client.startClient(hostId);
      ids.push(await started);
    }
    const everyone = [host, ...members];
    const stableIds = [hostId, ...ids];
    for (const [i, p] of everyone.entries()) await p.chat.openTo(stableIds.filter((_, j) => j !== i));
    const leaving = everyone.map((p) => collect(p.client.userDisconnecting$));
    const dropped = everyone.map((p) => next(p.client.disconnected$, undefined, 5000));
    const back = everyone.map((p) => next(p.client.reconnected$, undefined, 15_000));

    await server.close();
    await Promise.all(dropped);
    server = await createSignalingServer({ port, host: '127.0.0.1' });
    const newIds = await Promise.all(back);
    expect(newIds.every((id, i) => id !== stableIds[i])).toBe(true);

    // The host is listed again under its new id, once.
    const probe = make(url);
    let hosts = await probe.client.listHosts();
    for (let i = 0; i < 100 && hosts[0]?.id !== newIds[0]; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      hosts = await probe.client.listHosts();
    }
    expect(hosts).toEqual([{ id: newIds[0], name: 'restart' }]);

    // The peer connections never dropped.
    for (const [i, p] of everyone.entries()) {
      expect(p.chat.broadcast(`after restart ${i}`)).toHaveLength(2);
    }
    for (const p of everyone) await p.chat.receivedAtLeast(2, (m) => m.text.startsWith('after restart'));
    expect(leaving.map((l) => l.values)).toEqual([[], [], []]);

    // A newcomer joins the host's new id and meshes with every member.
    const newcomer = probe;
    const started = next(newcomer.client.started$, undefined, 15_000);
    await newcomer.client.startClient(newIds[0]!);
    await started;
    const full = (c: PeerClient): Promise<unknown> =>
      next(c.peers$, (p) => p.size === 3 && [...p.values()].every((s) => s.connectionState === 'connected'), 15_000);
    await Promise.all([...everyone, newcomer].map((p) => full(p.client)));
    // No duplicates: the old members still know each other by their first ids.
    expect([...(await next(members[0]!.client.peers$)).keys()]).toEqual(expect.arrayContaining([hostId, ids[1]]));

    // A member leaves: everyone hears it once.
    await members[0]!.client.stop();
    for (const p of [host, members[1]!, newcomer]) await next(p.client.peers$, (m) => m.size === 2, 5000);
    expect(leaving[0]!.values).toEqual([ids[0]]);
    expect(leaving[2]!.values).toEqual([ids[0]]);
  });
});
