/**
 * Links that heal (issue 17): the pure pieces the session uses to keep a
 * pair on the same `RTCPeerConnection` through a broken path (ICE restart)
 * and to renegotiate it without the signaling server.
 */
import { InvalidConfigError } from '../errors.js';
import type { LinkHealth } from '../operators/iceRestarts.js';

/** A pair's phase as `peers$` and `peerPhase$` show it. */
export type PeerPhase = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** One change of a pair's phase, on `peerPhase$`. */
export interface PeerPhaseChange {
  readonly id: string;
  readonly phase: PeerPhase;
  /** ICE restarts of this pair so far (made by the offering side, followed by the answering side). */
  readonly restarts: number;
}

/** When and how often a broken pair is restarted before it is closed and made anew. */
export interface IceRestartPolicy {
  /** ICE `disconnected` (or a silent heartbeat) lasting this long starts the first restart (ms). */
  readonly grace: number;
  /** Time each restart has to bring the link back before the next; the least gap between two restarts (ms). */
  readonly interval: number;
  /** Restarts before the pair is closed and made anew (0: close at once, as before issue 17). */
  readonly max: number;
}

/** Defaults: a cut shorter than about grace + detection + max × interval (≈ 20 s) heals on the same connection. */
export const DEFAULT_ICE_RESTART: IceRestartPolicy = { grace: 2000, interval: 5000, max: 3 };

/** The `o=` line's session id of an SDP: the same for every description of one connection. */
export function sdpSessionId(sdp: string): string | undefined {
  const match = /^o=\S+ (\S+) /m.exec(sdp);
  return match?.[1];
}

/** The first `a=ice-ufrag` of an SDP: an ICE restart changes it. */
export function sdpIceUfrag(sdp: string): string | undefined {
  const match = /^a=ice-ufrag:(\S+)/m.exec(sdp);
  return match?.[1];
}

/**
 * Link health from ICE and the heartbeat. A control message within the last
 * two heartbeats (`fresh`) proves the path end to end (it came over this
 * connection's own DTLS and SCTP), whatever ICE reports: after an ICE restart
 * whose answer is still on its way, ICE may read `checking` while the old
 * path carries everything again.
 */
export function linkHealth(ice: RTCIceConnectionState, heard: boolean, fresh = false): LinkHealth {
  if (fresh) return 'up';
  if (ice === 'failed') return 'failed';
  return (ice === 'connected' || ice === 'completed') && heard ? 'up' : 'down';
}

function checkDuration(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidConfigError(name, `must be a finite number of milliseconds >= 0, got ${String(value)}`, value);
  }
  return value;
}

/** The ICE restart policy from a client's config, defaults filled in and checked ({@link InvalidConfigError}). */
export function iceRestartPolicy(config: {
  iceRestartGrace?: number;
  iceRestartInterval?: number;
  maxIceRestarts?: number;
}): IceRestartPolicy {
  const grace = checkDuration(
    config.iceRestartGrace ?? DEFAULT_ICE_RESTART.grace,
    'iceRestartGrace',
  );
  const interval = checkDuration(
    config.iceRestartInterval ?? DEFAULT_ICE_RESTART.interval,
    'iceRestartInterval',
  );
  if (interval === 0) throw new InvalidConfigError('iceRestartInterval', 'must be > 0', interval);
  const max = config.maxIceRestarts ?? DEFAULT_ICE_RESTART.max;
  if (!Number.isInteger(max) || max < 0)
    throw new InvalidConfigError('maxIceRestarts', `must be an integer >= 0, got ${String(max)}`, max);
  return { grace, interval, max };
}
