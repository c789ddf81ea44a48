/**
 * The Node WebRTC engine the end-to-end specs use: @roamhq/wrtc (libwebrtc,
 * as in Chromium), injected into PeerClient the way a Node app does it.
 * Every peer connection made here is tracked, so specs can assert that none
 * is left open.
 */
import type * as Wrtc from '@roamhq/wrtc';

/**
 * One copy of the engine per process, loaded by the jest environment outside
 * the spec files' sandboxes (see spec/helpers/leakCheckEnvironment.cjs); a
 * plain require when run elsewhere.
 */
const wrtc: typeof Wrtc =
  (globalThis as { __rxpeerWrtc?: typeof Wrtc }).__rxpeerWrtc ?? (require('@roamhq/wrtc') as typeof Wrtc);

const made: RTCPeerConnection[] = [];

export function createPeerConnection(config: RTCConfiguration): RTCPeerConnection {
  const pc = new wrtc.RTCPeerConnection(config) as unknown as RTCPeerConnection;
  made.push(pc);
  return pc;
}

/** Peer connections made so far that are not closed. */
export function openPeerConnections(): RTCPeerConnection[] {
  return made.filter((pc) => pc.signalingState !== 'closed' && pc.connectionState !== 'closed');
}

/** Forgets closed ones (call between specs). */
export function resetTracking(): void {
  made.splice(0, made.length, ...openPeerConnections());
}
