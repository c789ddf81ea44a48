import { TestScheduler } from 'rxjs/testing';
import { PeerClient } from '../../src/client/PeerClient';
import {
  InvalidConfigError,
  AckTimeoutError,
  ClientDisposedError,
  ClientStoppedError,
  HostLeftError,
  InvalidArgumentError,
  SignalingConnectError,
  StartTimeoutError,
  type RxpeerError,
} from '../../src/errors';
import { FakeHub, type FakeSocket } from '../helpers/fakeSignaling';
import { FakeNetwork } from '../helpers/fakePeerConnection';
import { collect, harness, next, settle, type Harness } from '../helpers/clientHarness';

describe('PeerClient: bad input, faults and teardown', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.disposeAll();
  });

  async function hostAndClient(): Promise<{ host: PeerClient; hostId: string; client: PeerClient; id: string }> {
    const host = h.make();
    const hs = next(host.started$);
    await host.startHost('room');
    const hostId = await hs;
    const client = h.make();
    const cs = next(client.started$);
    await client.startClient(hostId);
    return { host, hostId, client, id: await cs };
  }

  it('drops malformed messages with a typed error and ignores unknown types, without throwing', async () => {
    const { host, hostId, client, id } = await hostAndClient();
    const errors = collect(client.errors$);
    const connecting = collect(client.userConnecting$);
    for (const payload of [
      null,
      'text',
      42,
      [],
      {},
      { type: 7, from: hostId, to: id },
      { type: 'offer', to: id }, // no from
      { type: 'offer', from: 'x', to: id, sdp: 12 },
      { type: 'call me', from: hostId, to: id },
      { type: 'call me', from: hostId, to: id, me: { evil: true } },
      { type: 'candidate', from: hostId, to: id, candidate: { candidate: 3 } },
    ]) {
      h.hub.inject(id, 'message', payload);
    }
    h.hub.inject(id, 'message', { type: 'future thing', from: hostId, to: id, extra: 1 });
    h.hub.inject(id, 'user disconnected', { nope: 1 });
    await settle(5);
    expect(errors.values).toHaveLength(12);
    expect(errors.values.every((e) => e.code === 'INVALID_MESSAGE')).toBe(true);
    expect(connecting.values).toEqual([]);
    expect(client.isRunning).toBe(true);
    expect(host.isRunning).toBe(true);
  });

  it('ignores a call me not from its host, an offer sent to a host, and a bye for an unknown id', async () => {
    const { host, hostId, client, id } = await hostAndClient();
    const created = h.net.all.length;
    const hooks: string[] = [];
    client.addPcCreateHook((peer) => void hooks.push(peer));
    host.addPcCreateHook((peer) => void hooks.push(peer));
    const events = [collect(client.userConnecting$), collect(client.userDisconnecting$), collect(host.userConnecting$)];
    h.hub.inject(id, 'message', { type: 'call me', from: 'stranger', to: id, me: 'victim' });
    h.hub.inject(hostId, 'message', { type: 'offer', from: 'stranger', to: hostId, sdp: 'v=0' });
    h.hub.inject(id, 'message', { type: 'bye', from: 'nobody', to: id });
    h.hub.inject(id, 'message', { type: 'answer', from: 'nobody', to: id, sdp: 'v=0' });
    h.hub.inject(id, 'user disconnected', { id: 'nobody' });
    await settle(5);
    expect(h.net.all.length).toBe(created);
    expect(hooks).toEqual([]);
    expect(events.map((e) => e.values)).toEqual([[], [], []]);
  });

  it('leaves no socket listener, peer connection listener or open peer connection after stop and dispose', async () => {
    const { host, client } = await hostAndClient();
    const sockets = [...h.hub.sockets.values()] as FakeSocket[];
    expect(sockets.every((s) => s.listenerCount() > 0)).toBe(true);
    await client.stop();
    await host.dispose();
    await settle(5);
    expect(sockets.map((s) => s.listenerCount())).toEqual([0, 0]);
    expect(sockets.map((s) => s.connected)).toEqual([false, false]);
    expect(h.net.open()).toEqual([]);
    expect(h.net.all.map((pc) => pc.listenerCount())).toEqual([0, 0]);
    // A disposed client completes its streams and refuses work.
    let completed = false;
    host.peers$.subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    await expect(host.startHost('x')).rejects.toBeInstanceOf(ClientDisposedError);
    // stop() and dispose() are idempotent.
    await client.stop();
    await host.dispose();
  });

  it('runs close hooks once each on stop and sends bye to every peer', async () => {
    const { host, hostId, id } = await hostAndClient();
    const closes: string[] = [];
    host.addPcCloseHook(async (peer) => {
      await settle(2);
      closes.push(peer);
    });
    await host.stop();
    await host.stop();
    expect(closes).toEqual([id]);
    expect(h.hub.trace((m) => m.type === 'bye')).toEqual([`bye ${hostId}→${id}`]);
  });

  it('cancels a start in progress on stop: the pending gather, the start timeout and the socket go away', async () => {
    const host = h.make();
    await host.startHost('room');
    const hostId = h.hub.hosts.get('room')!;
    h.net.options = { gathering: 'never' };
    const client = h.make({ trickle: false }); // vanilla ICE: the host waits for gathering
    const failed = collect(client.startFailed$);
    void client.startClient(hostId).catch(() => undefined); // settles with the start
    await settle(5);
    expect(h.net.all).toHaveLength(1); // the host's offerer side, gathering forever
    await client.stop();
    await host.stop();
    expect(h.net.open()).toEqual([]);
    expect(failed.values).toEqual([]);
    expect(h.hub.sockets.size).toBe(0);
  });

  it('fails fast with HostLeftError when the host leaves while a client joins', async () => {
    const host = h.make();
    await host.startHost('room');
    const hostId = h.hub.hosts.get('room')!;
    h.net.options = { gathering: 'never' };
    const client = h.make({ p2pTimeout: 60_000, trickle: false });
    const errors = collect(client.errors$);
    const failed = next(client.startFailed$);
    void client.startClient(hostId).catch(() => undefined); // settles with the start
    await settle(2);
    h.hub.drop(hostId);
    await failed;
    expect(errors.values.map((e) => e.constructor)).toContain(HostLeftError);
    expect(client.isRunning).toBe(false);
    await host.stop();
  });

  it('rejects with a typed timeout when the server never acknowledges', async () => {
    h.hub.ack = false;
    const client = h.make({ requestTimeout: 30 });
    await expect(client.listHosts()).rejects.toBeInstanceOf(AckTimeoutError);
    await expect(client.startHost('x')).rejects.toMatchObject({ code: 'ACK_TIMEOUT', request: 'create host' });
    expect(client.isRunning).toBe(false);
  });

  it('reports connectFailed and rejects with SignalingConnectError when the server cannot be reached', async () => {
    h.hub.refuseConnections = 'ECONNREFUSED';
    const client = h.make();
    const reasons = collect(client.connectFailed$);
    const error = await client.startHost('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignalingConnectError);
    expect((error as SignalingConnectError).reason).toBe('ECONNREFUSED');
    expect(reasons.values).toEqual(['ECONNREFUSED']);
    expect(client.isRunning).toBe(false);
    // listHosts too, and the failed socket is dropped (no retry storm).
    await expect(client.listHosts()).rejects.toBeInstanceOf(SignalingConnectError);
    expect(reasons.values).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
  });

  it('reports disconnected when an established connection drops, but not for its own stop', async () => {
    const { client, id } = await hostAndClient();
    const reasons = collect(client.disconnected$);
    h.hub.drop(id);
    await settle(2);
    expect(reasons.values).toEqual(['transport close']);
    await client.stop();
    await settle(2);
    expect(reasons.values).toEqual(['transport close']);
  });

  it('rejects pending requests with ClientStoppedError when stopped', async () => {
    h.hub.ack = false;
    const client = h.make({ requestTimeout: 10_000 });
    const pending = client.listHosts();
    await settle(2);
    await client.stop();
    await expect(pending).rejects.toBeInstanceOf(ClientStoppedError);
  });

  it('checks its arguments', () => {
    expect(() => new PeerClient({ url: '' })).toThrow(InvalidArgumentError);
    expect(() => new PeerClient({ url: 'http://x', p2pTimeout: -1 })).toThrow(InvalidConfigError);
    const client = h.make();
    return Promise.all([
      expect(client.startHost('  ')).rejects.toBeInstanceOf(InvalidArgumentError),
      expect(client.startClient('')).rejects.toBeInstanceOf(InvalidArgumentError),
    ]);
  });
});

