/**
 * CHECKLIST 44 (issue 17 defect 3): after the server disconnects a client
 * ("io server disconnect": a kick, a cut-off), it reconnects with backoff,
 * claims its host name again or rejoins its group, and tells the app
 * (disconnected$, then reconnected$); when it cannot (its name was taken
 * meanwhile), startFailed$ and errors$ say so and it stops.
 */
import type { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';
import { HostNameAlreadyExistsError } from '../../src/errors';
import { collect, next } from '../helpers/clientHarness';
import { useRealServer } from '../helpers/realServer';

jest.setTimeout(60_000);

const fast: Partial<PeerClientConfig> = { socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 400 } };

describe('the server disconnects a client (real server, real engine)', () => {
  const real = useRealServer();
  const kick = (id: string): void => {
    const socket = real.server.io.sockets.sockets.get(id);
    if (socket === undefined) throw new Error(`no socket ${id} on the server`);
    socket.disconnect(true);
  };
  const meshed = (client: PeerClient, size: number): Promise<unknown> =>
    next(client.peers$, (m) => m.size === size && [...m.values()].every((p) => p.connectionState === 'connected'), 15_000);

  async function group(): Promise<{ host: PeerClient; hostId: string; a: PeerClient; aId: string; b: PeerClient; bId: string }> {
    const { client: host, id: hostId } = await real.startHost('kicked', real.client(fast));
    const { client: a, id: aId } = await real.join(hostId, real.client(fast));
    const { client: b, id: bId } = await real.join(hostId, real.client(fast));
    for (const c of [host, a, b]) await meshed(c, 2);
    return { host, hostId, a, aId, b, bId };
  }

  it('a kicked member comes back and rejoins its group under its new id; a newcomer meshes with it', async () => {
    const { host, hostId, a, aId, b } = await group();
    const dropped = next(a.disconnected$, undefined, 5000);
    const back = next(a.reconnected$, undefined, 10_000);
    kick(aId);
    expect(await dropped).toBe('io server disconnect');
    const newId = await back;
    expect(newId).not.toBe(aId);
    expect(a.isRunning).toBe(true);
    // Like any drop, the group heard it leave; it is back under its new id, once, with no phantom.
    for (const c of [host, b]) {
      const peers = (await next(c.peers$, (m) => m.get(newId)?.connectionState === 'connected' && m.size === 2, 15_000)) as ReadonlyMap<string, unknown>;
      expect(peers.has(aId)).toBe(false);
    }
    await meshed(a, 2);
    const { client: n } = await real.join(hostId, real.client(fast));
    for (const c of [host, a, b, n]) await meshed(c, 3);
  });

  it('a kicked host comes back under its name at a new id, and a newcomer can join it', async () => {
    const { host, hostId, a, b } = await group();
    const dropped = next(host.disconnected$, undefined, 5000);
    const back = next(host.reconnected$, undefined, 10_000);
    kick(hostId);
    expect(await dropped).toBe('io server disconnect');
    const newId = await back;
    expect(host.isRunning).toBe(true);
    const probe = real.client();
    let hosts = await probe.listHosts();
    for (let i = 0; i < 100 && hosts[0]?.id !== newId; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      hosts = await probe.listHosts();
    }
    expect(hosts).toEqual([{ id: newId, name: 'kicked' }]);
    await real.join(newId, probe);
    await meshed(host, 1);
    // Its former members heard it leave (as for any drop of a host) and keep their own link.
    for (const c of [a, b]) {
      const peers = await next(c.peers$, (m) => !m.has(hostId) && m.size === 1, 10_000);
      expect([...peers.values()][0]!.connectionState).toBe('connected');
      expect(c.isRunning).toBe(true);
    }
  });

  it('a kicked host whose name was taken meanwhile reports it and stops', async () => {
    const { client: host, id: hostId } = await real.startHost(
      'contested',
      real.client({ socketOptions: { reconnectionDelay: 1000, reconnectionDelayMax: 1000 } }),
    );
    const errors = collect(host.errors$);
    const failed = next(host.startFailed$, undefined, 10_000);
    kick(hostId);
    await next(host.disconnected$, undefined, 5000);
    const thief = real.client();
    let taken = false;
    for (let i = 0; i < 100 && !taken; i += 1) {
      taken = await thief.startHost('contested').then(
        () => true,
        () => false,
      );
    }
    expect(taken).toBe(true);
    await failed;
    expect(errors.values.some((e) => e instanceof HostNameAlreadyExistsError)).toBe(true);
    expect(host.isRunning).toBe(false);
  });
});
