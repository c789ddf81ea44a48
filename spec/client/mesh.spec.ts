import { HookError, HostNameAlreadyExistsError, InvalidStateError, type RxpeerError } from '../../src/errors';
import type { PeerClient } from '../../src/client/PeerClient';
import { collect, harness, next, settle, type Harness } from '../helpers/clientHarness';
import type { FakePeerConnection } from '../helpers/fakePeerConnection';

describe('PeerClient mesh flows (fake socket, fake peer connections)', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.disposeAll();
  });

  async function startHost(name = 'room'): Promise<{ host: PeerClient; hostId: string }> {
    const host = h.make();
    const started = next(host.started$);
    await host.startHost(name);
    return { host, hostId: await started };
  }

  async function join(hostId: string): Promise<{ client: PeerClient; id: string }> {
    const client = h.make();
    const started = next(client.started$);
    await client.startClient(hostId);
    return { client, id: await started };
  }

  /** Messages of one pair, in order, as `type from→to`. */
  const pair = (a: string, b: string): string[] =>
    h.hub.trace().filter((line) => line.includes(`${a}→${b}`) || line.includes(`${b}→${a}`));

  it('a host and three clients joining one after another produce exactly the full-mesh message sequence', async () => {
    const { host, hostId } = await startHost();
    const hostConnecting = collect(host.userConnecting$);
    const ids: string[] = [];
    const connecting: string[][] = [];
    for (let i = 0; i < 3; i += 1) {
      const before = h.hub.sent.length;
      const { client, id } = await join(hostId);
      const seen = collect(client.userConnecting$);
      await settle(5);
      seen.stop();
      // Everything this join caused, as a multiset.
      const caused = h.hub.trace(undefined, before).sort();
      const expected = [
        `join ${id}→${hostId}`,
        `offer ${hostId}→${id}`,
        `answer ${id}→${hostId}`,
        `done ${hostId}→${id}`,
        ...ids.flatMap((m) => [`call me ${hostId}→${m} me=${id}`, `offer ${m}→${id}`, `answer ${id}→${m}`, `done ${m}→${id}`]),
      ].sort();
      expect(caused).toEqual(expected);
      for (const m of ids) expect(pair(m, id)).toEqual([`offer ${m}→${id}`, `answer ${id}→${m}`, `done ${m}→${id}`]);
      ids.push(id);
      connecting.push(seen.values);
    }
    expect(hostConnecting.values).toEqual(ids);
    // Every client ends up with a connected peer connection to every other member.
    for (const client of h.clients) {
      const peers = await next(client.peers$, (m) => m.size === 3 && [...m.values()].every((p) => p.iceConnectionState === 'connected'));
      expect(peers.size).toBe(3);
    }
    expect(h.net.open()).toHaveLength(12); // 6 pairs, two ends each
  });

  it('tells a newcomer userConnecting once per peer already there', async () => {
    const { hostId } = await startHost();
    const a = await join(hostId);
    const b = h.make();
    const seen = collect(b.userConnecting$);
    const started = next(b.started$);
    await b.startClient(hostId);
    await started;
    await next(b.peers$, (m) => m.size === 2);
    expect(seen.values.sort()).toEqual([hostId, a.id].sort());
  });

  it('when a member stops, it says bye and every other member closes its connection to it once', async () => {
    const { host, hostId } = await startHost();
    const a = await join(hostId);
    const b = await join(hostId);
    await next(b.client.peers$, (m) => m.size === 2);
    const hostLeaving = collect(host.userDisconnecting$);
    const bLeaving = collect(b.client.userDisconnecting$);
    const closes: string[] = [];
    b.client.addPcCloseHook((id) => void closes.push(`b:${id}`));
    host.addPcCloseHook((id) => void closes.push(`host:${id}`));

    await a.client.stop();
    await next(b.client.peers$, (m) => m.size === 1);
    await next(host.peers$, (m) => m.size === 1);
    await settle(5);
    expect(h.hub.trace((m) => m.type === 'bye').sort()).toEqual([`bye ${a.id}→${b.id}`, `bye ${a.id}→${hostId}`].sort());
    expect(hostLeaving.values).toEqual([a.id]);
    expect(bLeaving.values).toEqual([a.id]);
    expect(closes.sort()).toEqual([`b:${a.id}`, `host:${a.id}`].sort());
    expect(a.client.isRunning).toBe(false);
    expect(h.net.open()).toHaveLength(2); // host <-> b remains
  });

  it('when the host stops, every client closes its connection to the host', async () => {
    const { host, hostId } = await startHost();
    const a = await join(hostId);
    const b = await join(hostId);
    const leaving = collect(a.client.userDisconnecting$);
    await host.stop();
    await next(a.client.peers$, (m) => !m.has(hostId));
    await next(b.client.peers$, (m) => !m.has(hostId));
    await settle(5);
    expect(leaving.values).toEqual([hostId]);
    expect(h.hub.hosts.size).toBe(0);
    expect(h.net.open()).toHaveLength(2); // a <-> b
  });

  it('runs async create hooks in the order added, each before any negotiation on that connection', async () => {
    const { host, hostId } = await startHost();
    const order: string[] = [];
    host.addPcCreateHook(async (id, isOffer, pc) => {
      order.push(`1 start ${isOffer} local=${String(pc.localDescription)}`);
      await settle(10);
      order.push('1 end');
    });
    host.addPcCreateHook((_id, _isOffer, pc) => {
      order.push(`2 local=${String(pc.localDescription)}`);
      pc.createDataChannel('app');
    });
    await join(hostId);
    expect(order).toEqual(['1 start true local=null', '1 end', '2 local=null']);
    // rxpeer's control channel comes after the app's channels.
    expect(h.net.all[0]!.channels).toEqual(['app', 'rxpeer-control']);
  });

  it('reports a hook that throws or rejects on errors$ and still forms the mesh', async () => {
    const { host, hostId } = await startHost();
    const errors = collect(host.errors$);
    host.addPcCreateHook(() => {
      throw new Error('boom');
    });
    host.addPcCreateHook(() => Promise.reject(new Error('async boom')));
    const a = await join(hostId);
    expect(a.id).toBeTruthy();
    expect(errors.values).toHaveLength(2);
    expect(errors.values.every((e) => e instanceof HookError && e.code === 'HOOK_FAILED')).toBe(true);
    expect(errors.values.map((e) => e.message)).toEqual([
      expect.stringContaining('boom'),
      expect.stringContaining('async boom'),
    ]);
  });

  it('rejects startHost with HostNameAlreadyExistsError on 409 and leaves nothing running', async () => {
    await startHost('taken');
    const second = h.make();
    await expect(second.startHost('taken')).rejects.toBeInstanceOf(HostNameAlreadyExistsError);
    expect(second.isRunning).toBe(false);
    expect(second.role).toBe('none');
    const socket = [...h.hub.sockets.values()];
    expect(socket).toHaveLength(1);
  });

  it('lists hosts', async () => {
    const { hostId } = await startHost('alpha');
    const client = h.make();
    await expect(client.listHosts()).resolves.toEqual([{ id: hostId, name: 'alpha' }]);
  });

  it('refuses a second start while running', async () => {
    const { host } = await startHost('one');
    await expect(host.startHost('two')).rejects.toBeInstanceOf(InvalidStateError);
    await expect(host.startClient('x')).rejects.toBeInstanceOf(InvalidStateError);
    expect(host.role).toBe('host');
  });

  it('starts again after stop', async () => {
    const { host } = await startHost('again');
    await host.stop();
    const started = next(host.started$);
    await host.startHost('again');
    await expect(started).resolves.toBeTruthy();
    expect(h.hub.hosts.get('again')).toBe(await started);
  });

  it('exposes derived read-only state', async () => {
    const { host, hostId } = await startHost('state');
    expect(host.role).toBe('host');
    expect(host.hostId).toBe(hostId);
    const { client, id } = await join(hostId);
    expect(client.role).toBe('client');
    expect(client.hostId).toBe(hostId);
    expect(client.clientId).toBe(id);
    await client.stop();
    expect(client.role).toBe('none');
    expect(client.clientId).toBeUndefined();
  });

  it('renegotiates a pair whose ICE fails (the offering side offers again), and gives up when the new one fails before connecting', async () => {
    const { host, hostId } = await startHost();
    const { client, id } = await join(hostId);
    const leaving = collect(host.userDisconnecting$);
    const clientLeaving = collect(client.userDisconnecting$);
    const closes: string[] = [];
    host.addPcCloseHook((peer) => void closes.push(peer));
    const first = h.net.all[0]!;
    first.setIce('failed');
    first.setIce('closed');
    // A fresh connection, offered again, replaces the failed one on both sides.
    await next(host.peers$, (m) => m.get(id)?.iceConnectionState === 'connected' && h.net.all.length === 4);
    expect(first.signalingState).toBe('closed');
    expect(leaving.values).toEqual([id]);
    expect(closes).toEqual([id]);
    expect(clientLeaving.values).toEqual([hostId]); // the client's old connection was replaced
    expect(h.net.open()).toHaveLength(2);

    // The link worked, so a later failure is renegotiated again; this time the new
    // connection fails before it connects, and the host gives up on the pair.
    const hostPcs = collect(host.pcCreate$);
    const failAtOnce = host.pcCreate$.subscribe(({ pc }) => (pc as unknown as FakePeerConnection).setIce('failed'));
    h.net.all[2]!.setIce('failed');
    await next(host.peers$, (m) => m.size === 0);
    await settle(5);
    failAtOnce.unsubscribe();
    expect(hostPcs.values).toHaveLength(1);
    expect(leaving.values).toEqual([id, id, id]);
    expect(closes).toEqual([id, id, id]);
  });

  it('renegotiates a connection that is not up within pairTimeout, once, then closes it', async () => {
    const host = h.make({ pairTimeout: 40 });
    const started = next(host.started$);
    await host.startHost('stuck');
    const hostId = await started;
    h.net.options = { gathering: 'instant', connect: false };
    const created = collect(host.pcCreate$);
    const leaving = collect(host.userDisconnecting$);
    const client = h.make();
    void client.startClient(hostId).catch(() => undefined); // this start never completes
    await next(host.peers$, (m) => m.size === 0 && created.values.length === 2, 2000);
    expect(created.values.map((e) => e.isOffer)).toEqual([true, true]);
    expect(leaving.values).toHaveLength(2);
    // The client took the second offer as a replacement of the first.
    expect(h.net.all.filter((pc) => pc.remoteDescription?.type === 'offer')).toHaveLength(2);
    expect(h.net.open()).toHaveLength(1); // the client's replacement, until its own start times out
  });

  it('does not renegotiate from the answering side: its failed connection is closed once', async () => {
    const { hostId } = await startHost();
    const { client } = await join(hostId);
    const leaving = collect(client.userDisconnecting$);
    h.net.all[1]!.setIce('failed');
    await next(client.peers$, (m) => m.size === 0);
    await settle(5);
    expect(leaving.values).toEqual([hostId]);
    expect(h.net.all).toHaveLength(2);
  });

  it('reports a failed negotiation step, closes that peer, and keeps serving', async () => {
    const { host, hostId } = await startHost();
    const errors = collect(host.errors$);
    const closes: string[] = [];
    host.addPcCloseHook((peer) => void closes.push(peer));
    h.net.options = { gathering: 'instant', failCreate: true };
    const client = h.make();
    void client.startClient(hostId).catch(() => undefined); // this start never completes
    await next(host.errors$, (e: RxpeerError) => e.code === 'NEGOTIATION_FAILED');
    await settle(5);
    expect(closes).toHaveLength(1);
    expect(errors.values[0]!.message).toContain('fake createOffer failure');
    expect(h.net.all[0]!.signalingState).toBe('closed');
    // The host still serves a later joiner.
    h.net.options = { gathering: 'instant' };
    await expect(join(hostId)).resolves.toBeTruthy();
  });

  it('makes one peer connection per pair when join is duplicated', async () => {
    const { host, hostId } = await startHost();
    const errors = collect(host.errors$);
    const { id } = await join(hostId);
    h.hub.inject(hostId, 'message', { type: 'join', from: id, to: hostId });
    h.hub.inject(hostId, 'message', { type: 'join', from: id, to: hostId });
    await settle(5);
    expect(h.net.all.filter((pc) => pc.localDescription?.sdp?.startsWith('offer'))).toHaveLength(1);
    expect(errors.values.map((e) => e.code)).toEqual(['INVALID_MESSAGE', 'INVALID_MESSAGE']);
  });

  it('asks only one end of a pair to offer when two joins race (one connection per pair)', async () => {
    const { hostId } = await startHost();
    const a = h.make();
    const b = h.make();
    const started = Promise.all([next(a.started$), next(b.started$)]);
    await Promise.all([a.startClient(hostId), b.startClient(hostId)]);
    const [aId, bId] = await started;
    await next(a.peers$, (m) => m.size === 2 && [...m.values()].every((p) => p.iceConnectionState === 'connected'));
    await next(b.peers$, (m) => m.size === 2 && [...m.values()].every((p) => p.iceConnectionState === 'connected'));
    expect(h.hub.trace((m) => m.type === 'call me')).toHaveLength(1);
    expect(h.hub.trace((m) => m.type === 'offer' && (m.to === aId || m.to === bId)).filter((l) => !l.startsWith(`offer ${hostId}`))).toHaveLength(1);
  });
});
