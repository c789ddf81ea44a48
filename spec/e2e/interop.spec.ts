/**
 * rxpeer and Extreal-shaped peers in one mesh, on the real server and a real
 * engine: the Extreal side gets exactly PROTOCOL §4 (vanilla ICE, complete
 * SDPs, no `candidate`), rxpeer pairs still trickle.
 */
import type { PeerClient } from '../../src/client/PeerClient';
import { useRealServer } from '../helpers/realServer';
import { attachChat } from '../helpers/chat';
import { ExtrealPeer } from '../helpers/extrealPeer';
import { next } from '../helpers/clientHarness';

jest.setTimeout(60_000);

const until = async (cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('interop with Extreal-shaped peers', () => {
  const real = useRealServer();
  const rx = (): PeerClient => real.client();
  const extrealPeer = (options: Omit<ConstructorParameters<typeof ExtrealPeer>[0], 'url'> = {}): ExtrealPeer => {
    const peer = new ExtrealPeer({ url: real.server.url, ...options });
    real.onCleanup(() => peer.stop());
    return peer;
  };

  it('an rxpeer host, a C#-style Extreal client and an rxpeer client form one mesh', async () => {
    const host = rx();
    const hostChat = attachChat(host);
    const hs = next(host.started$);
    await host.startHost('mixed');
    const hostId = await hs;

    const old = extrealPeer({ csharpNulls: true });
    await old.startClient(hostId);
    await until(() => old.started, 10_000, 'the Extreal client to start');

    const modern = rx();
    const modernChat = attachChat(modern);
    const ms = next(modern.started$, undefined, 15_000);
    await modern.startClient(hostId);
    const modernId = await ms;

    await modernChat.openTo([hostId, old.id]);
    await hostChat.openTo([old.id, modernId]);
    await until(() => old.channels.size === 2 && [...old.channels.values()].every((c) => c.readyState === 'open'), 10_000, 'Extreal channels');

    expect(old.broadcast('from extreal')).toBe(2);
    modernChat.broadcast('from modern');
    await hostChat.receivedAtLeast(2);
    await until(() => old.received.length >= 1, 5000, 'the Extreal peer to receive');
    expect(old.received).toEqual([{ from: modernId, text: 'from modern' }]);
    await modernChat.receivedAtLeast(1, (m) => m.text === 'from extreal' && m.from === old.id);

    const modes = Object.fromEntries([...(await next(modern.peers$, (p) => p.size === 2))].map(([id, p]) => [id, p.mode]));
    expect(modes).toEqual({ [hostId]: 'trickle', [old.id]: 'vanilla' });
    const hostModes = Object.fromEntries([...(await next(host.peers$, (p) => p.size === 2))].map(([id, p]) => [id, p.mode]));
    expect(hostModes).toEqual({ [old.id]: 'vanilla', [modernId]: 'trickle' });
    // The Extreal peer only ever saw protocol messages.
    expect(new Set(old.seenTypes)).toEqual(new Set(['offer', 'done', 'call me', 'answer']));
  });

  it('an rxpeer client joins an Extreal-shaped host with vanilla ICE', async () => {
    const host = extrealPeer();
    await expect(host.startHost('old-host')).resolves.toMatchObject({ status: 200 });
    const client = rx();
    const chat = attachChat(client);
    const listed = await client.listHosts();
    expect(listed).toEqual([{ id: host.id, name: 'old-host' }]);
    const started = next(client.started$, undefined, 15_000);
    await client.startClient(host.id);
    await started;
    await chat.openTo([host.id]);
    chat.broadcast('hi old host');
    await until(() => host.received.length === 1, 5000, 'the host to receive');
    expect((await next(client.peers$)).get(host.id)!.mode).toBe('vanilla');
  });
});
