/**
 * Issue 17 on fakes: a pair's phase in `peers$` and `peerPhase$`, ICE
 * restarts of an rxpeer pair whose heartbeat went silent (spaced, bounded,
 * then the pair is made anew), recovery on the same connection, the control
 * frames of renegotiation, and the SDP helpers. (Real links: spec/e2e/heal-*.)
 */
import { InvalidConfigError } from '../../src/errors';
import { PeerClient } from '../../src/client/PeerClient';
import {
  DEFAULT_ICE_RESTART,
  iceRestartPolicy,
  linkHealth,
  sdpIceUfrag,
  sdpSessionId,
} from '../../src/client/link';
import type { PeerPhaseChange } from '../../src/client/link';
import { parseControlMessage } from '../../src/streams/control';
import { collect, harness, next, type Harness } from '../helpers/clientHarness';
import { FakePeerConnection, type FakeDataChannel } from '../helpers/fakePeerConnection';

const SDP = (session: string, ufrag: string): string =>
  `v=0\r\no=- ${session} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:${ufrag}\r\n`;

describe('links that heal (fakes)', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
    // SDP shaped like an engine's: one session id per connection, a new ICE ufrag per description.
    let ufrag = 0;
    jest.spyOn(FakePeerConnection.prototype, 'createOffer').mockImplementation(async function (
      this: FakePeerConnection,
    ) {
      await Promise.resolve();
      ufrag += 1;
      return { type: 'offer', sdp: SDP(String(this.n), `u${ufrag}`) };
    });
    jest.spyOn(FakePeerConnection.prototype, 'createAnswer').mockImplementation(async function (
      this: FakePeerConnection,
    ) {
      await Promise.resolve();
      ufrag += 1;
      return { type: 'answer', sdp: SDP(String(1000 + this.n), `u${ufrag}`) };
    });
  });
  afterEach(async () => {
    await h.disposeAll();
    jest.restoreAllMocks();
  });

  const fast = {
    heartbeatInterval: 10,
    heartbeatTimeout: 60,
    iceRestartGrace: 20,
    iceRestartInterval: 80,
    maxIceRestarts: 2,
  };

  async function pair(
    config = {},
  ): Promise<{ host: PeerClient; hostId: string; id: string; channel: FakeDataChannel }> {
    const host = h.make(config);
    const hs = next(host.started$);
    await host.startHost('room');
    const hostId = await hs;
    const member = h.make(config);
    const ms = next(member.started$);
    await member.startClient(hostId);
    const id = await ms;
    const channel = h.net.all[0]!.dataChannels[0] as FakeDataChannel;
    channel.open();
    return { host, hostId, id, channel };
  }

  const offersFrom = (hostId: string): number =>
    h.hub.sent.filter((s) => s.from === hostId && s.message.type === 'offer').length;

  it('shows each pair as connecting, then connected with no restarts, and closed once when it goes', async () => {
    const host = h.make();
    const phases = collect(host.peerPhase$);
    const hs = next(host.started$);
    await host.startHost('room');
    const hostId = await hs;
    const member = h.make();
    const ms = next(member.started$);
    await member.startClient(hostId);
    const id = await ms;
    const peers = await next(host.peers$, (m) => m.get(id)?.phase === 'connected');
    expect(peers.get(id)).toMatchObject({ phase: 'connected', restarts: 0 });
    const closed = next(host.peerPhase$, (c) => c.phase === 'closed');
    await member.stop();
    await closed;
    expect(phases.values.map((c) => c.phase)).toEqual(['connected', 'closed']);
  });

  it('restarts ICE when the heartbeat of an rxpeer peer goes silent, spaced by the interval, then closes and makes the pair anew', async () => {
    const { host, hostId, id, channel } = await pair(fast);
    const phases = collect(host.peerPhase$);
    const leaving = collect(host.userDisconnecting$);
    const before = offersFrom(hostId);
    channel.fire('message', { data: JSON.stringify({ t: 'ping', at: 1 }) });
    const first = await next(host.peerPhase$, (c) => c.phase === 'reconnecting', 2000);
    const t1 = Date.now();
    expect(first).toEqual<PeerPhaseChange>({ id, phase: 'reconnecting', restarts: 1 });
    expect(leaving.values).toEqual([]);
    await next(host.peers$, (m) => m.get(id)?.restarts === 2, 2000);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(fast.iceRestartInterval - 2);
    // The first restart offer went through the server (the control channel is silent), on the same connection.
    expect(offersFrom(hostId)).toBeGreaterThanOrEqual(before + 1);
    expect(leaving.values).toEqual([]);
    const closed = await next(host.peerPhase$, (c) => c.phase === 'closed', 2000);
    expect(closed.restarts).toBe(2);
    expect(leaving.values).toEqual([id]);
    expect(phases.values.map((c) => c.phase)).toEqual(['reconnecting', 'closed']);
    // Made anew: a fresh connection and offer (the peer is still in the group).
    await next(host.userConnecting$, undefined, 2000).catch(() => undefined);
    expect(h.net.all.length).toBeGreaterThanOrEqual(3);
  });

  it('recovers on the same connection when the peer is heard again after a restart', async () => {
    const { host, id, channel } = await pair(fast);
    const leaving = collect(host.userDisconnecting$);
    channel.fire('message', { data: JSON.stringify({ t: 'ping', at: 1 }) });
    await next(host.peerPhase$, (c) => c.phase === 'reconnecting', 2000);
    channel.fire('message', { data: JSON.stringify({ t: 'ping', at: 2 }) });
    const back = await next(host.peerPhase$, () => true, 2000);
    expect(back).toEqual<PeerPhaseChange>({ id, phase: 'connected', restarts: 1 });
    expect(leaving.values).toEqual([]);
    expect(h.net.all.filter((pc) => pc.signalingState !== 'closed').length).toBe(2);
  });

  it('never restarts a peer that does not speak on the control channel (Extreal): a silent pair stays as it is', async () => {
    const { host, id } = await pair(fast);
    const phases = collect(host.peerPhase$);
    await new Promise((r) =>
      setTimeout(r, fast.heartbeatTimeout + fast.iceRestartGrace + 2 * fast.iceRestartInterval),
    );
    expect(phases.values).toEqual([]);
    expect((await next(host.peers$)).get(id)?.phase).toBe('connected');
  });

  it('checks the restart options when the client is made', () => {
    expect(() => new PeerClient({ url: 'http://x', iceRestartGrace: -1 })).toThrow(InvalidConfigError);
    expect(() => new PeerClient({ url: 'http://x', iceRestartInterval: 0 })).toThrow(InvalidConfigError);
    expect(() => new PeerClient({ url: 'http://x', maxIceRestarts: 1.5 })).toThrow(InvalidConfigError);
    expect(iceRestartPolicy({})).toEqual(DEFAULT_ICE_RESTART);
    expect(iceRestartPolicy({ maxIceRestarts: 0 })).toEqual({ ...DEFAULT_ICE_RESTART, max: 0 });
  });
});

