/**
 * Backpressure for data channels: a sender waits while the channel's
 * `bufferedAmount` is above a high-water mark and goes on once it is at or
 * below a low-water mark. Engines that never fire `bufferedamountlow`
 * (`@roamhq/wrtc`) are covered by polling on the scheduler as well.
 */
import {
  Observable,
  Subscription,
  defer,
  filter,
  interval,
  map,
  merge,
  of,
  take,
  type SchedulerLike,
} from 'rxjs';
import { event$ } from '../streams/peer.js';

/** The part of an `RTCDataChannel` the flow control uses. */
export type FlowChannel = Pick<
  RTCDataChannel,
  | 'bufferedAmount'
  | 'bufferedAmountLowThreshold'
  | 'send'
  | 'addEventListener'
  | 'removeEventListener'
>;

export interface FlowControl {
  /** Sending pauses while more than this many bytes are queued in the channel. */
  readonly highWaterMark: number;
  /** … and resumes once at most this many are. */
  readonly lowWaterMark: number;
  /** How often `bufferedAmount` is polled while paused (ms). */
  readonly pollInterval: number;
}

export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
export const DEFAULT_LOW_WATER_MARK = 256 * 1024;
export const DEFAULT_POLL_INTERVAL = 2;

/**
 * Emits once (then completes) when the channel's `bufferedAmount` is at or
 * below `lowWaterMark`: at once if it already is, else on the first
 * `bufferedamountlow` event or poll that finds it so.
 *
 * ```text
 * bufferedAmount  3M  2M  1M  200k            (polled every 2 ms, low = 256k)
 * drained$        --------------(x|)
 * ```
 */
export function drained$(
  channel: FlowChannel,
  lowWaterMark: number,
  pollInterval: number,
  scheduler: SchedulerLike,
): Observable<void> {
  return defer(() => {
    if (channel.bufferedAmount <= lowWaterMark) return of(undefined);
    channel.bufferedAmountLowThreshold = lowWaterMark;
    return merge(event$(channel, 'bufferedamountlow'), interval(pollInterval, scheduler)).pipe(
      filter(() => channel.bufferedAmount <= lowWaterMark),
      take(1),
      map(() => undefined),
    );
  });
}

/**
 * Hands `frames` to the channel one by one, pulling the next frame only when
 * it can be sent, so a large message is never framed ahead of the channel.
 * Before each frame: if `bufferedAmount` is above the high-water mark, it
 * waits for {@link drained$}. Emits once and completes when the last frame is
 * handed over; errors if `send` throws (the channel closed). Unsubscribing
 * stops between frames.
 */
export function sendFrames$(
  channel: FlowChannel,
  frames: Iterable<string | Uint8Array>,
  flow: FlowControl,
  scheduler: SchedulerLike,
): Observable<void> {
  return new Observable<void>((subscriber) => {
    const iterator = frames[Symbol.iterator]();
    let waiting: Subscription | undefined;
    let stopped = false;
    /** The frame to send next (made, not yet sent): at most one waits for the channel to drain. */
    let ahead: string | Uint8Array | undefined;
    const pump = (): void => {
      while (!stopped) {
        if (ahead === undefined) {
          const step = iterator.next();
          if (step.done === true) {
            stopped = true;
            subscriber.next();
            subscriber.complete();
            return;
          }
          ahead = step.value;
        }
        if (channel.bufferedAmount > flow.highWaterMark) {
          waiting = drained$(channel, flow.lowWaterMark, flow.pollInterval, scheduler).subscribe({
            next: () => {
              waiting = undefined;
              scheduler.schedule(pump);
            },
          });
          return;
        }
        try {
          // A Uint8Array made by the framing owns its whole buffer; strings and views go as they are.
          channel.send(ahead as string & ArrayBufferView);
        } catch (error) {
          stopped = true;
          subscriber.error(error);
          return;
        }
        ahead = undefined;
      }
    };
    pump();
    return () => {
      stopped = true;
      waiting?.unsubscribe();
      iterator.return?.();
    };
  });
}
