import { timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { PeerClient } from '../../src/client/PeerClient';
import { heartbeatLost } from '../../src/operators/heartbeatLost';
import { collect, harness, next, settle, type Harness } from '../helpers/clientHarness';
import type { FakeDataChannel } from '../helpers/fakePeerConnection';

describe('trickle ICE and the control channel (fakes)', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.disposeAll();
  });

  async function host(config = {}): Promise<{ host: PeerClient; hostId: string }> {
    const c = h.make(config);
    const started = next(c.started$);
    await c.startHost('room');
    return { host: c, hostId: await started };
  }

  async function join(hostId: string, config = {}): Promise<{ client: PeerClient; id: string }> {
    const c = h.make(config);
    const started = next(c.started$);
    await c.startClient(hostId);
    return { client: c, id: await started };
  }

  it('uses trickle between rxpeer peers: the offer does not wait for gathering, candidates follow', async () => {
    h.net.options = { gathering: 'never' };
    const { host: hc, hostId } = await host();
    const { id } = await join(hostId);
    const peers = await next(hc.peers$, (m) => m.get(id)?.iceConnectionState === 'connected');
    expect(peers.get(id)!.mode).toBe('trickle');
    const offer = h.hub.sent.find((s) => s.message.type === 'offer')!.message;
    expect(offer.caps).toEqual(['trickle']);
    expect(offer.sdp).toBe('offer-1'); // not gathered: no candidates inside
  });

  it('relays each local candidate and the end of candidates', async () => {
    const { hostId } = await host();
    const { id } = await join(hostId);
    await settle(5);
    const candidates = h.hub.sent.filter((s) => s.message.type === 'candidate');
    expect(candidates.map((s) => `${s.from}→${String(s.message.to)} ${JSON.stringify(s.message.candidate)}`).sort()).toEqual(
      [
        `${hostId}→${id} {"candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}`,
        `${hostId}→${id} null`,
        `${id}→${hostId} {"candidate":"candidate:2","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}`,
        `${id}→${hostId} null`,
      ].sort(),
    );
    // Each side applied the other's candidate, then the end of candidates, in order.
    expect(h.net.all.map((pc) => pc.candidates.map((c) => c?.candidate ?? null))).toEqual([
      ['candidate:2', null],
      ['candidate:1', null],
    ]);
  });

  it('buffers candidates that come before the offer and applies them in order after the remote description', async () => {
    const { hostId } = await host();
    const client = h.make();
    await client.startClient(hostId);
    await settle(5);
    const id = client.clientId!;
    const cand = (n: number): Record<string, unknown> => ({ candidate: `candidate:x${n}`, sdpMid: '0', sdpMLineIndex: 0 });
    h.hub.inject(id, 'message', { type: 'candidate', from: 'px', to: id, candidate: cand(1) });
    h.hub.inject(id, 'message', { type: 'candidate', from: 'px', to: id, candidate: cand(2) });
    h.hub.inject(id, 'message', { type: 'candidate', from: 'px', to: id, candidate: null });
    await settle(2);
    expect(h.net.all.filter((pc) => pc.candidates.some((c) => c?.candidate?.startsWith('candidate:x')))).toEqual([]);
    h.hub.inject(id, 'message', { type: 'offer', from: 'px', to: id, sdp: 'offer-px', caps: ['trickle'] });
    await settle(5);
    const pc = h.net.all.find((p) => p.remoteDescription?.sdp === 'offer-px')!;
    expect(pc.candidates.map((c) => c?.candidate ?? null)).toEqual(['candidate:x1', 'candidate:x2', null]);
  });

  it('keeps vanilla ICE with a peer that announces no capabilities (an Extreal peer), with complete SDPs', async () => {
    const { host: hc, hostId } = await host();
    const { id: vanilla } = await join(hostId, { trickle: false });
    const { id: modern } = await join(hostId);
    await next(hc.peers$, (m) => m.size === 2);
    const modes = (c: PeerClient): Promise<Record<string, string>> =>
      next(c.peers$, (m) => m.size === 2).then((m) => Object.fromEntries([...m].map(([k, v]) => [k, v.mode])));
    expect(await modes(hc)).toEqual({ [vanilla]: 'vanilla', [modern]: 'trickle' });
    expect(await modes(h.clients[1]!)).toEqual({ [hostId]: 'vanilla', [modern]: 'vanilla' });
    expect(await modes(h.clients[2]!)).toEqual({ [hostId]: 'trickle', [vanilla]: 'vanilla' });
    // Nothing trickled to or from the vanilla peer; every SDP it saw was gathered.
    const touching = h.hub.sent.filter((s) => s.from === vanilla || s.message.to === vanilla);
    expect(touching.filter((s) => s.message.type === 'candidate')).toEqual([]);
    expect(touching.filter((s) => s.message.type === 'offer' || s.message.type === 'answer').every((s) => String(s.message.sdp).endsWith('+cands'))).toBe(
      true,
    );
    // The vanilla peer's join carried no caps.
    expect(h.hub.sent.find((s) => s.from === vanilla && s.message.type === 'join')!.message.caps).toEqual([]);
  });

  it('passes the newcomer capabilities along with call me', async () => {
    const { hostId } = await host();
    await join(hostId);
    await join(hostId);
    const callMe = h.hub.sent.find((s) => s.message.type === 'call me')!;
    expect(callMe.message.caps).toEqual(['trickle']);
  });

  it('closes a peer once when its heartbeat goes silent', async () => {
    const { host: hc, hostId } = await host({ heartbeatInterval: 10, heartbeatTimeout: 60 });
    const { id } = await join(hostId);
    const leaving = collect(hc.userDisconnecting$);
    const channel = h.net.all[0]!.dataChannels[0] as FakeDataChannel;
    expect(channel.label).toBe('rxpeer-control');
    channel.open();
    channel.fire('message', { data: JSON.stringify({ t: 'ping', at: 1 }) });
    expect(channel.sent).toContain(JSON.stringify({ t: 'pong', at: 1 }));
    // A forged pong is ignored; the answer to a ping this side sent gives the RTT.
    channel.fire('message', { data: JSON.stringify({ t: 'pong', at: -1e308 }) });
    const ping = await next(timer(0, 2), () => channel.sent.some((s) => s.includes('"ping"')), 1000).then(
      () => JSON.parse(channel.sent.find((s) => s.includes('"ping"'))!) as { at: number },
    );
    channel.fire('message', { data: JSON.stringify({ t: 'pong', at: ping.at }) });
    const rtt = await next(hc.peers$, (m) => m.get(id)?.rtt !== undefined);
    expect(rtt.get(id)!.rtt).toBeGreaterThanOrEqual(0);
    expect(rtt.get(id)!.rtt).toBeLessThan(1000);
    await next(hc.userDisconnecting$, undefined, 1000);
    await settle(100);
    expect(leaving.values).toEqual([id]);
  });

  it('never times out a peer that does not speak the heartbeat', async () => {
    const { host: hc, hostId } = await host({ heartbeatInterval: 5, heartbeatTimeout: 20 });
    await join(hostId);
    const channel = h.net.all[0]!.dataChannels[0] as FakeDataChannel;
    channel.open();
    await settle(80);
    expect((await next(hc.peers$)).size).toBe(1);
  });

  it('closes the peer when the remote closes the control channel', async () => {
    const { host: hc, hostId } = await host();
    const { id } = await join(hostId);
    const channel = h.net.all[0]!.dataChannels[0] as FakeDataChannel;
    const leaving = next(hc.userDisconnecting$);
    channel.open();
    channel.close();
    await expect(leaving).resolves.toBe(id);
  });

  it('opens no control channel when switched off', async () => {
    const { hostId } = await host({ controlChannel: false });
    await join(hostId);
    expect(h.net.all[0]!.channels).toEqual([]);
  });
});

describe('heartbeatLost', () => {
  it('emits once, timeout frames after the last message, and never for a peer never heard', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const received = hot('--p--p--p----------');
      expectObservable(received.pipe(heartbeatLost(5, scheduler))).toBe('-------------(x|)', { x: undefined });
      expectSubscriptions(received.subscriptions).toBe('^------------!');
      expectObservable(hot('-------------------').pipe(heartbeatLost(5, scheduler))).toBe('-------------------');
    });
  });
});
