/** The WebRTC engine of the bench: @roamhq/wrtc, as in the end-to-end specs. */
import wrtc from '@roamhq/wrtc';

const made: RTCPeerConnection[] = [];

export function createPeerConnection(config: RTCConfiguration = {}): RTCPeerConnection {
  const pc = new wrtc.RTCPeerConnection(config) as unknown as RTCPeerConnection;
  made.push(pc);
  return pc;
}

/** Peer connections made so far that are not closed; forgets the closed ones. */
export function openPeerConnections(): number {
  const open = made.filter(
    (pc) => pc.signalingState !== 'closed' && pc.connectionState !== 'closed',
  );
  made.splice(0, made.length, ...open);
  return open.length;
}

/** Resolves when gathering is complete (at once when it already is). */
export function gathered(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', check);
    check();
  });
}

/** Resolves when ICE is connected or completed. */
export function iceConnected(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (pc.iceConnectionState !== 'connected' && pc.iceConnectionState !== 'completed') return;
      pc.removeEventListener('iceconnectionstatechange', check);
      resolve();
    };
    pc.addEventListener('iceconnectionstatechange', check);
    check();
  });
}