describe('link helpers and control frames', () => {
  it('reads the SDP session id and ICE ufrag', () => {
    expect(sdpSessionId(SDP('4611', 'abcd'))).toBe('4611');
    expect(sdpIceUfrag(SDP('4611', 'abcd'))).toBe('abcd');
    expect(sdpSessionId('offer-1')).toBeUndefined();
  });

  it('takes the link as up only when ICE is connected and the peer heard', () => {
    expect(linkHealth('connected', true)).toBe('up');
    expect(linkHealth('completed', true)).toBe('up');
    expect(linkHealth('connected', false)).toBe('down');
    expect(linkHealth('disconnected', true)).toBe('down');
    expect(linkHealth('checking', true)).toBe('down');
    expect(linkHealth('failed', true)).toBe('failed');
    // Heard within two heartbeats: the path works, whatever ICE says (an ICE restart still being answered).
    expect(linkHealth('checking', true, true)).toBe('up');
    expect(linkHealth('disconnected', false, true)).toBe('up');
  });

  it('parses the renegotiation frames and refuses malformed or oversized ones', () => {
    const sdp = SDP('1', 'u');
    expect(parseControlMessage(JSON.stringify({ t: 'sdp', kind: 'offer', sdp }))).toEqual({
      t: 'sdp',
      kind: 'offer',
      sdp,
    });
    expect(
      parseControlMessage(JSON.stringify({ t: 'sdp', kind: 'pranswer', sdp })),
    ).toBeUndefined();
    expect(
      parseControlMessage(JSON.stringify({ t: 'sdp', kind: 'offer', sdp: 'x'.repeat(70_000) })),
    ).toBeUndefined();
    expect(parseControlMessage(JSON.stringify({ t: 'cand', c: null }))).toEqual({
      t: 'cand',
      c: null,
    });
    expect(
      parseControlMessage(
        JSON.stringify({
          t: 'cand',
          c: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0' },
        }),
      ),
    ).toMatchObject({
      t: 'cand',
      c: { sdpMid: '0' },
    });
    expect(parseControlMessage(JSON.stringify({ t: 'cand', c: { candidate: 5 } }))).toBeUndefined();
    expect(
      parseControlMessage(JSON.stringify({ t: 'nego', kinds: ['video', 'bogus', 'audio'] })),
    ).toEqual({ t: 'nego', kinds: ['audio', 'video'] });
    expect(
      parseControlMessage(JSON.stringify({ t: 'ping', at: 1, pad: 'x'.repeat(2000) })),
    ).toBeUndefined();
  });
});