describe('PeerClient start timeout (virtual time)', () => {
  it('emits startFailed and stops the client when the start does not complete within p2pTimeout', async () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const hub = new FakeHub();
    const net = new FakeNetwork();
    // Connected beforehand: the fake hub connects in a microtask, which virtual time cannot see.
    const socket = hub.createSocket();
    socket.connect();
    await settle(0);
    const client = new PeerClient(
      { url: 'http://fake', p2pTimeout: 15_000 },
      { scheduler, createPeerConnection: net.factory, createSocket: () => socket },
    );
    const failures: number[] = [];
    const errors: RxpeerError[] = [];
    client.startFailed$.subscribe(() => failures.push(scheduler.now()));
    client.errors$.subscribe((e) => errors.push(e));
    scheduler.run(({ flush }) => {
      client.startClient$('no-such-host').subscribe({ error: () => undefined });
      scheduler.schedule(() => expect(failures).toEqual([]), 14_999);
      flush();
    });
    expect(failures).toEqual([15_000]);
    expect(errors[0]).toBeInstanceOf(StartTimeoutError);
    expect((errors[0] as StartTimeoutError).timeoutMs).toBe(15_000);
    expect(client.isRunning).toBe(false);
    expect(socket.connected).toBe(false);
    expect(socket.listenerCount()).toBe(0);
    await client.dispose();
  });
});
