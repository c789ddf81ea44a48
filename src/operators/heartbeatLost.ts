import { asyncScheduler, map, switchMap, take, timer, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { assertDuration } from './validate.js';

/**
 * Liveness of a peer that answers heartbeats: from the stream of messages
 * received from it, emits once when none has come for `timeoutMs` since the
 * last one, then completes. The clock starts at the first message, so a peer
 * that never speaks the heartbeat (an Extreal peer) is never declared lost.
 *
 * ```text
 * received: --p--p--p----------   (timeout = 5)
 * result:   -------------(x|)     5 frames after the last one
 * received: ---------------       never heard: never lost
 * result:   ---------------
 * ```
 *
 * @param timeoutMs silence after which the peer is taken as gone
 * @param scheduler the scheduler that times it
 * @example
 * controlMessages$.pipe(heartbeatLost(5000)).subscribe(() => closePeer(id));
 */
export function heartbeatLost(
  timeoutMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<unknown, void> {
  assertDuration(timeoutMs, 'timeoutMs');
  return (received$) =>
    received$.pipe(
      switchMap(() => timer(timeoutMs, scheduler)),
      take(1),
      map(() => undefined),
    );
}
