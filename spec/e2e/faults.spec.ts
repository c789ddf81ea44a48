/**
 * Faults with real processes: the real server, the real engine, coturn on
 * loopback, and raw sockets that misbehave. Each test states what the app sees.
 */
import { io, type Socket } from 'socket.io-client';
import type { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';
import { openPeerConnections } from '../helpers/engine';
import { useRealServer } from '../helpers/realServer';
import { attachChat } from '../helpers/chat';
import { collect, next } from '../helpers/clientHarness';
import { silentStun, type SilentStun } from '../helpers/silentStun';
import { startTurn, type Turn } from '../helpers/turn';

jest.setTimeout(60_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('faults with real peers', () => {
  const real = useRealServer();
  const make = (config: Partial<PeerClientConfig> = {}): PeerClient => real.client(config);
  const host = async (name: string, config: Partial<PeerClientConfig> = {}): Promise<{ client: PeerClient; id: string }> =>
    real.startHost(name, make(config));

  /** A raw socket.io client, disconnected after the test. */
  async function rawSocket(): Promise<Socket> {
    const s = io(real.server.url, { forceNew: true, transports: ['websocket'] });
    real.onCleanup(() => void s.disconnect());
    await new Promise<void>((r) => s.once('connect', () => r()));
    return s;
  }

  /** A raw socket.io client in the host's group (it sent `join`), for misbehaving. */
  async function rawMember(hostId: string): Promise<Socket> {
    const s = await rawSocket();
    s.emit('message', { type: 'join', to: hostId });
    return s;
  }

  it('the host leaves while a client joins: the joiner fails fast with HostLeftError and leaves nothing behind', async () => {
    const h = await host('leaving');
    // The host's app is slow to set a connection up, so the join is still pending when it leaves.
    h.client.addPcCreateHook(() => sleep(2000));
    const joiner = make({ p2pTimeout: 15_000 });
    const errors = collect(joiner.errors$);
    const failed = next(joiner.startFailed$, undefined, 5000);
    void joiner.startClient(h.id).catch(() => undefined); // settles only with the start
    await next(h.client.userConnecting$);
    const t0 = Date.now();
    await h.client.stop();
    await failed;
    expect(Date.now() - t0).toBeLessThan(2000); // not the 15 s start timeout
    expect(errors.values.map((e) => e.code)).toContain('HOST_LEFT');
    expect(joiner.isRunning).toBe(false);
  });

  it('a client disconnects between offer and answer: the host closes the half-made connection, close hooks run once', async () => {
    const h = await host('half');
    const closes: string[] = [];
    h.client.addPcCloseHook((id) => void closes.push(id));
    const joiner = make();
    // The joiner's app hangs in its create hook, so it never answers.
    joiner.addPcCreateHook(() => sleep(3000));
    void joiner.startClient(h.id).catch(() => undefined); // settles only with the start
    const joinerId = await next(h.client.userConnecting$);
    await next(joiner.userConnecting$); // the offer arrived
    await joiner.stop();
    await next(h.client.peers$, (p) => p.size === 0, 5000);
    await sleep(200);
    expect(closes).toEqual([joinerId]);
  });

  it('ICE cannot succeed (relay only, TURN down): the start fails at the start timeout with a typed error, closing once', async () => {
    const pcConfig: RTCConfiguration = {
      iceTransportPolicy: 'relay',
      iceServers: [{ urls: 'turn:127.0.0.1:9?transport=udp', username: 'x', credential: 'y' }],
    };
    const h = await host('no-relay', { pcConfig });
    const joiner = make({ pcConfig, p2pTimeout: 3000 });
    const errors = collect(joiner.errors$);
    const leaving = collect(joiner.userDisconnecting$);
    const hostLeaving = collect(h.client.userDisconnecting$);
    const failed = next(joiner.startFailed$, undefined, 8000);
    void joiner.startClient(h.id).catch(() => undefined); // settles only with the start
    await failed;
    expect(errors.values.map((e) => e.code)).toContain('START_TIMEOUT');
    expect(leaving.values).toEqual([h.id]);
    await next(h.client.peers$, (p) => p.size === 0, 5000);
    expect(hostLeaving.values).toHaveLength(1);
  });

  describe('with an unreachable STUN server', () => {
    let stun: SilentStun;
    beforeEach(async () => {
      stun = await silentStun();
    });
    afterEach(async () => {
      await stun.close();
    });

    it('vanilla ICE sends the SDP at the vanilla-ICE timeout with the candidates gathered so far, and the peers connect', async () => {
      const config = { pcConfig: { iceServers: [{ urls: stun.url }] }, vanillaIceTimeout: 1000, trickle: false };
      const h = await host('stun-vanilla', config);
      const chatHost = attachChat(h.client);
      let offerer: RTCPeerConnection | undefined;
      h.client.addPcCreateHook((_id, _isOffer, pc) => void (offerer = pc));
      const joiner = make(config);
      const chat = attachChat(joiner);
      const started = next(joiner.started$, undefined, 10_000);
      const t0 = Date.now();
      await joiner.startClient(h.id);
      await started;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950); // the host's offer waited for the timeout
      expect(stun.received()).toBeGreaterThan(0); // the engine did ask the STUN server, which never answered
      expect(offerer!.localDescription!.sdp).toContain('a=candidate:'); // the offer held the candidates gathered so far
      await chat.openTo([h.id]);
      chat.broadcast('through');
      await chatHost.receivedAtLeast(1);
      expect((await next(joiner.peers$)).get(h.id)!.mode).toBe('vanilla');
    });

    it('trickle ICE between rxpeer peers does not wait for it', async () => {
      const config = { pcConfig: { iceServers: [{ urls: stun.url }] }, vanillaIceTimeout: 5000 };
      const h = await host('stun-trickle', config);
      const joiner = make(config);
      const started = next(joiner.started$, undefined, 10_000);
      const t0 = Date.now();
      await joiner.startClient(h.id);
      await started;
      expect(Date.now() - t0).toBeLessThan(2500);
    });
  });

  describe('through coturn on loopback', () => {
    let turn: Turn;
    beforeAll(async () => {
      turn = await startTurn();
    });
    afterAll(async () => {
      await turn.stop();
    });

    it('relay-only peers connect through TURN and the chosen candidate pair is a relay', async () => {
      const pcConfig: RTCConfiguration = {
        iceTransportPolicy: 'relay',
        iceServers: [{ urls: turn.url, username: turn.username, credential: turn.credential }],
      };
      const h = await host('relay', { pcConfig });
      const joiner = make({ pcConfig });
      const pcs: RTCPeerConnection[] = [];
      joiner.addPcCreateHook((_id, _isOffer, pc) => void pcs.push(pc));
      const started = next(joiner.started$, undefined, 20_000);
      await joiner.startClient(h.id);
      await started;
      const stats = await pcs[0]!.getStats();
      const all = [...stats.values()] as Record<string, unknown>[];
      const pair = all.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated === true) ?? all.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded');
      expect(pair).toBeDefined();
      const local = all.find((s) => s.id === pair!.localCandidateId);
      expect(local?.candidateType).toBe('relay');
    });
  });

  it('duplicate joins make one connection per pair, and so do clients joining all at once', async () => {
    const h = await host('dups');
    const created = collect(h.client.pcCreate$);
    const member = await rawMember(h.id);
    member.emit('message', { type: 'join', to: h.id });
    member.emit('message', { type: 'join', to: h.id });
    await sleep(300);
    expect(created.values.map((e) => e.id)).toEqual([member.id]);
    expect((await next(h.client.peers$)).size).toBe(1);

    member.disconnect();
    await next(h.client.peers$, (p) => p.size === 0, 5000);
    // Four clients at once: joins race the host's `call me`s.
    const joiners = [make(), make(), make(), make()];
    const ids = await Promise.all(
      joiners.map(async (c) => {
        const started = next(c.started$, undefined, 20_000);
        await c.startClient(h.id);
        return started;
      }),
    );
    for (const c of joiners) {
      const peers = await next(c.peers$, (p) => p.size === 4 && [...p.values()].every((s) => s.connectionState === 'connected'), 15_000);
      expect([...peers.keys()].sort()).toEqual([h.id, ...ids].filter((id) => id !== c.clientId).sort());
    }
    expect(openPeerConnections()).toHaveLength(5 * 4);
  });

  it('an unsolicited offer, a call me not from the host, a bye from a stranger: ignored, no connection, no hook', async () => {
    const h = await host('strangers');
    const joiner = make();
    const js = next(joiner.started$, undefined, 10_000);
    await joiner.startClient(h.id);
    const joinerId = await js;
    const member = await rawMember(h.id);
    // The host tells the joiner to offer to the new member, as the protocol says.
    await next(h.client.peers$, (p) => p.size === 2);
    await next(joiner.peers$, (p) => p.size === 2);
    const stranger = await rawSocket();
    const hooks: string[] = [];
    h.client.addPcCreateHook((id) => void hooks.push(`host ${id}`));
    joiner.addPcCreateHook((id) => void hooks.push(`joiner ${id}`));
    const errors = collect(h.client.errors$);
    const before = openPeerConnections().length;
    member.emit('message', { type: 'offer', to: h.id, sdp: 'v=0' }); // the host never answers
    member.emit('message', { type: 'call me', to: joinerId, me: stranger.id }); // only the host may ask
    stranger.emit('message', { type: 'bye', to: joinerId }); // not in the group: the server drops it
    stranger.emit('message', { type: 'offer', to: joinerId, sdp: 'v=0' });
    await sleep(500);
    expect(hooks).toEqual([]);
    expect(errors.values).toEqual([]);
    expect(openPeerConnections()).toHaveLength(before);
    expect([...(await next(joiner.peers$)).keys()].sort()).toEqual([h.id, member.id].sort());
  });
});
