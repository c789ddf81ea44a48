/**
 * rxpeer's control channel: a small data channel that the offering side of
 * every rxpeer peer connection opens, so that a connection the app gave no
 * channel or track still has something to negotiate, and that carries a
 * heartbeat (liveness and round-trip time) between rxpeer peers.
 *
 * Wire format: JSON text, `{"t":"ping","at":<ms>}` answered by
 * `{"t":"pong","at":<same ms>}`; `{"t":"id","id":"<socket id>"}` tells the
 * peer this side's new signaling id after a reconnect. Anything else is ignored.
 */
import { EMPTY, Observable, filter, interval, map, merge, mergeMap, of, share, take, type SchedulerLike } from 'rxjs';
import { event$, type PeerConnection } from './peer.js';

/** The label of rxpeer's own data channel. Apps that filter channels by label never see it as theirs. */
export const CONTROL_CHANNEL_LABEL = 'rxpeer-control';

export type ControlMessage = { t: 'ping'; at: number } | { t: 'pong'; at: number } | { t: 'id'; id: string };

export function parseControlMessage(data: unknown): ControlMessage | undefined {
  if (typeof data !== 'string' || data.length > 256) return undefined;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== 'object' || value === null) return undefined;
    const { t, at, id } = value as Record<string, unknown>;
    if ((t === 'ping' || t === 'pong') && typeof at === 'number' && Number.isFinite(at)) return { t, at };
    if (t === 'id' && typeof id === 'string' && id.length > 0 && id.length <= 64) return { t, id };
  } catch {
    return undefined;
  }
  return undefined;
}

/** The control channel of a peer connection: made here (offerer) or announced by the remote (answerer). */
export function controlChannel$(pc: PeerConnection, isOffer: boolean): Observable<RTCDataChannel> {
  if (isOffer) return of(pc.createDataChannel(CONTROL_CHANNEL_LABEL));
  return event$(pc, 'datachannel').pipe(
    map((event) => (event as RTCDataChannelEvent).channel),
    filter((channel) => channel.label === CONTROL_CHANNEL_LABEL),
    take(1),
  );
}

/** Emits once the channel is open (at once if it already is). */
export function channelOpen$(channel: RTCDataChannel): Observable<RTCDataChannel> {
  if (channel.readyState === 'open') return of(channel);
  return event$(channel, 'open').pipe(
    take(1),
    map(() => channel),
  );
}

/** Emits once when an open channel closes (the fast signal of a peer that left). */
export function channelClosed$(channel: RTCDataChannel): Observable<void> {
  return event$(channel, 'close').pipe(
    take(1),
    map(() => undefined),
  );
}

/** Valid control messages received on a channel. */
export function controlMessages$(channel: RTCDataChannel): Observable<ControlMessage> {
  return event$(channel, 'message').pipe(
    mergeMap((event) => {
      const message = parseControlMessage((event as MessageEvent).data);
      return message === undefined ? EMPTY : of(message);
    }),
    share(),
  );
}

/** Sends a control message if the channel is open; a channel closing meanwhile is not an error. */
export function sendControl(channel: RTCDataChannel, message: ControlMessage): void {
  if (channel.readyState !== 'open') return;
  try {
    channel.send(JSON.stringify(message));
  } catch {
    // The channel closed between the check and the send; its close event tells the rest.
  }
}

/**
 * Runs the heartbeat on an open control channel: answers pings, sends one
 * every `intervalMs`, and emits each round-trip time measured from pongs.
 */
export function heartbeat$(
  channel: RTCDataChannel,
  received$: Observable<ControlMessage>,
  intervalMs: number,
  scheduler: SchedulerLike,
): Observable<number> {
  const pings$ = interval(intervalMs, scheduler).pipe(
    mergeMap(() => {
      sendControl(channel, { t: 'ping', at: scheduler.now() });
      return EMPTY;
    }),
  );
  const replies$ = received$.pipe(
    mergeMap((message) => {
      switch (message.t) {
        case 'ping':
          sendControl(channel, { t: 'pong', at: message.at });
          return EMPTY;
        case 'pong':
          return of(Math.max(0, scheduler.now() - message.at));
        case 'id':
          return EMPTY;
        default: {
          const unreachable: never = message;
          return unreachable;
        }
      }
    }),
  );
  return merge(pings$, replies$);
}
