/**
 * Real peers end to end: rxpeer's signaling server on loopback, real
 * socket.io-client sockets, and a real WebRTC engine (@roamhq/wrtc). These
 * are the Extreal module's manual test cases, automated.
 */
import type { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';
import { useRealServer } from '../helpers/realServer';
import { attachChat, type Chat } from '../helpers/chat';
import { collect, next } from '../helpers/clientHarness';

jest.setTimeout(60_000);

describe('a mesh of Node peers on a real engine and the real server', () => {
  const real = useRealServer();
  const make = (config: Partial<PeerClientConfig> = {}): PeerClient => real.client(config);

  async function startHost(name: string, config: Partial<PeerClientConfig> = {}): Promise<{ client: PeerClient; id: string; chat: Chat }> {
    const client = make(config);
    const chat = attachChat(client);
    return { ...(await real.startHost(name, client)), chat };
  }

  async function join(hostId: string, config: Partial<PeerClientConfig> = {}): Promise<{ client: PeerClient; id: string; chat: Chat }> {
    const client = make(config);
    const chat = attachChat(client);
    return { ...(await real.join(hostId, client)), chat };
  }

  it('a host and three clients form a full mesh, and a data channel carries messages both ways between every pair', async () => {
    const host = await startHost('mesh');
    const members = [host];
    for (let i = 0; i < 3; i += 1) members.push(await join(host.id));
    const ids = members.map((m) => m.id);
    for (const m of members) await m.chat.openTo(ids.filter((id) => id !== m.id));
    for (const m of members) expect(m.chat.broadcast(`hello from ${m.id}`).sort()).toEqual(ids.filter((id) => id !== m.id).sort());
    for (const m of members) {
      await m.chat.receivedAtLeast(3);
      expect(m.chat.received.map((r) => r.text).sort()).toEqual(ids.filter((id) => id !== m.id).map((id) => `hello from ${id}`).sort());
      expect(m.chat.received.every((r) => r.text === `hello from ${r.from}`)).toBe(true);
    }
    // rxpeer peers talk trickle ICE with each other.
    const peers = await next(members[3]!.client.peers$, (p) => p.size === 3);
    expect([...peers.values()].map((p) => p.mode)).toEqual(['trickle', 'trickle', 'trickle']);
  });

  it('a client leaves and rejoins: the others see it go, then come back with a new id', async () => {
    const host = await startHost('rejoin');
    const a = await join(host.id);
    const b = await join(host.id);
    await b.chat.openTo([host.id, a.id]);
    const hostLeaving = collect(host.client.userDisconnecting$);
    const bLeaving = collect(b.client.userDisconnecting$);
    await a.client.stop();
    await next(host.client.peers$, (p) => !p.has(a.id));
    await next(b.client.peers$, (p) => !p.has(a.id));
    expect(hostLeaving.values).toEqual([a.id]);
    expect(bLeaving.values).toEqual([a.id]);

    const started = next(a.client.started$, undefined, 15_000);
    await a.client.startClient(host.id);
    const newId = await started;
    expect(newId).not.toBe(a.id);
    await a.chat.openTo([host.id, b.id]);
    a.chat.broadcast('back');
    await host.chat.receivedAtLeast(1, (m) => m.text === 'back' && m.from === newId);
    await b.chat.receivedAtLeast(1, (m) => m.text === 'back' && m.from === newId);
  });

  it('when the host stops, every client closes its connection to the host and the host leaves the list', async () => {
    const host = await startHost('leaving');
    const a = await join(host.id);
    const b = await join(host.id);
    await a.chat.openTo([host.id, b.id]);
    const aLeaving = next(a.client.userDisconnecting$, (id) => id === host.id, 5000);
    const bLeaving = next(b.client.userDisconnecting$, (id) => id === host.id, 5000);
    await host.client.stop();
    await Promise.all([aLeaving, bLeaving]);
    // `bye` travels ahead of the socket's close; the server drops the host as soon as that lands.
    let hosts = await a.client.listHosts();
    for (let i = 0; i < 50 && hosts.length > 0; i += 1) {
      await new Promise((r) => setTimeout(r, 10));
      hosts = await a.client.listHosts();
    }
    expect(hosts).toEqual([]);
    // The members keep their own link.
    expect(a.chat.broadcast('still here')).toEqual([b.id]);
    await b.chat.receivedAtLeast(1, (m) => m.text === 'still here');
  });

  it('a client that joins a host id that does not exist gets startFailed after the start timeout', async () => {
    const client = make({ p2pTimeout: 1500 });
    const errors = collect(client.errors$);
    const failed = next(client.startFailed$, undefined, 5000);
    const t0 = Date.now();
    void client.startClient('no-such-host-id').catch(() => undefined); // settles only with the start
    await failed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(errors.values.map((e) => e.code)).toContain('START_TIMEOUT');
    expect(client.isRunning).toBe(false);
  });

  it('a hook that throws does not stop the mesh', async () => {
    const host = await startHost('hooks');
    const errors = collect(host.client.errors$);
    host.client.addPcCreateHook(() => {
      throw new Error('app bug');
    });
    const a = await join(host.id);
    await a.chat.openTo([host.id]);
    a.chat.broadcast('fine');
    await host.chat.receivedAtLeast(1, (m) => m.text === 'fine');
    expect(errors.values.map((e) => e.code)).toEqual(['HOOK_FAILED']);
  });

  it('with no app hook at all, a client still reaches started (rxpeer opens its control channel)', async () => {
    const host = make();
    const hostStarted = next(host.started$);
    await host.startHost('bare');
    const hostId = await hostStarted;
    const client = make();
    const started = next(client.started$, undefined, 15_000);
    await client.startClient(hostId);
    await started;
    const peers = await next(client.peers$, (p) => p.get(hostId)?.rtt !== undefined, 10_000);
    expect(peers.get(hostId)!.connectionState).toBe('connected');
  });

  it('with an unreachable STUN server, rxpeer peers do not wait for the gathering timeout', async () => {
    // A loopback UDP port nobody answers on.
    const pcConfig = { iceServers: [{ urls: 'stun:127.0.0.1:9' }] };
    const host = await startHost('stun', { pcConfig, vanillaIceTimeout: 5000 });
    const t0 = Date.now();
    const a = await join(host.id, { pcConfig, vanillaIceTimeout: 5000 });
    const elapsed = Date.now() - t0;
    expect(a.id).toBeTruthy();
    expect(elapsed).toBeLessThan(4000);
  });
});
