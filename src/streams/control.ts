/**
 * rxpeer's control channel: a small data channel that the offering side of
 * every rxpeer peer connection opens, so that a connection the app gave no
 * channel or track still has something to negotiate, and that carries a
 * heartbeat (liveness and round-trip time) between rxpeer peers.
 *
 * Wire format: JSON text, `{"t":"ping","at":<token>}` answered by
 * `{"t":"pong","at":<same token>}`; `{"t":"id","id":"<socket id>"}` tells the
 * peer this side's new signaling id after a reconnect. Anything else is ignored.
 */
import { EMPTY, Observable, defer, filter, interval, map, merge, mergeMap, of, share, take, type SchedulerLike } from 'rxjs';
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

/** Pings awaiting their pong; older ones are forgotten (their pongs are then ignored). */
const MAX_OUTSTANDING_PINGS = 16;

/** An unguessable ping token: a random unsigned 32-bit integer. */
export function randomPingToken(): number {
  const cryptoApi = (globalThis as { crypto?: { getRandomValues?: (array: Uint32Array) => Uint32Array } }).crypto;
  if (cryptoApi?.getRandomValues !== undefined) return cryptoApi.getRandomValues(new Uint32Array(1))[0]!;
  return Math.floor(Math.random() * 0x1_0000_0000);
}

/**
 * Runs the heartbeat on an open control channel: answers pings, sends one
 * every `intervalMs`, and emits each round-trip time measured from pongs.
 *
 * A ping's `at` is an unguessable token, not a time: a pong counts only when
 * it echoes the token of a ping this side sent and has not been answered yet,
 * and its RTT is the time measured here since that ping. A forged or replayed
 * pong (`{"t":"pong","at":-1e308}`) is ignored. Peers of earlier versions
 * echo `at` as it came, so they stay compatible.
 *
 * ```text
 * interval 10, tokens 1, 2 …
 * pings sent:  ----------1---------2---
 * received:    ---------------a--b---c     a = pong 1, b = pong -1e308, c = pong 1 again
 * rtt:         ---------------5--------
 * ```
 */
export function heartbeat$(
  channel: RTCDataChannel,
  received$: Observable<ControlMessage>,
  intervalMs: number,
  scheduler: SchedulerLike,
  nextToken: () => number = randomPingToken,
): Observable<number> {
  return defer(() => {
    /** token → when its ping was sent; insertion order is sending order. */
    const outstanding = new Map<number, number>();
    const pings$ = interval(intervalMs, scheduler).pipe(
      mergeMap(() => {
        const token = nextToken();
        outstanding.set(token, scheduler.now());
        if (outstanding.size > MAX_OUTSTANDING_PINGS) outstanding.delete(outstanding.keys().next().value as number);
        sendControl(channel, { t: 'ping', at: token });
        return EMPTY;
      }),
    );
    const replies$ = received$.pipe(
      mergeMap((message) => {
        switch (message.t) {
          case 'ping':
            sendControl(channel, { t: 'pong', at: message.at });
            return EMPTY;
          case 'pong': {
            const sentAt = outstanding.get(message.at);
            if (sentAt === undefined) return EMPTY;
            outstanding.delete(message.at);
            return of(Math.max(0, scheduler.now() - sentAt));
          }
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
  });
}
