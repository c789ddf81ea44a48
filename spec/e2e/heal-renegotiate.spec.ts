/**
 * Issue 17, renegotiation without the server: once an rxpeer pair is
 * connected, a track either side adds or removes is negotiated over the
 * rxpeer-control channel with fixed roles (the side that offered first
 * offers again; the other asks it to), on the same connection, while the
 * signaling server is down. Real server, real engine (@roamhq/wrtc).
 */
import type * as Wrtc from '@roamhq/wrtc';
import { filter, fromEvent, map } from 'rxjs';
import type { PeerClient } from '../../src/client/PeerClient';
import type { PcCreateEvent } from '../../src/client/types';
import { collect, next } from '../helpers/clientHarness';
import { useRealServer } from '../helpers/realServer';

jest.setTimeout(60_000);

const wrtc: typeof Wrtc =
  (globalThis as { __rxpeerWrtc?: typeof Wrtc }).__rxpeerWrtc ??
  (require('@roamhq/wrtc') as typeof Wrtc);

describe('renegotiation over the control channel (real engine)', () => {
  const real = useRealServer();

  /** A host and a member, connected, each side's peer connection, and the server closed. */
  async function pairWithoutServer(): Promise<{
    host: PeerClient;
    member: PeerClient;
    hostPc: RTCPeerConnection;
    memberPc: RTCPeerConnection;
  }> {
    const host = real.client();
    const member = real.client();
    const hostPcs = collect(host.pcCreate$);
    const memberPcs = collect(member.pcCreate$);
    const { id: hostId } = await real.startHost('renegotiate', host);
    await real.join(hostId, member);
    for (const c of [host, member]) {
      await next(
        c.peers$,
        (m) =>
          m.size === 1 &&
          [...m.values()].every((p) => p.phase === 'connected' && p.rtt !== undefined),
        15_000,
      );
    }
    const hostPc = (hostPcs.values[0] as PcCreateEvent).pc;
    const memberPc = (memberPcs.values[0] as PcCreateEvent).pc;
    hostPcs.stop();
    memberPcs.stop();
    await real.server.close();
    return { host, member, hostPc, memberPc };
  }

  const videoTrack = (): { track: MediaStreamTrack; stop: () => void } => {
    const source = new wrtc.nonstandard.RTCVideoSource();
    const track = source.createTrack() as unknown as MediaStreamTrack;
    return { track, stop: () => track.stop() };
  };

  const remoteTrack = (pc: RTCPeerConnection): Promise<MediaStreamTrack> =>
    next(fromEvent(pc, 'track').pipe(map((e) => (e as RTCTrackEvent).track)), undefined, 10_000);

  const stableAgain = (pc: RTCPeerConnection): Promise<unknown> =>
    next(
      fromEvent(pc, 'signalingstatechange').pipe(filter(() => pc.signalingState === 'stable')),
      undefined,
      10_000,
    );

  it('a track the offering side adds after connect reaches the other side with the server down; removing it renegotiates too', async () => {
    const { host, member, hostPc, memberPc } = await pairWithoutServer();
    const leaving = collect(member.userDisconnecting$);
    const hostLeaving = collect(host.userDisconnecting$);
    const created = collect(member.pcCreate$);
    const { track, stop } = videoTrack();
    const arrived = remoteTrack(memberPc);
    const answered = stableAgain(memberPc);
    const sender = hostPc.addTrack(track);
    const received = await arrived;
    await answered;
    expect(received.kind).toBe('video');
    const transceiver = memberPc.getTransceivers().find((t) => t.receiver.track === received)!;
    expect(transceiver.currentDirection).toBe('recvonly');

    const renegotiated = stableAgain(memberPc);
    hostPc.removeTrack(sender);
    await renegotiated;
    expect(transceiver.currentDirection).toBe('inactive');
    stop();
    // Same connection all along: no new one, nobody left.
    expect(hostPc.connectionState).toBe('connected');
    expect(created.values).toEqual([]);
    expect(leaving.values).toEqual([]);
    expect(hostLeaving.values).toEqual([]);
  });

  it('a track the answering side adds makes it ask the offering side, which offers room for it', async () => {
    const { host, member, hostPc, memberPc } = await pairWithoutServer();
    const hostLeaving = collect(host.userDisconnecting$);
    const errors = collect(member.errors$);
    const { track, stop } = videoTrack();
    const arrived = remoteTrack(hostPc);
    memberPc.addTrack(track);
    const received = await arrived;
    expect(received.kind).toBe('video');
    stop();
    expect(hostPc.getTransceivers().some((t) => t.currentDirection === 'recvonly')).toBe(true);
    expect(hostLeaving.values).toEqual([]);
    expect(errors.values).toEqual([]);
  });
});
