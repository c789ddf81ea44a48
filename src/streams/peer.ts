/**
 * RTCPeerConnection mapped to observables, in one place: its states as
 * streams, and its Promise methods wrapped once with `defer`, so that the
 * session logic composes them and marble specs can swap them for cold
 * observables.
 */
import { Observable, defer, distinctUntilChanged, map, startWith } from 'rxjs';

/** The part of an `RTCPeerConnection` rxpeer's session logic uses. */
export type PeerConnection = Pick<
  RTCPeerConnection,
  | 'createOffer'
  | 'createAnswer'
  | 'setLocalDescription'
  | 'setRemoteDescription'
  | 'addIceCandidate'
  | 'localDescription'
  | 'remoteDescription'
  | 'iceGatheringState'
  | 'iceConnectionState'
  | 'connectionState'
  | 'signalingState'
  | 'addEventListener'
  | 'removeEventListener'
  | 'createDataChannel'
  | 'close'
>;

/** Every firing of one event of an event target (no value: read the state). */
export function event$(target: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>, type: string): Observable<Event> {
  return new Observable<Event>((subscriber) => {
    const listener = (event: Event): void => subscriber.next(event);
    target.addEventListener(type, listener);
    return () => target.removeEventListener(type, listener);
  });
}

/**
 * A state property as a stream: the current value at once, then each change.
 * Engines fire some state events twice, so repeats are dropped.
 */
function state$<T>(pc: PeerConnection, type: string, read: () => T): Observable<T> {
  return defer(() => event$(pc, type).pipe(map(read), startWith(read()), distinctUntilChanged()));
}

export const iceGatheringState$ = (pc: PeerConnection): Observable<RTCIceGatheringState> =>
  state$(pc, 'icegatheringstatechange', () => pc.iceGatheringState);

export const iceConnectionState$ = (pc: PeerConnection): Observable<RTCIceConnectionState> =>
  state$(pc, 'iceconnectionstatechange', () => pc.iceConnectionState);

export const connectionState$ = (pc: PeerConnection): Observable<RTCPeerConnectionState> =>
  state$(pc, 'connectionstatechange', () => pc.connectionState);

/** Local candidates as they are gathered; `null` marks the end of gathering. */
export function localCandidate$(pc: PeerConnection): Observable<RTCIceCandidate | null> {
  return event$(pc, 'icecandidate').pipe(map((event) => (event as RTCPeerConnectionIceEvent).candidate ?? null));
}

/** Creates an offer (an ICE restart with `iceRestart`) and sets it as the local description. */
export const createAndSetOffer$ = (pc: PeerConnection, options?: RTCOfferOptions): Observable<void> =>
  defer(async () => {
    // Never hand the engine a connection that was closed meanwhile (an ICE restart can be
    // due just as its peer leaves): libwebrtc is not asked to offer on a closed connection.
    if (pc.signalingState === 'closed') throw new Error('the peer connection is closed');
    const offer = await (options === undefined ? pc.createOffer() : pc.createOffer(options));
    // It may have been closed while the offer was made (the check above narrowed the type).
    if ((pc.signalingState as RTCSignalingState) === 'closed') throw new Error('the peer connection is closed');
    await pc.setLocalDescription(offer);
  });

/** Creates an answer and sets it as the local description. */
export const createAndSetAnswer$ = (pc: PeerConnection): Observable<void> =>
  defer(async () => {
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
  });

export const setRemoteDescription$ = (pc: PeerConnection, description: RTCSessionDescriptionInit): Observable<void> =>
  defer(() => pc.setRemoteDescription(description));

export const addIceCandidate$ = (pc: PeerConnection, candidate: RTCIceCandidateInit | null): Observable<void> =>
  defer(() => (candidate === null ? pc.addIceCandidate() : pc.addIceCandidate(candidate)));

/** The local SDP as it stands now (with every candidate gathered so far). */
export function localSdp(pc: PeerConnection): string {
  const sdp = pc.localDescription?.sdp;
  if (sdp === undefined || sdp === '') throw new Error('the peer connection has no local description');
  return sdp;
}
